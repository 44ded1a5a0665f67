"""Activity patterns of imported surveys: curves in clock or solar time, and the predator's overlap with its prey.

Times of day are the deployment's local clock (the UTC offset its start was recorded with). Solar time
anchors each time on that day's sunrise and sunset at the deployment (the "double anchoring" of Nouvellet et
al. 2012, J. Zool. 286:179, as ``overlap::sunTime``): sunrise becomes 06:00 and sunset 18:00, the day's hours
are spread evenly between them and the night's between sunset and the next sunrise. Sunrise and sunset come
from ``astral`` (NOAA's solar equations). A detection where the sun does not rise or set that day (polar day or
night) has no solar time and is left out, and counted.

Only independent detections count: a detection of a taxon at a deployment within ``interval`` minutes of the
previous one is left out, as ``detection-rate`` and ``activity-pattern`` count them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from amurkg.errors import ParameterError
from amurkg.survey.activity import Overlap, activity_density, activity_overlap
from amurkg.survey.filters import Deployment, Detection, SurveyFilter, detections_of
from amurkg.survey.timescale import TimeScale, run_times

if TYPE_CHECKING:
    from amurkg.survey.series import Independent


_PREY = """
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?prey ?preyName WHERE { ?predator obo:RO_0002439 ?prey . ?prey rdfs:label ?preyName . }
ORDER BY ?preyName ?prey"""
_LABEL = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?label WHERE { ?entity rdfs:label ?label } ORDER BY ?label LIMIT 1"""


@dataclass(frozen=True)
class ActivityCurve:
    """A kernel density of activity over the day: ``x`` in fractions of a day (0 to 1), ``density`` per day
    (it integrates to 1; divide by 24 for per hour), from ``n`` independent detections."""

    taxon: str
    scale: str
    n: int
    times: list[float]
    x: list[float]
    density: list[float]
    no_sun: int = 0  # detections without a solar time (no sunrise or sunset that day)

    def to_csv(self) -> str:
        """``hour,density`` rows: the hour of day (0-24) and the density per hour."""
        lines = ["hour,density"]
        lines += [f"{x * 24:.4f},{y / 24:.6f}" for x, y in zip(self.x, self.density, strict=True)]
        return "\n".join(lines) + "\n"


def independent_of(kg: Any, flt: SurveyFilter, taxa: Sequence[str], interval: float) -> dict[str, Independent]:
    """The independent detections of each of ``taxa`` (with the taxa below it) that ``flt`` keeps, as
    ``independent(detections_of(kg, flt, taxa)[t], interval)`` gives them: from the detection series the import
    computed where they can say them (``amurkg.survey.series``: a few hundred rows), else read from every
    observation (``detections_of``: a million values on 100,000 observations)."""
    from amurkg.survey.series import Independent, independent_series

    fast = independent_series(kg, flt, taxa, interval)
    if fast is not None:
        return fast
    read = detections_of(kg, flt, list(taxa))  # the store once, not once per taxon
    return {t: Independent.of(independent(read[t], interval)) for t in dict.fromkeys(taxa)}


def _runs(found: Sequence[Detection]) -> Independent:
    from amurkg.survey.series import Independent

    return Independent.of(found)


def independent(found: Sequence[Detection], interval: float) -> list[Detection]:
    """Detections separated from the previous one of their taxon at their deployment by more than ``interval``
    minutes (the first of each series always counts)."""
    if not (isinstance(interval, int | float) and math.isfinite(interval) and interval >= 0):
        raise ParameterError(f"the independence interval must be a number of minutes >= 0, not {interval!r}")
    return [d for d in found if d.minutes_since_previous is None or d.minutes_since_previous > interval]


def solar_time(detection: Detection) -> float | None:
    """The detection's time of day anchored on sunrise (0.25) and sunset (0.75) at its deployment, or None where
    the deployment has no coordinates or the sun does not rise or set that day."""
    from astral import Observer
    from astral.sun import sunrise, sunset

    deployment = detection.deployment
    if deployment.latitude is None or deployment.longitude is None:
        return None
    local = detection.local_time()
    observer = Observer(latitude=deployment.latitude, longitude=deployment.longitude)
    try:
        rise = sunrise(observer, local.date(), tzinfo=deployment.tz)
        fall = sunset(observer, local.date(), tzinfo=deployment.tz)
    except ValueError:  # the sun never rises or never sets
        return None
    midnight = datetime(local.year, local.month, local.day, tzinfo=deployment.tz)
    sr = (rise - midnight) / timedelta(days=1) % 1.0
    ss = (fall - midnight) / timedelta(days=1) % 1.0
    clock = detection.day_fraction()
    day_length = (ss - sr) % 1.0
    if sr < clock < ss if sr < ss else (clock > sr or clock < ss):
        since, span, anchor = (clock - sr) % 1.0, day_length, 0.25
    else:
        since, span, anchor = (clock - ss) % 1.0, 1.0 - day_length, 0.75
    return (anchor + since / span * 0.5) % 1.0


def activity_times(found: Sequence[Detection], scale: TimeScale | str = "clock") -> tuple[list[float], int]:
    """Times of day (fractions) of the detections in ``scale`` (clock or solar), and how many had none: the
    values ``Detection.day_fraction`` and ``solar_time`` give, computed for all at once (``scale_times``)."""
    if scale not in ("clock", "solar"):
        raise ParameterError(f"unknown time scale {scale!r}: use clock or solar")
    if not found:
        return [], 0
    import numpy as np

    cameras = [d.deployment for d in found]
    starts = np.fromiter((d.start for d in found), dtype=np.float64, count=len(found))
    times, missing = scale_times(starts, cameras, scale)
    return times.tolist(), missing


def scale_times(starts: Any, cameras: Sequence[Deployment], scale: TimeScale | str) -> tuple[Any, int]:
    """The times of day (a NumPy array of fractions, in order) of detections starting at ``starts`` (POSIX
    seconds, NumPy) at ``cameras`` (the deployment of each) in ``scale``, and how many had no solar time (left
    out). Equal, value for value, to ``[d.day_fraction() for d in found]`` and to ``solar_time`` of each: the
    activity page computes tens of thousands at a time (``amurkg.survey.sun``)."""
    import numpy as np

    index: dict[int, int] = {}
    places: list[Deployment] = []
    numbers: list[int] = []
    for camera in cameras:
        number = index.get(id(camera))
        if number is None:
            number = index[id(camera)] = len(places)
            places.append(camera)
        numbers.append(number)
    return run_times(starts, np.array(numbers, dtype=np.int64), places, scale)


def activity_curve(
    kg: Any,
    flt: SurveyFilter,
    scale: TimeScale | str = "clock",
    interval: float = 30,
    n_grid: int = 97,
    adjust: float = 1.0,
    found: Sequence[Detection] | None = None,
    read: Independent | None = None,
) -> ActivityCurve:
    """The activity curve of the filter's taxon (required) in the store: a von Mises kernel density of its
    independent detections' times of day, on ``n_grid`` points from 00:00 to 24:00 (97: every 15 minutes).
    ``found``: the filter's detections when the caller has read them already (``detections_of``); ``read``: its
    independent detections at ``interval`` (``independent_of``)."""
    if flt.taxon is None:
        raise ParameterError("an activity curve needs a taxon: give one (--taxon / taxon=)")
    if found is not None:
        read = _runs(independent(found, interval))
    elif read is None:
        read = independent_of(kg, flt, [flt.taxon], interval)[flt.taxon]
    values, no_sun = read.times(scale)
    times = values.tolist()
    if len(set(times)) < 2:
        raise ParameterError(
            f"{flt.taxon!r} has {len(times)} independent detection(s) with a {scale} time in this selection: "
            "a curve needs at least 2 different times (widen the filters)"
        )
    x, density = activity_density(times, n_grid=n_grid, adjust=adjust)
    return ActivityCurve(str(flt.taxon), str(scale), len(times), times, x, density, no_sun)


@dataclass(frozen=True)
class PreyOverlap:
    """The predator's overlap with one prey in one package."""

    package: str
    prey: str
    prey_name: str
    overlap: Overlap | None  # None where either side has too few detections
    n_predator: int
    n_prey: int
    note: str = ""
    times_predator: list[float] = field(default_factory=list)  # the times of day compared (fractions)
    times_prey: list[float] = field(default_factory=list)


@dataclass
class PreyOverlapTable:
    predator: str
    scale: str
    rows: list[PreyOverlap] = field(default_factory=list)

    HEADER = ("package", "preyName", "nPredator", "nPrey", "estimator", "overlap", "lower", "upper", "note", "prey")
    #: The header of ``taxon_overlap``'s table: the first taxon against the other.
    PAIR_HEADER = (
        "package",
        "otherName",
        "nTaxon",
        "nOther",
        "estimator",
        "overlap",
        "lower",
        "upper",
        "note",
        "other",
    )

    def as_rows(self) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for r in self.rows:
            o = r.overlap
            out.append(
                (
                    r.package,
                    r.prey_name,
                    r.n_predator,
                    r.n_prey,
                    o.estimator if o else "",
                    round(o.estimate, 4) if o else "",
                    round(o.lower, 4) if o and o.lower is not None else "",
                    round(o.upper, 4) if o and o.upper is not None else "",
                    r.note,
                    r.prey,
                )
            )
        return out


def prey_activity_overlap(
    kg: Any,
    flt: SurveyFilter | None = None,
    predator: str = "Amur leopard",
    estimator: str = "auto",
    ci: float | None = 0.95,
    n_boot: int = 999,
    seed: int | None = 0,
    scale: TimeScale | str = "clock",
    interval: float = 30,
    min_detections: int = 2,
) -> PreyOverlapTable:
    """The coefficient of overlapping of the predator's activity with each prey's that the curated graph gives it
    (``obo:RO_0002439`` preys on), in each package of the store: the question no other tool answers in one step.

    ``flt`` selects records (its taxon is ignored: the predator and each prey take its place); the other
    arguments are those of ``activity_overlap`` and ``activity_curve``. A pair where either side has fewer than
    ``min_detections`` different times gets no estimate, and a note saying so.
    """
    flt = flt or SurveyFilter()
    predator_term = kg.resolve(predator, "predator")
    labels = kg.query(_LABEL, {"entity": predator_term}, where="predator label").rows
    predator_name = labels[0][0].value if labels and labels[0][0] is not None else predator
    prey_rows = kg.query(_PREY, {"predator": predator_term}, where="prey of the predator").rows
    if not prey_rows:
        raise ParameterError(f"the curated graph gives {predator!r} no prey (obo:RO_0002439)")
    others = [(row[0].value, row[1].value) for row in prey_rows if row[0] is not None and row[1] is not None]
    return _compare(
        kg,
        flt,
        predator_term.value,
        predator_name,
        others,
        estimator,
        ci,
        n_boot,
        seed,
        scale,
        interval,
        min_detections,
    )


def taxon_overlap(
    kg: Any,
    flt: SurveyFilter | None,
    taxon_a: str,
    taxon_b: str,
    estimator: str = "auto",
    ci: float | None = 0.95,
    n_boot: int = 999,
    seed: int | None = 0,
    scale: TimeScale | str = "clock",
    interval: float = 30,
    min_detections: int = 2,
) -> PreyOverlapTable:
    """The coefficient of overlapping of two taxa's activity (each with the taxa below it) in each package, as
    ``prey_activity_overlap`` gives it for a predator and its prey; ``flt``'s own taxon is ignored."""
    flt = flt or SurveyFilter()
    first, second = kg.resolve(taxon_a, "taxon"), kg.resolve(taxon_b, "taxon")
    return _compare(
        kg,
        flt,
        first.value,
        _label(kg, first, taxon_a),
        [(second.value, _label(kg, second, taxon_b))],
        estimator,
        ci,
        n_boot,
        seed,
        scale,
        interval,
        min_detections,
    )


def _label(kg: Any, term: Any, fallback: str) -> str:
    rows = kg.query(_LABEL, {"entity": term}, where="taxon label").rows
    return str(rows[0][0].value) if rows and rows[0][0] is not None else fallback


def _compare(
    kg: Any,
    flt: SurveyFilter,
    first: str,
    first_name: str,
    others: list[tuple[str, str]],
    estimator: str,
    ci: float | None,
    n_boot: int,
    seed: int | None,
    scale: TimeScale | str,
    interval: float,
    min_detections: int,
) -> PreyOverlapTable:
    read = independent_of(kg, flt, [first, *(iri for iri, _ in others)], interval)
    first_found = read[first]
    other_found = {iri: (name, read[iri]) for iri, name in others}
    packages = sorted(first_found.packages() | {p for _, found in other_found.values() for p in found.packages()})
    table = PreyOverlapTable(first_name, str(scale))
    for package in packages:
        a = first_found.in_package(package).times(scale)[0].tolist()
        for other, (name, found) in sorted(other_found.items(), key=lambda item: (item[1][0], item[0])):
            b = found.in_package(package).times(scale)[0].tolist()
            if len(set(a)) < min_detections or len(set(b)) < min_detections:
                table.rows.append(
                    PreyOverlap(package, other, name, None, len(a), len(b), "too few detections for an estimate")
                )
                continue
            try:
                result = activity_overlap(a, b, estimator, ci=ci, n_boot=n_boot, seed=seed)
            except ParameterError as exc:
                table.rows.append(PreyOverlap(package, other, name, None, len(a), len(b), str(exc)))
                continue
            table.rows.append(PreyOverlap(package, other, name, result, len(a), len(b), "", list(a), list(b)))
    return table
