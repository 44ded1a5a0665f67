"""Survey data with a threatened animal at chosen places, shared by the tests of what leaves a store
(test_publish, test_geojson, test_merge): survey-small moved to given coordinates, CSV rows read and written,
and every number an output holds."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from test_survey import SMALL

import amurkg

_NUMBER = re.compile(rb"-?\d+\.\d+")


def package_at(folder: Path, coordinates: dict[str, tuple[float, float]], leopard_at: set[str]) -> Path:
    """survey-small with the deployments at ``coordinates`` and the leopard's observations moved to the
    deployments in ``leopard_at`` (others get a roe deer instead)."""
    target = folder / "package"
    shutil.copytree(SMALL, target)
    rows = read_rows(target / "deployments.csv")
    for row in rows:
        row["latitude"], row["longitude"] = (repr(v) for v in coordinates[row["deploymentID"]])
    write_rows(target / "deployments.csv", rows)
    observations = read_rows(target / "observations.csv")
    for row in observations:
        if row["scientificName"] == "Panthera pardus orientalis" and row["deploymentID"] not in leopard_at:
            row["scientificName"] = "Capreolus pygargus"
    if "D2" in leopard_at:  # the last row is D2's sika deer
        observations[-1]["scientificName"] = "Panthera pardus orientalis"
    write_rows(target / "observations.csv", observations)
    return target


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def numbers(data: bytes) -> list[float]:
    """Every decimal number in a zip's members (or in plain bytes)."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            data = b"\n".join(zf.read(name) for name in zf.namelist())
    return [float(m) for m in _NUMBER.findall(data)]


# a coordinate with five decimals, the last not 0: never the centre of a 0.1 or 0.25 degree cell
LAT = st.integers(4_275_001, 4_354_999).filter(lambda n: n % 10).map(lambda n: n / 100_000)
LON = st.integers(13_085_001, 13_174_999).filter(lambda n: n % 10).map(lambda n: n / 100_000)

#: The places of the two cameras of survey-small, which of them saw the leopard, and the grid to generalise to.
PLACES: dict[str, Any] = {
    "coordinates": st.fixed_dictionaries({"D1": st.tuples(LAT, LON), "D2": st.tuples(LAT, LON)}),
    "leopard_at": st.sets(st.sampled_from(["D1", "D2"])),
    "grid": st.sampled_from([0.1, 0.25, 1.0]),
}


#: The free-text columns of a Camtrap DP package, per file, that may describe a camera's place.
FREE_TEXT_COLUMNS = {
    "deployments.csv": ("locationName", "habitat", "deploymentGroups", "deploymentTags", "deploymentComments"),
    "media.csv": ("mediaComments", "exifData"),
    "observations.csv": ("observationTags", "observationComments"),
}
#: Words field notes use, in the scripts they use; each cell gets its own marker after them (``secret``).
FREE_TEXT = st.from_regex(r"[A-Z][a-z]{3,8}( [a-z]{2,8}){0,2}", fullmatch=True) | st.sampled_from(
    ["salt lick 3", "\u041a\u0435\u0434\u0440\u043e\u0432\u0430\u044f \u041f\u0430\u0434\u044c"]
)


def secret(words: str, deployment: str, column: str) -> str:
    """A free-text cell of ``deployment``: ``words`` and a marker found nowhere else (``Salt lick xqd1habitat``)."""
    return f"{words} xq{deployment}{column}".lower()


def with_free_text(package: Path, words: str, coordinates: dict[str, tuple[float, float]]) -> dict[str, set[str]]:
    """Fill every free-text column of ``package`` (``FREE_TEXT_COLUMNS``) with ``secret`` text naming its camera;
    a media file's EXIF data holds the camera's GPS position too, as a camera's own EXIF does, and its path a
    folder named after that position, as does the camera's ``locationID``. The texts written, per deployment."""
    written: dict[str, set[str]] = {}
    for name, columns in FREE_TEXT_COLUMNS.items():
        rows = read_rows(package / name)
        for row in rows:
            deployment = row["deploymentID"]
            for column in columns:
                text = secret(words, deployment, column)
                written.setdefault(deployment, set()).add(text)
                if column == "exifData":
                    lat, lon = coordinates[deployment]
                    text = json.dumps(
                        {"GPSLatitude": lat, "GPSLongitude": lon, "UserComment": text}, ensure_ascii=False
                    )
                row[column] = text
            if name == "media.csv":  # a folder named after the camera's GPS fix
                lat, lon = coordinates[deployment]
                row["filePath"] = f"media/{lat!r}_{lon!r}/{row['fileName']}"
            if name == "deployments.csv":  # a location named after its GPS fix, as some field teams name them
                lat, lon = coordinates[deployment]
                row["locationID"] = f"post {lat!r}_{lon!r}"
        write_rows(package / name, rows)
    return written


def texts_of(data: bytes) -> str:
    """A zip's members (or plain bytes) as one lower-case text, JSON escapes of non-ASCII letters undone."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            data = b"\n".join(zf.read(name) for name in zf.namelist())
    text = data.decode("utf-8")
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return text.lower()


def hidden_cameras(coordinates: dict[str, tuple[float, float]], leopard_at: set[str]) -> set[str]:
    """The cameras whose place must not leave: the leopard's, and any closer than 0.1 degree (both ways) to one
    of them, which would give it away."""
    return set(leopard_at) | {
        d
        for d, (lat, lon) in coordinates.items()
        for x in leopard_at
        if abs(coordinates[x][0] - lat) < 0.1 and abs(coordinates[x][1] - lon) < 0.1
    }


def frictionless_report(package: Path, folder: Path) -> Any:
    """frictionless's report on a copy (in ``folder``) of a Camtrap DP package, checked offline against the
    table schemas amurkg ships (the same schemas as the published ones)."""
    import frictionless

    shutil.copytree(package, folder)
    meta = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    shipped = Path(amurkg.__file__).parent / "survey" / "camtrap-dp-1.0.2"
    for resource in meta["resources"]:
        name = resource["schema"].rsplit("/", 1)[1]
        shutil.copy(shipped / name, folder / name)
        resource["schema"] = name
    meta["profile"] = "data-package"
    (folder / "datapackage.json").write_text(json.dumps(meta), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return frictionless.validate(str(folder / "datapackage.json"))
