"""A Darwin Core Archive of a store that holds several packages. Found by a reviewer: every hand-made package
has an O1 and a D1, so the export of two packages wrote two rows with one occurrenceID (which GBIF refuses) and
one parentEventID for two deployments, and amurkg could not import its own archive again. IDs that more than one
package uses are now prefixed with each package's name, as ``survey merge`` and camtrapdp's merge_camtrapdp do;
IDs used once are kept."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_packages import table_rows, write_rows
from test_survey import EXAMPLE, run

HEALTH = [HealthCheck.function_scoped_fixture]


def _core(archive: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(archive) as zf:
        text = zf.read("occurrence.txt").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def _second(folder: Path, unique: set[str] = frozenset()) -> Path:  # type: ignore[assignment]
    """The official example again under another id and name; the observations in ``unique`` get IDs of their own."""
    package = folder / "second"
    shutil.copytree(EXAMPLE, package)
    descriptor = json.loads((package / "datapackage.json").read_text("utf-8"))
    descriptor.update(id="second-survey", name="second")
    (package / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    rows = table_rows(package / "observations.csv")
    column = rows[0].index("observationID")
    for row in rows[1:]:
        if row[column] in unique:
            row[column] = "own-" + row[column]
    write_rows(package / "observations.csv", rows)
    return package


#: The columns that name a record or its package: the rest of a row is the same in one package's archive.
_NAMING = ("occurrenceID", "parentEventID", "eventID", "datasetID", "datasetName", "collectionCode", "rightsHolder")


def _rest(row: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k not in (*_NAMING, "license")}


def _export(folder: Path, *packages: Path, extra: tuple[str, ...] = ()) -> tuple[Path, list[str]]:
    store = folder / "store"
    for package in packages:
        result = run("import", str(package), "--store", str(store))
        assert result.exit_code == 0, result.stderr
    archive = folder / "out.zip"
    result = run("export", "--store", str(store), "-f", "dwca", "-o", str(archive), *extra)
    assert result.exit_code == 0, result.stderr
    return archive, result.stderr.strip().splitlines()


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    archive, said = _export(tmp_path_factory.mktemp("one"), EXAMPLE)
    assert not any("renamed" in line for line in said)
    return _core(archive)


@pytest.fixture(scope="module")
def double(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("two")
    return _export(folder, EXAMPLE, _second(folder))


def test_each_occurrence_and_deployment_stays_one_record(
    single: list[dict[str, str]], double: tuple[Path, list[str]]
) -> None:
    rows = _core(double[0])
    assert len(rows) == 2 * len(single)
    assert len({r["occurrenceID"] for r in rows}) == len(rows)
    by_dataset = Counter(r["datasetID"] for r in rows)
    assert by_dataset == {"7cca70f5-ef8c-4f86-85fb-8f070937d7ab": len(single), "second-survey": len(single)}
    for row in rows:
        prefix = "second_" if row["datasetID"] == "second-survey" else "camtrap-dp-example-dataset_"
        for column in ("occurrenceID", "parentEventID", "eventID"):
            assert row[column].startswith(prefix), (column, row[column])
    # the rest of each row is the single package's row
    plain = {r["occurrenceID"]: r for r in single}
    for row in rows:
        original = plain[row["occurrenceID"].split("_", 1)[1]]
        assert _rest(row) == _rest(original)


def test_the_renaming_is_said_once_per_kind_of_id(double: tuple[Path, list[str]]) -> None:
    renamed = [line for line in double[1] if line.startswith("amurkg: renamed: ")]
    assert [line.split(": ")[2] for line in renamed] == ["occurrenceID", "parentEventID", "eventID"]
    assert renamed[0].startswith("amurkg: renamed: occurrenceID: 29 used by more than one package (")
    assert "camtrap-dp-example-dataset_…, second_…" in renamed[0]


def test_python_dwca_reader_links_each_media_file_to_its_own_package(
    double: tuple[Path, list[str]], single: list[dict[str, str]]
) -> None:
    from dwca.read import DwCAReader

    with DwCAReader(str(double[0])) as reader:
        rows = list(reader)
        assert len(rows) == 2 * len(single) and len({r.id for r in rows}) == len(rows)
        media: dict[str, list[str]] = {}
        for row in rows:
            for linked in row.extensions:
                assert linked.core_id == row.id
                media.setdefault(row.id, []).append(linked.data["http://purl.org/dc/terms/identifier"])
    assert sum(map(len, media.values())) == 2 * 390
    for identifier, files in media.items():  # each package's occurrence keeps the files of its own event
        other = ("second_" if identifier.startswith("camtrap") else "camtrap-dp-example-dataset_") + identifier.split(
            "_", 1
        )[1]
        assert media.get(other) == files


def test_the_archive_is_imported_again_whole(double: tuple[Path, list[str]], tmp_path: Path) -> None:
    result = run("import", str(double[0]), "--store", str(tmp_path / "again"))
    assert result.exit_code == 0, result.stderr
    assert "8 deployments, 58 observations" in result.stderr


@settings(max_examples=4, deadline=None, suppress_health_check=HEALTH)
@given(data=st.data())
def test_only_ids_used_twice_are_renamed(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    ids = [row[0] for row in table_rows(EXAMPLE / "observations.csv")[1:]]
    events = {r["occurrenceID"] for r in _core(_export(tmp_path_factory.mktemp("base"), EXAMPLE)[0])}
    unique = data.draw(st.sets(st.sampled_from(sorted(events)), max_size=len(events)))
    folder = tmp_path_factory.mktemp("some")
    archive, said = _export(folder, EXAMPLE, _second(folder, unique))
    written = [r["occurrenceID"] for r in _core(archive)]
    assert len(set(written)) == len(written) == 2 * len(events)
    kept = {i for i in written if not i.startswith(("second_", "camtrap-dp-example-dataset_"))}
    assert kept == unique | {"own-" + i for i in unique}
    assert len(ids) > len(events)
    shared = len(events - unique)
    assert any(line.startswith(f"amurkg: renamed: occurrenceID: {shared} used") for line in said) == bool(shared)


def test_a_package_chosen_alone_keeps_its_ids(tmp_path: Path, single: list[dict[str, str]]) -> None:
    archive, said = _export(tmp_path, EXAMPLE, _second(tmp_path), extra=("--package", "second-survey"))
    assert not any("renamed" in line for line in said)
    assert sorted(r["occurrenceID"] for r in _core(archive)) == sorted(r["occurrenceID"] for r in single)


def test_a_package_the_store_does_not_hold_is_refused(tmp_path: Path) -> None:
    """A typo in --package wrote an empty archive and said exit 0; it is now a usage error naming what is held."""
    store = tmp_path / "store"
    assert run("import", str(EXAMPLE), "--store", str(store)).exit_code == 0
    for args in (["export", "-f", "dwca", "-o", str(tmp_path / "x.zip")], ["survey", "effort"], ["survey", "names"]):
        result = run(*args, "--store", str(store), "--package", "second-survey")
        assert result.exit_code == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "amurkg: error: --package 'second-survey': the store holds no such package; it holds "
            "'7cca70f5-ef8c-4f86-85fb-8f070937d7ab' (amurkg import --list --store DIR lists them)"
        ]
    assert not (tmp_path / "x.zip").exists()


def test_a_package_chosen_alone_lists_only_its_own_media(tmp_path: Path) -> None:
    """The reviewer's leak: the media of the observations kept were chosen by occurrence ID, so the other
    package's media of an observation of the same ID were listed too, linked to the chosen package's rows."""
    second = _second(tmp_path)
    for file, column in (("media.csv", "mediaID"), ("observations.csv", "mediaID")):
        rows = table_rows(second / file)
        index = rows[0].index(column)
        for row in rows[1:]:
            row[index] = "B-" + row[index] if row[index] else ""
        write_rows(second / file, rows)
    for chosen, prefix in (("7cca70f5-ef8c-4f86-85fb-8f070937d7ab", ""), ("second-survey", "B-")):
        folder = tmp_path / chosen
        folder.mkdir()
        archive, _ = _export(folder, EXAMPLE, second, extra=("--package", chosen))
        with zipfile.ZipFile(archive) as zf:
            text = zf.read("multimedia.txt").decode("utf-8")
        media = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert len(media) == 390
        assert all(m["identifier"].startswith("B-") == bool(prefix) for m in media)
