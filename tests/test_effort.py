"""Effort, detection histories, camera operation and counts of individuals: by hand on tests/data/survey-small,
recomputed from the CSV files of the official Camtrap DP example, and in the shapes unmarked and camtrapR read.

Hand-computed answers (survey-small): D1 runs 2023-01-01T00:00+10:00 to 01-11T00:00+10:00 (10 days), D2
2023-01-01T12:00+10:00 to 01-06T00:00+10:00 (4.5 days). Leopard events at D1: 01-02 11:00 and 11:20 local
(20 minutes apart) and 01-05 23:00 local.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import ParameterError
from amurkg.survey.effort import camera_operation, effort_matrix, individual_counts, safe_cell
from amurkg.survey.filters import SurveyFilter, parse_date
from amurkg.survey.history import detection_history

SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"


def run(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from amurkg.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("small") / "store"
    amurkg.import_package(store, SMALL)
    return store


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> amurkg.KnowledgeGraph:
    store = tmp_path_factory.mktemp("example") / "store"
    amurkg.import_package(store, EXAMPLE)
    return amurkg.KnowledgeGraph(store=store)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> amurkg.KnowledgeGraph:
    store = tmp_path_factory.mktemp("both") / "store"
    amurkg.import_package(store, SMALL)
    amurkg.import_package(store, EXAMPLE)
    return amurkg.KnowledgeGraph(store=store)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines()))


def test_effort_by_hand(small_store: Path) -> None:
    result = run("survey", "effort", "--store", str(small_store), "--occasion", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "deploymentID,o1,o2,o3,o4,o5\nD1,2,2,2,2,2\nD2,2,2,0.5,NA,NA\n"
    by_day = rows(run("survey", "effort", "--store", str(small_store), "--by-day").stdout)
    assert by_day[0][1] == "2023-01-01" and by_day[0][-1] == "2023-01-10" and len(by_day[0]) == 11
    assert by_day[1][1:] == ["1"] * 10
    assert by_day[2][1:] == ["0.5", "1", "1", "1", "1"] + ["NA"] * 5


def test_dates_clip_the_effort_and_the_detections(small_store: Path) -> None:
    # 2023-01-03 00:00 UTC to 2023-01-05 00:00 UTC: two whole days at both cameras; the leopard's only
    # detection in it... none (01-02 01:00 UTC and 01-05 13:00 UTC are outside)
    args = ["--store", str(small_store), "--since", "2023-01-03", "--until", "2023-01-04"]
    assert run("survey", "effort", *args).stdout == "deploymentID,o1,o2\nD1,1,1\nD2,1,1\n"
    assert run("survey", "detection-history", *args).stdout == "deploymentID,o1,o2\nD1,0,0\nD2,0,0\n"
    boar = run("survey", "detection-history", *args, "--taxon", "wild boar").stdout
    # boar: D1 01-04 02:00 UTC (day 2 of the range), D2 01-03 00:00 UTC (day 1)
    assert boar == "deploymentID,o1,o2\nD1,0,1\nD2,1,0\n"


def test_history_and_effort_are_unmarked_y_and_obs_covs(small_store: Path, tmp_path: Path) -> None:
    """unmarkedFrameOccu(y, obsCovs = list(effort = E)): y is M x J of 0/1/NA, each obsCov M x J; read in R by
    as.matrix(read.csv(f, row.names = 1)), so the first column names unique sites and the others are numeric."""
    y_path, e_path = tmp_path / "y.csv", tmp_path / "effort.csv"
    result = run(
        "survey",
        "detection-history",
        "--store",
        str(small_store),
        "--occasion",
        "2",
        "-o",
        str(y_path),
        "--effort",
        str(e_path),
    )
    assert result.exit_code == 0, result.stderr
    y, effort = rows(y_path.read_text()), rows(e_path.read_text())
    assert y[0] == effort[0] and [r[0] for r in y] == [r[0] for r in effort]
    assert len({r[0] for r in y[1:]}) == len(y) - 1
    assert all(len(r) == len(y[0]) for r in y + effort)
    for yr, er in zip(y[1:], effort[1:], strict=True):
        for a, b in zip(yr[1:], er[1:], strict=True):
            assert a in {"0", "1", "NA"}
            assert (a == "NA") == (b == "NA")
            assert b == "NA" or 0 < float(b) <= 2


def _example_spans() -> dict[str, tuple[float, float]]:
    spans = {}
    for row in csv.DictReader((EXAMPLE / "deployments.csv").read_text().splitlines()):
        spans[row["deploymentID"]] = (
            datetime.fromisoformat(row["deploymentStart"]).timestamp(),
            datetime.fromisoformat(row["deploymentEnd"]).timestamp(),
        )
    return spans


def test_each_deployment_on_its_own_start_on_the_official_example(example: amurkg.KnowledgeGraph) -> None:
    """One clock for the survey gives 47 weekly occasions on the example, mostly NA; each deployment on its
    own start gives as many as its longest deployment needs. Both recomputed from deployments.csv."""
    spans = _example_spans()
    week = 7 * 86400
    own = detection_history(example, "Anas platyrhynchos", 7)
    survey = detection_history(example, "Anas platyrhynchos", 7, origin="survey")
    first, last = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
    assert survey.occasions == math.ceil((last - first) / week) == 47
    assert own.occasions == max(math.ceil((e - s) / week) for s, e in spans.values()) == 5
    na = sum(cell == "NA" for row in rows(survey.to_csv())[1:] for cell in row)
    assert na > 0.8 * 47 * len(spans)
    for _, identifier, cells in own.rows:
        start, end = spans[identifier]
        assert len(cells) == math.ceil((end - start) / week)
        assert all(c is not None for c in cells)  # active in every one of its own occasions


def test_detections_of_the_example_recomputed_from_its_csv(example: amurkg.KnowledgeGraph) -> None:
    spans = _example_spans()
    expected: dict[str, set[int]] = {d: set() for d in spans}
    for row in csv.DictReader((EXAMPLE / "observations.csv").read_text().splitlines()):
        if (row["scientificName"], row["observationLevel"], row["observationType"]) == (
            "Anas platyrhynchos",
            "event",
            "animal",
        ):
            moment = datetime.fromisoformat(row["eventStart"]).timestamp()
            expected[row["deploymentID"]].add(int((moment - spans[row["deploymentID"]][0]) // 86400))
    history = detection_history(example, "Anas platyrhynchos", 1)
    assert {d: {k for k, c in enumerate(cells) if c == 1} for _, d, cells in history.rows} == expected
    assert sum(map(len, expected.values())) > 3


def test_packages_are_merged_only_when_asked(both: amurkg.KnowledgeGraph) -> None:
    with pytest.raises(ParameterError, match="spans 2 packages"):
        effort_matrix(both, SurveyFilter(), 7)
    merged = effort_matrix(both, SurveyFilter(), 7, merge=True)
    table = rows(merged.to_csv())
    assert table[0][:2] == ["package", "deploymentID"] and len(table) == 1 + 2 + 4
    only = effort_matrix(both, SurveyFilter(packages=("amurkg-test-survey-2023",)), 2)
    assert [r[1] for r in only.rows] == ["D1", "D2"] and not only.merged
    ops = camera_operation(both, SurveyFilter(), merge=True)
    assert len(ops.rows) == 6


def test_individuals_and_rai_by_hand(small: amurkg.KnowledgeGraph) -> None:
    counts = {(c.deployment_id, c.scientific_name): c for c in individual_counts(small, SurveyFilter(), 30)}
    leopard = counts[("D1", "Panthera pardus orientalis")]
    # 30 minutes: the second detection (20 minutes after the first) is not independent; its animal counts
    assert (leopard.detections, leopard.individuals, leopard.camera_days, leopard.rai) == (2, 3, 10, 20)
    assert leopard.rai_individuals == 30
    boar = counts[("D2", "Sus scrofa")]
    assert boar.rai_individuals == pytest.approx(100 / 4.5)


@pytest.fixture(scope="module")
def small(small_store: Path) -> amurkg.KnowledgeGraph:
    return amurkg.KnowledgeGraph(store=small_store)


def test_individuals_on_the_example_recomputed_from_its_csv(example: amurkg.KnowledgeGraph) -> None:
    expected: dict[tuple[str, str], int] = {}
    for row in csv.DictReader((EXAMPLE / "observations.csv").read_text().splitlines()):
        if row["observationLevel"] == "event" and row["observationType"] == "animal" and row["scientificName"]:
            key = (row["deploymentID"], row["scientificName"])
            expected[key] = expected.get(key, 0) + (int(row["count"]) if row["count"] else 1)
    counts = individual_counts(example)
    assert {(c.deployment_id, c.scientific_name): c.individuals for c in counts} == expected
    mallard = next(c for c in counts if (c.deployment_id, c.scientific_name) == ("00a2c20d", "Anas platyrhynchos"))
    assert (mallard.detections, mallard.individuals) == (6, 23)  # 9 records in 6 events (by hand)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_dates_are_parsed_or_refused_in_one_line(text: str) -> None:
    try:
        parse_date(text, "--since")
    except ParameterError as exc:
        assert "\n" not in str(exc).replace(repr(text), "") and "--since" in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=True), st.none()))
def test_no_cell_reads_as_a_formula(value: object) -> None:
    cell = safe_cell(value)
    if isinstance(value, str) and value:
        assert cell[0] not in "=+-@\t\r\n"
        assert cell in (value, "'" + value)
    assert cell != "" or value == ""


def test_filters_are_one_definition_on_every_survey_command() -> None:
    from amurkg.cli import survey_app

    names = (
        "--taxon",
        "--since",
        "--until",
        "--deployment",
        "--location",
        "--package",
        "--observation-type",
        "--include-timelapse",
    )
    analyses = {"detection-history", "effort", "individuals", "activity", "prey-activity-overlap", "overlap"}
    assert analyses <= {c.name for c in survey_app.registered_commands}
    for command in analyses:
        result = run("survey", command, "--help")
        assert result.exit_code == 0
        for name in names:
            assert name in result.stdout, (command, name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2023-13-01"], "--since: '2023-13-01' is not a date"),
        (["--since", "2023-01-05", "--until", "2023-01-01"], "the date range is empty"),
        (["--observation-type", "cat"], "unknown observation type 'cat'"),
        (["--package", "nope"], "--package 'nope': the store holds no such package"),
        (["--occasion", "1e9"], "occasion length"),
    ],
)
def test_bad_filters_exit_2_with_one_line(small_store: Path, args: list[str], message: str) -> None:
    result = run("survey", "effort", "--store", str(small_store), *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_activity_times_of_the_example_recomputed_from_its_csv(example: amurkg.KnowledgeGraph) -> None:
    """Clock times of day: each event start in its deployment's UTC offset (that of deploymentStart); at an
    interval of 0 minutes, observations of one event (same deployment, same start) count once."""
    from amurkg.survey.patterns import activity_curve

    offsets = {
        row["deploymentID"]: datetime.fromisoformat(row["deploymentStart"]).utcoffset()
        for row in csv.DictReader((EXAMPLE / "deployments.csv").read_text().splitlines())
    }
    expected = []
    seen = set()
    for row in csv.DictReader((EXAMPLE / "observations.csv").read_text().splitlines()):
        if (row["scientificName"], row["observationLevel"], row["observationType"]) == (
            "Anas platyrhynchos",
            "event",
            "animal",
        ):
            offset = offsets[row["deploymentID"]]
            assert offset is not None
            if (row["deploymentID"], row["eventStart"]) in seen:
                continue
            seen.add((row["deploymentID"], row["eventStart"]))
            local = datetime.fromisoformat(row["eventStart"]) + offset
            expected.append((local.hour * 3600 + local.minute * 60 + local.second) / 86400)
    curve = activity_curve(example, SurveyFilter(taxon="Anas platyrhynchos"), interval=0)
    assert sorted(curve.times) == pytest.approx(sorted(expected), abs=1e-9)
    solar = activity_curve(example, SurveyFilter(taxon="Anas platyrhynchos"), scale="solar", interval=0)
    # Belgium and the Netherlands in summer: mallards seen around 06:00-08:00 local, near sunrise (0.25)
    assert solar.n == curve.n and all(0.1 < t < 0.4 for t in solar.times)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["--deployment", "--location", "--package", "--taxon", "--since", "--until"]),
    st.text(min_size=1, max_size=20).filter(lambda t: not t.startswith("-")),
)
def test_any_filter_value_gives_an_answer_or_one_line(
    tmp_path_factory: pytest.TempPathFactory, option: str, value: str
) -> None:
    store = tmp_path_factory.getbasetemp() / "filter-store"
    if not store.exists():
        amurkg.import_package(store, SMALL)
    result = run("survey", "effort", "--store", str(store), option, value)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("amurkg: error: ") and result.stderr.count("\n") == 1
    else:
        assert result.stdout.startswith("deploymentID,")
