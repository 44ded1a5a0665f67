"""Detection histories for occupancy models (unmarked, camtrapR, RPresence): deployment x occasion, 1/0/NA.

Occasions are consecutive periods of ``days`` days. By default each deployment's occasions start at its own
start (camtrapR's ``day1 = "station"``): the official Camtrap DP example then has 5 occasions of a week where
one clock for the survey (``origin="survey"``, the first deployment's start) gives 47, mostly NA. A cell is 1
when the taxon (or a taxon below it) was detected at event level in that occasion, 0 when the camera was
active during some of the occasion without detecting it, and NA when it was not active at all. The history's
``effort`` (days active per cell, ``amurkg.survey.effort``) has the same shape and the same NAs: together they
are the ``y`` and ``obsCovs = list(effort = ...)`` of R's ``unmarked::unmarkedFrameOccu``.

A store holding several packages gives one history per package (``SurveyFilter(packages=...)``), or all of
them with ``merge=True``, rows then named by package and deploymentID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amurkg.survey.effort import OccasionTable, effort_matrix
from amurkg.survey.filters import SurveyFilter, detections


@dataclass
class DetectionHistory(OccasionTable):
    """Rows of 1/0/None per deployment (``rows``), the days active in each cell (``effort``), and when each row's
    first occasion starts (``starts``)."""

    effort: OccasionTable | None = None

    @property
    def occasion_starts(self) -> list[datetime]:
        return self.starts


def detection_history(
    kg: Any,
    taxon: str | None = None,
    days: float = 1.0,
    *,
    flt: SurveyFilter | None = None,
    origin: str = "deployment",
    merge: bool = False,
) -> DetectionHistory:
    """The detection history of ``taxon`` (an entity name or IRI, resolved as query parameters are; it replaces
    the filter's taxon when given) in the imported surveys, with occasions of ``days`` days (see the module)."""
    flt = flt or SurveyFilter()
    if taxon is not None:
        flt = flt.with_taxon(taxon)
    if flt.taxon is None:
        flt = flt.with_taxon("amur:amur-leopard")
    effort = effort_matrix(kg, flt, days, origin, merge)
    length = effort.days * 86400
    cells = {(p, d): [None if c is None else 0 for c in row] for p, d, row in effort.rows}
    zero = {(p, d): start.timestamp() for (p, d, _), start in zip(effort.rows, effort.starts, strict=True)}
    for found in detections(kg, flt):
        key = (found.deployment.package, found.deployment.deployment_id)
        if key not in cells:
            continue
        k = int((found.start - zero[key]) // length)
        row = cells[key]
        if 0 <= k < len(row) and row[k] is not None:
            row[k] = 1
    rows: list[tuple[str, str, list[float | None]]] = [
        (p, d, [None if c is None else float(c) for c in cells[(p, d)]]) for p, d, _ in effort.rows
    ]
    return DetectionHistory(effort.days, effort.origin, rows, effort.starts, effort.merged, effort)
