"""The activity page's fast path on stores whose cameras also take time-lapse images: the independent detections
read from the import-time series (``amurkg.survey.series``) against those ``detections_of`` and ``independent``
read from every observation and its media, with time-lapse images left out (the default) and counted
(``timeLapse include``), after clock and taxon corrections and their undo, and after ``import --upgrade`` of a
store counted before the time-lapse marks; and the activity command's answer, fast and slow."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from places import write_rows
from test_survey import SMALL

import amurkg
from amurkg.errors import ParameterError
from amurkg.survey import corrections as corr
from amurkg.survey.filters import SurveyFilter, detections_of
from amurkg.survey.generate import generate
from amurkg.survey.patterns import independent
from amurkg.survey.series import Independent, independent_series

TAXA = ["Amur leopard", "Capreolus pygargus", "Sus scrofa"]
NAMES = {"leopard": "Panthera pardus orientalis", "roe": "Capreolus pygargus", "boar": "Sus scrofa"}
FILTERS = [SurveyFilter(), SurveyFilter(exclude_capture_methods=())]
INTERVALS = [0, 5, 30]
#: 2023-01-02T00:00+10:00: both cameras of survey-small record from then until at least 2023-01-06
ORIGIN = datetime(2023, 1, 1, 14, tzinfo=UTC)

#: How an event was recorded, and so whether ``detections_of`` leaves it out as time-lapse:
#: - motion / lapse: a motion-triggered or a time-lapse image at its start (the observation names no media);
#: - own-motion / own-lapse / own-none: the observation names its media, of that method or of none;
#: - lapse+1s / lapse+2s: a time-lapse image a second (near: left out) or two (not near: kept) after its start;
#: - both: a time-lapse and a motion image at its start (kept); lapse+none: a time-lapse image and one without a
#:   capture method at its start (kept: not every media there is time-lapse); bare: no media at all (kept).
HOW = ["motion", "lapse", "own-motion", "own-lapse", "own-none", "lapse+1s", "lapse+2s", "both", "lapse+none", "bare"]


@dataclass(frozen=True)
class Event:
    deployment: str
    minute: int  # minutes after ORIGIN
    taxon: str  # a key of NAMES
    how: str  # one of HOW


@dataclass(frozen=True)
class Corrections:
    shift: int | None = None  # minutes D1's clock is moved by (None: no clock correction)
    retaxon: bool = False  # the wild boar recorded means the roe deer
    undo: bool = False  # then withdraw the last correction


def write_package(folder: Path, events: list[Event]) -> Path:
    """survey-small's deployments with ``events``, each an event-level observation recorded as its ``how`` says,
    and a time-lapse image at noon each day (a set-up check, nothing observed)."""
    target = folder / "package"
    shutil.copytree(SMALL, target)
    media: list[dict[str, str]] = []
    observations: list[dict[str, str]] = []

    def image(deployment: str, at: datetime, method: str) -> str:
        name = f"M{len(media) + 1}"
        media.append(
            {
                "mediaID": name,
                "deploymentID": deployment,
                "captureMethod": method,
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "filePath": f"media/{name}.jpg",
                "filePublic": "false",
                "fileMediatype": "image/jpeg",
            }
        )
        return name

    for day in range(1, 5):
        for deployment in ("D1", "D2"):
            image(deployment, ORIGIN + timedelta(days=day, hours=-2), "timeLapse")  # noon at +10:00
    for number, event in enumerate(events):
        at = ORIGIN + timedelta(minutes=event.minute)
        own = ""
        if event.how in ("motion", "both"):
            image(event.deployment, at, "activityDetection")
        if event.how in ("lapse", "both", "lapse+none"):
            image(event.deployment, at, "timeLapse")
        if event.how == "lapse+none":
            image(event.deployment, at, "")
        if event.how.startswith("lapse+") and event.how.endswith("s"):
            image(event.deployment, at + timedelta(seconds=int(event.how[6])), "timeLapse")
        if event.how.startswith("own-"):
            method = {"own-motion": "activityDetection", "own-lapse": "timeLapse", "own-none": ""}[event.how]
            own = image(event.deployment, at, method)
        when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        observations.append(
            {
                "observationID": f"X{number}",
                "deploymentID": event.deployment,
                "mediaID": own,
                "eventID": f"E{number}",
                "eventStart": when,
                "eventEnd": when,
                "observationLevel": "event",
                "observationType": "animal",
                "scientificName": NAMES[event.taxon],
                "count": "1",
            }
        )
    write_rows(target / "media.csv", [_row(target / "media.csv", m) for m in media])
    write_rows(target / "observations.csv", [_row(target / "observations.csv", o) for o in observations])
    return target


def _row(path: Path, values: dict[str, str]) -> dict[str, str]:
    """``values`` under every column of ``path``'s header, the others empty."""
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    return {column: values.get(column, "") for column in header}


def _parts(found: Independent) -> list[tuple[str, list[float]]]:
    return [(d.iri, starts.tolist()) for d, starts in found.parts]


def assert_fast_is_slow(store: Path) -> dict[tuple[int, int], dict[str, int]]:
    """The series' independent detections equal the ones read from every observation, in order, for each
    filter and interval, and are read from the series (not None); how many each taxon had."""
    counts: dict[tuple[int, int], dict[str, int]] = {}
    with amurkg.KnowledgeGraph(store=store) as kg:
        for number, flt in enumerate(FILTERS):
            read = detections_of(kg, flt, TAXA)
            for interval in INTERVALS:
                fast = independent_series(kg, flt, TAXA, interval)
                assert fast is not None, (flt, interval)
                for taxon in TAXA:
                    expected = Independent.of(independent(read[taxon], interval))
                    assert _parts(fast[taxon]) == _parts(expected), (flt.exclude_capture_methods, interval, taxon)
                counts[(number, interval)] = {t: len(fast[t]) for t in TAXA}
    return counts


def apply(store: Path, fixes: Corrections, events: list[Event]) -> None:
    made = []
    if fixes.shift is not None:
        made += corr.shift_time(store, ["D1"], fixes.shift * 60.0, "camera clock", by="t")
    if fixes.retaxon and not any(e.taxon == "boar" for e in events):  # no observation records the name
        with pytest.raises(ParameterError, match="no observation records the scientific name 'Sus scrofa'"):
            corr.update_taxon(store, "Sus scrofa", "Capreolus pygargus", "a test correction", by="t")
    elif fixes.retaxon:
        made.append(corr.update_taxon(store, "Sus scrofa", "Capreolus pygargus", "a test correction", by="t"))
    if fixes.undo and made:
        corr.undo(store, made[-1].id, "withdrawn", by="t")


EVENTS = st.lists(
    st.builds(
        Event,
        st.sampled_from(["D1", "D2"]),
        st.integers(0, 3 * 24 * 60),
        st.sampled_from(sorted(NAMES)),
        st.sampled_from(HOW),
    ),
    min_size=1,
    max_size=14,
)
CORRECTIONS = st.builds(Corrections, st.one_of(st.none(), st.integers(-600, 600)), st.booleans(), st.booleans())
# a time-lapse detection between two motion detections within the interval: the second's gap is to it
BETWEEN = [
    Event("D1", 600, "leopard", "motion"),
    Event("D1", 603, "leopard", "lapse"),
    Event("D1", 606, "leopard", "motion"),
]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, fixes=CORRECTIONS)
@example(events=BETWEEN, fixes=Corrections())
@example(
    events=[Event("D1", m, t, "lapse") for m, t in ((10, "leopard"), (15, "leopard"), (900, "roe"))],
    fixes=Corrections(),
)
@example(
    events=[
        Event(d, 60 * i, "boar", h) for i, (d, h) in enumerate(zip(["D1", "D1", "D2", "D1"], HOW[:4], strict=True))
    ],
    fixes=Corrections(-90, True),
)
@example(events=[Event("D1", i * 2, "leopard", h) for i, h in enumerate(HOW)], fixes=Corrections(45, False, True))
@example(
    events=[*BETWEEN, Event("D2", 300, "boar", "own-lapse"), Event("D2", 302, "boar", "motion")],
    fixes=Corrections(30, True, True),
)
def test_the_series_answer_stores_with_time_lapse_images(
    tmp_path_factory: Any, events: list[Event], fixes: Corrections
) -> None:
    folder = tmp_path_factory.mktemp("tl")
    store = folder / "store"
    amurkg.import_package(store, write_package(folder, events))
    apply(store, fixes, events)
    counts = assert_fast_is_slow(store)
    if events == BETWEEN:  # the motion detection 6 minutes after the first is 3 after the time-lapse one
        assert counts[(0, 0)]["Amur leopard"] == 2 and counts[(0, 5)]["Amur leopard"] == 1
        assert counts[(1, 0)]["Amur leopard"] == 3 and counts[(1, 5)]["Amur leopard"] == 1
    if all(e.how == "lapse" for e in events):  # every detection time-lapse: none by default, all when counted
        assert not any(counts[(0, 0)].values()) and sum(counts[(1, 0)].values()) == len(events)


def test_an_import_before_the_marks_is_read_as_before_until_upgraded(tmp_path: Path) -> None:
    """A store counted before the time-lapse marks (its series list the time-lapse detections as any other,
    with nothing to say so): the page reads every observation until ``amurkg import --upgrade`` marks them
    again and recounts; then the series answer, equal to the slow path, and the marks are back."""
    from typer.testing import CliRunner

    from amurkg.cli import app
    from amurkg.store import Store

    store = tmp_path / "store"
    amurkg.import_package(store, write_package(tmp_path, [*BETWEEN, Event("D2", 90, "roe", "own-lapse")]))
    corr.shift_time(store, ["D1"], "+00:45", "camera clock", by="t")
    akg = "https://w3id.org/amurkg/ontology#"
    with Store.open(store, write=True) as handle:
        handle.ox.update(
            f"DELETE WHERE {{ GRAPH ?g {{ ?s <{akg}timeLapse> ?o }} }} ;"
            f"DELETE WHERE {{ GRAPH ?g {{ ?s <{akg}timeLapseDetections> ?o }} }} ;"
            f"DELETE WHERE {{ GRAPH ?g {{ ?s a <{akg}TimeLapseSeries> ; ?p ?o }} }}"
        )
        handle.ox.flush()
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert all(independent_series(kg, flt, TAXA, 0) is None for flt in FILTERS)
    result = CliRunner().invoke(app, ["import", "--upgrade", "--store", str(store)])
    assert result.exit_code == 0, result.output
    counts = assert_fast_is_slow(store)
    assert counts[(0, 0)]["Amur leopard"] == 2 and counts[(1, 0)]["Capreolus pygargus"] == 1
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?o <{akg}timeLapse> true }}"
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert int(kg.query(count).rows[0][0].value) == 2
    # a mark lost: a correction keeps the marks as they are (they do not change), the upgrade makes them again
    with Store.open(store, write=True) as handle:
        handle.ox.update(f"DELETE WHERE {{ GRAPH ?g {{ ?s <{akg}timeLapse> ?o ; <{akg}media> ?m }} }}")
        handle.ox.flush()
    corr.update_taxon(store, "Capreolus pygargus", "Sus scrofa", "a test correction", by="t")
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert int(kg.query(count).rows[0][0].value) == 1
    result = CliRunner().invoke(app, ["import", "--upgrade", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with amurkg.KnowledgeGraph(store=store) as kg:
        assert int(kg.query(count).rows[0][0].value) == 2
    assert_fast_is_slow(store)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated survey with time-lapse images (a tenth of its events on them, a set-up check each noon),
    with a clock correction."""
    tmp = tmp_path_factory.mktemp("generated")
    store = tmp / "store"
    amurkg.import_package(store, generate(tmp / "package", 1200, 5, time_lapse=0.1))
    corr.shift_time(store, ["dep00001"], "-01:30", "clock late", by="t")
    return store


def test_a_generated_survey_with_time_lapse_images(generated: Path) -> None:
    counts = assert_fast_is_slow(generated)
    assert all(counts[(0, i)]["Capreolus pygargus"] < counts[(1, i)]["Capreolus pygargus"] for i in INTERVALS)


@pytest.mark.parametrize("counted", [False, True], ids=["left-out", "counted"])
def test_the_activity_command_answers_as_it_did_by_the_slow_path(
    generated: Path, counted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``amurkg survey activity`` and the page's JSON twin: the same answer from the series as read from every
    observation, and the series were read."""
    from typer.testing import CliRunner

    from amurkg.cli import app
    from amurkg.survey import series
    from amurkg.web.data import survey_activity

    args = [
        "survey",
        "activity",
        "--store",
        str(generated),
        "--taxon",
        "Siberian roe deer",
        "--interval",
        "15",
        "--solar",
    ]
    args += ["--include-timelapse"] if counted else []
    page = {"interval": 15, "scale": "solar", "taxon": "Siberian roe deer"}  # the page leaves time-lapse images out
    answers: list[Any] = []
    real = series.independent_series

    def spy(*given: Any) -> Any:
        answers.append(real(*given))
        return answers[-1]

    monkeypatch.setattr(series, "independent_series", spy)
    fast = CliRunner().invoke(app, args)
    with amurkg.KnowledgeGraph(store=generated) as kg:
        fast_page = json.dumps(survey_activity(kg, dict(page), 10**6), sort_keys=True)
    assert fast.exit_code == 0, fast.output
    assert answers and all(a is not None for a in answers)
    monkeypatch.setattr(series, "independent_series", lambda *a: None)
    slow = CliRunner().invoke(app, args)
    with amurkg.KnowledgeGraph(store=generated) as kg:
        slow_page = json.dumps(survey_activity(kg, dict(page), 10**6), sort_keys=True)
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr)
    assert fast_page == slow_page and json.loads(fast_page)["curves"]
