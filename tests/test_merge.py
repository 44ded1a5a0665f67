"""Merging packages (camtrapdp's merge_camtrapdp): identifiers kept unique and every reference followed,
conflicts named with how they were resolved, and the merged package accepted by amurkg import and
frictionless."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from places import frictionless_report, read_rows, write_rows
from test_survey import EXAMPLE, SMALL, run

from amurkg.survey.merge import Part, merge


def _colliding_copy(folder: Path) -> Path:
    """survey-small under another id, with the same deployment, media, observation and event IDs, L1 at
    another place, its data under another licence and another sampling design."""
    target = folder / "copy"
    shutil.copytree(SMALL, target)
    meta = json.loads((target / "datapackage.json").read_text(encoding="utf-8"))
    meta["id"], meta["name"] = "amurkg-test-copy", "copy"
    meta["licenses"] = [{"name": "CC-BY-4.0", "scope": "data"}, *meta["licenses"][1:]]
    meta["project"]["samplingDesign"] = "opportunistic"
    (target / "datapackage.json").write_text(json.dumps(meta), encoding="utf-8")
    rows = read_rows(target / "deployments.csv")
    rows[0]["latitude"] = "43.4"  # L1 is another place in this package
    write_rows(target / "deployments.csv", rows)
    return target


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("merge")
    store = folder / "store"
    for package in (SMALL, _colliding_copy(folder), EXAMPLE):
        assert run("import", str(package), "--store", str(store)).exit_code == 0
    result = run("survey", "merge", "--store", str(store), "-o", str(folder / "merged"))
    assert result.exit_code == 0, result.stderr
    return folder / "merged", result.stderr


def test_colliding_identifiers_are_prefixed_and_references_follow(merged: tuple[Path, str]) -> None:
    folder, _ = merged
    deployments = read_rows(folder / "deployments.csv")
    media = read_rows(folder / "media.csv")
    observations = read_rows(folder / "observations.csv")
    ids = [r["deploymentID"] for r in deployments]
    assert len(ids) == len(set(ids)) == 2 + 2 + 4
    assert {"amurkg-test-survey_D1", "copy_D1", "amurkg-test-survey_D2", "copy_D2"} <= set(ids)
    assert "00a2c20d" in ids  # the example's own IDs collide with nothing: kept
    for table, key in ((media, "mediaID"), (observations, "observationID")):
        values = [r[key] for r in table]
        assert len(values) == len(set(values)), key
    assert {"copy_M1", "amurkg-test-survey_M1"} <= {r["mediaID"] for r in media}
    assert {"copy_O1", "amurkg-test-survey_O1"} <= {r["observationID"] for r in observations}
    # every reference points at a row of the merged tables, and at the row of its own package
    assert {r["deploymentID"] for r in media + observations} <= set(ids)
    assert {r["mediaID"] for r in observations if r["mediaID"]} <= {r["mediaID"] for r in media}
    for row in observations:
        prefix = row["observationID"].split("_")[0]
        if row["observationID"].startswith(("copy_", "amurkg-test-survey_")):
            assert row["deploymentID"].startswith(prefix + "_") and row["eventID"].startswith(prefix + "_")
    events = {r["eventID"] for r in observations if r["observationID"].startswith("copy_")}
    assert events and all(e.startswith("copy_E") for e in events)
    # L1 names two places: split; L2 is the same place in both: one location
    locations = {r["locationID"] for r in deployments}
    assert {"copy_L1", "amurkg-test-survey_L1", "L2"} <= locations and "L1" not in locations


def test_each_conflict_is_named_with_its_resolution(merged: tuple[Path, str]) -> None:
    _, stderr = merged
    lines = stderr.splitlines()
    named = {line.split(": ")[2] for line in lines if line.startswith("amurkg: merged: ")}
    assert {"deploymentID", "mediaID", "observationID", "eventID", "locationID", "licenses", "id"} <= named
    assert {"project.samplingDesign", "coordinatePrecision", "contributors"} <= named
    licences = next(line for line in lines if "merged: licenses" in line)
    assert "CC-BY-4.0" in licences and "CC0-1.0" in licences
    design = next(line for line in lines if "samplingDesign" in line)
    assert "opportunistic" in design and "systematicRandom" in design


def test_merged_metadata(merged: tuple[Path, str]) -> None:
    folder, _ = merged
    meta = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert "id" not in meta and "bibliographicCitation" not in meta
    assert meta["coordinatePrecision"] == 0.1  # the coarsest: the leopard's cameras are generalised to 0.1
    assert meta["temporal"] == {"start": "2020-05-30", "end": "2023-01-11"}
    assert {"name": "CC-BY-4.0", "scope": "data"} in meta["licenses"]
    assert {"name": "CC0-1.0", "scope": "data"} in meta["licenses"]
    assert set(meta["project"]["captureMethod"]) == {"activityDetection", "timeLapse"}
    names = [t["scientificName"] for t in meta["taxonomic"]]
    assert len(names) == len(set(names)) and {"Panthera pardus orientalis", "Vulpes vulpes"} <= set(names)
    titles = [c["title"] for c in meta["contributors"]]
    assert titles.count("amurkg test suite") == 1  # listed by both copies, once in the merge
    box = meta["spatial"]["coordinates"][0]
    assert min(p[1] for p in box) < 51.5 and max(p[1] for p in box) >= 43.2


def test_the_merged_package_is_imported_again(merged: tuple[Path, str], tmp_path: Path) -> None:
    folder, _ = merged
    result = run("import", str(folder), "--store", str(tmp_path / "again"))
    assert result.exit_code == 0, result.stderr
    assert "8 deployments, 427 media, 571 observations" in result.stderr


def test_frictionless_accepts_the_merged_package(merged: tuple[Path, str], tmp_path: Path) -> None:
    report = frictionless_report(merged[0], tmp_path / "package")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_the_leopard_camera_stays_generalised_in_the_merge(merged: tuple[Path, str]) -> None:
    rows = read_rows(merged[0] / "deployments.csv")
    leopard = [r for r in rows if r["deploymentID"].endswith("_D1")]
    assert leopard and all(r["latitude"] != "43.1" and r["longitude"] != "131.5" for r in leopard)


_IDS = st.lists(st.sampled_from(["D1", "D2", "a_D1", "b_D1", "a_D1_2", "X"]), min_size=1, max_size=5, unique=True)


def _part(name: str, deployments: list[str]) -> Part:
    """Rows tagged with their package and original deployment, to follow them through the merge."""
    tables = {
        "deployments": [
            {"deploymentID": d, "latitude": "1", "longitude": "2", "tag": f"{name}:{d}"} for d in deployments
        ],
        "media": [{"mediaID": f"M{d}", "deploymentID": d, "tag": f"{name}:{d}"} for d in deployments],
        "observations": [
            {"observationID": f"O{d}", "deploymentID": d, "mediaID": f"M{d}", "eventID": "E", "tag": f"{name}:{d}"}
            for d in deployments
        ],
    }
    descriptor = {"name": name, "resources": [], "profile": "p", "project": {"title": "t"}}
    return Part(tables, descriptor)


@settings(max_examples=60)
@given(first=_IDS, second=_IDS, names=st.sampled_from([("a", "b"), ("a", "a")]))
def test_merged_identifiers_are_unique_and_references_follow_them(
    first: list[str], second: list[str], names: tuple[str, str]
) -> None:
    result = merge([_part(names[0], first), _part(names[1], second)], created="2024-01-01T00:00:00Z")
    ids = [r["deploymentID"] for r in result.tables["deployments"]]
    assert len(ids) == len(set(ids)) == len(first) + len(second)
    for table, key in (("media", "mediaID"), ("observations", "observationID")):
        values = [r[key] for r in result.tables[table]]
        assert len(values) == len(set(values))
    # an ID only one package uses is kept as it is
    for d in set(first) ^ set(second):
        assert d in ids
    # every reference still points at the row it pointed at before the merge
    deployment_tag = {r["deploymentID"]: r["tag"] for r in result.tables["deployments"]}
    media_tag = {r["mediaID"]: r["tag"] for r in result.tables["media"]}
    for row in result.tables["media"] + result.tables["observations"]:
        assert deployment_tag[row["deploymentID"]] == row["tag"]
    for row in result.tables["observations"]:
        assert media_tag[row["mediaID"]] == row["tag"]
    assert len({r["eventID"] for r in result.tables["observations"]}) == 2  # E of each package, kept apart
    assert ("deploymentID" in {c.field for c in result.conflicts}) == bool(set(first) & set(second))


def test_merging_needs_two_packages(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    result = run("survey", "merge", "--store", str(store), "-o", str(tmp_path / "m"))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "two packages or more" in result.stderr
    assert not (tmp_path / "m").exists()


def test_merge_bad_input_is_one_line(merged: tuple[Path, str], tmp_path: Path) -> None:
    store = merged[0].parent / "store"
    for args, words in (
        (["--store", str(store), "--package", "nope", "--package", "copy"], "--package 'nope'"),
        ([], "--store"),
        (["--store", str(store), "--grid", "0"], "--grid"),
        (["--store", str(tmp_path / "missing")], ""),
    ):
        result = run("survey", "merge", *args, "-o", str(tmp_path / "out.zip"))
        assert result.exit_code == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out.zip").exists()


def test_merging_chosen_packages_into_a_zip(merged: tuple[Path, str], tmp_path: Path) -> None:
    store = merged[0].parent / "store"
    out = tmp_path / "two.zip"
    result = run(
        "survey",
        "merge",
        "--store",
        str(store),
        "--package",
        "copy",
        "--package",
        "amurkg-test-survey-2023",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    again = run("import", str(out), "--store", str(tmp_path / "again"))
    assert again.exit_code == 0, again.stderr
    assert "4 deployments, 4 media, 22 observations" in again.stderr


def test_merge_refuses_outputs_it_cannot_write_before_any_work(merged: tuple[Path, str], tmp_path: Path) -> None:
    store = merged[0].parent / "store"
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "folder.zip").mkdir()
    before = sorted(p.name for p in store.iterdir())
    for target, words in (
        (tmp_path / "a-file", "is a file, not a folder"),
        (tmp_path / "a-file" / "x", "is not a folder"),
        (tmp_path / "missing" / "x.zip", "is not a folder"),
        (tmp_path / "folder.zip", "is a folder"),
        (store, "amurkg store's folder"),
        (store / "db" / "package", "amurkg store's folder"),
        (store / "package.zip", "amurkg store's folder"),
    ):
        result = run("survey", "merge", "--store", str(store), "-o", str(target))
        assert result.exit_code == 2, (target, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr
    assert sorted(p.name for p in store.iterdir()) == before
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "x"
    for target in (tmp_path / "a-file", store):  # export -f camtrapdp checks the same way
        result = run("export", "--store", str(store), "-f", "camtrapdp", "-o", str(target))
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
