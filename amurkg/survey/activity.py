"""Activity on the 24-hour circle: von Mises kernel densities and the coefficient of overlapping.

The estimators are those of Ridout & Linkie (2009, *J. Agric. Biol. Environ. Stat.* 14:322-337,
doi:10.1198/jabes.2009.08038) as the R package ``overlap`` (Meredith, Ridout & Campbell) computes them, so that
an answer here equals that package's to its own precision:

- the kernel is the von Mises density with concentration ``bandwidth / adjust``; the bandwidth is the plug-in
  value of Taylor (2008), from the largest of the von Mises concentrations fitted to the first ``kmax``
  trigonometric moments, each found by Brent's root finder with R's ``uniroot`` default tolerance
  (``2.2e-16 ** 0.25``), as ``overlap`` finds it (the same iterations, so the same root);
- Δ̂1 integrates the smaller of the two densities over a grid of ``n_grid`` points (``adjust`` 0.8),
  Δ̂4 averages the ratio of the densities at the observations (``adjust`` 1), Δ̂5 counts which density is
  larger there (``adjust`` 4); Ridout & Linkie recommend Δ̂1 when the smaller sample has 50 or fewer
  observations and Δ̂4 above that, which is what ``estimator="auto"`` does;
- confidence intervals come from the smoothed bootstrap (each resample drawn from the fitted densities on a
  512-point grid), with the interval types of ``overlap::bootCI``; ``basic0`` (the default) is the one its
  authors recommend. Resamples come from NumPy's PCG64 generator with the given ``seed``: the same seed gives
  the same interval on every machine, but not the interval R gives (R has its own random numbers).

Times are fractions of a day, ``0 <= t < 1`` (06:00 is 0.25). This module needs only NumPy and SciPy
(``pip install 'amurkg[survey]'``) and knows nothing of stores: it works on any times.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from amurkg.errors import ParameterError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]

Estimator = Literal["dhat1", "dhat4", "dhat5", "auto"]
Interval = Literal["basic0", "norm0", "perc", "basic", "norm"]

#: The smoothing adjustment ``overlap`` uses for each estimator (``adjust = c(0.8, 1, 4)``).
ADJUST = {"dhat1": 0.8, "dhat4": 1.0, "dhat5": 4.0}
#: The default ``n.grid`` of ``overlap::overlapEst``.
N_GRID = 128
#: Ridout & Linkie's rule: Δ̂4 when both samples have more observations than this, Δ̂1 otherwise.
AUTO_THRESHOLD = 50
#: R's ``uniroot`` default tolerance, ``.Machine$double.eps^0.25``.
UNIROOT_TOL = 2.220446049250313e-16**0.25
_KAPPA_RANGE = (0.0001, 345.0)  # where overlap looks for the concentration of each trigonometric moment
_BOOT_GRID = 512  # overlap's bootstrap draws resamples from the densities on this many points
_BLOCK = 1 << 16  # kernel values computed at a time (von_mises_density): 512 KB
_SERIES_MIN = 2048  # von_mises_density's auto method: fewer observations always take the direct sum
_SERIES_TOL = 1e-18  # the smallest Bessel ratio I_k/I_0 the kernel's Fourier series keeps


@dataclass(frozen=True)
class Overlap:
    """The coefficient of overlapping of two activity patterns, and its interval when one was asked for.

    ``float(result)`` is the estimate. ``lower``/``upper`` are ``None`` without ``ci``; ``boot_mean`` is the mean
    of the bootstrap estimates (its difference from ``estimate`` is the bootstrap's bias estimate).
    """

    estimator: str
    estimate: float
    n_a: int
    n_b: int
    bandwidth_a: float
    bandwidth_b: float
    ci: float | None = None
    interval: str | None = None
    lower: float | None = None
    upper: float | None = None
    n_boot: int = 0
    seed: int | None = None
    boot_mean: float | None = None

    def __float__(self) -> float:
        return self.estimate

    def as_dict(self) -> dict[str, object]:
        """The result as a plain dict (for JSON and tables)."""
        from dataclasses import asdict

        return asdict(self)


def _require() -> None:
    from amurkg.errors import require

    require("numpy", "survey", "activity analysis")
    require("scipy", "survey", "activity analysis")


def check_times(times: Sequence[float] | object, name: str = "times") -> Floats:
    """``times`` as a NumPy array of fractions of a day, or ParameterError saying which value is wrong."""
    _require()
    import numpy as np

    if isinstance(times, str | bytes) or not hasattr(times, "__len__"):
        raise ParameterError(
            f"{name} must be a sequence of fractions of a day (0 <= t < 1), not {type(times).__name__}"
        )
    try:
        values = np.asarray(times, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must hold numbers (fractions of a day, 0 <= t < 1): {exc}") from None
    bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0) & (values < 1)))
    if bad.size:
        i = int(bad[0])
        raise ParameterError(f"{name}[{i}] is {values[i]!r}: times are fractions of a day, 0 <= t < 1 (06:00 is 0.25)")
    if not distinct(values):
        raise ParameterError(
            f"{name} has {min(1, values.size)} distinct value(s): a density needs at least 2 different times"
        )
    return values


def distinct(values: Floats) -> bool:
    """Whether ``values`` (finite numbers) hold at least two different ones, without sorting them."""
    return bool(values.size) and bool(values.min() != values.max())


def von_mises_density(
    radians: Floats, points: Floats, concentration: float, method: Literal["auto", "direct", "series"] = "auto"
) -> Floats:
    """The von Mises kernel density of the observations ``radians`` at ``points`` (both in radians), per radian:
    the mean over observations of exp(κ cos(x - xᵢ)) / (2π I₀(κ)).

    Two ways to the same numbers, and ``method="auto"`` takes the cheaper:

    - ``direct``: each kernel value, in the scaled form that stays finite for large κ, a few points at a time
      in one buffer of about half a megabyte (each point's row is the same numbers in the same order as in one
      points-by-observations matrix, the same mean to the last bit); it costs observations times points cosines
      and exponentials;
    - ``series``: the kernel's Fourier series, exp(κ cos u) / I₀(κ) = 1 + 2 Σₖ Iₖ(κ)/I₀(κ) cos(k u), with the
      observations' trigonometric moments (the mean of e^{ikxᵢ}, by repeated complex multiplication) up to the
      first k whose weight Iₖ(κ)/I₀(κ) falls below 1e-18; it costs observations times terms multiplications. The
      densities agree with ``direct`` to about κ times 1e-16 of the highest density (both round the angles, to
      about 1e-16 of a turn, and a kernel value moves by κ times that), and a density below that may be 0
      rather than a tiny positive number (never negative).

    ``auto`` keeps ``direct`` for fewer than 2,048 observations (published reference values are computed on
    such samples), and takes ``series`` when its terms are fewer than four times the points."""
    import numpy as np
    import scipy.special as sp

    if method not in ("auto", "direct", "series"):
        raise ParameterError(f"unknown density method {method!r}: use auto, direct or series")
    weights = None
    if method == "series" or (method == "auto" and radians.size >= _SERIES_MIN):
        weights = _series_weights(concentration, None if method == "series" else 4 * points.size)
    if weights is not None:
        moments = _moments(radians, weights.size)
        angles = np.multiply.outer(points, np.arange(1, weights.size + 1, dtype=np.float64))
        # sums of products, not a matrix product: BLAS would start threads that spin on the cores after it
        series = (np.cos(angles) * (weights * moments.real)).sum(axis=1)
        series += (np.sin(angles) * (weights * moments.imag)).sum(axis=1)
        return np.asarray(np.maximum((1.0 + 2.0 * series) / (2 * math.pi), 0.0), dtype=np.float64)
    rows = max(1, _BLOCK // max(1, radians.size))
    means = np.empty(points.size, dtype=np.float64)
    buffer = np.empty((min(rows, points.size), radians.size), dtype=np.float64)
    for lo in range(0, points.size, rows):
        block = buffer[: min(rows, points.size - lo)]
        np.subtract(points[lo : lo + block.shape[0], None], radians[None, :], out=block)
        np.cos(block, out=block)
        block -= 1.0
        block *= concentration
        np.exp(block, out=block)
        means[lo : lo + block.shape[0]] = block.mean(axis=1)
    return np.asarray(means / (2 * math.pi * float(sp.ive(0, concentration))), dtype=np.float64)


def _series_weights(concentration: float, most: int | None) -> Floats | None:
    """Iₖ(κ)/I₀(κ) for k = 1, 2, ... up to the last one of at least 1e-18 (they fall with k), or None where that
    takes more than ``most`` terms."""
    import numpy as np
    import scipy.special as sp

    scale = float(sp.ive(0, concentration))
    if not (math.isfinite(concentration) and concentration > 0 and scale > 0):
        return None
    terms = 16
    while True:
        ratios = sp.ive(np.arange(1, terms + 1), concentration) / scale
        small = np.flatnonzero(ratios < _SERIES_TOL)
        if small.size:
            kept = int(small[0])
            return None if most is not None and kept > most else np.asarray(ratios[:kept], dtype=np.float64)
        if most is not None and terms > most:
            return None
        terms *= 2


def _moments(radians: Floats, terms: int) -> NDArray[np.complex128]:
    """The trigonometric moments mean(e^{ikxᵢ}) for k = 1 .. ``terms``, a block of observations at a time."""
    import numpy as np

    sums = np.zeros(terms, dtype=np.complex128)
    if terms == 0:
        return sums
    step = max(1, _BLOCK // 4)
    for lo in range(0, radians.size, step):
        base = np.exp(1j * radians[lo : lo + step])
        power = base.copy()
        sums[0] += power.sum()
        for k in range(1, terms):
            power *= base
            sums[k] += power.sum()
    return np.asarray(sums / max(1, radians.size), dtype=np.complex128)


def _trig_moments(radians: Floats, kmax: int) -> list[float]:
    """The lengths of the first ``kmax`` trigonometric moments about the circular mean: |mean(e^{ik(x - mean)})|,
    which is |mean(e^{ikx})| (turning every angle by the same amount leaves the length as it is), from one
    complex exponential per observation and a multiplication per further moment."""
    import numpy as np

    base = np.exp(1j * radians)
    power = base.copy()
    lengths = [abs(complex(power.mean()))]
    for _ in range(1, kmax):
        power *= base
        lengths.append(abs(complex(power.mean())))
    return lengths


def zeroin(
    f: Callable[[float], float], lower: float, upper: float, tol: float = UNIROOT_TOL, maxiter: int = 1000
) -> float:
    """A root of ``f`` in [lower, upper] by Brent's method (Brent 1973, ch. 4), stepping as R's ``uniroot`` does:
    bisection, secant or inverse quadratic interpolation, whichever is safe, until the bracket is within ``tol``."""
    a, b = lower, upper
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    eps = 2.220446049250313e-16
    for _ in range(maxiter + 1):
        previous = b - a
        if abs(fc) < abs(fb):  # keep b the best guess
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tolerance = 2 * eps * abs(b) + tol / 2
        step = (c - b) / 2
        if abs(step) <= tolerance or fb == 0.0:
            return b
        if abs(previous) >= tolerance and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tolerance * q) / 2 and p < abs(previous * q / 2):
                step = p / q
        if abs(step) < tolerance:
            step = tolerance if step > 0 else -tolerance
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def bandwidth(radians: Floats, kmax: int = 3) -> float | None:
    """The von Mises concentration of the kernel, before ``adjust`` (``overlap::getBandWidth``), or None where no
    trigonometric moment gives a concentration in (0.0001, 345)."""
    import scipy.special as sp

    best = 0.0
    for k, moment in enumerate(_trig_moments(radians, kmax), start=1):

        def afun(kappa: float, k: int = k, moment: float = moment) -> float:
            return float(sp.ive(k, kappa) / sp.ive(0, kappa)) - moment

        lo, hi = _KAPPA_RANGE
        if afun(lo) * afun(hi) <= 0:
            best = max(best, zeroin(afun, lo, hi))
    if best <= 0:
        return None
    # 3 n κ² I₂(2κ) / (4 √π I₀(κ)²), to the power 2/5; the exponential scalings of ive cancel
    ratio = float(sp.ive(2, 2 * best)) / float(sp.ive(0, best)) ** 2
    return float((3 * radians.size * best**2 * ratio / (4 * math.sqrt(math.pi))) ** 0.4)


def _overlap_radians(
    a: Floats, b: Floats, estimator: str, bw_a: float, bw_b: float, n_grid: int, adjust: float
) -> float:
    import numpy as np

    grid = np.linspace(0.0, 2 * math.pi, n_grid)
    if estimator == "dhat1":
        da = von_mises_density(a, grid, bw_a / adjust)[1:]
        db = von_mises_density(b, grid, bw_b / adjust)[1:]
        return float(np.minimum(da / da.sum(), db / db.sum()).sum())
    both = np.concatenate([a, b])
    if both.size > n_grid * 1.1:  # overlap interpolates the grid densities at the observations
        dax = np.interp(both, grid, von_mises_density(a, grid, bw_a / adjust))
        dbx = np.interp(both, grid, von_mises_density(b, grid, bw_b / adjust))
    else:
        dax = von_mises_density(a, both, bw_a / adjust)
        dbx = von_mises_density(b, both, bw_b / adjust)
    n1 = a.size
    if estimator == "dhat4":
        return float(
            (np.mean(np.minimum(1.0, dbx[:n1] / dax[:n1])) + np.mean(np.minimum(1.0, dax[n1:] / dbx[n1:]))) / 2
        )
    return float(np.mean(dbx[:n1] > dax[:n1]) + np.mean(dax[n1:] >= dbx[n1:]))


def choose_estimator(estimator: str, n_a: int, n_b: int) -> str:
    """The estimator to use: ``auto`` is Δ̂4 when both samples exceed 50 observations, Δ̂1 otherwise."""
    name = estimator.lower()
    if name == "auto":
        return "dhat4" if min(n_a, n_b) > AUTO_THRESHOLD else "dhat1"
    if name not in ADJUST:
        raise ParameterError(f"unknown estimator {estimator!r}: use dhat1, dhat4, dhat5 or auto")
    return name


def activity_overlap(
    times_a: Sequence[float],
    times_b: Sequence[float],
    estimator: Estimator | str = "auto",
    *,
    ci: float | None = None,
    n_boot: int = 999,
    seed: int | None = 0,
    interval: Interval | str = "basic0",
    adjust: float | None = None,
    kmax: int = 3,
    n_grid: int = N_GRID,
) -> Overlap:
    """The coefficient of overlapping Δ of two activity patterns (Ridout & Linkie 2009), as ``overlap`` computes it.

    ``times_a``/``times_b`` are fractions of a day (0 <= t < 1). ``estimator`` is ``dhat1``, ``dhat4``, ``dhat5`` or
    ``auto`` (Δ̂4 when both samples have more than 50 times, Δ̂1 otherwise). With ``ci`` (e.g. 0.95), ``n_boot``
    smoothed-bootstrap resamples, drawn with ``seed``, give the interval of type ``interval`` (``basic0``,
    ``norm0``, ``perc``, ``basic`` or ``norm``, as ``overlap::bootCI``). ``adjust`` overrides the estimator's
    smoothing adjustment (0.8, 1, 4).

    >>> a = [0.02, 0.05, 0.1, 0.9, 0.95, 0.97, 0.5]
    >>> b = [0.4, 0.45, 0.5, 0.55, 0.6, 0.1, 0.9]
    >>> result = activity_overlap(a, b, "dhat1")
    >>> result.estimator, round(result.estimate, 3), result.n_a, result.n_b
    ('dhat1', 0.411, 7, 7)
    """
    _require()
    import numpy as np

    a = check_times(times_a, "times_a") * (2 * math.pi)
    b = check_times(times_b, "times_b") * (2 * math.pi)
    name = choose_estimator(str(estimator), a.size, b.size)
    adj = ADJUST[name] if adjust is None else adjust
    if not (isinstance(adj, int | float) and math.isfinite(adj) and 0 < adj <= 100):
        raise ParameterError(f"adjust must be a number in (0, 100], not {adjust!r}")
    if not (isinstance(kmax, int) and 1 <= kmax <= 10):
        raise ParameterError(f"kmax must be a whole number from 1 to 10, not {kmax!r}")
    if not (isinstance(n_grid, int) and 8 <= n_grid <= 100_000):
        raise ParameterError(f"n_grid must be a whole number from 8 to 100000, not {n_grid!r}")
    bw_a, bw_b = bandwidth(a, kmax), bandwidth(b, kmax)
    if bw_a is None or bw_b is None:
        which = "times_a" if bw_a is None else "times_b"
        raise ParameterError(f"{which}: no bandwidth could be estimated (the times are too spread or too few)")
    estimate = _overlap_radians(a, b, name, bw_a, bw_b, n_grid, adj)
    result = Overlap(name, estimate, int(a.size), int(b.size), bw_a, bw_b)
    if ci is None:
        return result
    if not (isinstance(ci, int | float) and 0 < ci < 1):
        raise ParameterError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95), not {ci!r}")
    if not (isinstance(n_boot, int) and 10 <= n_boot <= 100_000):
        raise ParameterError(f"n_boot must be a whole number from 10 to 100000, not {n_boot!r}")
    if interval not in ("basic0", "norm0", "perc", "basic", "norm"):
        raise ParameterError(f"unknown interval {interval!r}: use basic0, norm0, perc, basic or norm")
    if seed is not None and not (isinstance(seed, int) and seed >= 0):
        raise ParameterError(f"seed must be a non-negative whole number or None, not {seed!r}")
    boots = _smoothed_bootstrap(a, b, bw_a, bw_b, name, adj, kmax, n_grid, n_boot, seed)
    finite = boots[np.isfinite(boots)]
    lower, upper = boot_interval(estimate, finite, ci, str(interval))
    return Overlap(
        name,
        estimate,
        int(a.size),
        int(b.size),
        bw_a,
        bw_b,
        float(ci),
        str(interval),
        lower,
        upper,
        n_boot,
        seed,
        float(finite.mean()) if finite.size else None,
    )


def _smoothed_bootstrap(
    a: Floats,
    b: Floats,
    bw_a: float,
    bw_b: float,
    name: str,
    adj: float,
    kmax: int,
    n_grid: int,
    n_boot: int,
    seed: int | None,
) -> Floats:
    """``n_boot`` estimates from resamples drawn from each species' fitted density on overlap's 512-point grid."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(seed))
    grid = np.linspace(0.0, 2 * math.pi, _BOOT_GRID)[1:]  # the first and last points are both midnight
    prob_a = von_mises_density(a, grid, bw_a)
    prob_b = von_mises_density(b, grid, bw_b)
    prob_a, prob_b = prob_a / prob_a.sum(), prob_b / prob_b.sum()
    out = np.full(n_boot, np.nan)
    for i in range(n_boot):
        ra = rng.choice(grid, size=a.size, replace=True, p=prob_a)
        rb = rng.choice(grid, size=b.size, replace=True, p=prob_b)
        ba, bb = bandwidth(ra, kmax), bandwidth(rb, kmax)
        if ba is not None and bb is not None:
            out[i] = _overlap_radians(ra, rb, name, ba, bb, n_grid, adj)
    return out


def boot_interval(t0: float, boots: Floats, conf: float, kind: str) -> tuple[float | None, float | None]:
    """A bootstrap confidence interval of the kinds ``overlap::bootCI`` gives (norm and basic as ``boot.ci``; the
    ``0`` variants without the bias correction; perc by normal-interpolated quantiles)."""
    import numpy as np
    from scipy.stats import norm

    if boots.size < 2:
        return None, None
    bias = float(boots.mean()) - t0
    margin = float(boots.std(ddof=1)) * float(norm.ppf((1 + conf) / 2))
    if kind == "norm":
        return t0 - bias - margin, t0 - bias + margin
    if kind == "norm0":
        return t0 - margin, t0 + margin
    lo, hi = _quantile_interpolated(np.sort(boots), conf)
    if lo is None or hi is None:
        return None, None
    if kind == "perc":
        return lo, hi
    if kind == "basic":
        return 2 * t0 - hi, 2 * t0 - lo
    return lo - bias, hi - bias  # basic0


def _quantile_interpolated(ordered: Floats, conf: float) -> tuple[float | None, float | None]:
    """The (1 - conf)/2 and (1 + conf)/2 quantiles of sorted bootstrap values, interpolated on the normal scale
    between order statistics as ``boot`` does; None where there are too few values."""
    from scipy.stats import norm

    r = ordered.size
    out: list[float | None] = []
    for alpha in ((1 - conf) / 2, (1 + conf) / 2):
        rk = (r + 1) * alpha
        if not (1 < rk < r):
            return None, None
        k = int(rk)
        lo_v, hi_v = float(ordered[k - 1]), float(ordered[k])
        if k == rk:
            out.append(lo_v)
            continue
        wanted, too_lo, too_hi = norm.ppf(alpha), norm.ppf(k / (r + 1)), norm.ppf((k + 1) / (r + 1))
        out.append(lo_v + float((wanted - too_lo) / (too_hi - too_lo)) * (hi_v - lo_v))
    return out[0], out[1]


def activity_density(
    times: Sequence[float], n_grid: int = 289, adjust: float = 1.0, kmax: int = 3
) -> tuple[list[float], list[float]]:
    """An activity curve: the von Mises kernel density of ``times`` (fractions of a day) at ``n_grid`` evenly spaced
    times from 0 to 1 inclusive, per day (the curve integrates to 1 over the day; divide by 24 for per hour).
    The bandwidth is ``overlap``'s (``densityPlot`` uses the same, with ``adjust`` 1)."""
    _require()
    import numpy as np

    radians = check_times(times) * (2 * math.pi)
    if not (isinstance(n_grid, int) and 2 <= n_grid <= 100_000):
        raise ParameterError(f"n_grid must be a whole number from 2 to 100000, not {n_grid!r}")
    if not (isinstance(adjust, int | float) and math.isfinite(adjust) and 0 < adjust <= 100):
        raise ParameterError(f"adjust must be a number in (0, 100], not {adjust!r}")
    bw = bandwidth(radians, kmax)
    if bw is None:
        raise ParameterError("times: no bandwidth could be estimated (the times are too spread or too few)")
    grid = np.linspace(0.0, 1.0, n_grid)
    density = von_mises_density(radians, grid * (2 * math.pi), bw / adjust) * (2 * math.pi)
    return [float(x) for x in grid], [float(y) for y in density]
