"""Activity overlap against the R package overlap's published and computed values (tests/data/overlap/README.md)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import ParameterError
from amurkg.survey import activity

DATA = Path(__file__).parent / "data" / "overlap"


def _simulated() -> tuple[list[float], list[float]]:
    rows = list(csv.DictReader((DATA / "simulated.csv").read_text().splitlines()))
    tiger = [float(r["radians"]) / (2 * math.pi) for r in rows if r["species"] == "tiger"]
    pig = [float(r["radians"]) / (2 * math.pi) for r in rows if r["species"] == "pig"]
    return tiger, pig


def _kerinci(species: str, zone: str) -> list[float]:
    rows = csv.DictReader((DATA / "kerinci.csv").read_text().splitlines())
    return [float(r["Time"]) for r in rows if r["Sps"] == species and (zone == "all" or r["Zone"] == zone)]


def test_published_example_of_overlap_est() -> None:
    """overlap's help page: overlapEst(tigerObs, pigObs) = 0.2908618, 0.2692011, 0.2275000 (7 decimals)."""
    tiger, pig = _simulated()
    assert len(tiger) == 100 and len(pig) == 80
    published = {"dhat1": 0.2908618, "dhat4": 0.2692011, "dhat5": 0.2275000}
    for name, value in published.items():
        assert amurkg.activity_overlap(tiger, pig, name).estimate == pytest.approx(value, abs=1e-6)
    # auto: both samples exceed 50, so Dhat4
    assert amurkg.activity_overlap(tiger, pig).estimator == "dhat4"


def test_bandwidth_and_density_as_the_package_tests_them() -> None:
    tiger, pig = _simulated()
    t = np.array(tiger) * 2 * math.pi
    p = np.array(pig) * 2 * math.pi
    # the package's own tests: getBandWidth to 1e-5, densityFit as printed there
    assert activity.bandwidth(t) == pytest.approx(29.90650, rel=1e-5)
    assert activity.bandwidth(p) == pytest.approx(10.42076, rel=1e-5)
    points = np.array([0, math.pi / 2, math.pi, 3 * math.pi / 2, 2 * math.pi])
    assert activity.von_mises_density(t, points, 30) == pytest.approx(
        [0.02440435, 0.44522913, 0.02179983, 0.50513539, 0.02440435], abs=5e-9
    )
    assert activity.von_mises_density(p, points, 10) == pytest.approx(
        [7.877244e-06, 4.522317e-02, 4.622752e-01, 1.216268e-01, 7.877244e-06], rel=1e-6
    )


def _reference() -> list[dict[str, str]]:
    return list(csv.DictReader((DATA / "kerinci-overlapEst.csv").read_text().splitlines()))


def test_every_kerinci_pair_matches_overlap_to_1e_6() -> None:
    """All 127 species pairs of the kerinci data (per zone and overall), the three estimators, to 1e-6; the
    pairs cover small samples (Dhat1's case), large ones and the interpolated branch of Dhat4 (n > 140.8)."""
    rows = _reference()
    assert len(rows) == 127
    assert any(int(r["nA"]) + int(r["nB"]) > 141 for r in rows) and any(int(r["nA"]) < 20 for r in rows)
    for row in rows:
        a = _kerinci(row["speciesA"], row["sample"])
        b = _kerinci(row["speciesB"], row["sample"])
        assert (len(a), len(b)) == (int(row["nA"]), int(row["nB"]))
        for name, column in (("dhat1", "Dhat1"), ("dhat4", "Dhat4"), ("dhat5", "Dhat5")):
            got = amurkg.activity_overlap(a, b, name).estimate
            assert got == pytest.approx(float(row[column]), abs=1e-6), (row, name)


def test_vignette_tiger_and_tapir_in_zone_3() -> None:
    """The example of overlap's kerinci help page: tiger and tapir in zone 3, 52 and 42 records: Dhat1."""
    tiger, tapir = _kerinci("tiger", "3"), _kerinci("tapir", "3")
    row = next(r for r in _reference() if r["sample"] == "3" and {r["speciesA"], r["speciesB"]} == {"tiger", "tapir"})
    result = amurkg.activity_overlap(tiger, tapir)  # auto: the smaller sample has 42 <= 50 records
    assert (result.estimator, result.n_a, result.n_b) == ("dhat1", 52, 42)
    assert result.estimate == pytest.approx(float(row["Dhat1"]), abs=1e-6)
    assert result.lower is None and result.upper is None


def test_bootstrap_interval_types_match_boot_ci() -> None:
    bt = (np.sin(np.arange(1, 1000) * 1.7) + 1) / 4 + 0.2
    for row in csv.DictReader((DATA / "bootCI.csv").read_text().splitlines()):
        lower, upper = activity.boot_interval(0.45, bt, float(row["conf"]), row["type"])
        assert (lower, upper) == pytest.approx((float(row["lower"]), float(row["upper"])), abs=1e-9), row


def test_smoothed_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    tiger, tapir = _kerinci("tiger", "3"), _kerinci("tapir", "3")
    first = amurkg.activity_overlap(tiger, tapir, ci=0.95, n_boot=200, seed=7)
    again = amurkg.activity_overlap(tiger, tapir, ci=0.95, n_boot=200, seed=7)
    other = amurkg.activity_overlap(tiger, tapir, ci=0.95, n_boot=200, seed=8)
    assert first == again
    assert first.lower != other.lower
    assert first.lower is not None and first.upper is not None
    assert first.lower < first.estimate < first.upper
    assert 0.1 < first.upper - first.lower < 0.5  # about ±0.13 for samples of 40-50
    assert (first.ci, first.interval, first.n_boot, first.seed) == (0.95, "basic0", 200, 7)
    # the smoothed bootstrap is biased upwards for Dhat1 (Ridout & Linkie): basic0 corrects by the bias
    assert first.boot_mean is not None
    perc = amurkg.activity_overlap(tiger, tapir, ci=0.95, n_boot=200, seed=7, interval="perc")
    assert perc.lower is not None and perc.upper is not None
    assert perc.lower - first.lower == pytest.approx(first.boot_mean - first.estimate)


def test_auto_switches_above_fifty() -> None:
    rng = np.random.default_rng(1)
    a = list(rng.uniform(0, 1, 51))
    assert amurkg.activity_overlap(a, list(rng.uniform(0, 1, 51))).estimator == "dhat4"
    assert amurkg.activity_overlap(a, list(rng.uniform(0, 1, 50))).estimator == "dhat1"


def test_activity_density_integrates_to_one() -> None:
    tiger, _ = _simulated()
    x, y = activity.activity_density(tiger, n_grid=1001)
    assert x[0] == 0 and x[-1] == 1 and len(y) == 1001
    assert np.trapezoid(y, x) == pytest.approx(1.0, abs=1e-6)
    assert y[0] == pytest.approx(y[-1])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(2, 3000),
    st.floats(0.01, 3000.0),
    st.integers(1, 300),
    st.floats(0.0, 1.0),
)
def test_the_kernels_fourier_series_gives_the_direct_sums_densities(
    seed: int, n: int, kappa: float, n_points: int, spread: float
) -> None:
    """The two ways ``von_mises_density`` computes a density (each kernel value, or the kernel's Fourier series
    from the observations' trigonometric moments) agree to about κ times 1e-15 of the highest density, at any
    concentration, on samples from uniform to bunched on one hour, at points anywhere (not only on a grid);
    the series is never negative."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 2 * math.pi)
    radians = np.mod(centre + spread * rng.uniform(-math.pi, math.pi, n) + rng.normal(0, 0.01, n), 2 * math.pi)
    points = rng.uniform(-1, 8, n_points)
    direct = activity.von_mises_density(radians, points, kappa, "direct")
    series = activity.von_mises_density(radians, points, kappa, "series")
    assert np.all(series >= 0)
    # both round each angle (x - xi, or k xi) to about 1e-16 of a turn, which moves a kernel value by up to
    # kappa times that: the two agree to that, not to the last bit
    assert np.max(np.abs(series - direct)) < (1e-13 + 1e-15 * kappa) * max(1.0, float(direct.max()))


def test_auto_takes_the_series_only_for_many_observations_and_few_terms() -> None:
    """``auto`` keeps the direct sum (to the last bit) below 2,048 observations and where the series would need
    more than four terms per point, and takes the series on large samples, where it is what makes the survey
    dashboard's activity page answer on millions of observations."""
    rng = np.random.default_rng(7)
    small = rng.uniform(0, 2 * math.pi, 2047)
    grid = np.linspace(0, 2 * math.pi, 97)
    assert np.array_equal(
        activity.von_mises_density(small, grid, 50.0), activity.von_mises_density(small, grid, 50.0, "direct")
    )
    large = rng.uniform(0, 2 * math.pi, 5000)
    series = activity.von_mises_density(large, grid, 50.0, "series")
    assert np.array_equal(activity.von_mises_density(large, grid, 50.0), series)
    assert not np.array_equal(series, activity.von_mises_density(large, grid, 50.0, "direct"))
    few = grid[:3]  # κ = 5000 needs hundreds of terms: more than four per point for three points
    assert np.array_equal(
        activity.von_mises_density(large, few, 5000.0), activity.von_mises_density(large, few, 5000.0, "direct")
    )
    with pytest.raises(ParameterError, match="unknown density method"):
        activity.von_mises_density(large, grid, 5.0, "fft")  # type: ignore[arg-type]


times = st.lists(st.floats(0, 1, exclude_max=True, allow_nan=False), min_size=2, max_size=40).filter(
    lambda v: len(set(v)) >= 2
)


@settings(max_examples=60, deadline=None)
@given(times, times)
def test_overlap_is_a_symmetric_proportion(a: list[float], b: list[float]) -> None:
    for name in ("dhat1", "dhat4"):
        try:
            ab = amurkg.activity_overlap(a, b, name).estimate
        except ParameterError as exc:  # some samples have no bandwidth; overlap gives NA then
            assert "no bandwidth" in str(exc)
            continue
        ba = amurkg.activity_overlap(b, a, name).estimate
        assert 0 <= ab <= 1 + 1e-12
        assert ab == pytest.approx(ba, abs=1e-12)
        assert amurkg.activity_overlap(a, a, name).estimate == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0, 0.99), min_size=2, max_size=10),
    st.integers(0, 9),
    st.sampled_from([-0.1, 1.0, 1.5, math.nan, math.inf, -math.inf]),
)
def test_bad_times_are_refused_with_their_index(good: list[float], where: int, bad: float) -> None:
    values = list(good)
    index = min(where, len(values))
    values.insert(index, bad)
    with pytest.raises(ParameterError, match=rf"times_b\[{index}\] is "):
        amurkg.activity_overlap([0.1, 0.5, 0.7], values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimator": "dhat2"}, "unknown estimator"),
        ({"ci": 1.5}, "confidence level"),
        ({"ci": 0.9, "n_boot": 3}, "n_boot"),
        ({"ci": 0.9, "interval": "bca"}, "unknown interval"),
        ({"ci": 0.9, "seed": -1}, "seed"),
        ({"adjust": 0}, "adjust"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        amurkg.activity_overlap([0.1, 0.2, 0.5], [0.4, 0.6, 0.9], **kwargs)  # type: ignore[arg-type]


def test_too_few_distinct_times() -> None:
    with pytest.raises(ParameterError, match="2 different times"):
        amurkg.activity_overlap([0.5, 0.5], [0.1, 0.2])
    with pytest.raises(ParameterError, match="sequence"):
        amurkg.activity_overlap("0.5", [0.1, 0.2])  # type: ignore[arg-type]


# ------------------------------------------------------------------ on imported surveys

SMALL = Path(__file__).parent / "data" / "survey-small"


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("small") / "store"
    amurkg.import_package(store, SMALL)
    return store


@pytest.fixture(scope="module")
def small(small_store: Path) -> amurkg.KnowledgeGraph:
    return amurkg.KnowledgeGraph(store=small_store)


def test_activity_curve_of_the_leopard_by_hand(small: amurkg.KnowledgeGraph) -> None:
    from amurkg.survey.filters import SurveyFilter
    from amurkg.survey.patterns import activity_curve

    # leopard events at D1 (UTC+10): 11:00, 11:20 (20 minutes later) and 23:00 local
    every = activity_curve(small, SurveyFilter(taxon="Amur leopard"), interval=0)
    assert every.n == 3 and every.times == pytest.approx([11 / 24, (11 + 1 / 3) / 24, 23 / 24])
    # at 30 minutes the 11:20 one is not independent; 11:00 and 23:00 are opposite on the circle, so no
    # bandwidth exists (overlap's getBandWidth gives NA there too)
    with pytest.raises(ParameterError, match="no bandwidth"):
        activity_curve(small, SurveyFilter(taxon="Amur leopard"), interval=30)
    x, y = every.x, every.density
    assert len(x) == 97 and np.trapezoid(y, x) == pytest.approx(1.0, abs=1e-3)
    assert y[44] > y[0] and y[92] > y[70]  # peaks at 11:00 and 23:00, not at midnight or 17:30


def test_solar_time_anchors_sunrise_and_sunset() -> None:
    from datetime import UTC, datetime, timedelta

    from astral import Observer
    from astral.sun import sunrise, sunset

    from amurkg.survey.filters import Deployment, Detection
    from amurkg.survey.patterns import solar_time

    camera = Deployment("d", "d", "p", 0, 0, timedelta(hours=10), 43.1, 131.5)
    tz = camera.tz
    day = datetime(2023, 1, 2, tzinfo=tz).date()
    rise = sunrise(Observer(43.1, 131.5), day, tzinfo=tz)
    fall = sunset(Observer(43.1, 131.5), day, tzinfo=tz)
    assert 7 <= rise.hour <= 8 and 16 <= fall.hour <= 17  # Primorye in January, UTC+10

    def at(moment: datetime) -> float | None:
        return solar_time(Detection("o", camera, moment.timestamp(), None, None, "animal"))

    assert at(rise + timedelta(seconds=1)) == pytest.approx(0.25, abs=1e-4)
    assert at(fall - timedelta(seconds=1)) == pytest.approx(0.75, abs=1e-4)
    assert at(rise + (fall - rise) / 2) == pytest.approx(0.5, abs=1e-4)
    # the night is stretched: half-way through the night (as long as a day minus the daylight) is solar midnight
    night = timedelta(days=1) - (fall - rise)
    assert at(fall + night / 2 - timedelta(minutes=1)) == pytest.approx(1.0, abs=1e-3)
    assert at(fall + night / 2 + timedelta(minutes=1)) == pytest.approx(0.0, abs=1e-3)
    polar = Deployment("d", "d", "p", 0, 0, timedelta(0), 80.0, 15.0)
    moment = datetime(2023, 6, 21, 12, tzinfo=UTC).timestamp()
    assert solar_time(Detection("o", polar, moment, None, None, "animal")) is None


def test_solar_time_matches_overlap_sun_time_on_its_data() -> None:
    """overlap's tests: round(sum(sunTime(simCalls$time, Dates, Coords)), 4) == 207.0542 at (-3, 56), GMT.
    Its sunrise and sunset come from suntools, ours from astral: they differ by seconds, so the sum of 100
    solar times (radians) agrees to 0.15 (0.07 %), not to the 4th decimal."""
    from datetime import UTC, datetime, timedelta

    from amurkg.survey.filters import Deployment, Detection
    from amurkg.survey.patterns import solar_time

    camera = Deployment("d", "d", "p", 0, 0, timedelta(0), 56.0, -3.0)
    total = 0.0
    for row in csv.DictReader((DATA / "simCalls.csv").read_text().splitlines()):
        midnight = datetime.fromisoformat(row["dates"]).replace(tzinfo=UTC)
        moment = midnight + timedelta(days=float(row["time"]) / (2 * math.pi))
        value = solar_time(Detection("o", camera, moment.timestamp(), None, None, "animal"))
        assert value is not None
        total += value * 2 * math.pi
    assert total == pytest.approx(207.0542, abs=0.15)


def test_prey_activity_overlap_per_package(small: amurkg.KnowledgeGraph) -> None:
    from amurkg.survey.filters import SurveyFilter
    from amurkg.survey.patterns import prey_activity_overlap

    table = prey_activity_overlap(small, SurveyFilter(), interval=0, ci=0.95, n_boot=50, seed=3)
    assert table.predator == "Amur leopard"
    by_prey = {r.prey_name: r for r in table.rows}
    # the curated graph's three prey of the Amur leopard, each in the one package
    assert set(by_prey) == {"Manchurian sika deer", "Siberian roe deer", "wild boar"}
    assert {r.package for r in table.rows} == {"amurkg-test-survey-2023"}
    sika = by_prey["Manchurian sika deer"]
    assert (sika.overlap, sika.n_prey, sika.note) == (None, 1, "too few detections for an estimate")
    # wild boar: D1 01-04 02:00 UTC = 12:00 local, D2 01-03 00:00 UTC = 10:00 local
    boar = by_prey["wild boar"]
    leopard = [11 / 24, (11 + 1 / 3) / 24, 23 / 24]
    expected = amurkg.activity_overlap(leopard, [12 / 24, 10 / 24], ci=0.95, n_boot=50, seed=3)
    assert boar.overlap is not None and boar.overlap.estimator == "dhat1"
    assert boar.overlap.estimate == pytest.approx(expected.estimate, abs=1e-9)
    assert boar.overlap.lower == pytest.approx(expected.lower)


def test_survey_commands_for_activity(small_store: Path) -> None:
    from typer.testing import CliRunner

    from amurkg.cli import app

    store = str(small_store)
    runner = CliRunner()
    result = runner.invoke(
        app, ["survey", "activity", "--store", store, "--taxon", "Amur leopard", "--interval", "0", "--points", "5"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "amurkg: 3 independent detections, clock time\n"
    lines = result.stdout.splitlines()
    assert lines[0] == "hour,density" and [line.split(",")[0] for line in lines[1:]] == [
        "0.0000",
        "6.0000",
        "12.0000",
        "18.0000",
        "24.0000",
    ]
    result = runner.invoke(
        app, ["survey", "prey-activity-overlap", "--store", store, "--interval", "0", "--n-boot", "20"]
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [r["preyName"] for r in rows] == ["Manchurian sika deer", "Siberian roe deer", "wild boar"]
    assert rows[2]["estimator"] == "dhat1" and 0 < float(rows[2]["overlap"]) < 1


def test_plots_are_svg_with_their_counts_and_the_same_each_time(small_store: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from typer.testing import CliRunner

    from amurkg.cli import app
    from amurkg.survey.figures import activity_plot
    from amurkg.survey.patterns import ActivityCurve

    runner = CliRunner()
    pictures = []
    for name in ("a.svg", "b.svg"):
        result = runner.invoke(
            app,
            [
                "survey",
                "prey-activity-overlap",
                "--store",
                str(small_store),
                "--interval",
                "0",
                "--n-boot",
                "20",
                "--plot",
                str(tmp_path / name),
            ],
        )
        assert result.exit_code == 0, result.stderr
        pictures.append((tmp_path / name).read_bytes())
    assert pictures[0] == pictures[1]
    ET.fromstring(pictures[0])  # well-formed SVG
    text = pictures[0].decode()
    assert "wild boar (n = 2)" in text and "Amur leopard (n = 3)" in text
    bad = runner.invoke(
        app,
        [
            "survey",
            "activity",
            "--store",
            str(small_store),
            "--taxon",
            "Amur leopard",
            "--interval",
            "0",
            "--plot",
            str(tmp_path / "x.gif"),
        ],
    )
    assert bad.exit_code == 2 and not (tmp_path / "x.gif").exists()
    assert bad.stderr == f"amurkg: error: {tmp_path / 'x.gif'}: a plot is written as .svg or .png: name the file so\n"
    # names are shown as written: no mathtext from a '$', no markup from '<'
    x, y = activity.activity_density([0.2, 0.3, 0.5])
    odd = ActivityCurve("$x$ <b>", "clock", 3, [0.2, 0.3, 0.5], x, y)
    svg = activity_plot([odd], "svg").decode()
    ET.fromstring(svg)
    assert "$x$ &lt;b&gt;" in svg


def test_overlap_of_any_two_taxa(small_store: Path) -> None:
    from typer.testing import CliRunner

    from amurkg.cli import app

    args = ["survey", "overlap", "--store", str(small_store), "--taxon", "Amur leopard", "--with", "wild boar"]
    result = CliRunner().invoke(app, [*args, "--interval", "0", "--n-boot", "100", "--seed", "4"])
    assert result.exit_code == 0, result.stderr
    [row] = list(csv.DictReader(result.stdout.splitlines()))
    expected = amurkg.activity_overlap(
        [11 / 24, (11 + 1 / 3) / 24, 23 / 24], [12 / 24, 10 / 24], ci=0.95, n_boot=100, seed=4
    )
    assert (row["otherName"], row["nTaxon"], row["nOther"], row["estimator"]) == ("wild boar", "3", "2", "dhat1")
    assert float(row["overlap"]) == pytest.approx(expected.estimate, abs=5e-5)
    assert float(row["lower"]) == pytest.approx(expected.lower, abs=5e-5)
    missing = CliRunner().invoke(app, ["survey", "overlap", "--store", str(small_store), "--with", "wild boar"])
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1
