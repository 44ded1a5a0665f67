"""Clock and taxon corrections (with provenance, reversible, reflected in the analyses) and the name-matching
report, by hand on tests/data/survey-small (leopard events at D1: 11:00, 11:20 and 23:00 local, UTC+10)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import ParameterError
from amurkg.survey import corrections as corr
from amurkg.survey.effort import individual_counts
from amurkg.survey.filters import SurveyFilter
from amurkg.survey.history import detection_history
from amurkg.survey.patterns import activity_curve

SMALL = REPO / "tests" / "data" / "survey-small"


def run(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from amurkg.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """survey-small imported once; each test gets a copy of it (``store``): a copy of a closed store is that
    store, and the import is the same for every test here (about 0.45 s each, more under load)."""
    path = tmp_path_factory.mktemp("imported") / "store"
    amurkg.import_package(path, SMALL)
    return path


@pytest.fixture
def store(tmp_path: Path, imported: Path) -> Path:
    return Path(shutil.copytree(imported, tmp_path / "store"))


def leopard_times(path: Path) -> list[float]:
    with amurkg.KnowledgeGraph(store=path) as kg:
        return [round(t * 24, 4) for t in activity_curve(kg, SurveyFilter(taxon="Amur leopard"), interval=0).times]


def test_a_clock_correction_moves_every_time_and_can_be_withdrawn(store: Path) -> None:
    assert leopard_times(store) == [11.0, 11.3333, 23.0]
    [correction] = corr.shift_time(store, ["D1"], "-01:00", "camera left on summer time", by="field team")
    assert leopard_times(store) == [10.0, 10.3333, 22.0]
    with amurkg.KnowledgeGraph(store=store) as kg:
        [recorded] = corr.corrections(kg)
        # one clock from the survey's start: D1 now starts an hour before D2's first occasion grid
        survey = detection_history(kg, "wild boar", 0.5, origin="survey")
    assert (recorded.kind, recorded.by, recorded.reason, recorded.active) == (
        "clock",
        "field team",
        "camera left on summer time",
        True,
    )
    assert float(recorded.value) == -3600 and recorded.target.endswith("/deployment/D1")
    assert recorded.at.endswith("Z") and recorded.id == correction.id
    assert survey.starts[0].isoformat() == "2022-12-31T23:00:00+10:00"
    withdrawn = corr.undo(store, correction.id, "it was the other camera", by="curator")
    assert withdrawn.undone_note == "withdrawn by curator: it was the other camera"
    assert leopard_times(store) == [11.0, 11.3333, 23.0]
    with amurkg.KnowledgeGraph(store=store) as kg:
        [kept] = corr.corrections(kg)  # withdrawn, not deleted
    assert not kept.active and kept.reason == "camera left on summer time"
    with pytest.raises(ParameterError, match="already withdrawn"):
        corr.undo(store, correction.id, "again")


def test_a_clock_correction_moves_the_dates_a_filter_sees(store: Path) -> None:
    # the leopard at 2023-01-05 13:00 UTC enters a range ending with 2023-01-04 when D1's clock moves a day back
    flt = SurveyFilter(taxon="Amur leopard", end="2023-01-04")  # type: ignore[arg-type]
    with amurkg.KnowledgeGraph(store=store) as kg:
        before = sum(c.individuals for c in individual_counts(kg, flt))
    corr.shift_time(store, ["D1"], "-1d", "clock a day fast", by="t")
    with amurkg.KnowledgeGraph(store=store) as kg:
        after = sum(c.individuals for c in individual_counts(kg, flt))
    assert (before, after) == (2, 3)


def test_a_taxon_correction_counts_observations_as_the_taxon(store: Path) -> None:
    with amurkg.KnowledgeGraph(store=store) as kg:
        boar = {c.deployment_id: c.individuals for c in individual_counts(kg, SurveyFilter(taxon="wild boar"))}
    assert boar == {"D1": 1, "D2": 1}
    correction = corr.update_taxon(store, "Lynx  lynx", "wild boar", "the lynx was a boar", by="t")
    with amurkg.KnowledgeGraph(store=store) as kg:
        boar = {c.deployment_id: c.individuals for c in individual_counts(kg, SurveyFilter(taxon="wild boar"))}
        lynx = individual_counts(kg, SurveyFilter(taxon="Lynx lynx"))
        report = {m.name: m for m in corr.name_matches(kg)}
    assert boar == {"D1": 2, "D2": 1} and lynx == []
    assert report["Lynx lynx"].corrected_to == "https://w3id.org/amurkg/id/wild-boar"
    corr.undo(store, correction.id, "no", by="t")
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert len(individual_counts(kg, SurveyFilter(taxon="Lynx lynx"))) == 1


def test_name_matching_report_by_hand(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(SMALL, package)
    observations = package / "observations.csv"
    observations.write_text(observations.read_text().replace("Lynx lynx", "Panthera tigris"))
    store = tmp_path / "store"
    amurkg.import_package(store, package)
    result = run("survey", "names", "--store", str(store))
    assert result.exit_code == 0, result.stderr
    rows = {r["scientificName"]: r for r in csv.DictReader(result.stdout.splitlines())}
    assert {name: (r["matchType"], r["observations"]) for name, r in rows.items()} == {
        "Capreolus pygargus": ("exact", "2"),
        "Cervus nippon hortulorum": ("synonym", "1"),  # the curated name is Cervus nippon mantchuricus
        "Panthera pardus orientalis": ("exact", "4"),
        "Panthera tigris": ("higherrank", "1"),  # only the genus Panthera is curated
        "Sus scrofa": ("exact", "2"),
    }
    assert rows["Panthera tigris"]["matched"] == "https://w3id.org/amurkg/id/panthera"


def test_correction_commands(store: Path) -> None:
    result = run(
        "survey",
        "correct-clock",
        "--store",
        str(store),
        "--deployment",
        "D2",
        "--offset",
        "+00:30",
        "--why",
        "drift",
        "--by",
        "me",
    )
    assert result.exit_code == 0, result.stderr
    [row] = list(csv.DictReader(result.stdout.splitlines()))
    assert (row["kind"], row["value"], row["by"], row["reason"]) == ("clock", "1800", "me", "drift")
    listed = list(csv.DictReader(run("survey", "corrections", "--store", str(store)).stdout.splitlines()))
    assert [r["id"] for r in listed] == [row["id"]]
    undone = run("survey", "undo-correction", row["id"], "--store", str(store), "--why", "no drift", "--by", "me")
    assert undone.exit_code == 0 and "withdrawn by me: no drift" in undone.stdout
    bad = run("survey", "correct-clock", "--store", str(store), "--deployment", "D9", "--offset", "1h", "--why", "x")
    assert (
        bad.exit_code == 2
        and bad.stderr == "amurkg: error: no deployment 'D9' in the store: see amurkg survey effort for its IDs\n"
    )
    taxon = run(
        "survey", "update-taxon", "--store", str(store), "--name", "Lynx lynx", "--taxon", "nothing-here", "--why", "x"
    )
    assert taxon.exit_code == 2 and taxon.stderr.count("\n") == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_offsets_are_parsed_or_refused_in_one_line(text: str) -> None:
    try:
        seconds = corr.parse_offset(text)
    except ParameterError as exc:
        assert "offset" in str(exc)
    else:
        assert 0 < abs(seconds) <= 366 * 86400


def test_offsets_by_hand() -> None:
    # times are kept to the microsecond: a finer offset would move the analyses' times, not the corrected ones
    for finer in ("-0.0000004", "0.0000015", "1.0000001s"):
        with pytest.raises(ParameterError, match="microsecond"):
            corr.parse_offset(finer)
    assert corr.parse_offset("0.000001") == 0.000001
    assert corr.parse_offset("+0.1") == 0.1
    assert corr.parse_offset("+01:30") == 5400
    assert corr.parse_offset("-00:00:30") == -30
    assert corr.parse_offset("2d") == 172800
    assert corr.parse_offset("-30m") == -1800
    assert corr.parse_offset("90") == 90


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=30))
def test_any_reason_is_kept_printable_or_refused(tmp_path_factory: pytest.TempPathFactory, why: str) -> None:
    store = tmp_path_factory.getbasetemp() / "hypothesis-store"
    if not store.exists():
        amurkg.import_package(store, SMALL)
    try:
        [correction] = corr.shift_time(store, ["D2"], "1s", why, by="t")
    except ParameterError as exc:
        assert "\n" not in str(exc)
        return
    import unicodedata

    assert correction.reason == " ".join(why.split())
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in correction.reason)
    corr.undo(store, correction.id, "test", by="t")


def _shifted(text: str, hours: int) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if text.endswith("Z") else moment.isoformat()


def _copy(tmp_path: Path, deployment: str | None, hours: int, rename: tuple[str, str] | None = None) -> Path:
    """tests/data/survey-small as it would have been recorded corrected: the deployment's times shifted in the
    CSV files, or a scientific name replaced."""
    copy = tmp_path / "corrected-package"
    shutil.copytree(SMALL, copy)
    columns = {
        "deployments.csv": ("deploymentStart", "deploymentEnd"),
        "media.csv": ("timestamp",),
        "observations.csv": ("eventStart", "eventEnd"),
    }
    for name, fields in columns.items():
        with (copy / name).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            if row["deploymentID"] == deployment:
                for column in fields:
                    row[column] = _shifted(row[column], hours)
            if rename is not None and name == "observations.csv" and row["scientificName"] == rename[0]:
                row["scientificName"] = rename[1]
        with (copy / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return copy


#: Every canned query that counts survey records, with the parameters it needs: each reflects the corrections.
SURVEY_QUERIES: dict[str, tuple[str, ...]] = {
    "activity-pattern": (),
    "activity-pattern-any": (),
    "co-detections": (),
    "co-detections-any": (),
    "detection-rate": (),
    "detection-rate-any": (),
    "detections-near": ("-p", "latitude=43.1", "-p", "longitude=131.5", "-p", "km=50"),
    "prey-detection-rate": (),
    "survey-effort": (),
}


def test_every_survey_query_is_checked() -> None:
    from amurkg.catalog import list_queries

    survey = ("akg:deployment", "akg:Deployment", "akg:HourlyDetectionCount", "akg:localHour", "akg:hourOfDay")
    counting = {q.name for q in list_queries() if any(term in q.text for term in survey)}
    assert counting == set(SURVEY_QUERIES)


def _answers(path: Path) -> dict[str, str]:
    out = {}
    for name in SURVEY_QUERIES:
        result = run("query", name, "--store", str(path), *SURVEY_QUERIES[name])
        assert result.exit_code == 0, result.output
        out[name] = result.output
    return out


@pytest.mark.parametrize("hours", [-3, 5])
def test_a_clock_correction_reaches_the_counts_computed_at_import(store: Path, tmp_path: Path, hours: int) -> None:
    imported = _answers(store)
    expected = tmp_path / "expected"
    amurkg.import_package(expected, _copy(tmp_path, "D1", hours))
    corrected = _answers(expected)
    assert corrected["activity-pattern"] != imported["activity-pattern"]  # the test could fail
    [correction] = corr.shift_time(store, ["D1"], f"{hours:+03d}:00", "camera clock", by="t")
    assert _answers(store) == corrected
    corr.undo(store, correction.id, "it was right", by="t")
    assert _answers(store) == imported


def test_a_taxon_correction_reaches_the_counts_computed_at_import(store: Path, tmp_path: Path) -> None:
    imported = _answers(store)
    expected = tmp_path / "expected"
    amurkg.import_package(expected, _copy(tmp_path, None, 0, ("Lynx lynx", "Sus scrofa")))
    corrected = _answers(expected)
    assert corrected["detection-rate"] != imported["detection-rate"]
    correction = corr.update_taxon(store, "Lynx lynx", "wild boar", "the lynx was a boar", by="t")
    assert _answers(store) == corrected
    # a clock correction on top of the taxon correction: both are in force in the counts
    [clock] = corr.shift_time(store, ["D1"], "+02:00", "camera clock", by="t")
    both = tmp_path / "both"
    amurkg.import_package(both, _copy(tmp_path / "b", "D1", 2, ("Lynx lynx", "Sus scrofa")))
    expected_both = _answers(both)
    # every survey query's answer moves (the *-any ones that read observations too), and as the corrected
    # package's would
    assert [name for name in SURVEY_QUERIES if expected_both[name] == imported[name]] == []
    assert _answers(store) == expected_both
    corr.undo(store, clock.id, "no", by="t")
    corr.undo(store, correction.id, "no", by="t")
    assert _answers(store) == imported


def test_a_failed_recount_leaves_the_store_as_before(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imported = _answers(store)

    def broken(*args: object) -> set[object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(corr, "_recounted", broken)
    with pytest.raises(RuntimeError):
        corr.shift_time(store, ["D1"], "+01:00", "camera clock", by="t")
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert corr.corrections(kg) == []
    assert _answers(store) == imported


def test_a_re_import_keeps_the_corrections_in_force_in_its_counts(store: Path, tmp_path: Path) -> None:
    expected = tmp_path / "expected"
    amurkg.import_package(expected, _copy(tmp_path, "D1", -3))
    corr.shift_time(store, ["D1"], "-03:00", "camera clock", by="t")
    amurkg.import_package(store, SMALL)  # the same package again: the correction still applies
    assert _answers(store) == _answers(expected)


def test_len_counts_what_queries_see_through_every_write(tmp_path: Path) -> None:
    """``len(kg)`` on a store is the number of triples a query sees: after an import whose leopard camera is
    generalised (exact values moved out of sight, generalised ones added), a correction that makes another camera
    sensitive, a clock shift, its withdrawal, a new grid, a second package and a removal. (It used to add up the
    triples each import wrote, before generalising, and no correction: 1 to 20 off.)"""
    store = tmp_path / "store"

    def check(step: str) -> None:
        with amurkg.KnowledgeGraph(store=store) as kg:
            seen = kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0][0]
            assert len(kg) == int(seen.value), step

    amurkg.import_package(store, SMALL)
    check("import")
    corr.update_taxon(store, "Capreolus pygargus", "Amur leopard", "the roe deer was a leopard", by="t")
    check("taxon correction")
    [shift] = corr.shift_time(store, ["D2"], "-01:00", "summer time", by="t")
    check("clock shift")
    corr.undo(store, shift.id, "wrong camera", by="t")
    check("withdrawn")
    from amurkg.survey.importer import reprotect

    reprotect(store, 1.0)
    check("new grid")
    amurkg.import_package(store, REPO / "tests" / "data" / "camtrap-dp-example")
    check("second package")
    from amurkg.survey.importer import list_imports, remove_package

    remove_package(store, list_imports(store)[0].identifier)
    check("removed")
