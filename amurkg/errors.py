"""Named errors of amurkg. Each message is one line that says what went wrong, where, and how to fix it.

Exit codes follow pySHACL's convention: 0 success, 1 the answer is "violations found", 2 an error.
"""

from __future__ import annotations


class AmurkgError(Exception):
    """Base class: a problem the user can fix; the CLI prints its message and exits with ``exit_code``."""

    exit_code = 2


class QueryNotFoundError(AmurkgError):
    """No canned query has the given name."""


class ParameterError(AmurkgError):
    """A query parameter is missing, unknown or has a value of the wrong kind."""


class QuerySyntaxError(AmurkgError):
    """A SPARQL query does not parse."""


class RefusedQueryError(AmurkgError):
    """A query asks for something a read-only, offline tool must not do (an update, SERVICE, LOAD, FROM)."""


class DataFileError(AmurkgError):
    """An RDF input file cannot be read, is not UTF-8, does not parse or is unsafe to parse."""


class EntityNotFoundError(AmurkgError):
    """No entity of the graph matches the given IRI, name or label."""


class OutputError(AmurkgError):
    """A result cannot be written where the user asked."""


class FormatError(AmurkgError):
    """An output format does not exist or does not fit the kind of result."""
