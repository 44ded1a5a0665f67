"""Human-facing shapes of library answers: the query list, descriptions and statistics."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from amurkg.catalog import CannedQuery
from amurkg.errors import AmurkgError, DataFileError
from amurkg.results import Row, SelectResult, Term

if TYPE_CHECKING:
    from amurkg.documents import Library


def queries_table(canned: list[CannedQuery], width: int = 100) -> str:
    """The canned queries as a list for reading: name, title, parameters and whether the query applies OWL RL
    reasoning, then the description, wrapped to ``width`` and indented."""
    import textwrap

    names = max(len(q.name) for q in canned)
    lines = []
    for q in canned:
        params = " ".join(_param_hint(p.name, p.required, p.default) for p in q.parameters)
        head = f"{q.name.ljust(names)}  {q.title}" + (f"  [{params}]" if params else "")
        if q.reasoning:
            head += "  (applies OWL RL reasoning)"
        lines.append(head)
        lines += textwrap.wrap(q.description, width=max(width, 40), initial_indent=" " * 4, subsequent_indent=" " * 4)
    lines.append("")
    lines.append("Run one with 'amurkg query NAME [-p KEY=VALUE]'; 'amurkg queries --show NAME' prints its SPARQL.")
    return "\n".join(lines) + "\n"


def _param_hint(name: str, required: bool, default: str | None) -> str:
    if required:
        return f"{name}=…"
    return f"{name}={default}" if default is not None else f"{name}?"


def queries_json(canned: list[CannedQuery]) -> str:
    """The canned queries as JSON, for scripts."""
    doc = [
        {
            "name": q.name,
            "title": q.title,
            "description": q.description,
            "parameters": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "required": p.required,
                    "default": p.default,
                    "description": p.description,
                }
                for p in q.parameters
            ],
            "reasoning": q.reasoning,
        }
        for q in canned
    ]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _source_name(document: Term) -> str:
    return document.display().split(":", 1)[-1].removeprefix("source-")


def facts_of(
    result: SelectResult,
    entity: Term,
    library: Library | None = None,
    derive: Callable[[Term, Term, Term], str] | None = None,
) -> SelectResult:
    """Group an ``entity-facts`` answer (one row per fact and span) into one row per fact, its spans joined
    ("seed 1921-2031; seed 2033-2075 (only together)": whether several spans state it each alone or only
    together); with a library of source documents, their quoted text; and for an
    inferred fact, its derivation (``derive(subject, predicate, object)``) down to the sourced facts."""
    index = {v: i for i, v in enumerate(result.variables)}
    grouped: dict[tuple[Term | None, ...], list[str]] = {}
    quotes: dict[tuple[Term | None, ...], list[str]] = {}
    judged: set[tuple[Term | None, ...]] = set()
    support: dict[tuple[Term | None, ...], str] = {}
    keys = ("direction", "property", "propertyLabel", "value", "valueLabel", "inferred")
    for row in result.rows:
        key = tuple(row[index[k]] for k in keys)
        spans = grouped.setdefault(key, [])
        doc, start, end = row[index["document"]], row[index["start"]], row[index["end"]]
        if "judged" in index and row[index["judged"]] is not None:
            judged.add(key)
        if "support" in index and row[index["support"]] is not None:
            support[key] = row[index["support"]].value  # type: ignore[union-attr]
        if doc is not None and start is not None and end is not None:
            spans.append(f"{_source_name(doc)} {start.value}-{end.value}")
            if library is not None:
                quotes.setdefault(key, []).append(library.quote(doc.value, int(start.value), int(end.value)))
    variables = ["direction", "property", "propertyLabel", "value", "valueLabel", "sources", "inferred"]
    any_inferred = any(k[5] is not None and k[5].value == "true" for k in grouped)
    if derive is not None and any_inferred:
        variables.append("derivation")
    if library is not None:
        variables.append("quote")
    rows: list[Row] = []
    for key, spans in grouped.items():
        direction, prop, plabel, value, vlabel, inferred = key
        cited = "; ".join(spans)
        if len(spans) > 1 and key in support:
            cited += f" ({support[key]})"  # "(each alone)" or "(only together)"
        cited += "; curators' judgement" if key in judged else ""
        cells: list[Term | None] = [direction, prop, plabel, value, vlabel, Term.literal(cited), inferred]
        if "derivation" in variables:
            text = ""
            if inferred is not None and inferred.value == "true" and derive and prop and value:
                s, o = (entity, value) if direction is not None and direction.value == "out" else (value, entity)
                text = derive(s, prop, o)
            cells.append(Term.literal(text))
        if library is not None:
            cells.append(Term.literal(" … ".join(dict.fromkeys(quotes.get(key, [])))))
        rows.append(tuple(cells))
    return SelectResult(variables, rows)


def description_table(result: SelectResult) -> SelectResult:
    """A ``describe`` answer for reading: arrow, property (an incoming one as it reads from this entity's
    side: "← preyed on by"), value with its label, and sources ("inferred" for an entailed fact)."""
    index = {v: i for i, v in enumerate(result.variables)}
    rows: list[Row] = []
    for row in result.rows:

        def get(name: str, row: tuple[Term | None, ...] = row) -> Term | None:
            return row[index[name]] if name in index else None

        prop, value = get("property"), get("value")
        plabel, vlabel = get("propertyLabel"), get("valueLabel")
        prop_text = plabel.value if plabel is not None and plabel.value else (prop.display() if prop else "")
        value_text = value.display() if value is not None else ""
        if vlabel is not None and vlabel.value and value is not None and value.kind == "uri":
            value_text = f"{vlabel.value} ({value.display()})"
        direction = get("direction")
        arrow = "→" if direction is not None and direction.value == "out" else "←"
        inferred, sources, derivation = get("inferred"), get("sources"), get("derivation")
        source = sources.value if sources is not None else ""
        if inferred is not None and inferred.value == "true":
            source = "inferred" + (f" ({derivation.value})" if derivation is not None and derivation.value else "")
        cells = [Term.literal(arrow), Term.literal(prop_text), Term.literal(value_text), Term.literal(source)]
        quote = get("quote")
        if quote is not None:
            cells.append(Term.literal(quote.value))
        rows.append(tuple(cells))
    variables = ["dir", "property", "value", "source"] + (["quote"] if "quote" in index else [])
    return SelectResult(variables, rows)


#: How ``amurkg stats`` shows each count: a section, a label, and what the count is a share of.
STATS_LAYOUT: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    (
        "graph",
        [
            ("triples", "triples", None),
            ("classes", "classes", None),
            ("properties", "properties", None),
            ("individuals", "individuals", None),
            ("taxa", "taxa", None),
            ("places", "places", None),
            ("countries", "countries", None),
        ],
    ),
    (
        "provenance",
        [
            ("facts", "facts (sourced claims)", None),
            ("sourcedFacts", "facts citing a source span", "facts"),
            ("spans", "text spans", None),
            ("documents", "source documents", None),
        ],
    ),
    (
        "links to other knowledge bases",
        [
            ("linkedIndividuals", "individuals with any link", "individuals"),
            ("wikidata", "Wikidata", "individuals"),
            ("ncbiTaxonomy", "NCBI Taxonomy", "taxa"),
            ("gbif", "GBIF", "taxa"),
            ("geonames", "GeoNames", "places"),
            ("iso3166", "ISO 3166", "places"),
            ("envo", "ENVO", None),
            ("iucnCodes", "IUCN classification codes", None),
            ("confirmedIdsMissing", "confirmed identifiers missing", None),
        ],
    ),
]


def stats_text(counts: dict[str, int], as_json: bool) -> str:
    """Graph statistics for reading (sections, labels, shares of a whole), or as a JSON object."""
    if as_json:
        return json.dumps(counts, indent=2) + "\n"
    shown: set[str] = set()
    lines = []
    for section, rows in STATS_LAYOUT:
        lines.append(section)
        for key, label, whole in rows:
            if key not in counts:
                continue
            shown.add(key)
            value = counts[key]
            share = ""
            if whole and counts.get(whole):
                share = f"  ({value / counts[whole]:.0%} of {counts[whole]:,} {whole})"
            lines.append(f"  {label:<32}{value:>8,}{share}")
    rest = [k for k in counts if k not in shown]
    if rest:
        lines.append("other")
        lines += [f"  {key:<32}{counts[key]:>8,}" for key in rest]
    return "\n".join(lines) + "\n"


def read_query_text(query: str | None, file: Path | None) -> tuple[str, str]:
    """The query text and where it came from (for error positions): an argument, stdin or a file.

    Files are checked like every input (a regular file, within the size limit); stdin and files must be
    UTF-8 and at most ``MAX_QUERY_CHARS`` long.
    """
    from amurkg.rdfio import decode_utf8, read_text
    from amurkg.sparql import MAX_QUERY_CHARS

    if query is not None and file is not None:
        raise AmurkgError("give the query either as an argument or with --file, not both")
    if file is not None:
        return read_text(file, "query file"), str(file)
    if query == "-":
        raw = (
            sys.stdin.buffer.read(4 * MAX_QUERY_CHARS + 1)
            if hasattr(sys.stdin, "buffer")
            else sys.stdin.read().encode()
        )
        if len(raw) > 4 * MAX_QUERY_CHARS:
            raise DataFileError(f"stdin: the query is longer than {MAX_QUERY_CHARS:,} characters; shorten it")
        return decode_utf8("stdin", raw.removeprefix(b"\xef\xbb\xbf")), "stdin"
    if query is None or not query.strip():
        raise AmurkgError("no query given: pass the SPARQL text, '-' to read it from stdin, or --file FILE")
    return query, "query"
