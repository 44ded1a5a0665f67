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
