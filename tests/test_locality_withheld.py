"""A camera that recorded a threatened taxon keeps its place name (``locationName``, Darwin Core ``locality``)
out of every output, as it keeps its exact coordinates: GBIF's guidance on generalising sensitive species data
(Chapman 2020, https://doi.org/10.15468/doc-5jp4-5g10) withholds the locality text of generalised records and
says so in ``informationWithheld``. The store keeps it, in the hidden exact graph: ``--exact-locations`` exports
give it back, and so does un-protecting the camera.

D1 of ``tests/data/survey-small`` recorded the Amur leopard (CR); D2 recorded no threatened taxon and lies a
whole 0.1 degree cell away."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import new_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from amurkg.cli import app

REPO = Path(__file__).resolve().parent.parent
SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
OTHER = "Upper Stream Crossing"  # D2's name: public, as its camera recorded no threatened taxon


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


#: The other free text of a camera's records that can name its place (``amurkg.survey.sensitive``).
FREE_TEXT = {
    "deployments.csv": ("habitat", "deploymentGroups", "deploymentTags", "deploymentComments"),
    "media.csv": ("mediaComments", "exifData"),
    "observations.csv": ("observationTags", "observationComments"),
}


def rewrite(path: Path, change: Callable[[dict[str, str]], None]) -> None:
    """Apply ``change`` to each row of the CSV file ``path``, in place."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows:
        change(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def package_with(folder: Path, name: str) -> Path:
    """survey-small with D1 named ``name`` (its locationID and its media's folder too), D2 named ``OTHER``; every
    free-text cell of D1's records (``FREE_TEXT``) names it too, D2's names ``OTHER``."""
    shutil.copytree(SMALL, folder)
    for file, columns in FREE_TEXT.items():
        table = list(csv.DictReader(io.StringIO((folder / file).read_text(encoding="utf-8"))))
        for row in table:
            place = name if row["deploymentID"] == "D1" else OTHER
            for column in columns:
                row[column] = f"{column}: {place}"
                if column == "exifData":
                    row[column] = json.dumps({"UserComment": f"near {place}"}, ensure_ascii=False)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        (folder / file).write_text(out.getvalue(), encoding="utf-8")

    def named(row: dict[str, str]) -> None:
        row["locationName"] = name if row["deploymentID"] == "D1" else OTHER
        if row["deploymentID"] == "D1":  # a post named after its place, as field teams name them
            row["locationID"] = f"{name} post 1"

    def filed(row: dict[str, str]) -> None:
        if row["deploymentID"] == "D1":
            row["filePath"] = f"media/{name}/{row['fileName']}"

    rewrite(folder / "deployments.csv", named)
    rewrite(folder / "media.csv", filed)
    return folder


def outputs(store: Path, work: Path, exact: bool = False) -> dict[str, str]:
    """Every export of ``store`` as text: DwC archive, Camtrap DP, GeoJSON, an N-Quads dump and a SPARQL
    answer over everything visible."""
    flag = ["--exact-locations"] if exact else []
    texts: dict[str, str] = {}
    for fmt, target in (("dwca", work / "dwca.zip"), ("camtrapdp", work / "cdp.zip"), ("nq", work / "dump.nq")):
        result = run("export", "--store", str(store), "-f", fmt, *flag, "-o", str(target))
        assert result.exit_code == 0, result.stderr
        if target.suffix == ".zip":
            with zipfile.ZipFile(target) as zf:
                for member in zf.namelist():
                    texts[f"{fmt}:{member}"] = zf.read(member).decode("utf-8")
        else:
            texts[fmt] = target.read_text(encoding="utf-8")
    result = run("survey", "geojson", "--store", str(store), *flag)
    assert result.exit_code == 0, result.stderr
    texts["geojson"] = result.stdout
    if not exact:
        result = run("sparql", "--store", str(store), "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", "-f", "csv")
        assert result.exit_code == 0, result.stderr
        texts["sparql"] = result.stdout
    return texts


#: Identifiers an export draws at random or by hash (blank node labels, the import's UUID, digests): written in
#: lowercase hexadecimal with a digit in it, they may hold a generated name's letters ("aaaa" in a blank node's
#: label gave a false leak of the name "Aaaa"). A place name starts with a capital, so none is removed.
_RANDOM_IDS = re.compile(
    r"_:[0-9A-Za-z]+|(?<![0-9A-Za-z])(?=[0-9a-f-]*[0-9])[0-9a-f]{8,}(?:-[0-9a-f]{4,})*(?![0-9A-Za-z])"
)

# place names of a camera: words, with the punctuation and scripts field notes use
_NAMES = st.from_regex(r"[A-Z][a-z]{3,8}( [A-Za-z]{2,8}){0,3}", fullmatch=True) | st.sampled_from(
    ["Kedrovaya Pad ridge", "\u041a\u0435\u0434\u0440\u043e\u0432\u0430\u044f \u041f\u0430\u0434\u044c", "salt lick 3"]
)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAMES.filter(lambda n: n.lower() not in OTHER.lower() and "withheld" not in n.lower()))
def test_no_export_writes_a_protected_cameras_place_name(
    name: str, tmp_path_factory: pytest.TempPathFactory, empty_store: Path
) -> None:
    work = tmp_path_factory.mktemp("locality")
    package = package_with(work / "package", name)
    store = new_store(empty_store, work)
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    texts = outputs(store, work)
    leaked = [where for where, text in texts.items() if name.lower() in _RANDOM_IDS.sub("", text).lower()]
    assert not leaked, leaked
    assert any(OTHER in text for text in texts.values())  # the public camera's name is still there
    occurrences = texts["dwca:occurrence.txt"]
    d1 = [r for r in csv.DictReader(io.StringIO(occurrences), delimiter="\t") if r["parentEventID"] == "D1"]
    assert d1 and all("locality text withheld" in r["informationWithheld"] and not r["locality"] for r in d1)
    assert all("free text" in r["informationWithheld"] and not (r["habitat"] or r["eventRemarks"]) for r in d1)
    assert not any(r["occurrenceRemarks"] for r in d1)
    # the store keeps it: exact exports give it back, with the media paths and every free-text column
    exact = outputs(store, work, exact=True)
    for where in ("dwca:occurrence.txt", "camtrapdp:deployments.csv", "camtrapdp:media.csv", "geojson"):
        assert name in exact[where] or json.dumps(name)[1:-1] in exact[where], where
    for file, columns in FREE_TEXT.items():
        table = list(csv.DictReader(io.StringIO(exact[f"camtrapdp:{file}"])))
        assert all(name in row[c] for row in table if row["deploymentID"] == "D1" for c in columns), file
    # survey merge (two packages or more)
    assert run("import", str(EXAMPLE), "--store", str(store)).exit_code == 0
    for flag, shown in (([], False), (["--exact-locations"], True)):
        merged = work / f"merged{len(flag)}.zip"
        result = run("survey", "merge", "--store", str(store), *flag, "-o", str(merged))
        assert result.exit_code == 0, result.stderr
        with zipfile.ZipFile(merged) as zf:
            text = "".join(zf.read(m).decode("utf-8") for m in zf.namelist())
        assert (name.lower() in text.lower()) is shown and OTHER in text


#: How field teams write a camera's GPS fix (43.123456, -131.567891) and place name (Ridge Above The Lick) in a
#: post's locationID: not as the latitude column holds them.
_WRITTEN = {
    "43.1235": "rounded to 4 decimals",
    "43.12345": "cut to 5 decimals",
    "43,123456": "decimal comma",
    "131.5679W": "no sign, a hemisphere letter",
    "43123456": "no separator",
    "43°07'24\"N": "degrees, minutes and seconds",
    "131° 34.07'": "degrees and decimal minutes",
    "ridge-above-the-lick": "words joined by dashes",
    "RidgeAboveTheLick": "words run together",
}


@pytest.mark.parametrize("written", sorted(_WRITTEN))
def test_a_locationid_never_gives_the_place_away_however_it_is_written(written: str) -> None:
    """Before, only the latitude's own text (``43.123456``) and the name as written were withheld: a post named
    ``post 43,123456`` or ``ridge-above-the-lick 2`` gave an exact place to every export of a protected camera."""
    from amurkg.survey.sensitive import coordinate_texts, withhold_paths

    places = ["Ridge Above The Lick", *coordinate_texts(["43.123456", "-131.567891"])]
    shown = withhold_paths(f"post {written} 2", places)
    assert "withheld" in shown and not any(c.isdigit() for c in shown.replace(" 2", "")), (written, shown)
    assert withhold_paths("post 12.5 L1 IMG_0043", places) == "post 12.5 L1 IMG_0043"  # not a coordinate


def test_no_export_gives_a_post_named_after_its_gps_fix_away(tmp_path: Path) -> None:
    """The same, through an import and every output: a locationID written as the GPS device shows it."""
    package = package_with(tmp_path / "package", "Ridge Above The Lick")

    def move(row: dict[str, str]) -> None:
        if row["deploymentID"] == "D1":
            row.update(latitude="43.123456", longitude="131.567891", locationID="43,1235 N 131°34'04\" ridge_above")

    rewrite(package / "deployments.csv", move)
    store = tmp_path / "store"
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    texts = outputs(store, tmp_path)
    for secret in ("43,1235", "131°34"):
        assert not [where for where, text in texts.items() if secret in text], secret
    assert "withheld" in json.loads(texts["geojson"])["features"][0]["properties"]["locationID"]
    exact = run("survey", "geojson", "--store", str(store), "--exact-locations").stdout
    assert "43,1235" in exact


def test_a_camera_at_the_same_post_does_not_give_the_post_away(tmp_path: Path) -> None:
    """D2 set at D1's post (the same locationID, named after D1's GPS fix) is protected with it, but its own fix
    differs in the fifth decimal: its locationID was matched against its own coordinates only and showed D1's
    exact fix in every output."""
    package = package_with(tmp_path / "package", "Ridge Above The Lick")

    def move(row: dict[str, str]) -> None:
        fix = {"D1": ("43.10001", "131.50001"), "D2": ("43.10043", "131.50052")}[row["deploymentID"]]
        row.update(latitude=fix[0], longitude=fix[1], locationID="post 43.10001_131.50001")

    rewrite(package / "deployments.csv", move)
    store = tmp_path / "store"
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    texts = outputs(store, tmp_path)
    assert not [where for where, text in texts.items() if "43.10001" in text or "43.10043" in text]
    shown = {f["properties"]["deploymentID"]: f["properties"] for f in json.loads(texts["geojson"])["features"]}
    assert shown["D2"]["coordinatesGeneralised"] and shown["D2"]["locationID"] == "post withheld_withheld"


def test_a_neighbour_does_not_name_the_protected_cameras_place(tmp_path: Path) -> None:
    """D2, 50 m from D1 (so protected with it), names its post after D1's place ('Ridge Above The Lick 2'): its
    locationID was matched against its own place name only, and gave D1's away in every output."""
    name = "Ridge Above The Lick"
    package = package_with(tmp_path / "package", name)

    def move(row: dict[str, str]) -> None:
        if row["deploymentID"] == "D2":
            row.update(latitude="43.1004", longitude="131.5005", locationID=f"{name} 2")

    rewrite(package / "deployments.csv", move)
    store = tmp_path / "store"
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    texts = outputs(store, tmp_path)
    assert not [where for where, text in texts.items() if name.lower() in text.lower()]
    shown = {f["properties"]["deploymentID"]: f["properties"] for f in json.loads(texts["geojson"])["features"]}
    assert shown["D2"]["coordinatesGeneralised"] and shown["D2"]["locationID"] == "withheld 2"
    # the store keeps it
    assert f"{name} 2" in run("survey", "geojson", "--store", str(store), "--exact-locations").stdout


def test_a_camera_no_longer_protected_gets_its_name_back(tmp_path: Path) -> None:
    """What ``import --upgrade`` recomputes: D1's leopard record gone, D1 is no longer protected, and its name
    comes back from the exact graph into the visible one (and into exports)."""
    import pyoxigraph as ox

    from amurkg.store import Store
    from amurkg.survey.sensitive import protect

    name = "Ridge Above The Lick"
    package = package_with(tmp_path / "package", name)
    store = tmp_path / "store"
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    assert name not in run("survey", "geojson", "--store", str(store)).stdout

    def location_ids() -> dict[str, str]:
        collection = json.loads(run("survey", "geojson", "--store", str(store)).stdout)
        return {f["properties"]["deploymentID"]: f["properties"]["locationID"] for f in collection["features"]}

    assert location_ids() == {"D1": "withheld post 1", "D2": "L2"}
    to_taxon = ox.NamedNode("http://rs.tdwg.org/dwc/iri/toTaxon")
    with Store.open(store, write=True) as opened:  # protected again (import --upgrade): still withheld
        assert protect(opened, opened.imports()[0].graph) == 1
        opened.ox.flush()
    assert location_ids() == {"D1": "withheld post 1", "D2": "L2"}
    with Store.open(store, write=True) as opened:
        [record] = opened.imports()
        graph = ox.NamedNode(record.graph)
        for quad in list(opened.ox.quads_for_pattern(None, to_taxon, None, graph)):
            if "leopard" in quad.object.value:
                opened.ox.remove(quad)
        assert protect(opened, record.graph) == 0
        opened.ox.flush()
    collection = json.loads(run("survey", "geojson", "--store", str(store)).stdout)
    names = {f["properties"]["deploymentID"]: f["properties"]["locationName"] for f in collection["features"]}
    assert names == {"D1": name, "D2": OTHER}
    assert location_ids() == {"D1": f"{name} post 1", "D2": "L2"}
    # and its free text, its media's and its observations': every cell visible again
    answer = run("sparql", "--store", str(store), "SELECT ?o WHERE { ?s ?p ?o }", "-f", "csv").stdout
    texts = [f"{c}: {name}" for columns in FREE_TEXT.values() for c in columns if c != "exifData"]
    assert [t for t in texts if t not in answer] == [] and f"near {name}" in answer


def test_served_pages_never_show_a_protected_cameras_place_name(tmp_path: Path) -> None:
    from test_web import get, serving

    name = "Ridge Above The Lick"
    package = package_with(tmp_path / "package", name)
    store = tmp_path / "store"
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    d1 = "https://w3id.org/amurkg/survey/amurkg-test-survey-2023/deployment/D1"
    everything = urllib.parse.quote("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    pages = [
        "/survey?package=amurkg-test-survey-2023",
        "/survey.json?package=amurkg-test-survey-2023",
        "/survey/activity?package=amurkg-test-survey-2023",
        "/survey.svg?package=amurkg-test-survey-2023",
        "/entity?iri=" + urllib.parse.quote(d1, safe=""),
        "/search?q=Ridge",
        "/sparql?query=" + everything,
    ]
    for base in serving(["--store", str(store), "--timeout", "600", "--max-rows", "100000"]):
        seen = {}
        for page in pages:
            status, _, body = get(base + page)
            seen[page] = (status, body.decode("utf-8", "replace"))
        assert all(status in (200, 404) for status, _ in seen.values()), {p: s for p, (s, _) in seen.items()}
        assert seen["/sparql?query=" + everything][0] == 200 and OTHER in seen["/sparql?query=" + everything][1]
        leaked = [page for page, (_, body) in seen.items() if name.lower() in body.lower()]
        assert not leaked, leaked
