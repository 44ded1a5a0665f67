"""The record filters of the canned survey queries as bound terms (``catalog.RECORD_FILTERS`` defines them).

A survey query that takes a filter reads its value from a variable bound here, never from text pasted into
it, and the engine joins on it:

- ``taxon`` binds ``?taxon`` to the taxon and every taxon below it in the graph (``akg:parentTaxon``);
- ``deployment``, ``location`` and ``package`` bind ``?deployment`` to the deployments all three keep (a
  deploymentID, a locationID or location name, a package identifier; each keeps any of its values);
- ``since`` and ``until`` bind ``?since`` and ``?until`` to the instants the records lie in, ``?until``
  excluded: a date is its whole day in UTC, a date and time with its offset is that instant;
- ``observationType`` binds ``?observationType`` to the observation types counted (``animal`` when not given);
- ``timeLapse`` binds ``?timeLapse`` to ``exclude`` (when not given: the observations marked ``akg:timeLapse`` at
  import are left out, as the survey commands leave them out) or ``include``.

A value that names nothing in the graph (a deploymentID no deployment has) is an error that says which, not
an empty answer. Only the standard library and lower amurkg modules are imported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from amurkg.errors import ParameterError, did_you_mean
from amurkg.namespaces import PREFIXES, SURVEY
from amurkg.params import check_text, shown
from amurkg.results import Term
from amurkg.sparql import Binding

_XSD = PREFIXES["xsd"]
#: Observation types of Camtrap DP 1.0.
OBSERVATION_TYPES = ("animal", "human", "vehicle", "blank", "unknown", "unclassified")
#: The observation type counted when none is given (by the survey commands and the canned queries alike).
DEFAULT_OBSERVATION_TYPE = "animal"
#: Whether the records of time-lapse images are left out (by default, as camtrapdp's users ask) or counted.
TIME_LAPSE_CHOICES = ("exclude", "include")
DEFAULT_TIME_LAPSE = "exclude"

_BELOW = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT DISTINCT ?below WHERE { ?below akg:parentTaxon* ?taxon }"""
_DEPLOYMENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?deployment ?deploymentID ?locationID ?locality WHERE {
  ?deployment a akg:Deployment ; akg:deploymentID ?deploymentID .
  OPTIONAL { ?deployment dwc:locationID ?locationID }
  OPTIONAL { ?deployment dwc:locality ?locality }
}"""


def package_of(iri: str) -> str:
    """The identifier of the package a record IRI belongs to ("" for an IRI outside the survey namespace)."""
    if iri.startswith(SURVEY):
        return unquote(iri[len(SURVEY) :].split("/", 1)[0])
    return ""


def split_values(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Values given repeatedly or separated by commas, as one tuple (blank ones dropped)."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(out)


def parse_when(text: str, where: str) -> date:
    """A date (YYYY-MM-DD) or a date and time with its UTC offset (ISO 8601), or ParameterError."""
    text = check_text(str(text), where).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            f"{where}: {shown(text)} is not a date: use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+hh:mm"
        ) from None
    if moment.tzinfo is None:
        raise ParameterError(f"{where}: {shown(text)} has no UTC offset: add one (e.g. +10:00 or Z)")
    return moment


def instant_of(value: date, end: bool) -> datetime:
    """The instant a date range starts (``end`` False) or stops at, excluded: a date's midnight UTC, or the day
    after's for an end; a datetime is itself."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


def _datetime_term(moment: datetime) -> Term:
    text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return Term.literal(text, _XSD + "dateTime")


def bind_filters(kg: Any, name: str, filters: Mapping[str, str], takes: Iterable[str] = ()) -> dict[str, Binding]:
    """The bindings of the record filters ``filters`` (name -> text as given) of query ``name``, and the default
    of those it ``takes`` that have one (``observationType``: animal)."""
    out: dict[str, Binding] = {}
    where = {key: f"filter {key!r} of query {name!r}" for key in filters}
    if "observationType" in filters or "observationType" in takes:
        out["observationType"] = _observation_types(filters.get("observationType"), name)
    if "timeLapse" in filters or "timeLapse" in takes:
        out["timeLapse"] = _time_lapse(filters.get("timeLapse"), name)
    if "taxon" in filters:
        target = kg.resolve(filters["taxon"], where["taxon"])
        rows = kg.query(_BELOW, {"taxon": target}, where="taxa below").rows
        out["taxon"] = tuple(sorted({r[0] for r in rows if r[0] is not None} | {target}))
    since = parse_when(filters["since"], where["since"]) if "since" in filters else None
    until = parse_when(filters["until"], where["until"]) if "until" in filters else None
    if since is not None:
        out["since"] = _datetime_term(instant_of(since, end=False))
    if until is not None:
        out["until"] = _datetime_term(instant_of(until, end=True))
    if since is not None and until is not None and instant_of(since, False) >= instant_of(until, True):
        raise ParameterError(f"query {name!r}: the date range is empty: since {since} is not before until {until}")
    wanted = {key: filters[key] for key in ("deployment", "location", "package") if key in filters}
    if wanted:
        kept = _deployments(kg, name, wanted)
        if kept is not None:
            out["deployment"] = kept
    return out


def _observation_types(text: str | None, name: str) -> tuple[Term, ...]:
    """The observation types given (animal when none is), each one of Camtrap DP's."""
    if text is None:
        return (Term.literal(DEFAULT_OBSERVATION_TYPE),)
    values = split_values(text)
    where = f"filter 'observationType' of query {name!r}"
    if not values:
        raise ParameterError(f"{where}: give at least one observation type (separated by commas)")
    for value in values:
        if value not in OBSERVATION_TYPES:
            raise ParameterError(
                f"{where}: unknown observation type {shown(value)}; {did_you_mean(value, OBSERVATION_TYPES)}"
                f"use one of {', '.join(OBSERVATION_TYPES)}"
            )
    return tuple(Term.literal(v) for v in dict.fromkeys(values))


def _time_lapse(text: str | None, name: str) -> Term:
    """Whether the records of time-lapse images are left out (exclude, when not given) or counted (include)."""
    value = DEFAULT_TIME_LAPSE if text is None else text.strip()
    if value not in TIME_LAPSE_CHOICES:
        raise ParameterError(
            f"filter 'timeLapse' of query {name!r}: {shown(value)} is neither exclude (leave out the records of "
            "time-lapse images, the default) nor include (count them)"
        )
    return Term.literal(value)


def _deployments(kg: Any, name: str, wanted: Mapping[str, str]) -> tuple[Term, ...] | None:
    """The deployments every given filter keeps; a value that matches no deployment at all is an error. A value
    is split at its commas unless a deployment has it whole (a location name such as "stream, upper")."""
    rows = [
        (row[0], *(None if t is None else str(t.value) for t in row[1:]))
        for row in kg.query(_DEPLOYMENTS, where="survey deployments").rows
        if row[0] is not None
    ]
    if not rows:
        raise ParameterError(f"query {name!r}: no camera deployments in this graph: import a survey first")

    def keys_of(key: str, row: tuple[Any, ...]) -> set[str | None]:
        if key == "deployment":
            return {row[1]}
        if key == "location":
            return {row[2], row[3]}
        return {package_of(row[0].value)}

    kept = set(rows)
    for key, text in wanted.items():
        known = {k for r in rows for k in keys_of(key, r) if k is not None}
        values = (text.strip(),) if text.strip() in known else split_values(text)
        if not values:
            raise ParameterError(f"filter {key!r} of query {name!r}: give at least one {key} (separated by commas)")
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ParameterError(
                f"filter {key!r} of query {name!r}: no {key} {shown(unknown[0])} in this graph; "
                f"{did_you_mean(unknown[0], sorted(known))}amurkg query survey-effort lists them"
            )
        kept = {r for r in kept if keys_of(key, r) & set(values)}
    if len(kept) == len(rows):
        return None  # every deployment: no restriction (a long VALUES join costs the *-any queries much)
    return tuple(sorted(r[0] for r in kept))


__all__ = [
    "DEFAULT_OBSERVATION_TYPE",
    "OBSERVATION_TYPES",
    "bind_filters",
    "instant_of",
    "package_of",
    "parse_when",
    "split_values",
]
