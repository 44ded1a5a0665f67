"""Ordering a SELECT answer here, as pyoxigraph would, so that a query that sorts needs no forked child.

pyoxigraph can abort its process while it sorts (``amurkg.isolation``), so a query holding ORDER BY is answered
in a forked child. Forking a process that holds a large store costs time of its own (about 0.1 s at a million
observations: page tables, and the copy-on-write faults of everything the child then touches), as much as the
survey queries take. Most queries that sort end with one ORDER BY over plain variables that the answer shows.
Such a query is run here without its ORDER BY (no sort, so nothing can abort), and its rows are sorted in
Python, the way the engine orders them, wherever that order is certain:

- unbound first, then IRIs (by their text), then literals, as the engine places them;
- literals compared only within one family per column: strings without a language (by code point, as Rust
  compares them), strings with one (by text, then tag), integers and decimals (exactly, as numbers), doubles
  other than NaN (as IEEE numbers), or date-times that carry a time zone (as instants). The engine
  does not order other values consistently (that is what aborts it), so anything else (blank nodes, NaN, floats,
  which the engine compares at 32 bits, two families in one column, ill-typed values, time zones beyond 14
  hours) is left to the engine;
- two different rows that tie on every key are left to the engine too: which comes first is its choice.

``plan`` reads the query's tokens (never its text: ORDER BY in a string or a comment does not count) and
returns None unless the only ORDER BY ends the query at its top level, over variables or ASC(?v)/DESC(?v), with
no LIMIT, OFFSET or VALUES after it. ``order`` returns None where the order is not certain; the caller then
answers the whole query as before (in the child). Only the standard library and lower amurkg modules are used.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, NamedTuple

from amurkg.errors import QuerySyntaxError
from amurkg.namespaces import PREFIXES
from amurkg.results import Row, Term
from amurkg.sparql import Token, tokens

_XSD = PREFIXES["xsd"]
#: The most rows sorted here: a larger answer is sorted by the engine (in the child), which holds it more
#: compactly than Python does.
MAX_ROWS = 50_000
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|INF)")
#: An xsd:dateTime with a time zone XSD allows (within 14 hours), at most microseconds (as datetime holds them)
_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-[0-9]{2}-[0-9]{2}T(?P<hour>[0-9]{2}):[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


class Plan(NamedTuple):
    """A query without its final ORDER BY, and the variables it ordered by (name, descending)."""

    text: str
    keys: tuple[tuple[str, bool], ...]


def plan(text: str) -> Plan | None:
    """How to answer ``text`` without the engine sorting, or None where only the engine can sort it."""
    try:
        toks = tokens(text, "oxigraph")
    except QuerySyntaxError:  # the engine reports it, as before
        return None
    if any(_word(tok, "REDUCED") for tok in toks):
        return None  # which duplicates REDUCED drops may depend on the order the rows come in
    at = [i for i, (a, b) in enumerate(pairwise(toks)) if _word(a, "ORDER") and _word(b, "BY")]
    if len(at) != 1:
        return None  # none, or one inside a subquery as well
    start = at[0]
    depth = 0
    for tok in toks[:start]:
        if tok.kind == "punct" and tok.text in ("{", "{|"):
            depth += 1
        elif tok.kind == "punct" and tok.text in ("}", "|}"):
            depth -= 1
    if depth != 0:
        return None  # a subquery's
    keys: list[tuple[str, bool]] = []
    i = start + 2
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "var":
            keys.append((tok.text[1:], False))
            i += 1
        elif (
            (_word(tok, "ASC") or _word(tok, "DESC"))
            and i + 3 < len(toks)
            and toks[i + 1].text == "("
            and toks[i + 2].kind == "var"
            and toks[i + 3].text == ")"
        ):
            keys.append((toks[i + 2].text[1:], tok.text.upper() == "DESC"))
            i += 4
        else:
            return None  # an expression, or LIMIT, OFFSET or VALUES after it
    if not keys:
        return None
    return Plan(text[: toks[start].offset], tuple(keys))


def _word(tok: Token, word: str) -> bool:
    return tok.kind == "word" and tok.text.upper() == word


def order(variables: list[str], rows: list[Row], keys: tuple[tuple[str, bool], ...]) -> list[Row] | None:
    """``rows`` in the order the engine gives them under ORDER BY ``keys``, or None where that is not certain."""
    if any(name not in variables for name, _ in keys):
        return None  # ordered by a variable the answer does not show
    columns = [variables.index(name) for name, _ in keys]
    sortable: list[list[Any]] = []
    for column in columns:
        values = _column([row[column] for row in rows])
        if values is None:
            return None
        sortable.append(values)
    indexed = list(range(len(rows)))
    try:
        for values, (_, descending) in reversed(list(zip(sortable, keys, strict=True))):
            indexed.sort(key=values.__getitem__, reverse=descending)
    except (OverflowError, TypeError):  # instants at the ends of the calendar: the engine sorts them
        return None
    for a, b in pairwise(indexed):
        if rows[a] != rows[b] and all(values[a] == values[b] for values in sortable):
            return None  # a tie: the engine's order between them is its own
    return [rows[i] for i in indexed]


def _column(terms: list[Term | None]) -> list[Any] | None:
    """Sort keys for one column's terms, or None where the engine would not order them consistently."""
    family = ""
    keys: list[Any] = []
    for term in terms:
        if term is None:
            keys.append((0,))
            continue
        if term.kind == "uri":
            keys.append((1, term.value))
            continue
        if term.kind != "literal":
            return None  # blank nodes are ordered by the engine's own ids
        kind, value = ("text", (term.value, term.lang)) if term.lang else _literal(term)
        if kind is None or (family and kind != family):
            return None
        family = kind
        keys.append((2, value))
    return keys


def _literal(term: Term) -> tuple[str | None, Any]:
    datatype = term.datatype
    if datatype in (None, _XSD + "string"):
        return "string", term.value
    if datatype == _XSD + "integer" and _INTEGER.fullmatch(term.value):
        return "number", Decimal(term.value)
    if datatype == _XSD + "decimal" and _DECIMAL.fullmatch(term.value):
        try:
            return "number", Decimal(term.value)
        except InvalidOperation:  # pragma: no cover - the expression admits only what Decimal reads
            return None, None
    if datatype == _XSD + "double" and _FLOAT.fullmatch(term.value):
        return "float", float(term.value)  # no NaN: the expression admits none, and the engine orders no NaN
    if datatype == _XSD + "dateTime" and (m := _DATE_TIME.fullmatch(term.value)):
        if m["year"] == "0000" or m["hour"] == "24":
            return None, None
        try:
            return "instant", datetime.fromisoformat(term.value.replace("Z", "+00:00"))
        except ValueError:
            return None, None
    return None, None
