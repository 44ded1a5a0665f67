"""Reading SPARQL text before any engine sees it: its form, and operations a local tool refuses.

A small tokenizer skips comments, strings and IRIs, so a keyword inside a literal or an IRI never
trips a check, and reports positions as line:column for the error messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from amurkg.errors import QuerySyntaxError, RefusedQueryError
from amurkg.results import Term

READ_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<lstring>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<pname>(?:[^\W\d_][\w.\-]*)?:[\w.\-:%\\]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):
    """A lexical token with its kind, text and 1-based position."""

    kind: str
    text: str
    line: int
    column: int
    offset: int


def tokens(text: str) -> list[Token]:
    """Split SPARQL text into significant tokens (whitespace and comments dropped)."""
    out: list[Token] = []
    line, line_start = 1, 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind not in ("ws", "comment"):
            out.append(Token(kind, m.group(), line, m.start() - line_start + 1, m.start()))
        newlines = m.group().count("\n")
        if newlines:
            line += newlines
            line_start = m.start() + m.group().rfind("\n") + 1
    return out


class QueryInfo(NamedTuple):
    """What a read-only query is: its form (SELECT, ASK, CONSTRUCT or DESCRIBE)."""

    form: str


def inspect_query(text: str, where: str = "query") -> QueryInfo:
    """Classify a query and refuse updates, SERVICE, LOAD and FROM, naming line and column.

    ``where`` names the query's origin (a file name, or "query") for the message.
    """
    toks = tokens(text)
    form = None
    i = 0
    while i < len(toks):
        tok = toks[i]
        upper = tok.text.upper()
        if tok.kind == "word" and upper in ("PREFIX", "BASE"):
            i += 3 if upper == "PREFIX" else 2
            continue
        if tok.kind == "word" and upper in READ_FORMS:
            form = upper
        elif tok.kind == "word" and upper in UPDATE_WORDS:
            raise RefusedQueryError(
                f"{where}:{tok.line}:{tok.column}: {upper} is a SPARQL UPDATE, and amurkg only reads the graph; "
                "to add facts, put them in a Turtle file and pass it with --data"
            )
        break
    if form is None:
        first = toks[i] if i < len(toks) else None
        pos = f"{first.line}:{first.column}" if first else "1:1"
        raise QuerySyntaxError(
            f"{where}:{pos}: expected SELECT, ASK, CONSTRUCT or DESCRIBE"
            + (f", found {first.text!r}" if first else ", found an empty query")
        )
    for tok in toks:
        upper = tok.text.upper()
        if tok.kind != "word":
            continue
        if upper == "SERVICE":
            raise RefusedQueryError(
                f"{where}:{tok.line}:{tok.column}: SERVICE is refused: local queries never reach the network; "
                "to query a remote endpoint, ask it directly"
            )
        if upper == "FROM":
            raise RefusedQueryError(
                f"{where}:{tok.line}:{tok.column}: FROM is refused: amurkg answers from its own graph and never "
                "loads other datasets; drop the FROM clause, or pass extra RDF files with --data"
            )
    return QueryInfo(form)


def bind_values(text: str, bindings: Mapping[str, Term]) -> str:
    """Pre-bind variables by inserting ``VALUES (?a ?b) { (t1 t2) }`` at the start of the WHERE group.

    Terms are written from parsed ``Term`` objects in N-Triples syntax, never pasted from user text,
    so a parameter value cannot change the shape of the query. An inline VALUES block at the start of
    the group is joined before that group's FILTERs, so parameters used only in a FILTER work too.
    """
    if not bindings:
        return text
    toks = tokens(text)
    brace = None
    for i, tok in enumerate(toks):
        if tok.kind == "word" and tok.text.upper() == "WHERE":
            brace = next((t for t in toks[i + 1 :] if t.text == "{"), None)
            break
    if brace is None:
        form = next((i for i, t in enumerate(toks) if t.kind == "word" and t.text.upper() in READ_FORMS), None)
        if form is not None and toks[form].text.upper() != "CONSTRUCT":
            brace = next((t for t in toks[form:] if t.text == "{"), None)
    if brace is None:
        raise QuerySyntaxError("cannot bind parameters: the query has no WHERE { ... } group")
    names = " ".join(f"?{name}" for name in bindings)
    values = " ".join(term.n3() for term in bindings.values())
    cut = brace.offset + 1
    return f"{text[:cut]} VALUES ({names}) {{ ({values}) }}{text[cut:]}"


_ENGINE_POS = re.compile(r"(?:error at |line[: ]\s*)(\d+)[:, ]\s*(?:col(?:umn)?[: ]\s*)?(\d+)")


def syntax_error(where: str, message: str, line: int | None = None, column: int | None = None) -> QuerySyntaxError:
    """Build a one-line syntax error from an engine's message, keeping its line and column."""
    message = " ".join(message.split())
    if line is None:
        m = _ENGINE_POS.search(message)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
    message = re.sub(r"^error at \d+:\d+:\s*", "", message)
    pos = f"{line}:{column}" if line is not None else "?"
    return QuerySyntaxError(f"{where}:{pos}: SPARQL syntax error: {message}")
