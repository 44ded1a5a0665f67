"""Strict parsers that turn parameter values (text from a command line or a caller) into single RDF terms.

Each parser accepts exactly the values of its kind and nothing else: an IRI must match the SPARQL
grammar's IRIREF (no spaces, angle brackets, quotes, braces, backslashes or control characters), numbers
are ASCII digits within the range both engines compute with, and strings are any Unicode text (escaped
when written into a query by ``Term.n3``). Values are bounded in size, and an error never echoes a long
value back.
"""

from __future__ import annotations

import re

from amurkg.errors import ParameterError
from amurkg.namespaces import PREFIXES, expand
from amurkg.results import Term

XSD = PREFIXES["xsd"]
#: The longest parameter value amurkg accepts, in characters.
MAX_VALUE_CHARS = 2_000
_IRIREF = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^<>\"{}|^`\\\x00-\x20]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_I64 = 2**63


def shown(value: str, limit: int = 60) -> str:
    """A value as quoted in a message: whole when short, else its start and its length."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def check_text(value: str, where: str) -> str:
    """A value within the size bound, made of valid Unicode (no lone surrogates) and without NUL."""
    if len(value) > MAX_VALUE_CHARS:
        raise ParameterError(
            f"{where}: the value is {len(value):,} characters long; amurkg takes at most {MAX_VALUE_CHARS:,}"
        )
    if "\x00" in value:
        raise ParameterError(f"{where}: the value holds a NUL character; remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError(f"{where}: the value is not valid Unicode text (a lone surrogate); re-type it") from None
    return value


def is_iri(value: str) -> bool:
    """Whether ``value`` can stand between ``<`` and ``>`` in SPARQL, N-Triples and Turtle: an absolute IRI that
    matches the grammar's IRIREF and that pyoxigraph's own IRI parser (RFC 3987) accepts."""
    if len(value) > MAX_VALUE_CHARS or _IRIREF.fullmatch(value) is None:
        return False
    import pyoxigraph

    try:
        pyoxigraph.NamedNode(value)
    except ValueError:
        return False
    return True


def parse_iri(value: str, where: str) -> Term:
    """``<http://...>``, a bare absolute IRI, or a prefixed name such as ``amur:russia``."""
    check_text(value, where)
    text = value.strip()
    iri = text[1:-1] if text.startswith("<") and text.endswith(">") else (expand(text) or text)
    if not is_iri(iri):
        raise ParameterError(
            f"{where}: {shown(value)} is not an IRI; write <http://...> or a prefixed name like amur:russia "
            "(RFC 3987: no spaces, quotes, braces, backslashes; % only before two hex digits)"
        )
    return Term.iri(iri)


def parse_integer(value: str, where: str) -> Term:
    """A whole number in ASCII digits, within the 64-bit range both engines compute with."""
    check_text(value, where)
    text = value.strip()
    if not _INTEGER.fullmatch(text) or len(text) > 25:
        raise ParameterError(f"{where}: {shown(value)} is not a whole number such as 42")
    number = int(text)
    if not -_I64 <= number < _I64:
        raise ParameterError(f"{where}: {shown(value)} is out of range; give a number between -2^63 and 2^63-1")
    return Term.literal(str(number), XSD + "integer")


def parse_decimal(value: str, where: str) -> Term:
    """A decimal number in ASCII digits (such as 12.5), at most 18 digits on each side of the point."""
    check_text(value, where)
    text = value.strip()
    whole, _, fraction = text.lstrip("+-").partition(".")
    if not _DECIMAL.fullmatch(text) or len(whole) > 18 or len(fraction) > 18:
        raise ParameterError(
            f"{where}: {shown(value)} is not a decimal number such as 12.5 (at most 18 digits each side of the point)"
        )
    sign = "-" if text.startswith("-") else ""
    return Term.literal(f"{sign}{whole.lstrip('0') or '0'}.{fraction.rstrip('0') or '0'}", XSD + "decimal")


def parse_string(value: str, where: str) -> Term:
    """Any text, as a plain literal."""
    return Term.literal(check_text(value, where))
