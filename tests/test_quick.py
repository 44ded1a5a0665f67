"""The *-any survey queries answered from the detection series (``amurkg.quick``) give, row for row and in order,
what the engine gives running the query text on every observation: compared with Hypothesis over filters,
intervals, date ranges and time-lapse choices, on a store with corrections in force and time-lapse images."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import REPO, watching
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg import answers, quick
from amurkg.catalog import get_query
from amurkg.results import Term
from amurkg.survey import corrections as corr
from amurkg.survey.generate import generate

SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
SMALL_PACKAGE = "amurkg-test-survey-2023"
#: The queries with a fast path, and whether their interval must be one of the standard ones.
QUERIES = ("detection-rate-any", "detection-rate", "activity-pattern-any", "activity-pattern", "co-detections-any")
QUERIES += ("detections-near",)
STANDARD = (0, 1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440)


def crowded(folder: Path) -> Path:
    """The test survey with 160 more detections of the leopard and its prey in a few days at its two cameras,
    many of them whole days (and minutes) apart: co-detections at every window, pairs on the window's edge,
    starts written in UTC and in the camera's offset."""
    import csv
    import random
    import shutil
    from datetime import timedelta

    shutil.copytree(SMALL, folder)
    rng = random.Random(11)
    names = ["Panthera pardus orientalis", "Sus scrofa", "Capreolus pygargus", "Lynx lynx"]
    # D1 runs 2023-01-01 to 01-11, D2 2023-01-01T12:00 to 01-06, both at +10:00 (deployments.csv)
    spans = {"D1": (datetime(2022, 12, 31, 14, tzinfo=UTC), 9), "D2": (datetime(2023, 1, 1, 2, tzinfo=UTC), 4)}
    anchors: list[datetime] = []
    used: set[datetime] = set()
    with (folder / "observations.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with (folder / "observations.csv").open("a", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        for number in range(160):
            deployment = rng.choice(sorted(spans))
            first, days = spans[deployment]
            at = first
            if anchors and rng.random() < 0.4:  # whole days (or minutes) from an earlier one
                step = (
                    timedelta(days=rng.randint(0, 3)) if rng.random() < 0.7 else timedelta(minutes=rng.randint(0, 90))
                )
                at = rng.choice(anchors) + rng.choice([1, -1]) * step
            if not anchors or not first + timedelta(minutes=1) <= at <= first + timedelta(days=days, minutes=-1):
                at = first + timedelta(seconds=rng.randint(60, days * 86400 - 60))
            name = rng.choice(names)
            while name == names[0] and at in used:  # a leopard's instant written one way: MIN's pick is the engine's
                at += timedelta(seconds=1)
            if name == names[0]:
                used.add(at)
            anchors.append(at)
            if rng.random() < 0.3:  # milliseconds, which a fractional clock correction moves off a float's grid
                at += timedelta(milliseconds=rng.randint(1, 999))
            zone = UTC if rng.random() < 0.5 else timezone(timedelta(hours=10))
            text = at.astimezone(zone).isoformat().replace("+00:00", "Z")
            out.writerow(detection(header, f"Q{number}", deployment, text, name))
    return folder


def detection(header: list[str], identifier: str, deployment: str, start: str, name: str) -> list[str]:
    """An observations.csv row of an event-level detection of an animal, in the columns of ``header``."""
    row = dict.fromkeys(header, "") | {
        "observationID": identifier,
        "deploymentID": deployment,
        "eventID": f"E-{identifier}",
        "eventStart": start,
        "eventEnd": start,
        "observationLevel": "event",
        "observationType": "animal",
        "scientificName": name,
        "count": "1",
        "classificationMethod": "human",
    }
    return [row[column] for column in header]


@pytest.fixture(autouse=True)
def engine_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer computed, none read back as kept (amurkg.answers): these tests compare the computations."""
    monkeypatch.setenv("AMURKG_NO_ANSWER_CACHE", "1")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated survey with time-lapse images, the test survey crowded with co-detections and the official
    example, with a clock and a taxon correction in force (both recount the series)."""
    root = tmp_path_factory.mktemp("quick")
    path = root / "store"
    amurkg.import_package(path, generate(root / "generated", 400, seed=7, time_lapse=0.2))
    amurkg.import_package(path, crowded(root / "crowded"))
    amurkg.import_package(path, EXAMPLE)
    corr.shift_time(path, ["D1"], "-01:30", "camera clock", by="t", package=SMALL_PACKAGE)
    corr.shift_time(path, ["D2"], "+0.1", "camera clock a tenth of a second slow", by="t", package=SMALL_PACKAGE)
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
        for row in kg.query(
            "PREFIX akg: <https://w3id.org/amurkg/ontology#> SELECT ?s WHERE { { ?o akg:eventStart ?s "
            "FILTER NOT EXISTS { ?o akg:correctedStart [] } } UNION { ?o akg:correctedStart ?s } }"
        ).rows
    ]
    points = [
        tuple(float(v) for v in row[0].value.rsplit("POINT(", 1)[1].rstrip(") ").split())
        for row in kg.query(
            "PREFIX geo: <http://www.opengis.net/ont/geosparql#> SELECT ?w WHERE { ?d geo:hasGeometry/geo:asWKT ?w }"
        ).rows
    ]
    return {
        "points": sorted(points),
        "deployments": deployments,
        "taxa": ["Amur leopard", "Panthera pardus", "wild boar", "Capreolus pygargus", "mammal taxon"],
        "first": min(starts),
        "last": max(starts),
        "starts": sorted({start.astimezone(UTC).isoformat() for start in starts}),
    }


def slow(kg: Any, name: str, params: dict[str, str]) -> Any:
    """The answer of the query text itself (the fast path switched off)."""
    with mock.patch.object(quick, "KEYS", frozenset()):
        return kg.run(name, params)


def fast(kg: Any, name: str, params: dict[str, str]) -> tuple[Any, bool]:
    """The answer through ``kg.run`` and whether the series gave it."""
    return watching(quick, "answer", lambda: kg.run(name, params))


def moment(facts: dict[str, Any], share: float, dated: bool, exact: bool = False) -> str:
    if exact:  # a detection's own start (as corrected), to the microsecond: the range's edge on one
        return facts["starts"][int(share * (len(facts["starts"]) - 1))]
    first, last = facts["first"], facts["last"]
    at = first + (last - first) * share
    if dated:
        return at.astimezone(UTC).date().isoformat()
    return at.replace(microsecond=0).astimezone(UTC).isoformat()


@pytest.fixture(params=[False, True], ids=["computed", "shelved"])
def shelved(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the store keeps what the series are read from (the lists, the engine's smaller answers: as a
    default reader's are kept), though never the whole answers, which these tests compare as computed."""
    if request.param:
        monkeypatch.delenv("AMURKG_NO_ANSWER_CACHE")
        monkeypatch.setattr(answers, "keepable", lambda _text: False)
    return bool(request.param)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_series_answer_as_the_query_text_does(
    kg: Any, facts: dict[str, Any], shelved: bool, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(QUERIES), label="query")
    params: dict[str, str] = {}
    if name == "detections-near":
        longitude, latitude = data.draw(st.sampled_from(facts["points"]))
        params["latitude"] = str(round(latitude + data.draw(st.floats(-0.05, 0.05)), 4))
        params["longitude"] = str(round(longitude + data.draw(st.floats(-0.05, 0.05)), 4))
        params["km"] = data.draw(st.sampled_from(["0", "1", "5", "20", "200"]))
    elif name in ("activity-pattern", "detection-rate"):
        params["interval"] = str(data.draw(st.sampled_from(STANDARD)))
    elif name == "co-detections-any":
        if data.draw(st.booleans()):
            params["window"] = str(data.draw(st.one_of(st.integers(-1, 3), st.integers(4, 60))))
        if data.draw(st.booleans()):
            params["predator"] = data.draw(st.sampled_from(["Amur leopard", "wild boar"]))
    elif data.draw(st.booleans()):
        params["interval"] = str(data.draw(st.integers(-3, 3000)))
    if data.draw(st.booleans()):
        share = data.draw(st.floats(-0.1, 1.0))
        params["since"] = moment(facts, share, data.draw(st.booleans()), share >= 0 and data.draw(st.booleans()))
    if data.draw(st.booleans()):
        share = data.draw(st.floats(0.0, 1.1))
        params["until"] = moment(facts, share, data.draw(st.booleans()), share <= 1 and data.draw(st.booleans()))
    if data.draw(st.booleans()):
        chosen = data.draw(st.lists(st.sampled_from(facts["deployments"]), min_size=1, max_size=4, unique=True))
        params["deployment"] = ",".join(chosen)
    if name != "co-detections-any" and data.draw(st.booleans()):  # its taxa are the predator's and its prey's
        params["taxon"] = data.draw(st.sampled_from(facts["taxa"]))
    lapse = data.draw(st.sampled_from([None, "exclude", "include"]))
    if lapse:
        params["timeLapse"] = lapse
    if name != "co-detections-any" and data.draw(st.booleans()):
        params["observationType"] = "animal"
    try:
        expected = slow(kg, name, params)
    except amurkg.AmurkgError as exc:  # an empty date range: the same refusal either way
        with pytest.raises(type(exc)):
            fast(kg, name, params)
        return
    got, taken = fast(kg, name, params)
    # activity-pattern reads its hourly counts, not the detections, unless a filter asks for them
    counted = (
        name in ("activity-pattern", "detection-rate") and get_query(name).text_for(params)[1] == get_query(name).path
    )
    negative = name == "co-detections-any" and params.get("window", "0").startswith("-")  # the engine's to judge
    if name == "detections-near":  # from the series where the counted text answers, and they are kept
        assert taken is (shelved and get_query(name).text_for(params)[1] == get_query(name).path), params
    else:
        assert taken is not (counted or negative), params
    assert got.variables == expected.variables
    assert got.rows == expected.rows, params


@pytest.mark.parametrize("name", ["detection-rate-any", "activity-pattern-any", "co-detections-any"])
def test_the_series_answer_on_the_default_filters(kg: Any, name: str) -> None:
    got, taken = fast(kg, name, {})
    assert taken
    expected = slow(kg, name, {})
    assert got == expected
    assert len(got.rows) > 5  # the generated survey's deployments and taxa, not an empty answer


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


@pytest.mark.parametrize("window", ["0", "1", "2", "3"])
def test_co_detections_on_the_window_edge(kg: Any, window: str) -> None:
    """The crowded survey has detections whole days apart: pairs exactly ``window`` days apart count (the query's
    bounds are inclusive), and ``first`` is the first predator detection of a pair, not the predator's first."""
    params = {"window": window, "deployment": "D1,D2"}
    got, taken = fast(kg, "co-detections-any", params)
    assert taken
    assert got == slow(kg, "co-detections-any", params)
    assert got.rows


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 10**6),
    days=st.decimals(min_value=0, max_value=10**5, places=6, allow_nan=False, allow_infinity=False),
)
def test_rai_is_the_engines_rounding(n: int, days: Any) -> None:
    """The RAI computed in integers is the term pyoxigraph computes from the query's own expression."""
    import pyoxigraph as ox

    text = format(days, "f")
    term = Term.literal(text, "http://www.w3.org/2001/XMLSchema#decimal")
    query = f'SELECT (ROUND({n} * 100000 / "{text}"^^<http://www.w3.org/2001/XMLSchema#decimal>) / 1000 AS ?r) {{}}'
    [solution] = list(ox.Store().query(query))
    expected = solution["r"]
    got = quick._rai(n, term)
    if expected is None:
        assert got is None
    else:
        assert got == Term.literal(expected.value, expected.datatype.value)


def test_times_outside_the_floats_exact_range_are_the_engines() -> None:
    """POSIX seconds as floats hold every microsecond only within 2**32 s of 1970: a start beyond (a camera
    clock set to 2600) is left to the engine, not rounded to the wrong microsecond."""
    assert list(quick._micros(["1672621200.1009998", "-1e9"])) == [1672621200101000, -(10**15)]
    assert quick._micros(["1672621200.0", str(2.0**32 + 1)]) is None
    days = date(2600, 1, 3).toordinal() - date(1970, 1, 1).toordinal()
    assert quick._instant("2600-01-03T00:00:00.000003Z") == days * 86_400_000_000 + 3  # exact, in integers
    assert quick._instant("2600-01-03T10:00:00.000003+10:00") == days * 86_400_000_000 + 3


def test_rows_that_tie_in_the_querys_order_are_the_engines(tmp_path: Path) -> None:
    """Two taxa of one scientific name at one deployment (a taxon corrected to another package's taxon of that
    name) tie on detection-rate-any's ORDER BY: the engine's order between them is its own, so it answers."""
    import csv
    import json
    import shutil

    other = tmp_path / "other"
    shutil.copytree(SMALL, other)
    descriptor = json.loads((other / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["name"] = descriptor["id"] = "other-survey"
    (other / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with (other / "observations.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with (other / "observations.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        for number, name in enumerate(["Foo bar", "Foo bar", "Lynx lynx", "Lynx lynx"]):
            out.writerow(detection(header, f"X{number}", "D1", f"2023-01-0{2 + number}T0{number}:00:00Z", name))
    path = tmp_path / "store"
    amurkg.import_package(path, SMALL)
    amurkg.import_package(path, other)
    theirs = f"<https://w3id.org/amurkg/survey/{SMALL_PACKAGE}/taxon/Lynx%20lynx>"
    corr.update_taxon(path, "Foo bar", theirs, "the other survey's lynx", by="t", package="other-survey")
    with amurkg.KnowledgeGraph(store=path) as opened:
        params = {"interval": "0", "package": "other-survey"}
        got, taken = fast(opened, "detection-rate-any", params)
        assert not taken
        assert got == slow(opened, "detection-rate-any", params)
        lynx = [row for row in got.rows if row[1].value == "Lynx lynx"]
        assert len(lynx) == 2 and lynx[0][5] != lynx[1][5]  # the two taxa of one name: the tie is real


def test_a_range_that_starts_or_ends_on_a_corrected_fractional_start(kg: Any, facts: dict[str, Any]) -> None:
    """D2 runs a tenth of a second slow and records milliseconds: each of its detections is on the range's edge
    exactly where the engine puts it (the series hold its start as a float sum, the records as a literal)."""
    fractional = [start for start in facts["starts"] if "." in start][:12]
    assert len(fractional) >= 6
    for edge in fractional:
        for params in ({"since": edge, "interval": "0"}, {"until": edge, "interval": "0", "deployment": "D2"}):
            for name in ("detection-rate-any", "activity-pattern-any"):
                got, taken = fast(kg, name, params)
                assert taken
                assert got == slow(kg, name, params), (name, params)


def test_without_numpy_the_text_answers(kg: Any) -> None:
    """numpy comes with the survey extra (pip install 'amurkg[survey]'); a store queried without it answers from
    the query text, not with an ImportError."""
    import sys

    params = {"interval": "45"}
    expected = slow(kg, "detection-rate-any", params)
    with mock.patch.dict(sys.modules, {"numpy": None}):
        got, taken = fast(kg, "detection-rate-any", params)
    assert not taken
    assert got == expected


def test_the_near_deployments_text_is_the_deployment_block_of_detections_near() -> None:
    """queries/from-series/near-deployments.rq finds the deployments near a point as detections-near does: its
    WHERE group is that query's first lines, character for character."""
    near = (REPO / "queries" / "from-series" / "near-deployments.rq").read_text(encoding="utf-8")
    whole = (REPO / "queries" / "detections-near.rq").read_text(encoding="utf-8")
    block = near.split("WHERE {\n", 1)[1].rsplit("}", 1)[0]
    assert block.startswith("  BIND(STRDT(") and block.endswith("FILTER(?distanceKm <= ?km)\n")
    assert "WHERE {\n" + block in whole


@pytest.fixture
def kept_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of its own, which keeps the parts the series are read from (not whole answers: those are
    compared as computed)."""
    path = tmp_path / "store"
    amurkg.import_package(path, generate(tmp_path / "generated", 300, seed=11, time_lapse=0.2))
    monkeypatch.delenv("AMURKG_NO_ANSWER_CACHE")
    monkeypatch.setattr(answers, "keepable", lambda _text: False)
    answers.clear(path)  # what the import kept: these tests keep it again
    return path


def snapshot_file(store: Path) -> Path:
    [found] = (store / answers.FOLDER).glob("*.arrays")
    return found


DATED = {"since": "2021-01-01T00:00:00Z", "interval": "30"}


def test_the_lists_are_kept_once_and_read_back_by_the_next_reader(kept_store: Path) -> None:
    with amurkg.KnowledgeGraph(store=kept_store) as opened:
        first, taken = fast(opened, "detection-rate", DATED)
        assert taken
    assert snapshot_file(kept_store).stat().st_size > 1000
    with amurkg.KnowledgeGraph(store=kept_store) as opened:
        (again, taken), read = watching(answers, "read_arrays", lambda: fast(opened, "detection-rate", DATED))
        assert taken and read
        assert again == first == slow(opened, "detection-rate", DATED)
        assert len(first.rows) > 5
        near, taken = fast(opened, "detections-near", {"latitude": "43.1", "longitude": "131.0", "km": "200"})
        assert taken and len(near.rows) > 5
        assert near == slow(opened, "detections-near", {"latitude": "43.1", "longitude": "131.0", "km": "200"})


def test_a_change_to_the_store_turns_the_kept_lists_away(kept_store: Path) -> None:
    with amurkg.KnowledgeGraph(store=kept_store) as opened:
        before, _ = fast(opened, "activity-pattern", DATED)
    path = snapshot_file(kept_store)
    kept = path.read_bytes()
    corr.update_taxon(kept_store, "Ursus thibetanus", "wild boar", "a test", by="t")  # recounts the series
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(kept)  # the lists as they were, back in place of what the writer cleared and kept anew
    with amurkg.KnowledgeGraph(store=kept_store) as opened:
        (after, taken), read = watching(answers, "read_arrays", lambda: fast(opened, "activity-pattern", DATED))
        assert taken and not read
        assert after == slow(opened, "activity-pattern", DATED) != before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_kept_lists_are_never_used(kept_store: Path, data: st.DataObject) -> None:
    """Kept lists are read as untrusted: a damaged file (cut, bytes changed, indices out of range, a head that
    lies about the sizes) is a miss, and the answer is the engine's, as computed from the store."""
    with amurkg.KnowledgeGraph(store=kept_store) as opened:
        expected = slow(opened, "co-detections-any", {})
        fast(opened, "co-detections-any", {})
    path = snapshot_file(kept_store)
    good = path.read_bytes()
    head, _, body = good.partition(b"\n")
    how = data.draw(st.sampled_from(["cut", "flip", "indices", "head", "garbage"]))
    if how == "cut":
        bad = good[: data.draw(st.integers(0, len(good) - 1))]
    elif how == "flip":
        at = data.draw(st.integers(0, len(good) - 1))
        bad = good[:at] + bytes([good[at] ^ data.draw(st.integers(1, 255))]) + good[at + 1 :]
    elif how == "indices":  # well formed, its checksum right, but an index past the names or a length wrong
        value, arrays = answers.read_arrays(kept_store, path.stem)  # type: ignore[misc]
        arrays = {k: v.copy() for k, v in arrays.items()}
        which = data.draw(st.sampled_from(["deployment", "taxon", "bounds", "kind", "exact", "starts"]))
        if which == "starts":
            arrays["starts"] = arrays["starts"][:-1]
        else:
            wrong = {"deployment": 2**30, "taxon": 2**30, "kind": 127, "exact": 127, "bounds": -1}[which]
            arrays[which][data.draw(st.integers(0, arrays[which].size - 1))] = data.draw(st.sampled_from([-1, wrong]))
        answers.keep_arrays(kept_store, path.stem, answers.stamp(kept_store), value, arrays, lambda: True)
        bad = path.read_bytes()
        assert bad != good
    elif how == "head":
        bad = head.replace(b'"starts","<i8",', b'"starts","<i8",1') + b"\n" + body
    else:
        bad = data.draw(st.binary(max_size=300))
    path.write_bytes(bad)
    try:
        with amurkg.KnowledgeGraph(store=kept_store) as opened:
            got, taken = fast(opened, "co-detections-any", {})
        assert got == expected and taken
    finally:
        path.write_bytes(good)
