"""The Audubon Core media extension of the Darwin Core Archive: the same media rows as camtrapdp's write_dwc
on the official example, read by GBIF's python-dwca-reader, and nothing in it that places a threatened
animal's camera."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from test_survey import EXAMPLE, SMALL, run

from amurkg.survey.dwca import DIFFERENCES, MEDIA_COLUMNS

#: camtrapdp's write_dwc() test snapshot of the official example (inbo/camtrapdp,
#: tests/testthat/_snaps/write_dwc/multimedia.csv, MIT)
REFERENCE = Path(__file__).parent / "data" / "camtrapdp-r" / "multimedia.csv"


def _media(archive: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(archive) as zf:
        text = zf.read("multimedia.txt").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def example_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    assert run("import", str(EXAMPLE), "--store", str(folder / "store")).exit_code == 0
    result = run("export", "--store", str(folder / "store"), "-o", str(folder / "example.zip"))
    assert result.exit_code == 0, result.stderr
    return folder / "example.zip"


@pytest.fixture(scope="module")
def leopard_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """survey-small with its media made public: only the leopard's camera (D1) must lose the links."""
    folder = tmp_path_factory.mktemp("leopard-media")
    package = folder / "package"
    package.mkdir()
    for name in ("datapackage.json", "deployments.csv", "observations.csv"):
        (package / name).write_bytes((SMALL / name).read_bytes())
    text = (SMALL / "media.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["filePublic"] = "true"
        row["filePath"] = f"https://example.org/{row['deploymentID']}/{row['fileName']}"
        row["exifData"] = '{"GPSLatitude": 43.1, "GPSLongitude": 131.5}'
    extra = dict(rows[0], mediaID="M9", deploymentID="D2", timestamp="2023-01-03T10:00:00+10:00", fileName="m9.jpg")
    extra["filePath"] = "https://example.org/D2/m9.jpg"
    rows.append(extra)
    with (package / "media.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    store = folder / "store"
    result = run("import", str(package), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    assert run("export", "--store", str(store), "-o", str(folder / "leopard.zip")).exit_code == 0
    assert run("export", "--store", str(store), "--exact-locations", "-o", str(folder / "exact.zip")).exit_code == 0
    return folder / "leopard.zip"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_media_rows_match_camtrapdp_on_the_official_example(example_archive: Path) -> None:
    ours = {(r["coreid"], r["identifier"]): r for r in _media(example_archive)}
    with REFERENCE.open(encoding="utf-8", newline="") as handle:
        theirs = {(r["occurrenceID"], r["identifier"]): r for r in csv.DictReader(handle)}
    assert set(ours) == set(theirs) and len(ours) == 390
    for key, their in theirs.items():
        mine = ours[key]
        assert _instant(mine["CreateDate"]) == _instant(their["CreateDate"]), key
        assert mine["type"] == their["dc:type"] and mine["format"] == their["dc:format"], key
        for name in ("captureDevice", "serviceExpectation"):
            assert mine[name] == their[name], (key, name)
        # a path inside the package is no link for the archive's readers (DIFFERENCES["accessURI"])
        assert mine["accessURI"] == (their["accessURI"] if their["serviceExpectation"] == "online" else "")
        assert mine["resourceCreationTechnique"].lower() == their["resourceCreationTechnique"].replace(" ", "")
    assert {"resourceCreationTechnique", "CreateDate", "rights", "accessURI", "multimedia"} <= set(DIFFERENCES)


def test_python_dwca_reader_reads_the_core_and_its_media(example_archive: Path) -> None:
    from dwca.read import DwCAReader

    with DwCAReader(str(example_archive)) as reader:
        assert reader.descriptor.core.type == "http://rs.tdwg.org/dwc/terms/Occurrence"
        [extension] = reader.descriptor.extensions
        assert extension.type == "http://rs.tdwg.org/ac/terms/Multimedia"
        assert len(extension.fields) == len(MEDIA_COLUMNS) + 0  # coreid is not a field of its own
        rows = list(reader)
        assert len(rows) == 29
        linked = 0
        for row in rows:
            for media in row.extensions:
                assert media.core_id == row.id
                assert media.data["http://purl.org/dc/terms/identifier"]
                linked += 1
        assert linked == 390
        assert reader.metadata is not None  # the EML, which says the archive carries the media records
        paras = [p.text or "" for p in reader.metadata.iter("para")]
        [media] = [p for p in paras if "Audubon Core multimedia extension" in p]
        assert "390 media record(s)" in media and "http://rs.tdwg.org/ac/terms/Multimedia" in media


def test_the_leopard_camera_media_have_no_link_and_nothing_places_them(leopard_archive: Path) -> None:
    media = _media(leopard_archive)
    by_id = {r["identifier"]: r for r in media}
    assert {"M1", "M9"} <= set(by_id)
    leopard = by_id["M1"]  # D1 recorded the leopard
    assert leopard["accessURI"] == "" and leopard["serviceExpectation"] == "authenticate"
    other = by_id["M9"]  # D2 recorded no threatened taxon: its public picture is linked
    assert other["accessURI"] == "https://example.org/D2/m9.jpg" and other["serviceExpectation"] == "online"
    with zipfile.ZipFile(leopard_archive) as zf:
        everything = b"\n".join(zf.read(name) for name in zf.namelist())
    for leak in (b"example.org/D1", b"m1.jpg", b"GPSLatitude"):
        assert leak not in everything, leak
    numbers = {float(n) for n in re.findall(rb"-?\d+\.\d+", everything)}
    assert 43.1 not in numbers and 131.5 not in numbers and 131.55 in numbers  # the cell's centre only
    exact = _media(leopard_archive.with_name("exact.zip"))
    assert {r["identifier"]: r for r in exact}["M1"]["accessURI"] == "https://example.org/D1/m1.jpg"


def test_an_archive_with_media_is_imported_again(example_archive: Path, tmp_path: Path) -> None:
    result = run("import", str(example_archive), "--store", str(tmp_path / "again"))
    assert result.exit_code == 0, result.stderr
    assert "29 observations" in result.stderr


def test_media_rows_are_the_package_joined_by_hand(tmp_path: Path) -> None:
    """On a generated package, the archive's media rows are exactly each event-level animal observation joined
    with every media file of its deployment taken within the event, as computed here from the package's own CSV
    files (the archive joins them by time in Python since a SPARQL join took minutes at 10,000 observations)."""
    from amurkg.survey.generate import generate

    package = generate(tmp_path / "package", 1500, seed=7)

    def when(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    def table(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((package / name).read_text(encoding="utf-8"))))

    media = table("media.csv")
    expected = sorted(
        (o["observationID"], m["mediaID"])
        for o in table("observations.csv")
        if o["observationLevel"] == "event" and o["observationType"] == "animal"
        for m in media
        if m["deploymentID"] == o["deploymentID"]
        and when(o["eventStart"]) <= when(m["timestamp"]) <= when(o["eventEnd"])
    )
    assert run("import", str(package), "--store", str(tmp_path / "store")).exit_code == 0
    result = run("export", "--store", str(tmp_path / "store"), "-o", str(tmp_path / "x.zip"))
    assert result.exit_code == 0, result.stderr
    rows = _media(tmp_path / "x.zip")
    assert len(expected) > 500 and sorted((r["coreid"], r["identifier"]) for r in rows) == expected
    # in the order the archive promises: by occurrence, then time
    keys = [(r["coreid"], when(r["CreateDate"])) for r in rows]
    assert keys == sorted(keys)
