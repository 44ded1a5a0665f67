"""Survey effort as occupancy and abundance analysts need it: occasions per deployment, camera operation by
day, and counts of individuals.

- ``effort_matrix``: deployment x occasion, each cell the days the camera was active in that occasion (a
  fraction for a partial occasion), ``None`` (NA) where it was not active at all. Occasions are ``days`` long
  and start, by default, at each deployment's own start (camtrapR's ``day1 = "station"``), so a camera set
  up late is not padded with empty occasions; ``origin="survey"`` starts every row at the earliest
  deployment start instead (one clock for the survey). The matrix is the ``obsCovs`` effort of R's
  ``unmarked::unmarkedFrameOccu`` and has the shape of its ``y`` (see ``amurkg.survey.history``).
- ``camera_operation``: deployment x calendar day (in the deployment's local time), the fraction of the day
  the camera was active, NA outside its deployment: the matrix camtrapR's ``cameraOperation`` returns and
  its ``detectionHistory`` reads.
- ``individual_counts``: per deployment and taxon, independent detections, individuals (the sum of
  ``count``, 1 where it is missing, as camtraptor's ``get_n_individuals``), distinct ``individualID``\\ s,
  and the relative abundance index of both per 100 camera-days (camtraptor's ``get_rai`` and
  ``get_rai_individuals``).

Camtrap DP 1.0 has no field for periods when a camera was out of order inside a deployment, so none are
subtracted; a deployment's effort is its span, clipped to the filter's dates.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from amurkg.errors import ParameterError
from amurkg.survey.filters import Deployment, SurveyFilter, deployments, detections

Origin = Literal["deployment", "survey"]
_DAY = 86400.0
_MAX_COLUMNS = 100_000


def safe_cell(value: object) -> str:
    """A CSV cell that no spreadsheet reads as a formula: text starting with = + - @ or a control character gets
    a leading apostrophe (OWASP's advice); numbers are written as they are."""
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number(value)
    text = str(value)
    if text and (text[0] in "=+-@\t\r\n" or not text[0].isprintable()):
        return "'" + text
    return text


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    rounded = round(value, 6)
    return str(int(rounded)) if rounded == int(rounded) else repr(rounded)


def check_days(days: float) -> float:
    if isinstance(days, bool) or not (isinstance(days, int | float) and math.isfinite(days) and 0 < days <= 3660):
        raise ParameterError(f"the occasion length must be a number of days between 0 and 3660, not {days!r}")
    return float(days)


@dataclass
class OccasionTable:
    """Rows of one value per occasion: ``(package, deploymentID, cells)``; ``starts`` per row says when its first
    occasion starts (each row its own with ``origin="deployment"``)."""

    days: float
    origin: str
    rows: list[tuple[str, str, list[float | None]]]
    starts: list[datetime]
    merged: bool = False

    @property
    def occasions(self) -> int:
        return max((len(cells) for _, _, cells in self.rows), default=0)

    def to_csv(self) -> str:
        """CSV with the deploymentID first (and the package before it when packages are merged), then ``o1..oJ``;
        NA where there is no value: read by R as ``as.matrix(read.csv(f, row.names = 1))``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        head = ["package", "deploymentID"] if self.merged else ["deploymentID"]
        writer.writerow([*head, *(f"o{i + 1}" for i in range(self.occasions))])
        for package, identifier, cells in self.rows:
            label = [package, identifier] if self.merged else [identifier]
            padded = list(cells) + [None] * (self.occasions - len(cells))
            writer.writerow([*(safe_cell(v) for v in label), *(safe_cell(c) for c in padded)])
        return out.getvalue()


def _selected(kg: Any, flt: SurveyFilter, merge: bool) -> list[Deployment]:
    found = [d for d in deployments(kg, flt) if d.end > d.start]
    packages = sorted({d.package for d in found})
    if len(packages) > 1 and not merge:
        raise ParameterError(
            f"the selection spans {len(packages)} packages ({', '.join(packages[:5])}): choose one "
            "(--package / packages=) or merge them explicitly (--merge / merge=True)"
        )
    if not found:
        raise ParameterError("no deployment was active in this selection: widen the filters")
    return found


def occasion_grid(found: Sequence[Deployment], days: float, origin: str) -> dict[str, tuple[float, int]]:
    """Per deployment IRI, when its first occasion starts and how many occasions its row has."""
    length = check_days(days) * _DAY
    if origin not in ("deployment", "survey"):
        raise ParameterError(f"unknown origin {origin!r}: use deployment (each its own start) or survey")
    first = min(d.start for d in found)
    grid = {}
    for d in found:
        zero = d.start if origin == "deployment" else first
        count = max(1, math.ceil((d.end - zero) / length - 1e-9))
        if count > _MAX_COLUMNS:
            raise ParameterError(f"{count} occasions of {days} days: choose longer occasions (--occasion)")
        grid[d.iri] = (zero, count)
    return grid


def effort_matrix(
    kg: Any,
    flt: SurveyFilter | None = None,
    days: float = 1.0,
    origin: Origin | str = "deployment",
    merge: bool = False,
) -> OccasionTable:
    """Days of camera activity per deployment and occasion (see the module's description)."""
    flt = flt or SurveyFilter()
    found = _selected(kg, flt, merge)
    grid = occasion_grid(found, days, origin)
    length = days * _DAY
    rows, starts = [], []
    for d in found:
        zero, count = grid[d.iri]
        cells: list[float | None] = []
        for k in range(count):
            lo, hi = zero + k * length, zero + (k + 1) * length
            active = max(0.0, min(hi, d.end) - max(lo, d.start)) / _DAY
            cells.append(round(active, 6) if active > 0 else None)
        rows.append((d.package, d.deployment_id, cells))
        starts.append(datetime.fromtimestamp(zero, d.tz))
    return OccasionTable(float(days), str(origin), rows, starts, merged=len({d.package for d in found}) > 1)


@dataclass
class CameraOperation:
    """camtrapR's camera-operation matrix: a row per deployment, a column per calendar day."""

    dates: list[date]
    rows: list[tuple[str, str, list[float | None]]]
    merged: bool = False

    def to_csv(self) -> str:
        """CSV with the deploymentID (station) first and one column per day named YYYY-MM-DD, as camtrapR names
        them; read in R with ``as.matrix(read.csv(f, row.names = 1, check.names = FALSE))``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        head = ["package", "deploymentID"] if self.merged else ["deploymentID"]
        writer.writerow([*head, *(d.isoformat() for d in self.dates)])
        for package, identifier, cells in self.rows:
            label = [package, identifier] if self.merged else [identifier]
            writer.writerow([*(safe_cell(v) for v in label), *(safe_cell(c) for c in cells)])
        return out.getvalue()


def camera_operation(kg: Any, flt: SurveyFilter | None = None, merge: bool = False) -> CameraOperation:
    """The fraction of each local calendar day each camera was active; NA on days outside its deployment."""
    flt = flt or SurveyFilter()
    found = _selected(kg, flt, merge)
    local = {d.iri: (datetime.fromtimestamp(d.start, d.tz), datetime.fromtimestamp(d.end, d.tz)) for d in found}
    first = min(start.date() for start, _ in local.values())
    last = max((end - timedelta(microseconds=1)).date() for _, end in local.values())
    if (last - first).days + 1 > _MAX_COLUMNS:
        raise ParameterError("the deployments span more than 100000 days: narrow the dates (--since/--until)")
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = []
    for d in found:
        start, end = local[d.iri]
        cells: list[float | None] = []
        for day in dates:
            midnight = datetime(day.year, day.month, day.day, tzinfo=d.tz)
            lo, hi = max(midnight, start), min(midnight + timedelta(days=1), end)
            active = (hi - lo).total_seconds() / _DAY
            cells.append(round(active, 6) if active > 0 else None)
        rows.append((d.package, d.deployment_id, cells))
    return CameraOperation(dates, rows, merged=len({d.package for d in found}) > 1)


@dataclass(frozen=True)
class IndividualCount:
    package: str
    deployment_id: str
    taxon: str
    scientific_name: str
    detections: int
    individuals: int
    individual_ids: int
    camera_days: float

    @property
    def rai(self) -> float:
        return self.detections * 100 / self.camera_days if self.camera_days else math.nan

    @property
    def rai_individuals(self) -> float:
        return self.individuals * 100 / self.camera_days if self.camera_days else math.nan


INDIVIDUAL_HEADER = (
    "package",
    "deploymentID",
    "scientificName",
    "detections",
    "individuals",
    "individualIDs",
    "cameraDays",
    "rai",
    "raiIndividuals",
    "taxon",
)


def individual_counts(kg: Any, flt: SurveyFilter | None = None, interval: float = 0) -> list[IndividualCount]:
    """Per deployment and taxon (each taxon as recorded; the filter's taxon keeps it and those below it):
    detections (independent at ``interval`` minutes; at 0, records of the same instant count once),
    individuals (the sum of ``count`` over every event-level record, 1 where it is missing, as camtraptor's
    ``get_n_individuals``), distinct ``individualID``\\ s, camera-days, and both RAIs per 100 camera-days."""
    from amurkg.survey.patterns import independent

    flt = flt or SurveyFilter()
    found = [d for d in detections(kg, flt) if d.taxon is not None]
    kept = {d.iri for d in independent(found, interval)}
    cameras = {d.iri: d for d in deployments(kg, flt)}
    groups: dict[tuple[str, str], list[Any]] = {}
    for d in found:
        groups.setdefault((d.deployment.iri, d.taxon or ""), []).append(d)
    out = []
    for (deployment, taxon), items in groups.items():
        camera = cameras[deployment]
        out.append(
            IndividualCount(
                camera.package,
                camera.deployment_id,
                taxon,
                items[0].scientific_name or "",
                sum(1 for d in items if d.iri in kept),
                sum(1 if d.count is None else d.count for d in items),
                len({d.individual for d in items if d.individual}),
                round((camera.end - camera.start) / _DAY, 6),
            )
        )
    return sorted(out, key=lambda c: (c.package, c.deployment_id, c.scientific_name, c.taxon))


def individual_counts_csv(counts: Sequence[IndividualCount]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INDIVIDUAL_HEADER)
    for c in counts:
        values: list[object] = [
            c.package,
            c.deployment_id,
            c.scientific_name,
            c.detections,
            c.individuals,
            c.individual_ids,
            c.camera_days,
            round(c.rai, 3),
            round(c.rai_individuals, 3),
            c.taxon,
        ]
        writer.writerow([safe_cell(v) for v in values])
    return out.getvalue()
