"""The *-any survey queries answered from the detection series (``amurkg.quick``) give, row for row and in order,
what the engine gives running the query text on every observation: compared with Hypothesis over filters,
intervals, date ranges and time-lapse choices, on a store with corrections in force and time-lapse images."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg import quick
from amurkg.catalog import get_query
from amurkg.results import Term
from amurkg.survey import corrections as corr
from amurkg.survey.generate import generate

SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
SMALL_PACKAGE = "amurkg-test-survey-2023"
#: The queries with a fast path, and whether their interval must be one of the standard ones.
QUERIES = ("detection-rate-any", "activity-pattern-any", "activity-pattern")
STANDARD = (0, 1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated survey with time-lapse images, the test survey and the official example, with a clock and a
    taxon correction in force (both recount the series)."""
    root = tmp_path_factory.mktemp("quick")
    path = root / "store"
    amurkg.import_package(path, generate(root / "generated", 400, seed=7, time_lapse=0.2))
    amurkg.import_package(path, SMALL)
    amurkg.import_package(path, EXAMPLE)
    corr.shift_time(path, ["D1"], "-01:30", "camera clock", by="t", package=SMALL_PACKAGE)
    corr.update_taxon(path, "Lynx lynx", "wild boar", "the lynx was a boar", by="t")
    return path


@pytest.fixture(scope="module")
def kg(store: Path) -> Any:
    with amurkg.KnowledgeGraph(store=store) as opened:
        yield opened


@pytest.fixture(scope="module")
def facts(kg: Any) -> dict[str, Any]:
    """What the strategies draw from: the deploymentIDs, some taxa and the span of the records."""
    deployments = sorted({row[0].value for row in kg.run("survey-effort").rows})
    starts = [
        datetime.fromisoformat(row[0].value)
        for row in kg.query("SELECT ?s WHERE { ?o <https://w3id.org/amurkg/ontology#eventStart> ?s }").rows
    ]
    return {
        "deployments": deployments,
        "taxa": ["Amur leopard", "Panthera pardus", "wild boar", "Capreolus pygargus", "mammal taxon"],
        "first": min(starts),
        "last": max(starts),
    }


def slow(kg: Any, name: str, params: dict[str, str]) -> Any:
    """The answer of the query text itself (the fast path switched off)."""
    with mock.patch.object(quick, "KEYS", frozenset()):
        return kg.run(name, params)


def fast(kg: Any, name: str, params: dict[str, str]) -> tuple[Any, bool]:
    """The answer through ``kg.run`` and whether the series gave it."""
    taken = []
    real = quick.answer

    def spy(*args: Any) -> Any:
        out = real(*args)
        taken.append(out is not None)
        return out

    with mock.patch.object(quick, "answer", spy):
        result = kg.run(name, params)
    return result, any(taken)


def moment(facts: dict[str, Any], share: float, dated: bool) -> str:
    first, last = facts["first"], facts["last"]
    at = first + (last - first) * share
    if dated:
        return at.astimezone(UTC).date().isoformat()
    return at.replace(microsecond=0).astimezone(UTC).isoformat()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_series_answer_as_the_query_text_does(kg: Any, facts: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(QUERIES), label="query")
    params: dict[str, str] = {}
    if name == "activity-pattern":
        params["interval"] = str(data.draw(st.sampled_from(STANDARD)))
    elif data.draw(st.booleans()):
        params["interval"] = str(data.draw(st.integers(-3, 3000)))
    if data.draw(st.booleans()):
        params["since"] = moment(facts, data.draw(st.floats(-0.1, 1.0)), data.draw(st.booleans()))
    if data.draw(st.booleans()):
        params["until"] = moment(facts, data.draw(st.floats(0.0, 1.1)), data.draw(st.booleans()))
    if data.draw(st.booleans()):
        chosen = data.draw(st.lists(st.sampled_from(facts["deployments"]), min_size=1, max_size=4, unique=True))
        params["deployment"] = ",".join(chosen)
    if data.draw(st.booleans()):
        params["taxon"] = data.draw(st.sampled_from(facts["taxa"]))
    lapse = data.draw(st.sampled_from([None, "exclude", "include"]))
    if lapse:
        params["timeLapse"] = lapse
    if data.draw(st.booleans()):
        params["observationType"] = "animal"
    try:
        expected = slow(kg, name, params)
    except amurkg.AmurkgError as exc:  # an empty date range: the same refusal either way
        with pytest.raises(type(exc)):
            fast(kg, name, params)
        return
    got, taken = fast(kg, name, params)
    # activity-pattern reads its hourly counts, not the detections, unless a filter asks for them
    counted = name == "activity-pattern" and get_query(name).text_for(params)[1] == get_query(name).path
    assert taken is not counted, params
    assert got.variables == expected.variables
    assert got.rows == expected.rows, params


@pytest.mark.parametrize("name", ["detection-rate-any", "activity-pattern-any"])
def test_the_series_answer_on_the_default_filters(kg: Any, name: str) -> None:
    got, taken = fast(kg, name, {})
    assert taken
    expected = slow(kg, name, {})
    assert got == expected
    assert len(got.rows) > 20  # the generated survey's deployments and taxa, not an empty answer


def test_other_observation_types_are_read_from_the_observations(kg: Any) -> None:
    params = {"observationType": "animal,human"}
    got, taken = fast(kg, "detection-rate-any", params)
    assert not taken
    humans = [row for row in got.rows if row[1] is not None and row[1].value == "Homo sapiens"]
    assert humans, "people are counted from the observations, which the series do not list"


def test_a_store_whose_series_lack_their_lists_is_read_from_the_observations(tmp_path: Path) -> None:
    """A store imported before the series listed their detections (or whose lists were lost) answers as its
    observations say, not from what the series no longer tell."""
    import pyoxigraph as ox

    path = tmp_path / "store"
    amurkg.import_package(path, SMALL)
    with amurkg.KnowledgeGraph(store=path) as opened:
        before = opened.run("detection-rate-any", {"interval": "0"})
    db = ox.Store(str(path / "db"))
    gone = list(db.quads_for_pattern(None, ox.NamedNode("https://w3id.org/amurkg/ontology#detectionGaps"), None))
    assert gone
    db.remove(gone[0])
    db.flush()
    del db
    with amurkg.KnowledgeGraph(store=path) as opened:
        got, taken = fast(opened, "detection-rate-any", {"interval": "0"})
    assert not taken
    assert got == before


def test_rai_is_rounded_as_sparql_rounds_decimals() -> None:
    days = Term.literal("3", "http://www.w3.org/2001/XMLSchema#decimal")
    # 1 * 100000 / 3 = 33333.33..: 33.333; 5/8 of a day: 160000 exactly, written without a fraction
    assert quick._rai(1, days) == Term.literal("33.333", "http://www.w3.org/2001/XMLSchema#decimal")
    eighths = Term.literal("0.625", "http://www.w3.org/2001/XMLSchema#decimal")
    assert quick._rai(1, eighths) == Term.literal("160", "http://www.w3.org/2001/XMLSchema#decimal")
    # half up, as ROUND: 0.0005 * 1000 -> 1 (the engine writes 0.001)
    assert quick._rai(1, Term.literal("200000", "http://www.w3.org/2001/XMLSchema#decimal")).value == "0.001"
    assert quick._rai(1, Term.literal("0", "http://www.w3.org/2001/XMLSchema#decimal")) is None


def test_the_camera_days_text_is_the_deployment_block_of_detection_rate_any() -> None:
    """queries/from-series/camera-days.rq computes camera-days as detection-rate-any does: its WHERE group is
    that query's deployment block, character for character."""
    days = (REPO / "queries" / "from-series" / "camera-days.rq").read_text(encoding="utf-8")
    whole = (REPO / "queries" / "detection-rate-any.rq").read_text(encoding="utf-8")
    block = days.split("WHERE {\n", 1)[1].rsplit("}", 1)[0]
    assert block.strip().startswith("{  # the deployment's camera-days")
    assert block in whole
    assert re.search(r"BIND\(IF\(BOUND\(\?since\) \|\| BOUND\(\?until\).*AS \?cameraDays\)\n$", block)


def test_a_clock_correction_moves_the_hours_and_the_date_range(kg: Any) -> None:
    """D1 of the test survey runs 1:30 behind: its detections' hours are those of the corrected times, in the
    deployment's offset (+10:00), whichever way the answer is computed."""
    params = {"deployment": "D1", "taxon": "Amur leopard", "interval": "0"}
    got, taken = fast(kg, "activity-pattern-any", params)
    assert taken
    assert got == slow(kg, "activity-pattern-any", params)
    # the leopard at D1 first at 01:00Z, i.e. 11:00 at +10:00, moved 1:30 back: 09:30, hour 9
    hours = {int(row[1].value) for row in got.rows}
    assert 9 in hours and 11 not in hours, hours
