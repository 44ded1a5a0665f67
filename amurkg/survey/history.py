"""Detection histories for occupancy models (unmarked, camtrapR, RPresence): deployment x occasion, 1/0/NA.

Occasions are consecutive periods of ``days`` days from the earliest deployment start of the survey (the same
clock for every camera, as camtrapR's ``cameraOperation`` uses). A cell is 1 when the taxon (or a taxon
below it) was detected at event level in that occasion, 0 when the camera was active during some of the
occasion without detecting it, and NA when the camera was not active at all during the occasion.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from amurkg.errors import ParameterError

_DEPLOYMENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?deployment ?deploymentID ?start ?end WHERE {
  ?deployment a akg:Deployment ; akg:deploymentID ?deploymentID ; akg:deploymentStart ?start ; akg:deploymentEnd ?end .
}"""
_DETECTIONS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?deployment ?start WHERE {
  ?taxon akg:parentTaxon* ?target .
  ?obs dwciri:toTaxon ?taxon ; akg:observationLevel "event" ; akg:observationType "animal" ;
    akg:deployment ?deployment ; akg:eventStart ?start .
}"""


@dataclass
class DetectionHistory:
    """Rows of 1/0/None per deployment, and when each occasion starts."""

    occasions: list[datetime]
    rows: list[tuple[str, str, list[int | None]]]  # (deployment IRI, deploymentID, cells)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["deploymentID", *(f"o{i + 1}" for i in range(len(self.occasions)))])
        for _, identifier, cells in self.rows:
            writer.writerow([identifier, *("NA" if c is None else c for c in cells)])
        return out.getvalue()


def detection_history(kg: object, taxon: str, days: float = 1.0) -> DetectionHistory:
    """The detection history of ``taxon`` (an entity name or IRI, resolved as query parameters are) in the
    imported surveys, with occasions of ``days`` days."""
    if not (isinstance(days, int | float) and math.isfinite(days) and 0 < days <= 3660):
        raise ParameterError(f"the occasion length must be a number of days between 0 and 3660, not {days!r}")
    target = kg.resolve(taxon, "taxon")  # type: ignore[attr-defined]
    deployments = kg.query(_DEPLOYMENTS).rows  # type: ignore[attr-defined]
    if not deployments:
        raise ParameterError("no camera deployments in this graph: import a survey first (amurkg import)")
    spans = {
        row[0].value: (row[1].value, _instant(row[2].value), _instant(row[3].value))
        for row in deployments
        if row[0] is not None and row[1] is not None and row[2] is not None and row[3] is not None
    }
    origin = min(start for _, start, _ in spans.values())
    last = max(end for _, _, end in spans.values())
    length = days * 86400
    count = max(1, math.ceil((last - origin) / length))
    cells = {
        iri: [None if not _active(start, end, origin + k * length, length) else 0 for k in range(count)]
        for iri, (_, start, end) in spans.items()
    }
    detections = kg.query(_DETECTIONS, {"target": target}).rows  # type: ignore[attr-defined]
    for deployment, start in detections:
        if deployment is None or start is None or deployment.value not in cells:
            continue
        k = int((_instant(start.value) - origin) // length)
        if 0 <= k < count:
            cells[deployment.value][k] = 1
    rows = sorted(((iri, spans[iri][0], cells[iri]) for iri in cells), key=lambda r: (r[1], r[0]))

    starts = [datetime.fromtimestamp(origin + k * length, UTC) for k in range(count)]
    return DetectionHistory(starts, rows)


def _active(start: float, end: float, occasion: float, length: float) -> bool:
    return start < occasion + length and end > occasion


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
