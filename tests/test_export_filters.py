"""The record filters of the survey commands choose the observations of a Darwin Core Archive too (issue 16:
"filters on every survey query, plot, history and export"): the same taxon (with the taxa below it), date range,
deployments, locations and packages. Without any filter the archive holds every event-level animal observation,
as before; what is generalised is decided by the whole store, not by the part exported."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_survey import EXAMPLE, SMALL, run

#: survey-small's event-level animal observations: ID -> (deployment, scientific name, start in UTC)
SMALL_EVENTS = {
    "O1": ("D1", "Panthera pardus orientalis", "2023-01-02T01:00:00Z"),
    "O2": ("D1", "Panthera pardus orientalis", "2023-01-02T01:20:00Z"),
    "O3": ("D1", "Panthera pardus orientalis", "2023-01-05T13:00:00Z"),
    "O4": ("D1", "Sus scrofa", "2023-01-04T02:00:00Z"),
    "O5": ("D1", "Capreolus pygargus", "2023-01-03T03:00:00Z"),
    "O6": ("D1", "Capreolus pygargus", "2023-01-03T03:45:00Z"),
    "O7": ("D1", "Lynx lynx", "2023-01-06T00:00:00Z"),
    "O11": ("D2", "Sus scrofa", "2023-01-03T00:00:00Z"),
    "O12": ("D2", "Cervus nippon hortulorum", "2023-01-02T00:00:00Z"),
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("export-filters")
    made = {}
    for name, package in (("small", SMALL), ("example", EXAMPLE)):
        assert run("import", str(package), "--store", str(folder / name)).exit_code == 0
        made[name] = folder / name
    return made


def rows(store: Path, *filters: str, out: Path) -> list[dict[str, str]]:
    result = run("export", "--store", str(store), "-f", "dwca", *filters, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(out) as zf:
        text = zf.read("occurrence.txt").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def ids(found: list[dict[str, str]]) -> set[str]:
    return {r["occurrenceID"] for r in found}


def test_each_filter_keeps_the_records_a_reader_of_the_package_expects(stores: dict[str, Path], tmp_path: Path) -> None:
    small = stores["small"]
    out = tmp_path / "a.zip"
    assert ids(rows(small, out=out)) == set(SMALL_EVENTS)
    assert ids(rows(small, "--taxon", "wild boar", out=out)) == {"O4", "O11"}
    # with the taxa below: the leopard is a subspecies of Panthera pardus, in the genus Panthera; the package's
    # Cervus nippon hortulorum is matched to the curated sika deer, below Cervus nippon
    for taxon in ("Amur leopard", "Panthera pardus", "Panthera"):
        assert ids(rows(small, "--taxon", taxon, out=out)) == {"O1", "O2", "O3"}, taxon
    assert ids(rows(small, "--taxon", "Cervus nippon", out=out)) == {"O12"}
    assert ids(rows(small, "--deployment", "D2", out=out)) == {"O11", "O12"}
    assert ids(rows(small, "--location", "L2", out=out)) == {"O11", "O12"}
    assert ids(rows(small, "--since", "2023-01-04", out=out)) == {"O3", "O4", "O7"}
    assert ids(rows(small, "--until", "2023-01-02", out=out)) == {"O1", "O2", "O12"}
    found = rows(small, "--taxon", "wild boar", "--deployment", "D1", out=out)
    assert ids(found) == {"O4"}
    # the leopard's camera stays generalised in an archive of its wild boar alone: the store decides
    assert found[0]["informationWithheld"] and found[0]["decimalLatitude"] != "43.1"
    with zipfile.ZipFile(out) as zf:
        media = list(csv.DictReader(io.StringIO(zf.read("multimedia.txt").decode()), delimiter="\t"))
    assert {m["coreid"] for m in media} <= {"O4"}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=st.integers(0, 8), deployment=st.sampled_from(["D1", "D2"]))
def test_a_date_split_and_the_deployments_partition_the_archive(
    stores: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, split: int, deployment: str
) -> None:
    """Records up to a day and records from the next day are the archive's records, each once; as are one
    deployment's and the other's. (Counted against the package's own rows, not against amurkg's reading.)"""
    folder = tmp_path_factory.mktemp("split")
    small = stores["small"]
    day = date(2023, 1, 1) + timedelta(days=split)
    before = ids(rows(small, "--until", day.isoformat(), out=folder / "b.zip"))
    after = ids(rows(small, "--since", (day + timedelta(days=1)).isoformat(), out=folder / "a.zip"))
    assert not before & after and before | after == set(SMALL_EVENTS)
    assert before == {o for o, (_, _, start) in SMALL_EVENTS.items() if start[:10] <= day.isoformat()}
    mine = ids(rows(small, "--deployment", deployment, out=folder / "d.zip"))
    assert mine == {o for o, (d, _, _) in SMALL_EVENTS.items() if d == deployment}


def test_the_official_example_by_taxon_adds_up_to_the_whole(stores: dict[str, Path], tmp_path: Path) -> None:
    example = stores["example"]
    whole = rows(example, out=tmp_path / "all.zip")
    names = sorted({r["scientificName"] for r in whole})
    assert len(whole) == 29 and len(names) > 3
    parts = [ids(rows(example, "--taxon", name, out=tmp_path / f"{i}.zip")) for i, name in enumerate(names)]
    assert sum(map(len, parts)) == len(whole) and set().union(*parts) == ids(whole)


def test_filters_on_rdf_formats_are_one_line(stores: dict[str, Path], tmp_path: Path) -> None:
    for fmt in ("ttl", "nq"):
        target = tmp_path / f"x.{fmt}"
        result = run("export", "--store", str(stores["small"]), "-f", fmt, "--taxon", "wild boar", "-o", str(target))
        assert result.exit_code == 2 and "-f dwca" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not target.exists()
    bad = tmp_path / "b.zip"
    result = run("export", "--store", str(stores["small"]), "-f", "dwca", "--since", "2023-13-01", "-o", str(bad))
    assert result.exit_code == 2 and "--since" in result.stderr and not bad.exists()


def _package(path: Path) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as zf:
        return {
            name: list(csv.DictReader(io.StringIO(zf.read(f"{name}.csv").decode("utf-8"))))
            for name in ("deployments", "media", "observations")
        }


@pytest.mark.parametrize(
    ("filters", "cameras", "observations"),
    [
        (["--deployment", "D2"], {"D2"}, {"O11", "O12"}),
        (["--taxon", "Amur leopard"], {"D1", "D2"}, {"O1", "O2", "O3", "O8"}),
        (["--since", "2023-01-04", "--taxon", "wild boar"], {"D1", "D2"}, {"O4"}),
    ],
)
def test_a_filtered_camtrapdp_export_is_a_package_of_what_the_filter_keeps(
    stores: dict[str, Path], tmp_path: Path, filters: list[str], cameras: set[str], observations: set[str]
) -> None:
    """camtrapdp's filter_deployments / filter_observations, then write_camtrapdp: the deployments and
    observations (event and media level) the filter keeps, the media they name or that were taken within a kept
    event; a package amurkg imports again (every link leads somewhere)."""
    out = tmp_path / "part.zip"
    result = run("export", "--store", str(stores["small"]), "-f", "camtrapdp", *filters, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    tables = _package(out)
    assert {r["deploymentID"] for r in tables["deployments"]} == cameras
    assert {r["observationID"] for r in tables["observations"]} == observations
    media = {r["mediaID"] for r in tables["media"]}
    assert {r["mediaID"] for r in tables["observations"] if r["mediaID"]} <= media
    assert all(r["deploymentID"] in cameras for r in tables["media"])
    assert run("import", str(out), "--store", str(tmp_path / "again")).exit_code == 0
