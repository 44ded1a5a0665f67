"""The record filters of the canned survey queries (``amurkg query NAME -p package=... -p since=...``, the Python
API's ``kg.run``, the served query forms): defined once (``catalog.RECORD_FILTERS``), bound as terms, checked
by hand on tests/data/survey-small and on the official Camtrap DP example, and with Hypothesis against the
unfiltered answers (or the Python analyses' own records) restricted by the same predicate in Python."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.catalog import FILTER_NAMES, RECORD_FILTERS, get_query, list_queries
from amurkg.errors import ParameterError
from amurkg.survey.filters import SurveyFilter, deployments, detections

SMALL = REPO / "tests" / "data" / "survey-small"
#: The official Camtrap DP 1.0.2 example package, as the tests keep it (the owner's ../shared copy is absent from
#: a user's checkout, where reading it there made 14 tests error out of the README's `pytest`).
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
SMALL_PACKAGE = "amurkg-test-survey-2023"
#: The queries that read counts computed at import, answered from the detections for the filters those cannot.
COUNTED = ("detection-rate", "prey-detection-rate", "detections-near", "co-detections", "activity-pattern")
EXAMPLE_PACKAGE = "7cca70f5-ef8c-4f86-85fb-8f070937d7ab"


def run(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from amurkg.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both packages in one store: the package filter has two to choose from."""
    path = tmp_path_factory.mktemp("filters") / "store"
    amurkg.import_package(path, SMALL)
    amurkg.import_package(path, EXAMPLE)
    return path


@pytest.fixture(scope="module")
def kg(store: Path) -> Any:
    with amurkg.KnowledgeGraph(store=store) as opened:
        yield opened


def rows(kg: Any, name: str, params: dict[str, str] | None = None) -> list[tuple[str | None, ...]]:
    return [tuple(None if t is None else t.value for t in row) for row in kg.run(name, params or {}).rows]


def column(kg: Any, name: str, params: dict[str, str], col: str) -> list[tuple[str | None, ...]]:
    answer = kg.run(name, params)
    at = answer.variables.index(col)
    return [(*tuple(None if t is None else t.value for t in row), row[at].value) for row in answer.rows]


# ----------------------------------------------------------------------------- one definition


def test_every_survey_query_takes_the_filters_from_one_definition() -> None:
    survey = [q for q in list_queries() if q.filters]
    assert {q.name for q in survey} == {
        "activity-pattern",
        "activity-pattern-any",
        "co-detections",
        "co-detections-any",
        "detection-rate",
        "detection-rate-any",
        "detections-near",
        "prey-detection-rate",
        "survey-effort",
    }
    for q in survey:
        taken = [p for p in q.parameters if p.name in q.filters]
        assert taken == [p for p in RECORD_FILTERS if p.name in q.filters]  # the same objects, not copies
        if set(q.filters) != set(FILTER_NAMES):
            assert q.filter_hint, q.name  # says where to go for the filters it lacks
    # the queries that read every observation take every filter (the taxa of co-detections-any are its own)
    assert set(get_query("detection-rate-any").filters) == set(FILTER_NAMES)
    assert set(get_query("activity-pattern-any").filters) == set(FILTER_NAMES)
    # and so do those that read counts computed at import: what the counts cannot answer, the detections do
    for name in ("detection-rate", "detections-near", "activity-pattern"):
        assert set(get_query(name).filters) == set(FILTER_NAMES), name
    for name in ("prey-detection-rate", "co-detections", "survey-effort"):
        assert {"since", "until", "deployment", "location", "package"} <= set(get_query(name).filters), name
    for name in COUNTED:
        q = get_query(name)
        assert q.counted and set(q.counted) < set(q.filters) and q.detailed, name
        assert q.text_for({})[0] == q.text and q.text_for({"since": "2023-01-01"})[0] == q.detailed
        # a parameter that is no filter, or a blank form field, keeps the counts
        assert q.text_for({"interval": "30", "window": "7", "until": " "})[0] == q.text


def test_the_filters_are_listed_and_in_the_json_for_forms() -> None:
    import json

    result = run("queries", "--json")
    assert result.exit_code == 0, result.output
    doc = {q["name"]: q for q in json.loads(result.output)}
    names = [p["name"] for p in doc["detection-rate-any"]["parameters"]]
    assert [n for n in names if n in FILTER_NAMES] == list(FILTER_NAMES)
    kinds = {p["name"]: p["kind"] for p in doc["detection-rate-any"]["parameters"]}
    assert kinds["since"] == "date" and kinds["deployment"] == "list" and kinds["taxon"] == "entity"


# ----------------------------------------------------------------------------- by hand


def test_small_fixture_by_hand(kg: Any) -> None:
    """D1 runs 2022-12-31T14:00Z to 2023-01-10T14:00Z (10 days), D2 2023-01-01T02:00Z to 2023-01-05T14:00Z
    (4.5 days); leopard events at D1 on 2023-01-02 01:00Z and 01:20Z (20 minutes apart) and 2023-01-05 13:00Z."""
    leopard = {"taxon": "Panthera pardus", "package": SMALL_PACKAGE}
    assert [r[:5] for r in rows(kg, "detection-rate", leopard)] == [
        ("D1", "Panthera pardus orientalis", "2", "10", "20")
    ]
    # from January 3 (UTC): 7 days 14 hours of D1, and only the leopard event of January 5
    dated = rows(kg, "detection-rate-any", {**leopard, "since": "2023-01-03"})
    assert [r[:5] for r in dated] == [("D1", "Panthera pardus orientalis", "1", "7.583333", "13.187")]
    # up to the end of January 2: 2 days 10 hours; the second event is 20 minutes after the first
    dated = rows(kg, "detection-rate-any", {**leopard, "until": "2023-01-02"})
    assert [r[:5] for r in dated] == [("D1", "Panthera pardus orientalis", "1", "2.416667", "41.379")]
    # at interval 0 both count
    dated = rows(kg, "detection-rate-any", {**leopard, "until": "2023-01-02", "interval": "0"})
    assert [r[2] for r in dated] == ["2"]
    # an instant with its offset: 2023-01-02T11:10+10:00 is 01:10Z, between the two events
    dated = rows(kg, "activity-pattern-any", {**leopard, "since": "2023-01-02T11:10:00+10:00", "interval": "0"})
    assert [(r[1], r[2]) for r in dated] == [("11", "1"), ("23", "1")]
    # a location name with a comma in it is one value
    assert [r[1] for r in rows(kg, "survey-effort", {"location": "stream, upper"})] == ["D2"]
    assert [r[1] for r in rows(kg, "survey-effort", {"location": "L1,L2", "package": SMALL_PACKAGE})] == ["D1", "D2"]
    # deployments of several packages
    effort = rows(kg, "survey-effort", {"deployment": "D2,577b543a"})
    assert [r[1] for r in effort] == ["D2", "577b543a"] or [r[1] for r in effort] == ["577b543a", "D2"]


def test_official_example_by_hand(kg: Any) -> None:
    """Camtrap DP 1.0.2's example: deployment 00a2c20d (2020-05-30T02:57:37Z to 2020-07-01T09:41:41Z) saw
    mallards on June 6 (twice, at the same second), 9 and 12 (twice) and a grey heron on June 12."""
    week = {"deployment": "00a2c20d", "since": "2020-06-06", "until": "2020-06-12"}
    got = [r[:5] for r in rows(kg, "detection-rate-any", week)]
    assert got == [
        ("00a2c20d", "Anas platyrhynchos", "3", "7", "42.857"),
        ("00a2c20d", "Ardea cinerea", "1", "7", "14.286"),
    ]
    # location 'B_DL_val 3_dikke boom' is deployment 577b543a: 9 days 2:33:22 (9.106505 days), three
    # polecat events days apart, a beech marten and a red fox
    got = [r[:4] for r in rows(kg, "detection-rate", {"location": "B_DL_val 3_dikke boom"})]
    assert got == [
        ("577b543a", "Martes foina", "1", "9.106505"),
        ("577b543a", "Mustela putorius", "3", "9.106505"),
        ("577b543a", "Vulpes vulpes", "1", "9.106505"),
    ]
    # the mallard's hours (local time, UTC+2): 04:57, 06:05, 06:11 (twice), 05:16, 06:04 (twice), 04:11 at
    # 00a2c20d, then 07:46, 06:29, 06:43, 07:00, 07:09, 07:04 at 29b7d356; independent at 30 minutes
    hours = rows(kg, "activity-pattern", {"taxon": "Anas platyrhynchos"})
    assert [(r[1], r[2]) for r in hours] == [("4", "2"), ("5", "1"), ("6", "5"), ("7", "4")]
    hours = rows(kg, "activity-pattern-any", {"taxon": "Anas platyrhynchos", "deployment": "29b7d356"})
    assert [(r[1], r[2]) for r in hours] == [("6", "2"), ("7", "4")]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["detection-rate", "-p", "since=2023-02-30"], "YYYY-MM-DD"),
        (["prey-detection-rate", "-p", "until=2023-01-02T10:00:00"], "UTC offset"),
        (["co-detections", "-p", "since=2023-01-05", "-p", "until=2023-01-04"], "empty"),
        (["co-detections", "-p", "taxon=wild boar"], "does not take the filter 'taxon'"),
        (["detection-rate", "-p", "observationType=cat"], "unknown observation type 'cat'"),
        (["activity-pattern-any", "-p", "observationType=animals"], "did you mean 'animal'"),
        (["detections-near", "-p", "latitude=43", "-p", "longitude=131", "-p", "observationType=,"], "at least one"),
        (["activity-pattern", "-p", "deployment=D9"], "no deployment 'D9'"),
        (["detection-rate", "-p", "timeLapse=yes"], "neither exclude"),
        (["detection-rate-any", "-p", "since=yesterday"], "YYYY-MM-DD"),
        (["detection-rate-any", "-p", "since=2023-01-02T10:00:00"], "UTC offset"),
        (["detection-rate-any", "-p", "since=2023-01-05", "-p", "until=2023-01-04"], "empty"),
        (["detection-rate-any", "-p", "deployment=D9"], "no deployment 'D9'"),
        (["detection-rate", "-p", "package=nope"], "no package 'nope'"),
        (["detection-rate", "-p", "deployment=,"], "at least one"),
        (["detection-rate", "-p", "taxon=no such beast"], "no entity"),
    ],
)
def test_bad_filters_are_one_line_and_exit_2(store: Path, args: list[str], words: str) -> None:
    result = run("query", *args, "--store", str(store))
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert words in message and "Traceback" not in message and len(message.splitlines()) == 1, message


# ----------------------------------------------------------------------------- against Python


def _deployment_ids(kg: Any) -> list[str]:
    return sorted(d.deployment_id for d in deployments(kg))


_TAXA = [
    None,
    "Amur leopard",
    "Panthera pardus",
    "wild boar",
    "Capreolus pygargus",
    "Anas platyrhynchos",
    "Aves",
    "Mustela putorius",
]
_DAYS = [date(2020, 5, 29) + timedelta(days=n) for n in range(0, 70, 3)] + [
    date(2021, 4, 1),
    date(2022, 12, 31),
    date(2023, 1, 2),
    date(2023, 1, 3),
    date(2023, 1, 5),
    date(2023, 1, 11),
]


@st.composite
def selections(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["deployment"] = draw(
            st.lists(
                st.sampled_from(["D1", "D2", "00a2c20d", "29b7d356", "577b543a", "62c200a9"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
    if draw(st.booleans()):
        out["location"] = draw(
            st.lists(st.sampled_from(["L1", "L2", "e254a13c", "B_DL_val 3_dikke boom"]), min_size=1, max_size=2)
        )
    if draw(st.booleans()):
        out["package"] = [draw(st.sampled_from([SMALL_PACKAGE, EXAMPLE_PACKAGE]))]
    taxon = draw(st.sampled_from(_TAXA))
    if taxon is not None:
        out["taxon"] = taxon
    if draw(st.booleans()):
        out["timeLapse"] = draw(st.sampled_from(["exclude", "include"]))
    since, until = draw(st.sampled_from([None, *_DAYS])), draw(st.sampled_from([None, *_DAYS]))
    if since is not None and until is not None and since > until:
        since, until = until, since
    if since is not None:
        out["since"] = since
    if until is not None:
        out["until"] = until
    return out


def _params(selection: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for key, value in selection.items():
        if key in names:
            out[key] = ",".join(value) if isinstance(value, list) else str(value)
    return out


def _python_filter(selection: dict[str, Any], names: tuple[str, ...]) -> SurveyFilter:
    """The same selection as the Python analyses read it (time-lapse images left out by both, or kept by both)."""
    return SurveyFilter(
        taxon=selection.get("taxon") if "taxon" in names else None,
        start=selection.get("since") if "since" in names else None,
        end=selection.get("until") if "until" in names else None,
        deployments=selection.get("deployment", []) if "deployment" in names else (),
        locations=selection.get("location", []) if "location" in names else (),
        packages=selection.get("package", []) if "package" in names else (),
        observation_types=selection.get("observationType", ["animal"]),
        exclude_capture_methods=() if selection.get("timeLapse") == "include" else ("timeLapse",),
    )


_SLOW = settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SLOW
@given(selection=selections(), interval=st.sampled_from([0, 30, 60, 1440]))
def test_detection_rate_any_equals_the_python_records_restricted(
    kg: Any, selection: dict[str, Any], interval: int
) -> None:
    """Each row: the detections the Python filter keeps at that deployment and taxon, independent when no
    detection of the series (kept or not) started within the interval before; camera-days within the range."""
    names = get_query("detection-rate-any").filters
    flt = _python_filter(selection, names)
    expected: dict[tuple[str, str], int] = {}
    spans = {d.iri: d for d in deployments(kg, flt)}
    for d in detections(kg, flt):
        if d.minutes_since_previous is None or d.minutes_since_previous > interval:
            key = (d.deployment.iri, d.taxon or "")
            expected[key] = expected.get(key, 0) + 1
    got: dict[tuple[str, str], int] = {}
    for row in rows(kg, "detection-rate-any", {**_params(selection, names), "interval": str(interval)}):
        deployment, taxon = str(row[6]), str(row[5])
        got[(deployment, taxon)] = int(str(row[2]))
        days = (spans[deployment].end - spans[deployment].start) / 86400
        assert math.isclose(float(str(row[3])), days, abs_tol=2e-6), (row, days)
    assert got == expected


@_SLOW
@given(selection=selections())
def test_whole_deployment_queries_equal_the_unfiltered_rows_restricted(kg: Any, selection: dict[str, Any]) -> None:
    """The queries that read counts computed at import for whole deployments: a filtered answer is the unfiltered
    one without the rows of deployments and taxa the Python filter leaves out."""
    for name, key, taxon_column, extra in [
        ("detection-rate", "deploymentID", "scientificName", {}),
        ("prey-detection-rate", "deploymentID", None, {}),
        ("detections-near", "deploymentID", "scientificName", {"latitude": "47", "longitude": "60", "km": "9000"}),
        ("co-detections", "deploymentID", None, {"window": "30"}),
        ("survey-effort", "deploymentID", None, {}),
        ("activity-pattern", None, "scientificName", {}),
    ]:
        # prey-detection-rate sums a prey's subtaxa: a taxon filter is no restriction of its rows (checked by hand);
        # the hourly counts are of whole packages: the other filters count detections (test_counted_... below)
        names = tuple(n for n in get_query(name).filters if not (name == "prey-detection-rate" and n == "taxon"))
        names = ("taxon",) if name == "activity-pattern" else names
        flt = _python_filter({k: v for k, v in selection.items() if k not in ("since", "until")}, names)
        kept = {d.deployment_id for d in deployments(kg, flt)}
        below = (
            {d.scientific_name for d in detections(kg, SurveyFilter(taxon=flt.taxon, exclude_capture_methods=()))}
            if flt.taxon
            else None
        )
        every = column(kg, name, extra, key) if key else rows(kg, name, extra)
        answer = kg.run(name, {**extra, **_params(selection, tuple(n for n in names if n not in ("since", "until")))})
        got = [tuple(None if t is None else t.value for t in row) for row in answer.rows]
        at = answer.variables.index(taxon_column) if taxon_column else None
        expected = [
            row[: len(answer.variables)]
            for row in every
            if (key is None or row[-1] in kept) and (below is None or at is None or row[at] in below)
        ]
        assert got == expected, name


def test_the_python_api_takes_the_same_filters(kg: Any) -> None:
    """kg.run with filter values, as the command line's -p and the served form give them."""
    with pytest.raises(ParameterError, match="does not take the filter 'taxon'"):
        kg.run("survey-effort", {"taxon": "wild boar"})
    both = rows(kg, "survey-effort")
    assert {r[0] for r in both} == {f"https://w3id.org/amurkg/survey/{p}" for p in (SMALL_PACKAGE, EXAMPLE_PACKAGE)}
    one = rows(kg, "survey-effort", {"package": EXAMPLE_PACKAGE})
    assert one == [r for r in both if r[0].endswith(EXAMPLE_PACKAGE)]  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- counted at import, any filter

_EXTRA: dict[str, dict[str, str]] = {"detections-near": {"latitude": "47", "longitude": "60", "km": "9000"}}
_XSD = "http://www.w3.org/2001/XMLSchema#"


def _values(answer: Any) -> list[tuple[Any, ...]]:
    """The rows with numbers and instants compared by value ("10" and "10.0" are one, and so are an instant
    written in UTC and in its local time)."""
    from datetime import datetime

    out = []
    for row in answer.rows:
        cells: list[Any] = []
        for t in row:
            if t is None:
                cells.append(None)
            elif t.datatype in (_XSD + "decimal", _XSD + "integer", _XSD + "double"):
                cells.append(round(float(t.value), 5))
            elif t.datatype == _XSD + "dateTime":
                cells.append(datetime.fromisoformat(t.value.replace("Z", "+00:00")).timestamp())
            else:
                cells.append(t.value)
        out.append(tuple(cells))
    return out


@_SLOW
@given(
    selection=selections(),
    interval=st.sampled_from(["0", "2", "30", "1440"]),
    window=st.sampled_from(["0", "3", "30"]),
    wide=st.sampled_from([("since", "1900-01-01"), ("until", "2100-12-31"), ("observationType", "animal,animal")]),
)
def test_counted_queries_answer_every_filter_as_their_counts_do(
    kg: Any, selection: dict[str, Any], interval: str, window: str, wide: tuple[str, str]
) -> None:
    """A filter that keeps every record (a date range around the whole survey) makes a query that reads counts
    computed at import count the detections themselves: the same columns and the same rows as its counts give
    (``observationType`` animal is what the counts count: the counts answer it)."""
    for name in COUNTED:
        q = get_query(name)
        names = tuple(n for n in q.counted if n != "observationType")
        if name == "prey-detection-rate":
            names = tuple(n for n in names if n != "taxon")
        params = {**_EXTRA.get(name, {}), "interval": interval, "window": window}
        params = {k: v for k, v in params.items() if q.parameter(k) is not None}
        params |= _params({k: v for k, v in selection.items() if k in names}, names)
        counted = kg.run(name, params)
        if wide[0] not in q.filters:
            continue
        detailed = kg.run(name, {**params, wide[0]: wide[1]})
        assert detailed.variables == counted.variables, name
        assert _values(detailed) == _values(counted), (name, params, wide)


def _individuals(store: Path, flt_args: list[str], interval: str) -> dict[tuple[str, str], tuple[int, float, float]]:
    """(deploymentID, taxon IRI) -> (detections, camera-days, RAI) as amurkg survey individuals writes them,
    rows without an independent detection left out (a detection-rate row has at least one)."""
    import csv
    import io

    result = run("survey", "individuals", "--store", str(store), "--interval", interval, *flt_args)
    assert result.exit_code == 0, result.output
    out = {}
    for row in csv.DictReader(io.StringIO(result.stdout)):
        if int(row["detections"]):
            out[(row["deploymentID"], row["taxon"])] = (
                int(row["detections"]),
                float(row["cameraDays"]),
                float(row["rai"]),
            )
    return out


def _survey_args(selection: dict[str, Any]) -> list[str]:
    """The survey commands' options for a selection (the canned queries' -p timeLapse=include is
    --include-timelapse)."""
    args = ["--include-timelapse"] if selection.get("timeLapse") == "include" else []
    for key, value in selection.items():
        if key == "timeLapse":
            continue
        option = "--observation-type" if key == "observationType" else f"--{key}"
        for one in value if isinstance(value, list) else [value]:
            args += [option, str(one)]
    return args


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(selection=selections(), interval=st.sampled_from(["0", "30", "60", "1440"]))
def test_dated_detection_rate_is_the_survey_commands_answer(
    store: Path, kg: Any, selection: dict[str, Any], interval: str
) -> None:
    """detection-rate with a date range (and any other filter) gives, row for row, what
    amurkg survey individuals gives for the same filters: detections clipped to the range as the survey commands
    clip them (started in it, independent of the detections before it), camera-days within it, the RAI."""
    dated = {**selection, "since": selection.get("since", date(2020, 6, 6))}
    assume("until" not in dated or dated["until"] >= dated["since"])
    answer = kg.run("detection-rate", {**_params(dated, FILTER_NAMES), "interval": interval})
    got = {}
    for row in answer.rows:
        count = row[answer.variables.index("count")]
        taxon = kg.query("SELECT ?t WHERE { ?c <http://rs.tdwg.org/dwc/iri/toTaxon> ?t }", {"c": count}).rows[0][0]
        got[(row[0].value, taxon.value)] = (int(row[2].value), float(row[3].value), float(row[4].value))
    expected = _individuals(store, _survey_args(dated), interval)
    assert got.keys() == expected.keys()
    for key, (detections_, days, rai) in got.items():
        assert detections_ == expected[key][0], key
        assert math.isclose(days, expected[key][1], abs_tol=2e-6), key
        assert math.isclose(rai, expected[key][2], abs_tol=1.5e-3), key


def test_dated_counts_by_hand(kg: Any) -> None:
    """survey-small from January 3 (UTC) on: the leopard's event of January 5 alone at D1 (7 days 14 hours of
    it), the roe deer's two events of January 3 (45 minutes apart) and the boar's of January 4 at D1, the boar's
    of January 3 at D2 (2 days 14 hours)."""
    small = {"package": SMALL_PACKAGE, "since": "2023-01-03"}
    assert [r[:5] for r in rows(kg, "detection-rate", {**small, "taxon": "Amur leopard"})] == [
        ("D1", "Panthera pardus orientalis", "1", "7.583333", "13.187")
    ]
    prey = [(r[0], r[1], r[2], r[3]) for r in rows(kg, "prey-detection-rate", {**small, "interval": "60"})]
    assert prey == [
        ("D1", "Siberian roe deer", "1", "7.583333"),
        ("D1", "wild boar", "1", "7.583333"),
        ("D2", "wild boar", "1", "2.583333"),
    ]
    near = {"latitude": "43", "longitude": "131", "km": "900", **small, "until": "2023-01-04"}
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows(kg, "detections-near", near)] == [
        ("D1", "Capreolus pygargus", "2", "2023-01-03T03:00:00Z", "2023-01-03T03:45:00Z"),
        ("D1", "Sus scrofa", "1", "2023-01-04T02:00:00Z", "2023-01-04T02:00:00Z"),
        ("D2", "Sus scrofa", "1", "2023-01-03T00:00:00Z", "2023-01-03T00:00:00Z"),
    ]
    # within 2 days at D1: the leopard's events of January 2 and the roe deer's of January 3 (26 and 25 hours
    # apart), the boar's of January 4 and the leopard's of January 5 (35 hours); from January 3 on, the
    # leopard's January 2 events take no part, and its January 5 event is 57 hours after the roe deer's
    pairs = {"window": "2", "package": SMALL_PACKAGE}
    assert [r[:4] for r in rows(kg, "co-detections", pairs)] == [
        ("D1", "Siberian roe deer", "2", "2"),
        ("D1", "wild boar", "1", "1"),
    ]
    assert [r[:5] for r in rows(kg, "co-detections", {**pairs, "since": "2023-01-03"})] == [
        ("D1", "wild boar", "1", "1", "2023-01-05T13:00:00Z")
    ]
    # activity by deployment: D2's boar at 10 (local, +10:00) and sika deer at 10
    hours = rows(kg, "activity-pattern", {"deployment": "D2", "package": SMALL_PACKAGE})
    assert [(r[0], r[1], r[2]) for r in hours] == [
        ("Cervus nippon mantchuricus", "10", "1"),
        ("Sus scrofa", "10", "1"),
    ]


@_SLOW
@given(selection=selections(), interval=st.sampled_from([0, 30, 60, 1440]))
def test_activity_pattern_takes_every_filter(kg: Any, selection: dict[str, Any], interval: int) -> None:
    """activity-pattern with any filters: the independent detections the Python filter keeps, by local hour."""
    flt = _python_filter(selection, FILTER_NAMES)
    expected: dict[tuple[str, int], int] = {}
    for d in detections(kg, flt):
        if d.taxon is not None and (d.minutes_since_previous is None or d.minutes_since_previous > interval):
            key = (d.taxon, d.local_time().hour)
            expected[key] = expected.get(key, 0) + 1
    answer = kg.run("activity-pattern", {**_params(selection, FILTER_NAMES), "interval": str(interval)})
    got = {(str(row[3].value), int(row[1].value)): int(row[2].value) for row in answer.rows}
    assert got == expected


# ----------------------------------------------------------------------------- observation types

_PEOPLE = [  # (observationID, deploymentID, eventStart, observationType, scientificName)
    ("O20", "D1", "2023-01-04T05:00:00Z", "human", "Homo sapiens"),
    ("O21", "D1", "2023-01-04T05:10:00Z", "human", "Homo sapiens"),
    ("O22", "D2", "2023-01-03T06:00:00Z", "human", "Homo sapiens"),
    ("O23", "D2", "2023-01-02T23:00:00Z", "vehicle", ""),
    ("O24", "D1", "2023-01-08T07:00:00Z", "unknown", "Panthera pardus orientalis"),
]


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """survey-small with people, a vehicle and an unsure leopard (observation types other than animal), and a
    time-lapse image at the boar's event of January 4 at D1."""
    import shutil

    from places import read_rows, write_rows

    root = tmp_path_factory.mktemp("typed")
    package = root / "package"
    shutil.copytree(SMALL, package)
    path = package / "observations.csv"
    table = read_rows(path)
    template = table[0]
    for identifier, deployment, start, kind, name in _PEOPLE:
        table.append(
            template
            | {
                "observationID": identifier,
                "deploymentID": deployment,
                "eventID": identifier,
                "eventStart": start,
                "eventEnd": start,
                "observationType": kind,
                "scientificName": name,
                "count": "1" if name else "",
            }
        )
    write_rows(path, table)
    with (package / "media.csv").open("a", encoding="utf-8") as f:  # the boar of January 4 at D1, on time-lapse
        f.write("M3,D1,timeLapse,2023-01-04T12:00:00+10:00,media/m3.jpg,false,m3.jpg,image/jpeg,,,\n")
    amurkg.import_package(root / "store", package)
    with amurkg.KnowledgeGraph(store=root / "store") as opened:
        yield root / "store", opened


_KINDS = st.lists(st.sampled_from(["animal", "human", "vehicle", "unknown", "blank"]), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=_KINDS,
    since=st.sampled_from([None, "2023-01-03", "2023-01-04T05:05:00Z"]),
    interval=st.sampled_from(["0", "30"]),
    lapse=st.sampled_from([None, "exclude", "include"]),
)
def test_observation_types_and_time_lapse_are_the_survey_commands(
    typed: Any, kinds: list[str], since: str | None, interval: str, lapse: str | None
) -> None:
    """-p observationType= counts those types, as --observation-type does on the survey commands (animal when
    not given): detection-rate (from the detections for a type the counts computed at import do not count),
    detection-rate-any against amurkg survey individuals, activity-pattern against the Python records."""
    store, kg = typed
    selection: dict[str, Any] = {"observationType": kinds} | ({"since": since} if since else {})
    selection |= {"timeLapse": lapse} if lapse else {}
    params = {**_params(selection, FILTER_NAMES), "interval": interval}
    expected = _individuals(store, _survey_args(selection), interval)
    every = rows(kg, "detection-rate-any", params)
    assert {(r[0], r[5]): int(str(r[2])) for r in every} == {key: value[0] for key, value in expected.items()}
    assert [r[:5] for r in rows(kg, "detection-rate", params)] == [r[:5] for r in every]
    flt = _python_filter(selection, FILTER_NAMES)
    hours: dict[tuple[str, int], int] = {}
    for d in detections(kg, flt):
        if d.taxon is not None and (d.minutes_since_previous is None or d.minutes_since_previous > float(interval)):
            hours[(d.taxon, d.local_time().hour)] = hours.get((d.taxon, d.local_time().hour), 0) + 1
    for name in ("activity-pattern", "activity-pattern-any"):
        answer = kg.run(name, params)
        assert {(str(r[3].value), int(r[1].value)): int(r[2].value) for r in answer.rows} == hours, name


def test_observation_types_by_hand(typed: Any) -> None:
    """Two people 10 minutes apart at D1 and one at D2; the unsure leopard counts only as unknown."""
    _, kg = typed
    people = rows(kg, "detection-rate", {"observationType": "human", "interval": "30"})
    assert [r[:3] for r in people] == [("D1", "Homo sapiens", "2"), ("D2", "Homo sapiens", "1")]
    assert people[0][5] is None  # no count computed at import for people
    unsure = rows(kg, "detection-rate", {"observationType": "unknown", "taxon": "Amur leopard"})
    assert [r[:3] for r in unsure] == [("D1", "Panthera pardus orientalis", "1")]
    both = rows(kg, "detection-rate", {"observationType": "animal,unknown", "taxon": "Amur leopard", "interval": "0"})
    assert [r[:3] for r in both] == [("D1", "Panthera pardus orientalis", "4")]
    # animal alone is what the counts count: the same answer, read from them
    assert rows(kg, "detection-rate", {"observationType": "animal"}) == rows(kg, "detection-rate")


def test_time_lapse_is_left_out_by_the_queries_as_by_the_survey_commands(typed: Any) -> None:
    """The boar's event of January 4 at D1, whose only media within a second is a time-lapse image, is marked at
    import; the survey commands and the canned queries leave it out by default (the counts computed at import
    too), and count it with --include-timelapse and -p timeLapse=include."""
    store, kg = typed
    boar = ["--taxon", "wild boar", "--since", "2023-01-03"]
    assert {k[0]: v[0] for k, v in _individuals(store, boar, "0").items()} == {"D2": 1}
    both = {"D1": 1, "D2": 1}
    assert {k[0]: v[0] for k, v in _individuals(store, [*boar, "--include-timelapse"], "0").items()} == both
    for params, expected in (({}, {"D2": "1"}), ({"timeLapse": "include"}, {"D1": "1", "D2": "1"})):
        for dated in ({}, {"since": "2023-01-03"}):
            got = rows(kg, "detection-rate", {"taxon": "wild boar", **params, **dated})
            assert {r[0]: r[2] for r in got} == expected, (params, dated)
    # the leopard's co-detection with the boar (35 hours apart at D1) is gone with the boar's time-lapse event
    pairs = {"window": "2", "since": "2023-01-03"}
    assert [r[:4] for r in rows(kg, "co-detections", {"window": "2"})] == [("D1", "Siberian roe deer", "2", "2")]
    assert rows(kg, "co-detections", pairs) == []
    assert [r[:4] for r in rows(kg, "co-detections", {**pairs, "timeLapse": "include"})] == [
        ("D1", "wild boar", "1", "1")
    ]
    hours = {(r[0], r[1]) for r in rows(kg, "activity-pattern", {"taxon": "wild boar"})}
    assert hours == {("Sus scrofa", "10")}  # D2's; D1's at 12 (local) is a time-lapse image
    with_lapse = {(r[0], r[1]) for r in rows(kg, "activity-pattern", {"taxon": "wild boar", "timeLapse": "include"})}
    assert with_lapse == {("Sus scrofa", "10"), ("Sus scrofa", "12")}


def test_time_lapse_stays_left_out_when_a_correction_recounts(typed: Any, tmp_path: Path) -> None:
    """A clock correction recounts the counts computed at import: the observation marked as time-lapse stays
    out of them, and they still equal the count of the detections themselves."""
    from amurkg.survey.corrections import shift_time

    store = tmp_path / "store"
    amurkg.import_package(store, typed[0].parent / "package")
    shift_time(store, ["D1"], "1h", "the camera kept winter time", "tester")
    with amurkg.KnowledgeGraph(store=store) as kg:
        for taxon in ("wild boar", "Amur leopard"):
            counted = kg.run("detection-rate", {"taxon": taxon})
            detailed = kg.run("detection-rate", {"taxon": taxon, "since": "1900-01-01"})
            assert _values(counted) == _values(detailed), taxon
        assert {r[0]: r[2] for r in rows(kg, "detection-rate", {"taxon": "wild boar"})} == {"D2": "1"}
        hours = rows(kg, "activity-pattern", {"taxon": "Amur leopard", "interval": "0"})
        assert [(r[1], r[2]) for r in hours] == [("0", "1"), ("12", "2")]  # an hour later at D1


def test_time_lapse_marks_are_the_same_from_worker_processes(
    typed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows mapped by worker processes hand back the media and events the marks are made from: the same marks
    and counts as in one process."""
    monkeypatch.setenv("AMURKG_IMPORT_WORKERS", "2")
    store = tmp_path / "store"
    amurkg.import_package(store, typed[0].parent / "package")
    marked = "SELECT ?obs WHERE { ?obs <https://w3id.org/amurkg/ontology#timeLapse> true } ORDER BY ?obs"
    with amurkg.KnowledgeGraph(store=store) as kg:
        got = [r[0].value for r in kg.query(marked).rows]
        assert got == [r[0].value for r in typed[1].query(marked).rows]
        assert [r.rsplit("/", 1)[-1] for r in got] == ["O4"]
        assert rows(kg, "detection-rate") == rows(typed[1], "detection-rate")


@_SLOW
@given(selection=selections())
def test_survey_effort_takes_a_date_range_as_the_survey_commands_clip_it(kg: Any, selection: dict[str, Any]) -> None:
    """survey-effort with any filters: the deployments the Python filter keeps that ran within the range, each
    with its span clipped to the range and the camera-days of that span (amurkg survey effort's clip)."""
    from datetime import datetime

    flt = _python_filter(selection, FILTER_NAMES)
    expected = sorted(
        (d.deployment_id, d.start, d.end, (d.end - d.start) / 86400)
        for d in deployments(kg, flt)
        if d.end > d.start or not (flt.start or flt.end)
    )
    names = get_query("survey-effort").filters
    answer = kg.run("survey-effort", _params(selection, names))

    def seconds(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    got = sorted(
        (row[1].value, seconds(row[5].value), seconds(row[6].value), float(row[7].value)) for row in answer.rows
    )
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    assert all(math.isclose(g[3], e[3], abs_tol=2e-6) for g, e in zip(got, expected, strict=True))


def test_a_clock_correction_moves_every_observation_type_in_the_queries(typed: Any, tmp_path: Path) -> None:
    """A clock correction is reflected in every derived count: people and vehicles too, not only animals. D1's
    clock a day slow: the people it saw on January 4 were there on January 5, which a dated query of humans
    must say as amurkg survey individuals does."""
    from amurkg.survey.corrections import shift_time, undo

    store = tmp_path / "store"
    amurkg.import_package(store, typed[0].parent / "package")
    [shift] = shift_time(store, ["D1"], "1d", "the camera's date was a day behind", "tester")
    selection: dict[str, Any] = {"observationType": ["human"], "since": "2023-01-05"}
    params = {**_params(selection, FILTER_NAMES), "interval": "0"}
    expected = _individuals(store, _survey_args(selection), "0")
    assert {k[0] for k in expected} == {"D1"}  # the survey command moves them
    with amurkg.KnowledgeGraph(store=store) as kg:
        every = rows(kg, "detection-rate-any", params)
        assert {(r[0], r[5]): int(str(r[2])) for r in every} == {key: value[0] for key, value in expected.items()}
        assert [r[:5] for r in rows(kg, "detection-rate", params)] == [r[:5] for r in every]
    undo(store, shift.id, "it was right after all", "tester")  # withdrawn: back on January 4
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert rows(kg, "detection-rate-any", params) == rows(kg, "detection-rate", params) == []
