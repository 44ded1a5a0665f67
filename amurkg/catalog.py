"""The canned queries: ``.rq`` files whose comment header gives a title, a description and parameters.

Header lines, before the first line of SPARQL::

    # title: Prey of a predator
    # description: The taxa a predator preys on ...
    #   (indented lines continue the previous field)
    # param: predator (entity, default amur:amur-leopard) the predator

A parameter's kind is ``entity`` (an IRI, prefixed name, local name or label of something in the
graph), ``iri``, ``string``, ``integer`` or ``decimal``; ``default X`` gives a default, ``optional``
leaves the variable unbound when not given, and neither makes the parameter required; ``one of V1 V2 ...``
after them limits the values accepted (a query that reads precomputed answers for those values).
``# reasoning: owl-rl`` marks a query whose answer needs OWL RL inference; amurkg applies it.
``# filters: taxon since until deployment location package`` gives a survey query the record filters it takes
(``RECORD_FILTERS``, defined once for every survey query); text after a ``;`` says where to go for the others.
``# counted: taxon deployment location package`` marks a query that reads counts computed at import: those
filters are the ones the counts answer (``observationType`` only as ``animal`` and ``timeLapse`` only as
``exclude``: they count animals, time-lapse images left out); given any
other of its filters (a date range), the query is answered by ``from-detections/NAME.rq`` instead, which
counts the detections themselves and gives the same columns: the same answer as the survey commands', at the
cost of reading each detection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import NamedTuple

from amurkg.errors import AmurkgError, QueryNotFoundError, did_you_mean
from amurkg.params import shown
from amurkg.resources import queries_dir

PARAM_KINDS = ("entity", "iri", "string", "integer", "decimal", "date", "list")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+\((?P<kind>\w+)(?:,\s*(?P<opt>optional|default\s+(?P<default>[^,)]+?)))?"
    r"(?:,\s*one of\s+(?P<choices>[^)]+?))?\)\s*(?P<doc>.*)$"
)


class Parameter(NamedTuple):
    """A query parameter: the SPARQL variable it binds, its kind, default and meaning."""

    name: str
    kind: str
    default: str | None
    optional: bool
    description: str
    #: The only values accepted (as written in the header), or () for any value of the kind.
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """True when the user must give a value."""
        return self.default is None and not self.optional


#: The record filters of the survey queries, defined once: a query takes those its ``# filters:`` line names,
#: and ``amurkg.selection`` turns their values into bound terms (``?taxon``: the taxon and every taxon below
#: it; ``?deployment``: the deployments the deployment, location and package filters keep; ``?since`` and
#: ``?until``: the date range as instants, ``?until`` excluded). The command line's survey options
#: (``amurkg.survey.options``) take their help from here.
RECORD_FILTERS: tuple[Parameter, ...] = (
    Parameter("taxon", "entity", None, True, "only this taxon (name, label or IRI) and the taxa below it"),
    Parameter("since", "date", None, True, "records from this date (YYYY-MM-DD, UTC) or instant with offset"),
    Parameter("until", "date", None, True, "records up to the end of this date (YYYY-MM-DD, UTC) or this instant"),
    Parameter("deployment", "list", None, True, "only these deploymentIDs (separated by commas)"),
    Parameter("location", "list", None, True, "only these locationIDs or location names (separated by commas)"),
    Parameter("package", "list", None, True, "only these imported packages, by identifier (separated by commas)"),
    Parameter(
        "observationType",
        "list",
        None,
        True,
        "only these observation types (animal, human, vehicle, blank, unknown, unclassified; separated by "
        "commas) [default: animal]",
    ),
    Parameter(
        "timeLapse",
        "string",
        None,
        True,
        "exclude leaves out the records of time-lapse images, as the survey commands do; include counts them "
        "[default: exclude]",
        ("exclude", "include"),
    ),
)
FILTER_NAMES = tuple(p.name for p in RECORD_FILTERS)
#: The variable each record filter binds (the deployment, location and package filters bind one together).
FILTER_VARIABLES: dict[str, str] = {
    "taxon": "taxon",
    "since": "since",
    "until": "until",
    "observationType": "observationType",
    "timeLapse": "timeLapse",
} | dict.fromkeys(("deployment", "location", "package"), "deployment")
#: The folder, beside the canned queries, of the texts that answer a ``# counted:`` query from the detections.
FROM_DETECTIONS = "from-detections"
#: The values of the filters with a default that the counts computed at import answer (``Mapper.gap_lines``
#: counts animals, time-lapse images left out).
COUNTED_VALUES: dict[str, frozenset[str]] = {
    "observationType": frozenset({"animal"}),
    "timeLapse": frozenset({"exclude"}),
}


class CannedQuery(NamedTuple):
    """A stored query with its self-description."""

    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    path: Path
    text: str
    reasoning: str | None = None
    #: The record filters (``RECORD_FILTERS`` names) it takes, and where to go for the others.
    filters: tuple[str, ...] = ()
    filter_hint: str = ""
    #: The filters the counts computed at import answer (``# counted:``); () for a query that reads records.
    counted: tuple[str, ...] = ()
    #: The text that answers it from the detections when another filter is given (``from-detections/``).
    detailed: str | None = None

    @property
    def is_violation_check(self) -> bool:
        """Queries named ``*-violation`` find problems and must return nothing on a healthy graph."""
        return self.name.endswith("-violation")

    def parameter(self, name: str) -> Parameter | None:
        """The parameter of that name, if any."""
        return next((p for p in self.parameters if p.name == name), None)

    def text_for(self, params: Mapping[str, str]) -> tuple[str, Path]:
        """The text that answers ``params`` (name -> value as given) exactly, and its file: the query's own,
        unless it reads counts computed at import and a filter is given that they cannot answer."""
        given = {name: value for name, value in params.items() if name in self.filters and value.strip()}
        if self.detailed is None or all(_counted(self, name, value) for name, value in given.items()):
            return self.text, self.path
        return self.detailed, self.path.parent / FROM_DETECTIONS / self.path.name


def _counted(query: CannedQuery, name: str, value: str) -> bool:
    if name in COUNTED_VALUES:
        from amurkg.selection import split_values

        return name in query.counted and set(split_values(value)) == COUNTED_VALUES[name]
    return name in query.counted


def parse_header(path: Path, text: str) -> tuple[str, str, tuple[Parameter, ...], str | None]:
    """Read title, description, parameters and needed reasoning from a query's leading comment block (the
    record filters of ``# filters:`` are among the parameters)."""
    title, description, params, reasoning, _, _ = _parse_header(path, text)
    return title, description, params, reasoning


def _parse_header(path: Path, text: str) -> tuple[str, str, tuple[Parameter, ...], str | None, tuple[str, ...], str]:
    fields: dict[str, str] = {}
    params: list[Parameter] = []
    last: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#"):
            break
        body = line[1:]
        if body.startswith("  ") and last is not None:
            if last == "param":
                p = params[-1]
                params[-1] = p._replace(description=f"{p.description} {body.strip()}")
            else:
                fields[last] += " " + body.strip()
            continue
        key, sep, value = body.strip().partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "param":
            m = _PARAM.match(value)
            if not m or m.group("kind") not in PARAM_KINDS:
                raise AmurkgError(
                    f"{path}:{lineno}: bad parameter line; write "
                    "'# param: NAME (KIND[, default VALUE|, optional][, one of V1 V2 ...]) TEXT' "
                    f"with KIND one of {', '.join(PARAM_KINDS)}"
                )
            params.append(
                Parameter(
                    m.group("name"),
                    m.group("kind"),
                    m.group("default"),
                    m.group("opt") == "optional",
                    m.group("doc"),
                    tuple((m.group("choices") or "").split()),
                )
            )
        else:
            fields[key] = value
        last = key
    for required in ("title", "description"):
        if not fields.get(required):
            raise AmurkgError(f"{path}:1: the header has no '# {required}:' line; every canned query describes itself")
    reasoning = fields.get("reasoning")
    if reasoning not in (None, "owl-rl"):
        raise AmurkgError(f"{path}: unknown '# reasoning: {reasoning}'; the only reasoning amurkg applies is owl-rl")
    names, _, hint = fields.get("filters", "").partition(";")
    filters = tuple(names.split())
    for name in filters:
        if name not in FILTER_NAMES or name in {p.name for p in params}:
            raise AmurkgError(
                f"{path}: '# filters:' names {name!r}: give record filters ({', '.join(FILTER_NAMES)}) that are not "
                "also '# param:' lines"
            )
    params += [p for p in RECORD_FILTERS if p.name in filters]
    return fields["title"], fields["description"], tuple(params), reasoning, filters, hint.strip()


@cache
def _load(path: Path) -> CannedQuery:
    text = path.read_text(encoding="utf-8")
    title, description, params, reasoning, filters, hint = _parse_header(path, text)
    counted, detailed = _counted_header(path, text, filters)
    return CannedQuery(path.stem, title, description, params, path, text, reasoning, filters, hint, counted, detailed)


def _counted_header(path: Path, text: str, filters: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """The ``# counted:`` filters of a query and the text of its ``from-detections/`` twin (checked here: a
    query whose counts cannot answer a filter it takes must have the text that can)."""
    line = next((ln for ln in text.splitlines() if ln.startswith("# counted:")), None)
    if line is None:
        return (), None
    counted = tuple(line.partition(":")[2].split())
    stray = [name for name in counted if name not in filters]
    twin = path.parent / FROM_DETECTIONS / path.name
    if stray:
        raise AmurkgError(f"{path}: '# counted:' names {stray[0]!r}, which is not among its '# filters:'")
    if not twin.is_file():
        raise AmurkgError(f"{path}: '# counted:' needs {FROM_DETECTIONS}/{path.name} to answer the other filters")
    return counted, twin.read_text(encoding="utf-8")


def query_names() -> list[str]:
    """Names of all canned queries, sorted."""
    return sorted(p.stem for p in queries_dir().glob("*.rq"))


def list_queries() -> list[CannedQuery]:
    """All canned queries, sorted by name."""
    return [_load(queries_dir() / f"{name}.rq") for name in query_names()]


def get_query(name: str) -> CannedQuery:
    """The canned query of that name; an unknown name gets the nearest names as suggestions."""
    if not _NAME.fullmatch(name) or not (queries_dir() / f"{name}.rq").is_file():
        hint = did_you_mean(name, query_names())
        raise QueryNotFoundError(f"no canned query named {shown(name)}; {hint}'amurkg queries' lists them all")
    return _load(queries_dir() / f"{name}.rq")
