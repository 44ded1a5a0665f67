"""The record filters of every ``amurkg survey`` command, defined once.

``@with_filters`` adds the same options to a command (``--taxon``, ``--since``, ``--until``, ``--deployment``,
``--location``, ``--package``, ``--observation-type``, ``--include-timelapse``) and hands the command one
``SurveyFilter`` as its ``flt`` argument. Only Typer and the standard library are imported here, so the
command line stays fast to start.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from amurkg.completion import complete_taxa

F = TypeVar("F", bound=Callable[..., Any])

_PANEL = "Record filters"
_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "taxon",
        Annotated[
            str | None,
            typer.Option(
                "--taxon",
                help="Only this taxon (name, label or IRI) and the taxa below it.",
                rich_help_panel=_PANEL,
                autocompletion=complete_taxa,
            ),
        ],
        None,
    ),
    (
        "since",
        Annotated[
            str | None,
            typer.Option(
                "--since",
                help="Records from this date (YYYY-MM-DD, UTC) or instant with offset.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    (
        "until",
        Annotated[
            str | None,
            typer.Option(
                "--until",
                help="Records up to the end of this date (YYYY-MM-DD, UTC) or this instant.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    (
        "deployment",
        Annotated[
            list[str] | None,
            typer.Option(
                "--deployment",
                help="Only these deploymentIDs (repeat or separate with commas).",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    (
        "location",
        Annotated[
            list[str] | None,
            typer.Option("--location", help="Only these locationIDs or location names.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    (
        "package",
        Annotated[
            list[str] | None,
            typer.Option("--package", help="Only these imported packages (their identifiers).", rich_help_panel=_PANEL),
        ],
        None,
    ),
    (
        "observation_type",
        Annotated[
            list[str] | None,
            typer.Option(
                "--observation-type", help="Observation types to count [default: animal].", rich_help_panel=_PANEL
            ),
        ],
        None,
    ),
    (
        "include_timelapse",
        Annotated[
            bool,
            typer.Option(
                "--include-timelapse",
                help="Count records of time-lapse media too (left out by default).",
                rich_help_panel=_PANEL,
            ),
        ],
        False,
    ),
]
NAMES = tuple(name for name, _, _ in _OPTIONS)


def build_filter(
    taxon: str | None = None,
    since: str | None = None,
    until: str | None = None,
    deployment: list[str] | None = None,
    location: list[str] | None = None,
    package: list[str] | None = None,
    observation_type: list[str] | None = None,
    include_timelapse: bool = False,
) -> Any:
    """The ``SurveyFilter`` the options describe (ParameterError for a bad date or value)."""
    from amurkg.selection import DEFAULT_OBSERVATION_TYPE
    from amurkg.survey.filters import SurveyFilter, parse_date, split_values

    return SurveyFilter(
        taxon=taxon,
        start=parse_date(since, "--since") if since else None,
        end=parse_date(until, "--until") if until else None,
        deployments=split_values(deployment),
        locations=split_values(location),
        packages=split_values(package),
        observation_types=split_values(observation_type) or (DEFAULT_OBSERVATION_TYPE,),
        exclude_capture_methods=() if include_timelapse else ("timeLapse",),
    )


#: ``--taxon`` of the commands that take several taxa (a figure with a curve per taxon).
_TAXA = Annotated[
    list[str] | None,
    typer.Option(
        "--taxon",
        help="A taxon (name, label or IRI) with the taxa below it; repeat for several.",
        rich_help_panel=_PANEL,
        autocompletion=complete_taxa,
    ),
]


def with_filters(func: F) -> F:
    """Give a command the record filters: its ``flt`` parameter is replaced by the filter options, and it is
    called with the ``SurveyFilter`` they describe."""
    return _with_filters(func, many_taxa=False)


def with_filters_taxa(func: F) -> F:
    """``with_filters`` for a command that takes ``--taxon`` repeatedly: it is called with a ``SurveyFilter``
    without a taxon as ``flt`` and the taxa as ``taxa`` (a tuple, empty when none is given)."""
    return _with_filters(func, many_taxa=True)


def _with_filters(func: F, many_taxa: bool) -> F:
    signature = inspect.signature(func, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name not in ("flt", "taxa")]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=default,
            annotation=_TAXA if many_taxa and name == "taxon" else annotation,
        )
        for name, annotation, default in _OPTIONS
    ]
    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + added

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in NAMES if name in kwargs}
        if many_taxa:
            taxa = values.pop("taxon", None) or []
            return func(*args, flt=build_filter(**values), taxa=tuple(t for t in taxa if t.strip()), **kwargs)
        return func(*args, flt=build_filter(**values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return wrapper  # type: ignore[return-value]
