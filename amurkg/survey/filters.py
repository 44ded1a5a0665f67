"""One selection of camera-trap records, shared by every survey analysis and command.

A ``SurveyFilter`` says which records an analysis reads: a taxon (with every taxon below it in the curated
graph), a date range, deployments, locations, packages, observation types, and capture methods to leave
out (time-lapse media are not detections, as camtrapdp's users ask; they are left out by default). The
command line builds it from one set of options (``amurkg.survey.options``); Python callers build it
directly. ``deployments()`` and ``detections()`` read the store once and apply it, so that every analysis
counts the same records.

Values are bound as terms or compared in Python, never pasted into SPARQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import product
from typing import Any

from amurkg.errors import ParameterError
from amurkg.selection import DEFAULT_OBSERVATION_TYPE, OBSERVATION_TYPES
from amurkg.survey.ledger import package_of

#: Capture methods of Camtrap DP 1.0.
CAPTURE_METHODS = ("activityDetection", "timeLapse")


@dataclass(frozen=True)
class SurveyFilter:
    """Which records a survey analysis reads; the defaults read every animal detection of every package.

    ``start`` and ``end`` are dates (or datetimes): records from the start of ``start`` up to the end of ``end``,
    and each deployment's effort clipped to that range. ``deployments``, ``locations`` (locationID or location
    name) and ``packages`` (package identifiers) each keep records matching any of their values; empty keeps all.
    """

    taxon: str | None = None
    start: date | None = None
    end: date | None = None
    deployments: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    observation_types: tuple[str, ...] = (DEFAULT_OBSERVATION_TYPE,)
    exclude_capture_methods: tuple[str, ...] = ("timeLapse",)

    def __post_init__(self) -> None:
        for name in ("deployments", "locations", "packages", "observation_types", "exclude_capture_methods"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ParameterError(f"{name} must be a list of text values, not {value!r}")
            object.__setattr__(self, name, tuple(str(v) for v in value))
        for kind in self.observation_types:
            if kind not in OBSERVATION_TYPES:
                raise ParameterError(f"unknown observation type {kind!r}: use one of {', '.join(OBSERVATION_TYPES)}")
        for method in self.exclude_capture_methods:
            if method not in CAPTURE_METHODS:
                raise ParameterError(f"unknown capture method {method!r}: use {' or '.join(CAPTURE_METHODS)}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, date):
                object.__setattr__(self, name, parse_date(str(value), name))
        if self.start is not None and self.end is not None and self.window()[0] >= self.window()[1]:
            raise ParameterError(f"the date range is empty: start {self.start} is after end {self.end}")

    def with_taxon(self, taxon: str | None) -> SurveyFilter:
        """The same selection for another taxon."""
        return replace(self, taxon=taxon)

    def window(self) -> tuple[float, float]:
        """The date range as POSIX seconds, [from, to); unbounded sides are infinite."""
        lo = -math.inf if self.start is None else _instant_of(self.start, end=False)
        hi = math.inf if self.end is None else _instant_of(self.end, end=True)
        return lo, hi

    def keeps_deployment(self, deployment: Deployment) -> bool:
        if self.deployments and deployment.deployment_id not in self.deployments:
            return False
        if self.locations and not ({deployment.location_id, deployment.location_name} & set(self.locations)):
            return False
        return not (self.packages and deployment.package not in self.packages)


def parse_date(text: str, name: str = "date") -> date:
    """A date (YYYY-MM-DD) or a date and time with its offset (ISO 8601), or ParameterError: as the canned
    survey queries read their ``since`` and ``until`` (``amurkg.selection``)."""
    from amurkg.selection import parse_when

    return parse_when(text, name)


def _instant_of(value: date, end: bool) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return (moment + timedelta(days=1) if end else moment).timestamp()


@dataclass(frozen=True)
class Deployment:
    """A camera deployment as the analyses need it: where, when, and the UTC offset of its clock."""

    iri: str
    deployment_id: str
    package: str
    start: float  # POSIX seconds
    end: float
    offset: timedelta  # the UTC offset its start was recorded with: the camera's local time
    latitude: float | None = None
    longitude: float | None = None
    location_id: str | None = None
    location_name: str | None = None
    shift: float = 0.0  # seconds added by the clock corrections in force (amurkg.survey.corrections)

    @property
    def tz(self) -> timezone:
        return timezone(self.offset)


@dataclass(frozen=True)
class Detection:
    """An event-level observation (or a media-level one where the package has no events)."""

    iri: str
    deployment: Deployment
    start: float  # POSIX seconds
    taxon: str | None
    scientific_name: str | None
    observation_type: str
    count: int | None = None
    individual: str | None = None
    minutes_since_previous: float | None = None

    def local_time(self) -> datetime:
        """The start in the deployment's local time."""
        return datetime.fromtimestamp(self.start, self.deployment.tz)

    def day_fraction(self) -> float:
        """The local time of day as a fraction of a day (0 <= t < 1)."""
        moment = self.local_time()
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
        return min(seconds / 86400, math.nextafter(1.0, 0.0))


_DEPLOYMENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?deployment ?deploymentID ?start ?end ?lat ?lon ?locationID ?locality WHERE {
  ?deployment a akg:Deployment ; akg:deploymentID ?deploymentID ; akg:deploymentStart ?start ; akg:deploymentEnd ?end .
  OPTIONAL { ?deployment dwc:decimalLatitude ?lat }
  OPTIONAL { ?deployment dwc:decimalLongitude ?lon }
  OPTIONAL { ?deployment dwc:locationID ?locationID }
  OPTIONAL { ?deployment dwc:locality ?locality }
}"""

_BELOW = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT DISTINCT ?taxon WHERE { ?taxon akg:parentTaxon* ?target }"""
_NAME = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?name WHERE { ?taxon dwc:scientificName ?name } ORDER BY ?name LIMIT 1"""

#: Every media, with its capture method where it has one (Camtrap DP makes it optional): a media without one
#: is no time-lapse image, as the importer's marks have it (``Mapper.time_lapse_lines``).
_MEDIA = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?deployment ?timestamp ?method WHERE {
  ?media a akg:Media ; akg:deployment ?deployment ; akg:timestamp ?timestamp .
  OPTIONAL { ?media akg:captureMethod ?method }
}"""
_HAS_METHOD = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
ASK { ?media akg:captureMethod ?method }"""


def instant(text: str) -> float:
    """POSIX seconds of an ``xsd:dateTime`` text."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _offset(text: str) -> timedelta:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.utcoffset() or timedelta(0)


def _value(term: Any) -> str | None:
    return None if term is None else str(term.value)


def deployments(kg: Any, flt: SurveyFilter | None = None) -> list[Deployment]:
    """The deployments the filter keeps, sorted by package and deploymentID, their spans clipped to its dates."""
    from amurkg.survey.ledger import clock_shifts

    flt = flt or SurveyFilter()
    lo, hi = flt.window()
    shifts = clock_shifts(kg)
    out = []
    rows = kg.query(_DEPLOYMENTS, where="survey deployments").rows
    if not rows:
        raise ParameterError("no camera deployments in this graph: import a survey first (amurkg import)")
    held = sorted({package_of(str(row[0].value)) for row in rows if row[0] is not None})
    # a package named that the store does not hold is a typo, not an empty selection (an empty archive, exit 0)
    if unknown := [p for p in flt.packages if p not in held]:
        shown = ", ".join(repr(p[:80]) for p in held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise ParameterError(
            f"--package {unknown[0][:80]!r}: the store holds no such package; it holds {shown} "
            "(amurkg import --list --store DIR lists them)"
        )
    for row in rows:
        iri, identifier, start, end, lat, lon, location_id, locality = (_value(t) for t in row)
        if iri is None or identifier is None or start is None or end is None:
            continue
        shift = shifts.get(iri, 0.0)
        begin, finish = max(instant(start) + shift, lo), min(instant(end) + shift, hi)
        deployment = Deployment(
            iri,
            identifier,
            package_of(iri),
            begin,
            max(begin, finish),
            _offset(start),
            _float(lat),
            _float(lon),
            location_id,
            locality,
            shift,
        )
        if flt.keeps_deployment(deployment):
            out.append(deployment)
    return sorted(out, key=lambda d: (d.package, d.deployment_id, d.iri))


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def detections(kg: Any, flt: SurveyFilter | None = None, levels: Sequence[str] = ("event",)) -> list[Detection]:
    """The observations the filter keeps (event level by default), sorted by deployment and time.

    An observation is left out as time-lapse when its media (where it names one), or else every media of its
    deployment taken within a second of its start, have an excluded capture method; a media without a capture
    method has none that is excluded. The importer marks the observations left out by default by the same rule
    (``akg:timeLapse``, ``amurkg.survey.rdf.Mapper.time_lapse_lines``), which the activity page's detection
    series rely on (``amurkg.survey.series``)."""
    flt = flt or SurveyFilter()
    return detections_of(kg, flt, [flt.taxon], levels)[flt.taxon]


def detections_of(
    kg: Any, flt: SurveyFilter, taxa: Sequence[str | None], levels: Sequence[str] = ("event",)
) -> dict[str | None, list[Detection]]:
    """``detections(kg, flt.with_taxon(t), levels)`` for each ``t`` of ``taxa`` (None: every taxon), reading the
    store once: a figure or a page of several taxa pays for one read, not one per taxon."""
    from amurkg.survey.ledger import taxon_updates

    kept = {d.iri: d for d in deployments(kg, flt)}
    updates = taxon_updates(kg)
    below: dict[str | None, set[str] | None] = {}
    targets: list[Any] = []
    for wanted in taxa:
        if wanted is not None and wanted not in below:
            target = kg.resolve(wanted, "taxon")
            targets.append(target)
            rows = kg.query(_BELOW, {"target": target}, where="taxa below").rows
            below[wanted] = {r[0].value for r in rows if r[0] is not None}
        elif wanted is None:
            below[None] = None
    excluded_media = _excluded_media(kg, flt) if flt.exclude_capture_methods else {}
    names: dict[str, str | None] = {}

    def finish(found: list[tuple[Any, ...]]) -> list[Detection]:
        return _finish(kg, flt, found, updates, excluded_media, names)

    if not updates and None not in taxa and _few(kg, targets):  # start from the taxa: the engine reads only theirs
        return {t: [d for d in finish(_joined(kg, flt, kept, levels, t)) if d.taxon in (below[t] or ())] for t in taxa}
    out = finish(_observations(kg, flt, kept, levels))
    result: dict[str | None, list[Detection]] = {}
    for wanted in taxa:
        inside = below[wanted]
        result[wanted] = out if inside is None else [d for d in out if d.taxon in inside]
    return result


def _finish(
    kg: Any,
    flt: SurveyFilter,
    found: list[tuple[Any, ...]],
    updates: dict[tuple[str, str], str],
    excluded_media: dict[str, list[tuple[float, bool]]],
    names: dict[str, str | None],
) -> list[Detection]:
    """The detections of the rows the filter keeps, corrected, sorted by deployment and time."""
    from amurkg.survey.rdf import TaxonIndex

    lo, hi = flt.window()
    out: list[Detection] = []
    for obs, camera, moment, taxon, name, kind, count, individual, method, gap, recorded in found:
        if not lo <= moment < hi:
            continue
        if method is not None and method in flt.exclude_capture_methods:
            continue
        if method is None and excluded_media and _only_excluded(excluded_media.get(camera.iri), moment):
            continue
        if updates and recorded is not None:
            normal = TaxonIndex.normal(recorded)
            corrected = updates.get((camera.package, normal)) or updates.get(("", normal))
            if corrected is not None and corrected != taxon:
                if corrected not in names:
                    hit = kg.query(_NAME, {"taxon": _iri(corrected)}, where="taxon name").rows
                    names[corrected] = hit[0][0].value if hit and hit[0][0] is not None else recorded
                taxon, name = corrected, names[corrected]
        out.append(
            Detection(
                obs,
                camera,
                moment,
                taxon,
                name,
                kind,
                int(float(count)) if count is not None else None,
                individual,
                float(gap) if gap is not None else None,
            )
        )
    out.sort(key=lambda d: (d.deployment.package, d.deployment.deployment_id, d.start, d.iri))
    return out


_DETECTIONS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?obs ?deployment ?start ?taxon ?name ?type ?level ?count ?individual ?media ?method ?gap ?recorded WHERE {
  ?obs dwciri:toTaxon ?taxon . ?taxon akg:parentTaxon* ?target .
  ?obs a akg:CameraTrapObservation ; akg:deployment ?deployment ; akg:eventStart ?start ;
    akg:observationType ?type ; akg:observationLevel ?level .
  OPTIONAL { ?obs dwciri:toTaxon ?taxon OPTIONAL { ?taxon dwc:scientificName ?name } }
  OPTIONAL { ?obs dwc:individualCount ?count }
  OPTIONAL { ?obs dwc:organismID ?individual }
  OPTIONAL { ?obs akg:media ?media OPTIONAL { ?media akg:captureMethod ?method } }
  OPTIONAL { ?obs akg:minutesSincePrevious ?gap }
  OPTIONAL { ?obs dwc:scientificName ?recorded }
}"""
_COUNT_BELOW = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT (COUNT(?obs) AS ?n) WHERE { ?obs dwciri:toTaxon ?taxon . ?taxon akg:parentTaxon* ?target }"""
_COUNT_ALL = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT (COUNT(?obs) AS ?n) WHERE { ?obs a akg:CameraTrapObservation }"""


def _few(kg: Any, targets: list[Any]) -> bool:
    """Whether the taxa's observations are few enough (under a third of all) that reading them through a query
    that starts from the taxa beats the scans of every observation (the query costs about 2.5 times a scan
    per observation it reads)."""
    wanted = sum(_count(kg, _COUNT_BELOW, {"target": t}) for t in set(targets))
    return 3 * wanted < _count(kg, _COUNT_ALL, None)


def _count(kg: Any, text: str, bindings: dict[str, Any] | None) -> int:
    rows = kg.query(text, bindings, where="survey detections").rows
    return int(rows[0][0].value) if rows and rows[0][0] is not None else 0


def _joined(
    kg: Any, flt: SurveyFilter, kept: dict[str, Deployment], levels: Sequence[str], taxon: str | None
) -> list[tuple[Any, ...]]:
    """The rows of ``_observations`` for the observations of ``taxon`` and the taxa below it, by one query."""
    out: list[tuple[Any, ...]] = []
    target = kg.resolve(taxon, "taxon")
    for row in kg.query(_DETECTIONS, {"target": target}, where="survey detections").rows:
        obs, deployment, start, taxon_, name, kind, level, count, individual, media, method, gap, recorded = (
            _value(t) for t in row
        )
        if media is not None and method is None:
            method = _NO_METHOD  # its own media, without a capture method: not a time-lapse image
        if obs is None or deployment not in kept or start is None or kind not in flt.observation_types:
            continue
        if level not in levels:
            continue
        camera = kept[deployment]
        moment = instant(start) + camera.shift
        out.append((obs, camera, moment, taxon_, name, kind, count, individual, method, gap, recorded))
    return out


#: Each property read alone. pyoxigraph joins the patterns of one query an observation at a time, an index
#: lookup per observation and pattern (the joined query took 16.7 s for 20,000 observations on 2 cores); one
#: pattern is one index scan, and the observations are joined on their IRI here. The rows are those of the
#: joined query: an observation with two values of a property gives a row for each, as the query's would.
_COLUMNS = {
    "type": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#observationType> ?o }",
    "level": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#observationLevel> ?o }",
    "deployment": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#deployment> ?o }",
    "start": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#eventStart> ?o }",
    "taxon": "SELECT ?s ?o WHERE { ?s <http://rs.tdwg.org/dwc/iri/toTaxon> ?o }",
    "name": "SELECT ?s ?o WHERE { ?s <http://rs.tdwg.org/dwc/terms/scientificName> ?o }",
    "count": "SELECT ?s ?o WHERE { ?s <http://rs.tdwg.org/dwc/terms/individualCount> ?o }",
    "individual": "SELECT ?s ?o WHERE { ?s <http://rs.tdwg.org/dwc/terms/organismID> ?o }",
    "media": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#media> ?o }",
    "method": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#captureMethod> ?o }",
    "gap": "SELECT ?s ?o WHERE { ?s <https://w3id.org/amurkg/ontology#minutesSincePrevious> ?o }",
}
_OBSERVATIONS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?obs WHERE { ?obs a akg:CameraTrapObservation }"""
_NONE: list[Any] = [None]
#: The capture method of an observation's own media that has none (Camtrap DP makes it optional): no method is
#: excluded, and the observation is not judged by the other media of its deployment (``_finish``).
_NO_METHOD = ""


def _column(kg: Any, name: str, keep: Any = None) -> dict[str, list[str]]:
    """Subject IRI -> the values (text) of one property, for the subjects in ``keep`` (every subject if None)."""
    out: dict[str, list[str]] = {}
    for s, o in kg.query(_COLUMNS[name], where="survey detections").rows:
        if s is None or o is None or (keep is not None and s.value not in keep):
            continue
        values = out.get(s.value)
        if values is None:
            out[s.value] = [o.value]
        else:
            values.append(o.value)
    return out


def _observations(
    kg: Any, flt: SurveyFilter, kept: dict[str, Deployment], levels: Sequence[str]
) -> list[tuple[Any, ...]]:
    """(obs, deployment, start with its clock shift, taxon, name, type, count, individual, method, gap, recorded)
    of each observation of a kept deployment, type and level: the rows of the joined query, narrowed first on
    what narrows most."""
    observations = {r[0].value for r in kg.query(_OBSERVATIONS, where="survey detections").rows if r[0] is not None}
    where = _column(kg, "deployment", observations)
    keep = {obs for obs, found in where.items() if any(d in kept for d in found)}
    kinds = {o: v for o, v in _column(kg, "type", keep).items() if any(k in flt.observation_types for k in v)}
    grain = {o: v for o, v in _column(kg, "level", kinds).items() if any(g in levels for g in v)}
    starts = _column(kg, "start", grain)
    keep = set(starts)
    taxa = _column(kg, "taxon", keep)
    names = _column(kg, "name")
    counts = _column(kg, "count", keep)
    individuals = _column(kg, "individual", keep)
    media = _column(kg, "media", keep)
    methods = _column(kg, "method", {m for found in media.values() for m in found})
    gaps = _column(kg, "gap", keep)
    out: list[tuple[Any, ...]] = []
    for obs in keep:
        named: list[tuple[str | None, str | None]] = [(t, n) for t in taxa.get(obs, ()) for n in names.get(t, _NONE)]
        named = named or [(None, None)]
        method = [m for found in media.get(obs, ()) for m in methods.get(found) or (_NO_METHOD,)] or _NONE
        for deployment, start, kind, level, (taxon, name), count, individual, how, gap, recorded in product(
            where[obs],
            starts[obs],
            kinds[obs],
            grain[obs],
            named,
            counts.get(obs, _NONE),
            individuals.get(obs, _NONE),
            method,
            gaps.get(obs, _NONE),
            names.get(obs, _NONE),
        ):
            if deployment not in kept or kind not in flt.observation_types or level not in levels:
                continue
            camera = kept[deployment]
            out.append(
                (obs, camera, instant(start) + camera.shift, taxon, name, kind, count, individual, how, gap, recorded)
            )
    return out


def _iri(value: str) -> Any:
    from amurkg.results import Term

    return Term.iri(value)


def _excluded_media(kg: Any, flt: SurveyFilter) -> dict[str, list[tuple[float, bool]]]:
    """Per deployment, (timestamp, excluded?) of its media, sorted; empty when no media has a capture method."""
    from amurkg.results import Term
    from amurkg.survey.ledger import clock_shifts

    shifts = clock_shifts(kg)
    if not any(
        kg.query(_HAS_METHOD, {"method": Term.literal(method)}, where="survey media").value
        for method in flt.exclude_capture_methods
    ):
        return {}
    media: dict[str, list[tuple[float, bool]]] = {}
    for deployment, timestamp, method in kg.query(_MEDIA, where="survey media").rows:
        if deployment is None or timestamp is None:
            continue
        excluded = method is not None and method.value in flt.exclude_capture_methods
        media.setdefault(deployment.value, []).append(
            (instant(timestamp.value) + shifts.get(deployment.value, 0.0), excluded)
        )
    if not any(excluded for items in media.values() for _, excluded in items):
        return {}
    for items in media.values():
        items.sort()
    return media


def _only_excluded(media: list[tuple[float, bool]] | None, moment: float) -> bool:
    if not media:
        return False
    near = [excluded for timestamp, excluded in media if abs(timestamp - moment) <= 1.0]
    return bool(near) and all(near)


def split_values(values: Sequence[str] | None) -> tuple[str, ...]:
    """Option values given repeatedly or comma-separated, as one tuple (as the canned survey queries read theirs)."""
    from amurkg.selection import split_values as split

    return split(values)


__all__ = [
    "CAPTURE_METHODS",
    "OBSERVATION_TYPES",
    "Deployment",
    "Detection",
    "SurveyFilter",
    "deployments",
    "detections",
    "detections_of",
    "parse_date",
]
