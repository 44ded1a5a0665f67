"""The activity page's fast path against the computation it replaced: independent detections read from the
import-time series (``amurkg.survey.series``) against ``detections_of`` and ``independent``, solar times of many
detections at once (``amurkg.survey.sun``) against ``astral`` one at a time, and the page against itself read
the old way, on generated packages with clock and taxon corrections recorded after the import."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import ParameterError
from amurkg.survey import corrections as corr
from amurkg.survey.filters import Deployment, Detection, SurveyFilter, deployments, detections_of
from amurkg.survey.generate import generate
from amurkg.survey.patterns import activity_times, independent, solar_time
from amurkg.survey.series import Independent, independent_series

DATA = Path(__file__).parent / "data"
TAXA = ["Amur leopard", "Capreolus pygargus", "Sus scrofa", "Cervus nippon mantchuricus", "Meles leucurus"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("series")
    path = tmp / "store"
    amurkg.import_package(path, generate(tmp / "package", 1500, 4))
    amurkg.import_package(path, DATA / "survey-small")
    with amurkg.KnowledgeGraph(store=path) as kg:
        first = deployments(kg)[0].deployment_id
    # after the import: the series must follow the corrections, as the counts do
    corr.shift_time(path, [first], "-01:30", "clock late", by="t")
    corr.update_taxon(path, "Sus scrofa", "Capreolus pygargus", "a test correction", by="t")
    return path


def _parts(found: Independent) -> list[tuple[str, list[float]]]:
    return [(d.iri, starts.tolist()) for d, starts in found.parts]


FILTERS = [
    SurveyFilter(),
    SurveyFilter(packages=("amurkg-test-survey-2023",)),
    SurveyFilter(start="2023-02-01", end="2023-05-31"),  # type: ignore[arg-type]
    SurveyFilter(deployments=("dep00000", "dep00001", "D1")),
]


@pytest.mark.parametrize("flt", FILTERS, ids=str)
@pytest.mark.parametrize("interval", [0, 1, 7, 30, 61.5, 1440])
def test_the_series_give_the_independent_detections(store: Path, flt: SurveyFilter, interval: float) -> None:
    with amurkg.KnowledgeGraph(store=store) as kg:
        fast = independent_series(kg, flt, TAXA, interval)
        assert fast is not None
        read = detections_of(kg, flt, TAXA)
        for taxon in TAXA:
            expected = independent(read[taxon], interval)
            assert _parts(fast[taxon]) == _parts(Independent.of(expected)), taxon
            assert len(fast[taxon]) == len(expected)
        # the comparison could fail: the corrected roe deer gained the boars, and some series lost detections
        assert not read["Sus scrofa"] and (interval == 0 or flt.deployments or len(fast["Capreolus pygargus"]) > 0)


@pytest.mark.parametrize("scale", ["clock", "solar"])
def test_times_computed_together_are_each_samples_own(store: Path, scale: str) -> None:
    """``times_together`` (the activity page's one pass over the leopard's and its prey's detections, each
    camera-day's sunrise and sunset once) gives each sample exactly what its own ``times`` gives, in order, with
    the same count of detections without a solar time; and the same when a sample comes twice or is empty."""
    from amurkg.survey.series import times_together

    with amurkg.KnowledgeGraph(store=store) as kg:
        found = independent_series(kg, SurveyFilter(), TAXA, 30)
    assert found is not None
    samples = [found[t] for t in TAXA]
    samples += [found["Amur leopard"].in_package("amurkg-test-survey-2023"), Independent(), found[TAXA[1]]]
    together = times_together(samples, scale)
    assert len(together) == len(samples)
    for sample, (values, missing) in zip(samples, together, strict=True):
        alone, alone_missing = sample.times(scale)
        assert np.array_equal(values, alone) and missing == alone_missing
    assert sum(len(values) for values, _ in together) > 500  # the comparison had something to compare
    with pytest.raises(ParameterError, match="unknown time scale"):
        times_together(samples, "sidereal")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [(43.1, 131.5, 10), (43.1, 131.5, 9), (-33.9, 151.2, 10), (69.6, 18.9, 1), (0.0, -0.0, 0)]
                ),
                st.integers(19_000, 19_800),
            ),
            min_size=1,
            max_size=40,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_sun_table_answers_what_a_fresh_computation_gives(calls: list[list[tuple[Any, int]]]) -> None:
    """The process's table of sunrises and sunsets (``timescale._SunTable``), asked several times for place-days
    that overlap, widen its ranges and repeat a place under another index, answers each time exactly what the
    computation gives afresh (polar days included, where there is no sunrise)."""
    from amurkg.survey import timescale

    table = timescale._SunTable()
    for call in calls:
        rows = sorted(call, key=lambda row: (row[0], row[1]))
        places = list(dict.fromkeys(p for p, _ in rows))
        place = np.array([places.index(p) for p, _ in rows], dtype=np.int64)
        lat = np.array([p[0] for p, _ in rows], dtype=np.float64)
        lon = np.array([p[1] for p, _ in rows], dtype=np.float64)
        offset = np.array([p[2] * 3_600_000_000 for p, _ in rows], dtype=np.int64)
        day = np.array([d for _, d in rows], dtype=np.int64)
        kept = table.fractions(lat, lon, offset, day, place)
        fresh = timescale._sun_of(lat, lon, offset, day)
        for a, b in zip(kept, fresh, strict=True):
            assert np.array_equal(a, b)


def test_a_correction_after_the_import_moves_the_series(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "store"
    amurkg.import_package(path, DATA / "survey-small")
    flt = SurveyFilter(taxon="Amur leopard")
    with amurkg.KnowledgeGraph(store=path) as kg:
        before = independent_series(kg, flt, ["Amur leopard"], 0)
    corr.shift_time(path, ["D1"], "+02:00", "camera clock", by="t")
    with amurkg.KnowledgeGraph(store=path) as kg:
        after = independent_series(kg, flt, ["Amur leopard"], 0)
        expected = Independent.of(independent(detections_of(kg, flt, ["Amur leopard"])["Amur leopard"], 0))
    assert before is not None and after is not None
    assert _parts(after["Amur leopard"]) == _parts(expected)
    moved = [s + 7200 for s in before["Amur leopard"].parts[0][1].tolist()]
    assert after["Amur leopard"].parts[0][1].tolist() == moved


def test_time_lapse_media_are_read_from_the_series_and_other_kinds_as_before(tmp_path: Path) -> None:
    """camtrap-dp-example has time-lapse media: the series answer both with them left out (the default) and
    counted (``timeLapse include``); a filter of other capture methods or observation types reads every
    observation as before."""
    path = tmp_path / "store"
    amurkg.import_package(path, DATA / "camtrap-dp-example")
    taxa = ["Anas platyrhynchos", "Vulpes vulpes", "Ardea", "Amur leopard"]  # what the example's cameras saw
    with amurkg.KnowledgeGraph(store=path) as kg:
        for flt in (SurveyFilter(), SurveyFilter(exclude_capture_methods=())):
            fast = independent_series(kg, flt, taxa, 30)
            assert fast is not None
            read = detections_of(kg, flt, taxa)
            assert [_parts(fast[t]) for t in taxa] == [_parts(Independent.of(independent(read[t], 30))) for t in taxa]
            assert any(fast[t].parts for t in taxa)
        assert independent_series(kg, SurveyFilter(exclude_capture_methods=("activityDetection",)), taxa, 0) is None
        assert independent_series(kg, SurveyFilter(observation_types=("animal", "human")), ["Amur leopard"], 0) is None


def test_solar_and_clock_times_of_many_equal_astrals_one_at_a_time() -> None:
    """Places from the equator to beyond the polar circles (polar day and night: no solar time), offsets of
    whole and half hours, starts in whole seconds and not: every value equal, not close."""
    rng = random.Random(11)
    cameras = [
        Deployment(
            f"d{i}",
            f"d{i}",
            "p",
            0,
            0,
            timedelta(hours=rng.choice([10, 8, 0, -5, 5.5, 13])),
            rng.choice([None, rng.uniform(-89.9, 89.9), rng.uniform(42.7, 43.6), 69.5, 78.0, -75.0]),
            rng.uniform(-180, 180),
        )
        for i in range(120)
    ]
    found = []
    for _ in range(6000):
        start = rng.uniform(1.6e9, 1.75e9)
        found.append(
            Detection(
                "o", rng.choice(cameras), float(int(start)) if rng.random() < 0.9 else start, None, None, "animal"
            )
        )
    reference = [solar_time(d) for d in found]
    kept = [min(t, math.nextafter(1.0, 0.0)) for t in reference if t is not None]
    solar, missing = activity_times(found, "solar")
    assert solar == kept and missing == len(reference) - len(kept)
    assert missing > 100 and len(solar) > 2000  # polar days and nights, cameras without a place, and many days
    clock, _ = activity_times(found, "clock")
    assert clock == [d.day_fraction() for d in found]


def _page(kg: Any, args: dict[str, Any]) -> str:
    from amurkg.web.data import survey_activity

    return json.dumps(survey_activity(kg, dict(args), 10**6), sort_keys=True)


PAGES = [
    {"interval": 30},
    {"interval": 0, "scale": "solar"},
    {"interval": 5, "scale": "solar", "taxon": "wild boar"},
    {"interval": 60, "taxon": "Meles leucurus", "package": "synthetic-amur-survey-1500-4"},
    {"interval": 0, "package": "amurkg-test-survey-2023", "scale": "solar"},
]


@pytest.mark.parametrize("args", PAGES, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_the_page_is_the_one_read_the_old_way(store: Path, args: dict[str, Any], monkeypatch: Any) -> None:
    """The page from the series, against the page read from every observation (``detections_of``) with each
    solar time from astral: equal JSON, to the last digit."""
    from amurkg.survey import patterns, series

    with amurkg.KnowledgeGraph(store=store) as kg:
        fast = _page(kg, args)
        monkeypatch.setattr(series, "independent_series", lambda *a: None)

        def one_at_a_time(starts: Any, cameras: Any, scale: str) -> tuple[Any, int]:
            if scale == "clock":
                return np.array(
                    [
                        Detection("o", c, s, None, None, "animal").day_fraction()
                        for s, c in zip(starts, cameras, strict=True)
                    ]
                ), 0
            values = [
                solar_time(Detection("o", c, float(s), None, None, "animal"))
                for s, c in zip(starts, cameras, strict=True)
            ]
            kept = [min(t, math.nextafter(1.0, 0.0)) for t in values if t is not None]
            return np.array(kept), len(values) - len(kept)

        monkeypatch.setattr(patterns, "run_times", lambda s, w, p, scale: one_at_a_time(s, [p[i] for i in w], scale))
        slow = _page(kg, args)
    page = json.loads(fast)
    assert page["curves"] and any(c.get("density") for c in page["curves"])  # something was drawn to compare
    assert fast == slow


def test_day_boundaries_in_local_time() -> None:
    """A start at local midnight is 0, one second before it the last second of the day, on the right local day."""
    camera = Deployment("d", "d", "p", 0, 0, timedelta(hours=10), 43.1, 131.5)
    midnight = datetime(2023, 3, 5, tzinfo=camera.tz).astimezone(UTC).timestamp()
    found = [Detection("o", camera, t, None, None, "animal") for t in (midnight, midnight - 1, midnight + 0.25)]
    times, _ = activity_times(found, "clock")
    assert times == [0.0, (86400 - 1) / 86400, 0.25 / 86400]
    solar, missing = activity_times(found, "solar")
    assert missing == 0 and solar == [solar_time(d) for d in found]


@pytest.mark.parametrize("n", [1, 7, 3000, 70_000, 140_001])
def test_the_kernel_density_in_blocks_is_the_whole_matrixs_to_the_last_bit(n: int) -> None:
    """``von_mises_density``'s direct sum computes a few points at a time: the same means as one
    points-by-observations matrix (the computation it replaced), not merely close ones."""
    import scipy.special as sp

    from amurkg.survey.activity import von_mises_density

    rng = np.random.default_rng(n)
    radians = rng.uniform(0, 2 * math.pi, n)
    for points, kappa in (
        (np.linspace(0.0, 2 * math.pi, 97), 12.3),
        (rng.uniform(0, 7, 128), 0.7),
        (radians[:5], 300.0),
    ):
        whole = np.exp(kappa * (np.cos(points[:, None] - radians[None, :]) - 1.0)).mean(axis=1)
        expected = whole / (2 * math.pi * float(sp.ive(0, kappa)))
        assert np.array_equal(von_mises_density(radians, points, kappa, "direct"), expected)


def test_an_import_before_the_lists_is_read_as_before_until_upgraded(tmp_path: Path) -> None:
    """A store imported by an amurkg whose series did not list their detections: the page reads every
    observation (the same answer, slower); ``amurkg import --upgrade`` adds the lists, with the corrections."""
    from typer.testing import CliRunner

    from amurkg.cli import app
    from amurkg.store import Store

    path = tmp_path / "store"
    amurkg.import_package(path, DATA / "survey-small")
    corr.shift_time(path, ["D1"], "+00:45", "camera clock", by="t")
    with Store.open(path, write=True) as handle:
        handle.ox.update(
            "DELETE WHERE { GRAPH ?g { ?s <https://w3id.org/amurkg/ontology#detectionStarts> ?o } } ;"
            "DELETE WHERE { GRAPH ?g { ?s <https://w3id.org/amurkg/ontology#detectionGaps> ?o } }"
        )
        handle.ox.flush()
    flt = SurveyFilter()
    with amurkg.KnowledgeGraph(store=path) as kg:
        assert independent_series(kg, flt, ["Amur leopard"], 0) is None
        before = _page(kg, {"interval": 0, "scale": "solar"})
    result = CliRunner().invoke(app, ["import", "--upgrade", "--store", str(path)])
    assert result.exit_code == 0, result.output
    assert "the counts computed at import recomputed" in result.output
    with amurkg.KnowledgeGraph(store=path) as kg:
        fast = independent_series(kg, flt, ["Amur leopard"], 0)
        expected = Independent.of(independent(detections_of(kg, flt, ["Amur leopard"])["Amur leopard"], 0))
        assert fast is not None and _parts(fast["Amur leopard"]) == _parts(expected)
        assert _page(kg, {"interval": 0, "scale": "solar"}) == before


def test_a_darwin_core_archive_import_has_the_same_series(store: Path, tmp_path: Path) -> None:
    """The corrected generated survey exported as a Darwin Core Archive and imported again: its series list
    the independent detections detections_of finds there too."""
    from typer.testing import CliRunner

    from amurkg.cli import app

    archive = tmp_path / "survey.zip"
    result = CliRunner().invoke(app, ["export", "--store", str(store), "-o", str(archive)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "store"
    amurkg.import_package(path, archive)
    with amurkg.KnowledgeGraph(store=path) as kg:
        flt = SurveyFilter()
        fast = independent_series(kg, flt, TAXA, 15)
        assert fast is not None
        read = detections_of(kg, flt, TAXA)
        assert [_parts(fast[t]) for t in TAXA] == [_parts(Independent.of(independent(read[t], 15))) for t in TAXA]
        assert sum(len(fast[t]) for t in TAXA) > 100
