"""Independent detections of a few taxa at any interval, read from the detection series computed at import.

Activity curves and overlaps need the time of each independent detection of the leopard and of its prey: on
100,000 observations, ``detections_of`` reads about a million property values through eleven scans of every
observation, which took the activity page 18 of its 20 seconds (clock time). The importer already walks each
deployment's detections of each taxon in time order to count them (``Mapper.gap_lines``); each
``akg:DetectionSeries`` also lists its detections' starts and the minutes since the previous one
(``akg:detectionStarts``, ``akg:detectionGaps``), and a clock or taxon correction recomputes them with the
counts (``amurkg.survey.corrections.recount``). Reading the series of the taxa asked for is a few hundred rows.

``independent_series`` gives what ``independent(detections_of(kg, flt, taxa)[t], interval)`` gives, in the same
order (by package, deploymentID and start), reduced to what an activity analysis reads (each detection's
deployment and start), or None where the series cannot say it: a filter of other observation types, or of a
capture method other than time-lapse that the store's media have (``detections_of`` then looks at each
observation's media), or a store imported before the series listed their detections (``amurkg import
--upgrade`` adds the lists). The caller then reads the detections as before.

Time-lapse images: the importer marks the event-level observations that ``detections_of`` leaves out as
time-lapse (``akg:timeLapse``, by the same rule: ``Mapper.time_lapse_lines``, redone by every recount), and the
series leave those out, as every count made at import does; their gaps are those ``independent`` reads (each
detection's ``akg:minutesSincePrevious``: the minutes since the previous detection of its taxon at its
deployment, time-lapse or not). Where time-lapse images are counted too (``timeLapse include``), the time-lapse
detections are read from the ``akg:TimeLapseSeries`` beside the series, in the same form. In a store with
time-lapse images, every series must say how many time-lapse detections it leaves out
(``akg:timeLapseDetections``): one without (computed by an amurkg whose marks or lists were not these) is read
the slow way until ``amurkg import --upgrade`` recounts it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amurkg.errors import ParameterError
from amurkg.survey.filters import Deployment, Detection, SurveyFilter, deployments

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: The series of the taxa below each target (``VALUES ?target``), of the kinds asked for (``VALUES ?kind``). The
#: sub-select keeps the engine from reaching the series through the taxon's every observation
#: (``dwciri:toTaxon``): 11 ms for the roe deer on 100,000 observations, against 300 ms when the join starts from
#: the taxon.
_SERIES_OF = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?target ?deployment ?kind ?starts ?gaps ?lapse WHERE {
  { SELECT ?series ?taxon ?kind WHERE { VALUES ?kind { %s } ?series a ?kind ; dwciri:toTaxon ?taxon } }
  VALUES ?target { %s }
  ?taxon akg:parentTaxon* ?target .
  ?series akg:deployment ?deployment .
  OPTIONAL { ?series akg:detectionStarts ?starts }
  OPTIONAL { ?series akg:detectionGaps ?gaps }
  OPTIONAL { ?series akg:timeLapseDetections ?lapse }
}"""
_HAS_METHOD = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
ASK { ?media akg:captureMethod ?method }"""
_SERIES = "<https://w3id.org/amurkg/ontology#DetectionSeries>"
_TIME_LAPSE_SERIES = "<https://w3id.org/amurkg/ontology#TimeLapseSeries>"
TIME_LAPSE = "timeLapse"  # the capture method of time-lapse images (amurkg.survey.rdf.TIME_LAPSE)


def series_query(targets: str, time_lapse: bool = False) -> str:
    """The query of the series of the taxa below ``targets`` (IRIs in N-Triples, separated by spaces), with the
    time-lapse detections listed apart where ``time_lapse``."""
    kinds = f"{_SERIES} {_TIME_LAPSE_SERIES}" if time_lapse else _SERIES
    return _SERIES_OF % (kinds, targets)


@dataclass
class Independent:
    """Independent detections of a taxon, as (deployment, starts) runs in ``detections_of``'s order: by package,
    deploymentID and start (POSIX seconds, with the clock corrections in force)."""

    parts: list[tuple[Deployment, NDArray[np.float64]]] = field(default_factory=list)

    @classmethod
    def of(cls, found: Sequence[Detection]) -> Independent:
        """The runs of detections already read (``detections_of``, then ``independent``), in their order."""
        import numpy as np

        parts: list[tuple[Deployment, NDArray[np.float64]]] = []
        run: list[float] = []
        for i, d in enumerate(found):
            run.append(d.start)
            if i + 1 == len(found) or found[i + 1].deployment is not d.deployment:
                parts.append((d.deployment, np.array(run, dtype=np.float64)))
                run = []
        return cls(parts)

    def __len__(self) -> int:
        return sum(len(starts) for _, starts in self.parts)

    def packages(self) -> set[str]:
        return {d.package for d, starts in self.parts if len(starts)}

    def in_package(self, package: str) -> Independent:
        return Independent([(d, s) for d, s in self.parts if d.package == package])

    def times(self, scale: str) -> tuple[NDArray[np.float64], int]:
        """The times of day in ``scale`` (clock or solar) and how many had no solar time: ``activity_times``."""
        import numpy as np

        from amurkg.survey.timescale import run_times

        if not self.parts:
            if scale not in ("clock", "solar"):
                raise ParameterError(f"unknown time scale {scale!r}: use clock or solar")
            return np.zeros(0), 0
        starts = np.concatenate([s for _, s in self.parts])
        which = np.repeat(np.arange(len(self.parts)), [len(s) for _, s in self.parts])
        return run_times(starts, which, [d for d, _ in self.parts], scale)


def times_together(samples: Sequence[Independent], scale: str) -> list[tuple[NDArray[np.float64], int]]:
    """Each sample's ``times(scale)``, the same values, computed in one pass over all their detections: the
    sunrise and sunset of a camera-day that several samples share (the leopard's and its prey's) once."""
    import numpy as np

    from amurkg.survey.timescale import aligned_times, kept_times

    places = [d for sample in samples for d, _ in sample.parts]
    if not places:
        return [Independent().times(scale) for _ in samples]
    starts = np.concatenate([s for sample in samples for _, s in sample.parts])
    which = np.repeat(np.arange(len(places)), [len(s) for sample in samples for _, s in sample.parts])
    values = aligned_times(starts, which, places, scale)
    out = []
    at = 0
    for sample in samples:
        size = len(sample)
        out.append(kept_times(values[at : at + size], scale))
        at += size
    return out


def independent_series(
    kg: Any,
    flt: SurveyFilter,
    taxa: Sequence[str],
    interval: float,
    remember: Callable[[Callable[[], SeriesRead | None]], SeriesRead | None] | None = None,
) -> dict[str, Independent] | None:
    """The independent detections (more than ``interval`` minutes after the previous one of their taxon at their
    deployment) of each of ``taxa`` and the taxa below it that ``flt`` keeps, from the import-time series; None
    where they cannot tell (see the module's docstring), and the caller reads the observations.

    ``remember``, given the reading of the series (``read_series``: the store's part of the work, the same at
    every interval), returns its result: a server whose store cannot change keeps it for the next interval."""
    if not (isinstance(interval, int | float) and math.isfinite(interval) and interval >= 0):
        raise ParameterError(f"the independence interval must be a number of minutes >= 0, not {interval!r}")
    read = (remember or _now)(lambda: read_series(kg, flt, taxa))
    return None if read is None else read.independent(interval, *flt.window())


def _now(compute: Callable[[], SeriesRead | None]) -> SeriesRead | None:
    return compute()


@dataclass
class SeriesRead:
    """The series of some taxa as read from a store: for each target taxon (by IRI) and deployment (by IRI),
    the (starts, minutes since the previous detection) of each series below it, and the deployments kept."""

    targets: dict[str, str]  # each taxon asked for -> its IRI
    kept: dict[str, Deployment]
    runs: dict[str, dict[str, list[tuple[NDArray[np.float64], NDArray[np.float64]]]]]

    def independent(self, interval: float, lo: float, hi: float) -> dict[str, Independent]:
        """The detections more than ``interval`` minutes after the previous one, that started in [lo, hi)."""
        import numpy as np

        out: dict[str, Independent] = {}
        for wanted, target in self.targets.items():
            parts = []
            for iri, pieces in self.runs.get(target, {}).items():
                kept = [moments[(since > interval) & (moments >= lo) & (moments < hi)] for moments, since in pieces]
                joined = np.sort(np.concatenate(kept), kind="stable")
                if joined.size:
                    parts.append((self.kept[iri], joined))
            parts.sort(key=lambda part: (part[0].package, part[0].deployment_id, part[0].iri))
            out[wanted] = Independent(parts)
        return out


def read_series(kg: Any, flt: SurveyFilter, taxa: Sequence[str]) -> SeriesRead | None:
    """The series of ``taxa`` (and the taxa below them) at the deployments ``flt`` keeps, or None where they
    cannot tell ``independent_series``'s answer (see the module's docstring)."""
    import numpy as np

    from amurkg.results import Term

    if tuple(flt.observation_types) != ("animal",):
        return None

    def present(method: str) -> bool:
        return bool(kg.query(_HAS_METHOD, {"method": Term.literal(method)}, where="survey media").value)

    if any(method != TIME_LAPSE and present(method) for method in flt.exclude_capture_methods):
        return None  # detections_of looks at each observation's media for those: no series lists them
    lapse_media = present(TIME_LAPSE)  # then the series must be those of the marks (akg:timeLapseDetections)
    counted = lapse_media and TIME_LAPSE not in flt.exclude_capture_methods  # time-lapse detections count too
    kept = {d.iri: d for d in deployments(kg, flt)}
    targets = {wanted: kg.resolve(wanted, "taxon") for wanted in dict.fromkeys(taxa)}
    values = " ".join(sorted({t.n3() for t in targets.values()}))
    runs: dict[str, dict[str, list[tuple[NDArray[np.float64], NDArray[np.float64]]]]] = {}
    rows = kg.query(series_query(values, counted), where="detection series").rows
    for target, deployment, kind, starts, gaps, lapse in rows:
        if target is None or deployment is None or deployment.value not in kept:
            continue
        if starts is None or gaps is None:
            return None  # imported before series listed their detections
        if lapse_media and lapse is None and kind is not None and kind.n3() == _SERIES:
            return None  # counted before the time-lapse marks, or by an amurkg that did not list them apart
        moments = np.array(starts.value.split(), dtype=np.float64)
        since = np.array(gaps.value.split(), dtype=np.float64)
        if moments.size != since.size:
            return None
        runs.setdefault(target.value, {}).setdefault(deployment.value, []).append((moments, since))
    return SeriesRead({wanted: t.value for wanted, t in targets.items()}, kept, runs)
