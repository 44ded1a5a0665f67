"""Engine-neutral query results and their serialisations.

Both engines (and, later, remote endpoints) convert their answers into these small classes, so every
output format is written by one piece of code and is identical whichever engine answered. JSON, XML,
CSV and TSV follow the W3C SPARQL 1.1 result formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, NamedTuple
from typing import Literal as TypingLiteral

from amurkg.errors import FormatError
from amurkg.namespaces import RDF_LANGSTRING, XSD_STRING, compact

TermKind = TypingLiteral["uri", "bnode", "literal"]


class Term(NamedTuple):
    """An RDF term: an IRI, a blank node or a literal (with datatype or language tag)."""

    kind: TermKind
    value: str
    datatype: str | None = None
    lang: str | None = None

    @classmethod
    def iri(cls, value: str) -> Term:
        """An IRI term."""
        return cls("uri", value)

    @classmethod
    def literal(cls, value: str, datatype: str | None = None, lang: str | None = None) -> Term:
        """A literal; plain strings get no datatype, as RDF 1.1 makes them xsd:string anyway."""
        if lang:
            return cls("literal", value, None, lang.lower())
        if datatype in (XSD_STRING, RDF_LANGSTRING):
            datatype = None
        return cls("literal", value, datatype, None)

    def n3(self) -> str:
        """The term in N-Triples syntax, which is also SPARQL syntax: used by TSV and to bind parameters. An IRI
        holds no character its grammar forbids: those are ``\\u`` escapes (a ``>`` is ``\\u003E``).

        A literal is always exactly one token however it is read: quotes, backslashes and line breaks are
        escaped, other control characters become ``\\U`` escapes, and a ``u`` or ``U`` right after an escaped
        backslash is written ``\\U00000075``/``\\U00000055``, so that rdflib, which expands ``\\u`` escapes
        in the whole query before parsing it, cannot read a different string than pyoxigraph does.
        """
        if self.kind == "uri":
            return f"<{_IRI_UNSAFE.sub(_escape_iri, self.value)}>"
        if self.kind == "bnode":
            return f"_:{self.value}"
        text = _LITERAL_UNSAFE.sub(_escape, self.value)
        if self.lang:
            return f'"{text}"@{self.lang}'
        if self.datatype:
            return f'"{text}"^^<{self.datatype}>'
        return f'"{text}"'

    def python(self) -> Any:
        """The term as a Python value: a number (int, Decimal or float) or bool where its datatype says so and
        its text is a valid value of it, else its display string."""
        if self.kind == "literal" and self.datatype and self.datatype.startswith(_XSD):
            try:
                if self.datatype in _INTEGERS:
                    return int(self.value)
                if self.datatype == _XSD + "decimal":
                    from decimal import Decimal, InvalidOperation

                    try:
                        return Decimal(self.value.strip())
                    except InvalidOperation:
                        return self.display()
                if self.datatype in (_XSD + "double", _XSD + "float"):
                    return float(self.value)
                if self.datatype == _XSD + "boolean" and self.value in ("true", "false", "1", "0"):
                    return self.value in ("true", "1")
            except ValueError:
                return self.display()
        return self.display()

    def display(self) -> str:
        """A short human form: prefixed name for IRIs, bare value for literals."""
        if self.kind == "uri":
            return compact(self.value)
        if self.kind == "bnode":
            return f"_:{self.value}"
        return self.value


#: Characters the grammar's IRIREF cannot hold as themselves: written as ``\\u`` escapes (UCHAR), so that an
#: IRI holding ``>`` is one token that a parser either reads back exactly (pyoxigraph decodes the escape, then
#: checks the IRI) or refuses, and can never end early.
_IRI_UNSAFE = re.compile(r'[<>"{}|^`\\\x00-\x20]')


def _escape_iri(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04X}"


_LITERAL_UNSAFE = re.compile(r'\\[uU]|[\\"\x00-\x1f\x7f]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    found = m.group()
    if len(found) == 2:  # a backslash followed by u or U
        return f"\\\\\\U{ord(found[1]):08X}"
    return _ESCAPES.get(found) or f"\\U{ord(found):08X}"


Row = tuple["Term | None", ...]


class SelectResult(NamedTuple):
    """Answer to a SELECT query: variable names and rows of terms (None where unbound)."""

    variables: list[str]
    rows: list[Row]

    def as_dicts(self) -> list[dict[str, Any]]:
        """Rows as dictionaries, for notebooks and quick checks: numbers as numbers (``int`` for the integer
        types, ``Decimal`` for xsd:decimal, ``float`` for xsd:double and xsd:float), booleans as ``bool``,
        everything else as its display string (prefixed names for IRIs); unbound variables are left out.
        ``as_text_dicts`` gives every value as text."""
        return [{v: t.python() for v, t in zip(self.variables, row, strict=True) if t is not None} for row in self.rows]

    def as_text_dicts(self) -> list[dict[str, str]]:
        """Rows as dictionaries of display strings (numbers as they are written)."""
        return [
            {v: t.display() for v, t in zip(self.variables, row, strict=True) if t is not None} for row in self.rows
        ]

    def as_set(self) -> set[tuple[Term | None, ...]]:
        """Rows as a set, for comparing answers regardless of order."""
        return set(self.rows)

    def to_dataframe(self, iris: str = "compact") -> Any:
        """The rows as a pandas DataFrame with typed columns: integers (nullable Int64), decimals (Python
        Decimal), floating point numbers (Float64), booleans, dates and date-times (datetime64), and text;
        unbound values are missing (NA/NaT/None). IRIs are prefixed names (``iris="compact"``) or whole."""
        from amurkg.errors import require

        require("pandas", "notebook", "DataFrames")
        import pandas as pd

        data = {var: _column([row[i] for row in self.rows], iris) for i, var in enumerate(self.variables)}
        return pd.DataFrame(data, columns=self.variables, index=pd.RangeIndex(len(self.rows)))

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter (the first 200 rows)."""
        from html import escape

        head = "".join(f"<th>{escape(v)}</th>" for v in self.variables)
        body = "".join(
            "<tr>" + "".join(f"<td>{'' if t is None else escape(t.display())}</td>" for t in row) + "</tr>"
            for row in self.rows[:200]
        )
        more = " (showing 200)" if len(self.rows) > 200 else ""
        count = f"{len(self.rows):,} row{'s' if len(self.rows) != 1 else ''}{more}"
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table><p>{count}</p>"


_XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {
    _XSD + t
    for t in (
        "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger",
        "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
    )
}  # fmt: skip


def _column(terms: list[Term | None], iris: str) -> Any:
    """One DataFrame column from terms of one variable, typed by the datatypes they share."""
    import pandas as pd

    kinds = {t.datatype if t.kind == "literal" else t.kind for t in terms if t is not None}
    values = [None if t is None else t.value for t in terms]
    try:
        if kinds and kinds <= _INTEGERS:
            numbers = [None if v is None else int(v) for v in values]
            if all(n is None or -(2**63) <= n < 2**63 for n in numbers):
                return pd.array(numbers, dtype="Int64")
            return pd.array(numbers, dtype=object)
        if kinds == {_XSD + "decimal"}:
            from decimal import Decimal

            return pd.array([None if v is None else Decimal(v) for v in values], dtype=object)
        if kinds and kinds <= {_XSD + "double", _XSD + "float"}:
            return pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        if kinds == {_XSD + "boolean"}:
            return pd.array([None if v is None else v in ("true", "1") for v in values], dtype="boolean")
        if kinds and kinds <= {_XSD + "date", _XSD + "dateTime"}:
            return pd.to_datetime(
                pd.Series(values, dtype=object), utc=any((v and v.endswith("Z")) or "+" in v[10:] for v in values if v)
            )
    except (ValueError, ArithmeticError):
        pass  # a value its datatype does not allow: keep the column as text
    text = [None if t is None else (t.value if iris == "full" or t.kind != "uri" else t.display()) for t in terms]
    return pd.array(text, dtype="string")


class AskResult(NamedTuple):
    """Answer to an ASK query."""

    value: bool


class GraphResult(NamedTuple):
    """Answer to a CONSTRUCT or DESCRIBE query: a set of triples."""

    triples: list[tuple[Term, Term, Term]]


QueryResult = SelectResult | AskResult | GraphResult


class SelectStream(NamedTuple):
    """A SELECT answer whose rows are produced as they are read (the engine computes them lazily)."""

    variables: list[str]
    rows: Iterator[Row]


class GraphStream(NamedTuple):
    """A CONSTRUCT or DESCRIBE answer whose triples are produced as they are read."""

    triples: Iterator[tuple[Term, Term, Term]]


#: What an engine returns before anything is read: ASK is answered at once, the others stream.
Answer = AskResult | SelectStream | GraphStream


def iri_once(named: dict[str, Term], value: str) -> Term:
    """``Term.iri(value)``, made once per answer in ``named`` (IRIs repeat across rows: the same taxa, places),
    which is emptied past 100,000 entries, whatever the answer's size."""
    found = named.get(value)
    if found is None:
        if len(named) > 100_000:
            named.clear()
        found = named[value] = Term.iri(value)
    return found


def materialize(answer: Answer, where: str, max_rows: int | None = None) -> QueryResult:
    """Read a streamed answer whole; past ``max_rows`` rows (or triples) raise ``LimitError``."""
    if isinstance(answer, AskResult):
        return answer
    if isinstance(answer, SelectStream):
        return SelectResult(answer.variables, list(limited(answer.rows, max_rows, where)))
    return GraphResult(list(limited(answer.triples, max_rows, where, "triples")))


#: Result formats for SELECT and ASK answers.
RESULT_FORMATS = ("table", "csv", "tsv", "json", "xml", "md")
#: Formats written row by row, so answers of any size pass through in bounded memory.
STREAMING_FORMATS = ("csv", "tsv", "json", "xml")


def limited(rows: Iterable[Any], max_rows: int | None, where: str, what: str = "rows") -> Iterator[Any]:
    """Pass rows through, raising ``LimitError`` past ``max_rows`` and when the time limit has passed."""
    from amurkg.errors import LimitError
    from amurkg.limits import check

    for count, row in enumerate(rows, 1):
        if max_rows is not None and count > max_rows:
            raise LimitError(
                f"{where}: the answer has more than {max_rows:,} {what}; add LIMIT or narrow the query, "
                "or raise {opt:max_rows}"
            )
        if count % 1024 == 0:
            check()
        yield row


def format_result(
    result: SelectResult | AskResult,
    fmt: str,
    raw: bool = False,
    width: int | None = None,
    spreadsheet_safe: bool = False,
    iris: bool = False,
) -> str:
    """Serialise a SELECT or ASK result in one of ``RESULT_FORMATS`` (a table fitted to ``width`` columns)."""
    import io

    out = io.BytesIO()
    write_result(result, fmt, out, raw=raw, width=width, spreadsheet_safe=spreadsheet_safe, iris=iris)
    return out.getvalue().decode("utf-8")


def write_result(
    result: SelectResult | SelectStream | AskResult,
    fmt: str,
    out: BinaryIO,
    *,
    raw: bool = False,
    width: int | None = None,
    spreadsheet_safe: bool = False,
    compact: bool = False,
    iris: bool = False,
) -> None:
    """Write a SELECT or ASK answer to ``out``; streamed answers are written as their rows arrive (in the
    formats of ``STREAMING_FORMATS``; the others read the rows first). ``compact`` JSON has no indentation
    (for programs: the endpoint's answers); the default is indented for people.

    TSV holds plain values (prefixed names, literal text) unless ``raw``, which writes the W3C SPARQL TSV
    form (terms in N-Triples syntax, as the endpoint protocol requires). A table is fitted to ``width``
    characters when given (a terminal's width): the widest columns are narrowed and their cells cut with "…".
    Tables and Markdown show control characters as escapes (``amurkg.output.terminal_safe``). With
    ``spreadsheet_safe``, CSV and TSV cells a spreadsheet would run as formulas are neutralised
    (``amurkg.output.spreadsheet_cell``); without it they are the exact W3C formats, for programs. Tables and
    Markdown show IRIs short (``amur:wild-boar``, ``survey:my-survey/deployment/D1``) unless ``iris``.
    """
    if fmt not in RESULT_FORMATS:
        raise FormatError(f"unknown result format {fmt!r}: use one of {', '.join(RESULT_FORMATS)}")
    if isinstance(result, AskResult):
        word = "true" if result.value else "false"
        out.write(
            (f'{{"head":{{}},"boolean":{word}}}\n' if compact and fmt == "json" else _ask(result.value, fmt)).encode()
        )
        return
    variables, rows = result.variables, result.rows
    if fmt in ("table", "md"):
        materialized = SelectResult(variables, list(rows))
        table = _table(materialized, width, iris) if fmt == "table" else _markdown(materialized, iris)
        out.write(table.encode("utf-8"))
        return
    writer = {
        "csv": _csv_rows,
        "tsv": _tsv_rows,
        "json": _compact_json_rows if compact else _json_rows,
        "xml": _xml_rows,
    }[fmt]
    if spreadsheet_safe and fmt in ("csv", "tsv"):
        writer = _csv_rows_safe if fmt == "csv" else _tsv_rows_safe
    for chunk in writer(variables, rows, raw):
        out.write(chunk.encode("utf-8"))


def _ask(value: bool, fmt: str) -> str:
    word = "true" if value else "false"
    if fmt == "json":
        return '{\n  "head": {},\n  "boolean": ' + word + "\n}\n"
    if fmt == "xml":
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'
            f"  <head/>\n  <boolean>{word}</boolean>\n</sparql>\n"
        )
    if fmt == "csv":
        return f"boolean\r\n{word}\r\n"
    if fmt == "tsv":
        return f"?boolean\n{word}\n"
    if fmt == "md":
        return f"| boolean |\n|---|\n| {word} |\n"
    return ("yes" if value else "no") + "\n"


def _json_rows(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    import json

    head = json.dumps({"vars": variables}, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    yield f'{{\n  "head": {head},\n  "results": {{\n    "bindings": ['
    first = True
    for row in rows:
        binding: dict[str, dict[str, str]] = {}
        for var, term in zip(variables, row, strict=True):
            if term is None:
                continue
            entry = {"type": term.kind, "value": term.value}
            if term.lang:
                entry["xml:lang"] = term.lang
            elif term.datatype:
                entry["datatype"] = term.datatype
            binding[var] = entry
        text = json.dumps(binding, indent=2, ensure_ascii=False).replace("\n", "\n      ")
        yield ("\n      " if first else ",\n      ") + text
        first = False
    yield "]\n  }\n}\n" if first else "\n    ]\n  }\n}\n"


def _compact_json_rows(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    """SPARQL 1.1 JSON results without white space, written term by term (no dictionary per row)."""
    from json.encoder import encode_basestring  # the C encoder: escapes quotes, backslashes, control characters

    keys = [encode_basestring(v) + ':{"type":' for v in variables]
    yield '{"head":{"vars":[' + ",".join(encode_basestring(v) for v in variables) + ']},"results":{"bindings":['
    separator = ""
    for row in rows:
        parts = []
        for key, term in zip(keys, row, strict=True):
            if term is None:
                continue
            entry = key + encode_basestring(term.kind) + ',"value":' + encode_basestring(term.value)
            if term.lang:
                entry += ',"xml:lang":' + encode_basestring(term.lang)
            elif term.datatype:
                entry += ',"datatype":' + encode_basestring(term.datatype)
            parts.append(entry + "}")
        yield separator + "{" + ",".join(parts) + "}"
        separator = ","
    yield "]}}\n"


#: How compact SPARQL JSON results (pyoxigraph's, and ``_compact_json_rows``'s) begin.
_JSON_HEAD = b'{"head":{"vars":['


def json_boundaries(text: bytes | bytearray, start: int = 0, end: int | None = None) -> int:
    """How many row boundaries of compact SPARQL JSON results begin in ``text[start:end - 1]`` (``end`` is
    exclusive; the last byte is only looked at): each is counted once when text is scanned in consecutive
    pieces overlapping by four bytes (``start`` of the next piece is ``end - 4`` of this one).

    A boundary reads ``},{"``, then the first letter of a variable's name. A string holds a quote only
    escaped (after a backslash), so the same four bytes occur elsewhere only where a string's text ends with
    ``},{``, and its closing quote is then followed by ``,`` or ``}``, never by a name's letter. Rows that bind
    nothing (``{}``) are not counted: see ``json_rows``."""
    end = len(text) if end is None else end
    return text.count(b'},{"', start, end - 1) - text.count(b'},{",', start, end) - text.count(b'},{"}', start, end)


def json_rows(body: bytes | bytearray, boundaries: int | None = None) -> int | None:
    """How many rows compact SPARQL JSON results (pyoxigraph's, or ``_compact_json_rows``'s) hold, counted
    without parsing them (``json_boundaries``, unless the caller counted them as the text was written); None
    where the text is not in that form, or where ``{}`` occurs at all (a row that binds nothing, or a string):
    then parse it."""
    marker = b']},"results":{"bindings":['
    start = body.find(marker)
    if not body.startswith(_JSON_HEAD) or start < 0 or not body.rstrip().endswith(b"]}}") or b"{}" in body:
        return None
    start += len(marker)
    if body[start:].rstrip() == b"]}}":
        return 0
    return (json_boundaries(body, start) if boundaries is None else boundaries) + 1


def _xml_rows(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    from xml.sax.saxutils import escape, quoteattr

    yield '<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'
    yield "  <head>\n" + "".join(f"    <variable name={quoteattr(v)}/>\n" for v in variables) + "  </head>\n"
    yield "  <results>\n"
    for row in rows:
        out = ["    <result>\n"]
        for var, term in zip(variables, row, strict=True):
            if term is None:
                continue
            if term.kind == "uri":
                inner = f"<uri>{escape(term.value)}</uri>"
            elif term.kind == "bnode":
                inner = f"<bnode>{escape(term.value)}</bnode>"
            elif term.lang:
                inner = f"<literal xml:lang={quoteattr(term.lang)}>{escape(term.value)}</literal>"
            elif term.datatype:
                inner = f"<literal datatype={quoteattr(term.datatype)}>{escape(term.value)}</literal>"
            else:
                inner = f"<literal>{escape(term.value)}</literal>"
            out.append(f"      <binding name={quoteattr(var)}>{inner}</binding>\n")
        out.append("    </result>\n")
        yield "".join(out)
    yield "  </results>\n</sparql>\n"


def _csv_rows(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow(["" if t is None else (f"_:{t.value}" if t.kind == "bnode" else t.value) for t in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _csv_rows_safe(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    from amurkg.output import spreadsheet_cell

    return _csv_rows(variables, (tuple(_neutralised(t, spreadsheet_cell) for t in row) for row in rows), raw)


def _tsv_rows_safe(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    from amurkg.output import spreadsheet_cell

    if raw:  # terms in N-Triples syntax: literals are quoted and IRIs bracketed, so no cell starts a formula
        return _tsv_rows(variables, rows, raw)
    return _tsv_rows(variables, (tuple(_neutralised(t, spreadsheet_cell, True) for t in row) for row in rows), raw)


def _neutralised(term: Term | None, safe: Any, display: bool = False) -> Term | None:
    """A term whose written form (its value, or with ``display`` its display form) a spreadsheet reads as
    text; an IRI shown compacted is rewritten as a literal of its display form."""
    if term is None:
        return None
    if display and term.kind == "uri":
        shown = term.display()
        cell = safe(shown)
        return term if cell == shown else Term.literal(cell)
    text = f"_:{term.value}" if term.kind == "bnode" else term.value
    cell = safe(text)
    if cell == text:
        return term
    return Term("literal", cell, term.datatype, term.lang)


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _tsv_rows(variables: list[str], rows: Iterable[Row], raw: bool) -> Iterator[str]:
    if raw:
        yield "\t".join(f"?{v}" for v in variables) + "\n"
        for row in rows:
            yield "\t".join("" if t is None else t.n3() for t in row) + "\n"
        return
    yield "\t".join(variables) + "\n"
    for row in rows:
        yield "\t".join("" if t is None else t.display().translate(_TSV_ESCAPES) for t in row) + "\n"


def _cells(result: SelectResult, iris: bool = False) -> list[list[str]]:
    from amurkg.output import terminal_safe

    shown = _full if iris else _short
    return [["" if t is None else terminal_safe(shown(t).replace("\n", " ")) for t in row] for row in result.rows]


def _full(term: Term) -> str:
    return term.value if term.kind == "uri" else term.display()


def _short(term: Term) -> str:
    """How a person's table shows a term: an IRI by its prefixed name, or, where the name after a known prefix
    has slashes (``survey:my-survey/deployment/D1``, the package ID and the record's), prefix and path; only
    IRIs outside every known namespace stay whole."""
    shown = term.display()
    if term.kind != "uri" or not shown.startswith("<"):
        return shown
    from amurkg.namespaces import PREFIXES

    best = max(
        ((p, ns) for p, ns in PREFIXES.items() if term.value.startswith(ns) and len(term.value) > len(ns)),
        key=lambda pn: len(pn[1]),
        default=None,
    )
    return shown if best is None else f"{best[0]}:{term.value[len(best[1]) :]}"


def fit_widths(natural: list[int], minimum: list[int], width: int, gap: int = 2) -> list[int]:
    """Column widths that fit ``width`` characters: the widest column is narrowed first, none below its
    minimum (so a very narrow terminal still gets every column, wrapped by the terminal)."""
    widths = list(natural)
    excess = sum(widths) + gap * (len(widths) - 1) - width
    while excess > 0:
        candidates = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        others = [w for i, w in enumerate(widths) if i != widest and w > minimum[i]]
        step = max(1, min(excess, widths[widest] - max(max(others, default=0), minimum[widest])))
        widths[widest] -= step
        excess -= step
    return widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _table(result: SelectResult, width: int | None = None, iris: bool = False) -> str:
    header = result.variables
    cells = _cells(result, iris)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    if width:
        widths = fit_widths(widths, [min(w, max(len(h), 8)) for w, h in zip(widths, header, strict=True)], width)

    def line(values: list[str]) -> str:
        return "  ".join(_cut(v, w).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    count = len(cells)
    out.append(f"({count} row{'s' if count != 1 else ''})")
    return "\n".join(out) + "\n"


def _markdown(result: SelectResult, iris: bool = False) -> str:
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    out = ["| " + " | ".join(result.variables) + " |", "|" + "---|" * len(result.variables)]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in _cells(result, iris)]
    return "\n".join(out) + "\n"


#: RDF formats for CONSTRUCT and DESCRIBE answers (written by pyoxigraph, with amurkg's prefixes).
GRAPH_FORMATS = ("ttl", "nt", "nq", "trig", "jsonld", "xml")


def format_graph(result: GraphResult, fmt: str = "ttl") -> bytes:
    """Serialise a CONSTRUCT or DESCRIBE answer; triples are sorted so output is stable."""
    import pyoxigraph as ox

    from amurkg.namespaces import PREFIXES

    formats = {
        "ttl": ox.RdfFormat.TURTLE,
        "nt": ox.RdfFormat.N_TRIPLES,
        "nq": ox.RdfFormat.N_QUADS,
        "trig": ox.RdfFormat.TRIG,
        "jsonld": ox.RdfFormat.JSON_LD,
        "xml": ox.RdfFormat.RDF_XML,
    }
    if fmt not in formats:
        raise FormatError(f"unknown RDF format {fmt!r}: use one of {', '.join(GRAPH_FORMATS)}")

    def node(term: Term) -> Any:
        if term.kind == "uri":
            return ox.NamedNode(term.value)
        if term.kind == "bnode":
            return ox.BlankNode(term.value)
        if term.lang:
            return ox.Literal(term.value, language=term.lang)
        if term.datatype:
            return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
        return ox.Literal(term.value)

    triples = [ox.Triple(node(s), node(p), node(o)) for s, p, o in sorted(set(result.triples))]
    prefixes = PREFIXES if fmt in ("ttl", "trig", "xml", "jsonld") else None
    data = ox.serialize(triples, format=formats[fmt], prefixes=prefixes)
    assert data is not None
    return data
