"""Named errors of amurkg. Each message is one line that says what went wrong, where, and how to fix it.

Exit codes follow pySHACL's convention: 0 success, 1 the answer is "violations found", 2 an error.
"""

from __future__ import annotations

from collections.abc import Iterable

#: How a message names a setting: ``{opt:max_rows}`` reads "--max-rows" on the command line, "max_rows=" in Python.
SETTINGS = {
    "data": ("--data", "data=[...]"),
    "endpoint": ("--endpoint URL", "KnowledgeGraph.remote(url)"),
    "timeout": ("--timeout", "timeout="),
    "max_rows": ("--max-rows", "max_rows="),
    "max_memory": ("--max-memory", "max_memory="),
    "sources": ("--sources DIR", "sources="),
    "graph": ("--graph", "graph="),
    "reason": ("--reason", "reason=True"),
    "focus": ("--focus ENTITY", "focus="),
    "provenance": ("--provenance", "provenance=True"),
    "view": ("--view", "view="),
    "store": ("--store DIR", "store="),
    "replace": ("--replace", "replace=True"),
    "engine": ("-e rdflib", 'engine="rdflib"'),
}


def render_settings(text: str, cli: bool) -> str:
    """``text`` with each ``{opt:NAME}`` said for the command line (``cli``) or for Python."""
    return _render(text, cli)


def _render(text: str, cli: bool) -> str:
    import re

    return re.sub(r"\{opt:(\w+)\}", lambda m: SETTINGS[m.group(1)][0 if cli else 1], text)


class AmurkgError(Exception):
    """Base class: a problem the user can fix; the CLI prints its message and exits with ``exit_code``.

    A message names settings as ``{opt:NAME}`` (see ``SETTINGS``): ``str(error)`` says them as Python
    arguments, ``error.for_cli()`` as command-line options.
    """

    exit_code = 2

    def __str__(self) -> str:
        return _render(super().__str__(), cli=False)

    def for_cli(self) -> str:
        """The message with settings named as command-line options."""
        return _render(super().__str__(), cli=True)

    def cli_lines(self) -> list[str]:
        """The message as the lines the command line prints, one per problem. An error that lists problems
        (``problems``) gives one line each, however many line breaks a problem's text holds (a file name may
        hold one): the terminal shows those as escapes, never as a line that seems to be a problem of its own."""
        problems = getattr(self, "problems", None)
        if isinstance(problems, list) and problems:
            return [_render(str(p), cli=True) for p in problems]
        return self.for_cli().splitlines() or [""]


class KeptInterrupt(KeyboardInterrupt):
    """A Ctrl-C (or SIGTERM) that came after a command's change was committed: the change stands, and the message
    says so and what was left undone, so that nobody imports again, or thinks a package still there, for an
    "interrupted" that cut nothing of what they asked. Exit code 130, as any interrupt."""


class QueryNotFoundError(AmurkgError):
    """No canned query has the given name."""


class ParameterError(AmurkgError):
    """A query parameter is missing, unknown or has a value of the wrong kind."""


class QuerySyntaxError(AmurkgError):
    """A SPARQL query does not parse."""


class RefusedQueryError(AmurkgError):
    """A query asks for something a read-only, offline tool must not do (an update, SERVICE, LOAD, FROM)."""


class QueryEvaluationError(AmurkgError):
    """A query parsed but the engine could not evaluate it."""


class EngineFaultError(AmurkgError):
    """The query engine ended the process that answered a query: an engine fault, not bad input, and asking again
    fails the same way. pyoxigraph 0.5 aborts, for one, on some ORDER BY over several variables whose values are of
    mixed kinds; amurkg answers such queries in a forked process (``amurkg.isolation``), so that only it ends.
    Exit code 2, as for every error: the command could not answer."""


class LimitError(AmurkgError):
    """A query ran past a limit set to keep local work bounded: time, rows or memory."""


class DataFileError(AmurkgError):
    """An RDF input file cannot be read, is not UTF-8, does not parse or is unsafe to parse."""


class EntityNotFoundError(AmurkgError):
    """No entity of the graph matches the given IRI, name or label."""


class OutputError(AmurkgError):
    """A result cannot be written where the user asked."""


class FormatError(AmurkgError):
    """An output format does not exist or does not fit the kind of result."""


class MissingExtraError(AmurkgError):
    """A feature needs an optional part of amurkg that is not installed."""


def require(module: str, extra: str, feature: str) -> None:
    """Raise ``MissingExtraError`` naming the pip extra to install when ``module`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra, which is not installed: pip install 'amurkg[{extra}]'"
        )


#: The optional modules amurkg imports, and the extra that installs each.
EXTRAS = {
    "numpy": "survey",
    "scipy": "survey",
    "astral": "survey",
    "matplotlib": "viz",
    "pyvis": "viz",
    "pyshacl": "validate",
    "pylode": "docs",
    "pandas": "notebook",
    "jinja2": "web",
}


def missing_extra(exc: ImportError, feature: str) -> MissingExtraError | None:
    """The ``MissingExtraError`` for ``exc`` when it is an optional module of amurkg that is not installed (a
    path that imported it without calling ``require`` first), else None."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if not isinstance(exc, ModuleNotFoundError) or name not in EXTRAS:
        return None
    extra = EXTRAS[name]
    return MissingExtraError(
        f"{feature} needs {name}, from the '{extra}' extra, which is not installed: pip install 'amurkg[{extra}]'"
    )


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A hint naming up to three options nearest to ``word`` ("did you mean 'x'? "), or "".

    Options sharing a whole word with ``word`` come first (``prey-species`` suggests ``prey``), then
    the closest spellings.
    """
    import difflib

    if len(word) > 100:  # difflib is quadratic: nothing that long is a typo of a short name
        return ""
    choices = sorted(set(options))
    words = set(word.lower().replace("_", "-").replace(" ", "-").split("-"))
    sharing = [c for c in choices if words & set(c.lower().replace(" ", "-").split("-"))]
    sharing.sort(key=lambda c: -difflib.SequenceMatcher(None, word, c).ratio())
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    picked = list(dict.fromkeys(close[:1] + sharing + close))[:3]
    return f"did you mean {' or '.join(repr(c) for c in picked)}? " if picked else ""
