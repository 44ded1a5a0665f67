"""SHACL validation of the graph (shipped data plus the user's files) with pySHACL.

Exit codes follow pySHACL: 0 the data conforms, 1 there are violations, 2 the data or the shapes
could not be loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from amurkg.errors import AmurkgError, DataFileError, FormatError
from amurkg.namespaces import compact
from amurkg.rdfio import RdfSource, read_rdf
from amurkg.resources import shapes_file

REPORT_FORMATS = ("text", "json", "ttl")
SH = "http://www.w3.org/ns/shacl#"


class Finding(NamedTuple):
    """One validation result: what is wrong, where, and how badly."""

    severity: str
    focus: str
    focus_label: str | None
    path: str | None
    value: str | None
    message: str
    shape: str | None


class ValidationReport(NamedTuple):
    """The outcome of a validation: whether the data conforms, and each finding."""

    conforms: bool
    findings: list[Finding]
    results_graph: Any

    @property
    def exit_code(self) -> int:
        """0 when the data conforms, 1 when it has violations (pySHACL's convention)."""
        return 0 if self.conforms else 1


def validate(user_sources: list[RdfSource], extra_shapes: list[Path] | None = None) -> ValidationReport:
    """Validate the shipped graph plus ``user_sources`` against the shipped shapes (and ``extra_shapes``)."""
    import warnings

    from amurkg.errors import require

    require("pyshacl", "validate", "amurkg validate")

    import pyshacl
    import rdflib

    from amurkg.engines import rdflib_graph
    from amurkg.offline import offline

    cache = _cache_file() if not user_sources and not extra_shapes else None
    if cache is not None and (cached := _read_cache(cache)) is not None:
        return cached
    data = rdflib_graph(user_sources)
    shapes = rdflib.Graph()
    shapes.parse(data=shapes_file().read_text(encoding="utf-8"), format="turtle")
    for path in extra_shapes or []:
        _parse_shapes(shapes, read_rdf(path))
        check_shape_queries(shapes, str(path))
    with warnings.catch_warnings(), offline(), _translate_each_query_once():
        warnings.simplefilter("ignore", DeprecationWarning)  # raised inside rdflib and pySHACL themselves
        try:
            conforms, results, _ = pyshacl.validate(
                data,
                shacl_graph=shapes,
                inference="none",
                advanced=True,
                # the data graph is our own copy: pySHACL need not clone it, unless SHACL rules would add to it
                inplace=(None, rdflib.URIRef(SH + "rule"), None) not in shapes,
                allow_warnings=True,
                do_owl_imports=False,
                js=False,
            )
        except AmurkgError:
            raise
        except Exception as exc:  # pySHACL reports broken shapes with assorted exception types
            raise AmurkgError(f"the shapes could not be used: {' '.join(str(exc).split())[:300]}") from None
    report = ValidationReport(bool(conforms), _findings(results, data), results)
    if cache is not None:
        _write_cache(cache, report)
    return report


class _Unparsed(str):
    """A query text on its way from rdflib's ``parseQuery`` to ``translateQuery``, parsed only if needed."""


@contextmanager
def _translate_each_query_once() -> Iterator[None]:
    """Let rdflib parse and translate each distinct SPARQL text once while pySHACL validates.

    pySHACL runs a SPARQL-based constraint by calling ``Graph.query(text, initBindings={this: node})`` for
    every focus node, and rdflib parses the text anew each time: with many focus nodes, pyparsing took 80%
    of validation. The translated query does not depend on the bindings and rdflib evaluates a translated
    query without changing it (it is what ``prepareQuery`` hands out for reuse), so the same object answers
    every call. Only how often the text is parsed changes: pySHACL's report is the same, as tests check.
    """
    from rdflib.plugins.sparql import processor

    module: Any = processor  # the names rdflib's SPARQLProcessor.query looks up when it runs
    parse, translate = module.parseQuery, module.translateQuery
    memo: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], Any] = {}

    def defer(text: Any) -> Any:
        return _Unparsed(text) if isinstance(text, str) else parse(text)

    def translate_once(parsed: Any, base: str | None = None, init_ns: Any = None) -> Any:
        if not isinstance(parsed, _Unparsed):
            return translate(parsed, base, init_ns)
        key = (str(parsed), base, tuple(sorted((str(k), str(v)) for k, v in (init_ns or {}).items())))
        if key not in memo:
            memo[key] = translate(parse(str(parsed)), base, init_ns)
        return memo[key]

    module.parseQuery, module.translateQuery = defer, translate_once
    try:
        yield
    finally:
        module.parseQuery, module.translateQuery = parse, translate


def _cache_file() -> Path | None:
    """Where the report on the shipped graph alone is kept: a file named by a digest of everything that
    decides it (the shipped graph and shapes, the versions of amurkg, pySHACL and rdflib), in
    ``AMURKG_CACHE_DIR`` or the user's cache folder. The shipped graph never changes between releases, so
    pySHACL's report on it is computed once; with ``--data`` or ``--shapes``, pySHACL runs every time."""
    import hashlib
    import os
    from importlib.metadata import PackageNotFoundError, version

    from amurkg.resources import shipped_files

    digest = hashlib.sha256()
    for path in [*shipped_files(), shapes_file()]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for package in ("amurkg", "pyshacl", "rdflib"):
        try:
            digest.update(f"{package}={version(package)}".encode())
        except PackageNotFoundError:
            return None
    base = os.environ.get("AMURKG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "amurkg"
    )
    return Path(base) / f"validation-{digest.hexdigest()[:24]}.json"


def _read_cache(path: Path) -> ValidationReport | None:
    import rdflib

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        findings = [Finding(**f) for f in doc["findings"]]
        results = rdflib.Graph().parse(data=doc["results"], format="turtle")
        return ValidationReport(bool(doc["conforms"]), findings, results)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no cache, or one this code cannot read: validate afresh


def _write_cache(path: Path, report: ValidationReport) -> None:
    import os
    import tempfile

    doc = {
        "conforms": report.conforms,
        "findings": [f._asdict() for f in report.findings],
        "results": report.results_graph.serialize(format="turtle"),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".validation-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle)
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only costs the next run its speed


#: SHACL properties whose values are SPARQL that pySHACL runs (SHACL-SPARQL constraints, targets, rules).
SPARQL_PROPERTIES = ("select", "ask", "construct", "update")


def check_shape_queries(shapes: Any, where: str) -> None:
    """Refuse shapes whose SPARQL would reach the network or change data, read as rdflib (which pySHACL runs
    them on) reads it; pySHACL then runs inside ``offline()`` as well."""
    import rdflib

    from amurkg.errors import RefusedQueryError
    from amurkg.sparql import tokens

    for name in SPARQL_PROPERTIES:
        for node, text in shapes.subject_objects(rdflib.URIRef(SH + name)):
            label = f"{where} ({compact(str(node)) if isinstance(node, rdflib.URIRef) else 'a shape'} sh:{name})"
            if name == "update":
                raise RefusedQueryError(f"{label}: SPARQL updates in shapes are refused; validation only reads")
            for tok in tokens(str(text), "rdflib", label):
                if tok.kind == "word" and tok.text.upper() in ("SERVICE", "FROM", "LOAD"):
                    raise RefusedQueryError(
                        f"{label}:{tok.line}:{tok.column}: {tok.text.upper()} is refused in shapes: validation "
                        "never reaches the network"
                    )


def _parse_shapes(shapes: Any, source: RdfSource) -> None:
    from amurkg.engines import _rdflib_parse_error

    try:
        shapes.parse(data=source.text, format=source.format, publicID=source.base_iri)
    except Exception as exc:  # rdflib's parsers raise many unrelated types
        error = _rdflib_parse_error(source, exc)
        raise DataFileError(str(error).replace("does not parse", "(shapes) does not parse")) from None


def _findings(results: Any, data: Any) -> list[Finding]:
    import rdflib

    sh = rdflib.Namespace(SH)
    found = []
    for result in results.subjects(rdflib.RDF.type, sh.ValidationResult):
        focus = results.value(result, sh.focusNode)
        path = results.value(result, sh.resultPath)
        value = results.value(result, sh.value)
        label = data.value(focus, rdflib.RDFS.label)
        severity = results.value(result, sh.resultSeverity)
        found.append(
            Finding(
                severity=str(severity).removeprefix(SH) if severity else "Violation",
                focus=_show(focus),
                focus_label=str(label) if label is not None else None,
                path=_show(path) if isinstance(path, rdflib.URIRef) else (str(path) if path else None),
                value=_show(value) if value is not None else None,
                message=" ".join(str(results.value(result, sh.resultMessage) or "").split()),
                shape=_named(results.value(result, sh.sourceShape)),
            )
        )
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    return sorted(found, key=lambda f: (order.get(f.severity, 3), f.focus, f.path or "", f.message))


def _named(term: Any) -> str | None:
    """A shape's name, or None for an anonymous (blank node) property shape."""
    import rdflib

    return compact(str(term)) if isinstance(term, rdflib.URIRef) else None


def _show(term: Any) -> str:
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return compact(str(term))
    if isinstance(term, rdflib.BNode):
        return "_:" + str(term)
    return str(term)


def format_report(report: ValidationReport, fmt: str = "text") -> str:
    """The report for people (``text``) or programs (``json``, or ``ttl``: the SHACL results graph)."""
    if fmt not in REPORT_FORMATS:
        raise FormatError(f"unknown report format {fmt!r}: use one of {', '.join(REPORT_FORMATS)}")
    if fmt == "ttl":
        text: str = report.results_graph.serialize(format="turtle")
        return text
    if fmt == "json":
        doc = {"conforms": report.conforms, "results": [f._asdict() for f in report.findings]}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if report.conforms and not report.findings:
        return "The graph conforms to the shapes: no violations.\n"
    lines = []
    for f in report.findings:
        who = f"{f.focus_label} ({f.focus})" if f.focus_label else f.focus
        where = f" {f.path}" if f.path else ""
        value = f" = {f.value}" if f.value is not None else ""
        lines.append(f"{f.severity}: {who}{where}{value}: {f.message}")
    violations = sum(1 for f in report.findings if f.severity == "Violation")
    lines.append(
        f"{violations} violation{'s' if violations != 1 else ''}, {len(report.findings) - violations} other result(s)"
    )
    return "\n".join(lines) + "\n"
