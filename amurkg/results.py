"""Engine-neutral query results and their serialisations.

Both engines (and, later, remote endpoints) convert their answers into these small classes, so every
output format is written by one piece of code and is identical whichever engine answered. JSON, XML,
CSV and TSV follow the W3C SPARQL 1.1 result formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple
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
        """The term in N-Triples syntax, which is also SPARQL syntax: used by TSV and to bind parameters.

        A literal is always exactly one token however it is read: quotes, backslashes and line breaks are
        escaped, other control characters become ``\\U`` escapes, and a ``u`` or ``U`` right after an escaped
        backslash is written ``\\U00000075``/``\\U00000055``, so that rdflib, which expands ``\\u`` escapes
        in the whole query before parsing it, cannot read a different string than pyoxigraph does.
        """
        if self.kind == "uri":
            return f"<{self.value}>"
        if self.kind == "bnode":
            return f"_:{self.value}"
        text = _LITERAL_UNSAFE.sub(_escape, self.value)
        if self.lang:
            return f'"{text}"@{self.lang}'
        if self.datatype:
            return f'"{text}"^^<{self.datatype}>'
        return f'"{text}"'

    def display(self) -> str:
        """A short human form: prefixed name for IRIs, bare value for literals."""
        if self.kind == "uri":
            return compact(self.value)
        if self.kind == "bnode":
            return f"_:{self.value}"
        return self.value


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

    def as_dicts(self) -> list[dict[str, str]]:
        """Rows as dictionaries of display strings, for notebooks and quick checks."""
        return [
            {v: t.display() for v, t in zip(self.variables, row, strict=True) if t is not None} for row in self.rows
        ]

    def as_set(self) -> set[tuple[Term | None, ...]]:
        """Rows as a set, for comparing answers regardless of order."""
        return set(self.rows)


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


def materialize(answer: Answer, where: str, max_rows: int | None = None) -> QueryResult:
    """Read a streamed answer whole; past ``max_rows`` rows (or triples) raise ``LimitError``."""
    from amurkg.errors import LimitError

    if isinstance(answer, AskResult):
        return answer
    items = answer.rows if isinstance(answer, SelectStream) else answer.triples
    read: list[Any] = []
    for item in items:
        if max_rows is not None and len(read) >= max_rows:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            what = "rows" if isinstance(answer, SelectStream) else "triples"
            raise LimitError(
                f"{where}: the answer has more than {max_rows:,} {what}; add LIMIT or narrow the query, "
                "or raise --max-rows"
            )
        read.append(item)
    if isinstance(answer, SelectStream):
        return SelectResult(answer.variables, read)
    return GraphResult(read)


#: Result formats for SELECT and ASK answers.
RESULT_FORMATS = ("table", "csv", "tsv", "json", "xml", "md")


def format_result(result: SelectResult | AskResult, fmt: str) -> str:
    """Serialise a SELECT or ASK result in one of ``RESULT_FORMATS``."""
    writers = {
        "table": _table,
        "csv": _csv,
        "tsv": _tsv,
        "json": _json,
        "xml": _xml,
        "md": _markdown,
    }
    if fmt not in writers:
        raise FormatError(f"unknown result format {fmt!r}: use one of {', '.join(RESULT_FORMATS)}")
    return writers[fmt](result)


def _json(result: SelectResult | AskResult) -> str:
    import json

    if isinstance(result, AskResult):
        return json.dumps({"head": {}, "boolean": result.value}, indent=2) + "\n"
    bindings = []
    for row in result.rows:
        binding: dict[str, dict[str, str]] = {}
        for var, term in zip(result.variables, row, strict=True):
            if term is None:
                continue
            entry = {"type": term.kind, "value": term.value}
            if term.lang:
                entry["xml:lang"] = term.lang
            elif term.datatype:
                entry["datatype"] = term.datatype
            binding[var] = entry
        bindings.append(binding)
    doc = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _xml(result: SelectResult | AskResult) -> str:
    from xml.sax.saxutils import escape, quoteattr

    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if isinstance(result, AskResult):
        out += ["  <head/>", f"  <boolean>{'true' if result.value else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("  <head>")
    out += [f"    <variable name={quoteattr(v)}/>" for v in result.variables]
    out += ["  </head>", "  <results>"]
    for row in result.rows:
        out.append("    <result>")
        for var, term in zip(result.variables, row, strict=True):
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
            out.append(f"      <binding name={quoteattr(var)}>{inner}</binding>")
        out.append("    </result>")
    out += ["  </results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _csv(result: SelectResult | AskResult) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if isinstance(result, AskResult):
        writer.writerow(["boolean"])
        writer.writerow(["true" if result.value else "false"])
        return buf.getvalue()
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow(["" if t is None else (f"_:{t.value}" if t.kind == "bnode" else t.value) for t in row])
    return buf.getvalue()


def _tsv(result: SelectResult | AskResult) -> str:
    if isinstance(result, AskResult):
        return f"?boolean\n{'true' if result.value else 'false'}\n"
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    lines += ["\t".join("" if t is None else t.n3() for t in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _cells(result: SelectResult) -> list[list[str]]:
    return [["" if t is None else t.display().replace("\n", " ") for t in row] for row in result.rows]


def _table(result: SelectResult | AskResult) -> str:
    if isinstance(result, AskResult):
        return ("yes" if result.value else "no") + "\n"
    header = result.variables
    cells = _cells(result)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    count = len(cells)
    out.append(f"({count} row{'s' if count != 1 else ''})")
    return "\n".join(out) + "\n"


def _markdown(result: SelectResult | AskResult) -> str:
    if isinstance(result, AskResult):
        return f"| boolean |\n|---|\n| {'true' if result.value else 'false'} |\n"

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    out = ["| " + " | ".join(result.variables) + " |", "|" + "---|" * len(result.variables)]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in _cells(result)]
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
