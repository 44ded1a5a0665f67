"""Human-facing shapes of library answers: the query list, descriptions and statistics."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from amurkg.catalog import CannedQuery
from amurkg.errors import AmurkgError, DataFileError
from amurkg.results import Row, SelectResult, Term


def queries_table(canned: list[CannedQuery]) -> str:
    """The canned queries as an aligned text list: name, title, parameters."""
    width = max(len(q.name) for q in canned)
    lines = []
    for q in canned:
        params = " ".join(_param_hint(p.name, p.required, p.default) for p in q.parameters)
        lines.append(f"{q.name.ljust(width)}  {q.title}" + (f"  [{params}]" if params else ""))
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
        }
        for q in canned
    ]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def description_table(result: SelectResult) -> SelectResult:
    """Reshape an ``entity-facts`` answer for reading: direction, property, value, source span."""
    index = {v: i for i, v in enumerate(result.variables)}
    rows: list[Row] = []
    for row in result.rows:

        def get(name: str, row: tuple[Term | None, ...] = row) -> Term | None:
            return row[index[name]]

        prop, value = get("property"), get("value")
        plabel, vlabel = get("propertyLabel"), get("valueLabel")
        prop_text = plabel.value if plabel is not None and plabel.value else (prop.display() if prop else "")
        value_text = value.display() if value is not None else ""
        if vlabel is not None and vlabel.value and value is not None and value.kind == "uri":
            value_text = f"{vlabel.value} ({value.display()})"
        doc, start, end = get("document"), get("start"), get("end")
        source = ""
        if doc is not None and start is not None and end is not None:
            source = f"{doc.display().split(':', 1)[-1].removeprefix('source-')} {start.value}-{end.value}"
        direction = get("direction")
        arrow = "→" if direction is not None and direction.value == "out" else "←"
        rows.append((Term.literal(arrow), Term.literal(prop_text), Term.literal(value_text), Term.literal(source)))
    return SelectResult(["dir", "property", "value", "source"], rows)


def stats_text(counts: dict[str, int], as_json: bool) -> str:
    """Graph statistics as aligned lines, or as a JSON object."""
    if as_json:
        return json.dumps(counts, indent=2) + "\n"
    width = max(len(k) for k in counts)
    return "".join(f"{key.ljust(width)}  {value:>7}\n" for key, value in counts.items())


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
