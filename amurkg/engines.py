"""Query engines behind the graph: pyoxigraph (default, fast to import and query) and rdflib.

Each engine loads the same files and converts its answers into ``amurkg.results`` terms, so callers
never see engine-specific objects. rdflib is imported only when its engine is chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from amurkg.errors import AmurkgError, DataFileError
from amurkg.rdfio import RdfSource, parse_error
from amurkg.results import AskResult, GraphResult, QueryResult, SelectResult, Term
from amurkg.sparql import syntax_error

if TYPE_CHECKING:
    import pyoxigraph

ENGINES = ("oxigraph", "rdflib")


class Engine(Protocol):
    """What the knowledge graph needs from a query engine."""

    name: str

    def load_shipped(self, paths: list[Path]) -> None:
        """Load the shipped Turtle files (known to be valid)."""

    def load_source(self, source: RdfSource) -> None:
        """Load a user's file that ``amurkg.rdfio.read_rdf`` has read and checked."""

    def load_graph(self, ntriples: bytes, graph: str) -> None:
        """Load N-Triples into a named graph (used for inferred triples)."""

    def query(self, text: str, where: str) -> QueryResult:
        """Answer a read-only query that ``amurkg.sparql.inspect_query`` has already checked."""

    def __len__(self) -> int:
        """Number of triples (quads) loaded."""


def make_engine(name: str) -> Engine:
    """Create an empty engine by name (``oxigraph`` or ``rdflib``)."""
    if name == "oxigraph":
        return OxigraphEngine()
    if name == "rdflib":
        return RdflibEngine()
    raise AmurkgError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")


# ---------------------------------------------------------------------------------------- oxigraph


class OxigraphEngine:
    """An in-memory pyoxigraph store; queries see the union of all loaded graphs."""

    name = "oxigraph"
    _FORMATS: ClassVar[dict[str, str]] = {
        "turtle": "TURTLE",
        "ntriples": "N_TRIPLES",
        "nquads": "N_QUADS",
        "trig": "TRIG",
        "xml": "RDF_XML",
        "json-ld": "JSON_LD",
    }

    def __init__(self) -> None:
        import pyoxigraph

        self._ox = pyoxigraph
        self.store = pyoxigraph.Store()

    def load_shipped(self, paths: list[Path]) -> None:
        self.store.load(_shipped_bytes(paths), format=self._ox.RdfFormat.TURTLE)

    def load_source(self, source: RdfSource) -> None:
        fmt = getattr(self._ox.RdfFormat, self._FORMATS[source.format])
        try:
            # Parse into a scratch store first so a file that fails half way adds nothing.
            scratch = self._ox.Store()
            scratch.load(source.text.encode("utf-8"), format=fmt, base_iri=source.base_iri)
        except SyntaxError as exc:
            raise parse_error(source, str(exc.msg if exc.msg else exc), exc.lineno, exc.offset) from None
        except (OSError, ValueError) as exc:
            raise parse_error(source, str(exc)) from None
        self.store.extend(scratch)

    def load_graph(self, ntriples: bytes, graph: str) -> None:
        self.store.load(ntriples, format=self._ox.RdfFormat.N_TRIPLES, to_graph=self._ox.NamedNode(graph))

    def query(self, text: str, where: str) -> QueryResult:
        ox = self._ox
        try:
            answer = self.store.query(text, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise syntax_error(where, str(exc)) from None
        except OSError as exc:
            raise AmurkgError(f"{where}: the query could not be evaluated: {exc}") from None
        if isinstance(answer, ox.QueryBoolean):
            return AskResult(bool(answer))
        if isinstance(answer, ox.QuerySolutions):
            variables = [v.value for v in answer.variables]
            rows = [tuple(self._from_ox(sol[v]) for v in variables) for sol in answer]
            return SelectResult(variables, rows)
        assert isinstance(answer, ox.QueryTriples)
        triples = []
        for t in answer:
            s, p, o = self._from_ox(t.subject), self._from_ox(t.predicate), self._from_ox(t.object)
            assert s is not None and p is not None and o is not None
            triples.append((s, p, o))
        return GraphResult(triples)

    def __len__(self) -> int:
        return len(self.store)

    def _from_ox(self, term: pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.Literal | None) -> Term | None:
        ox = self._ox
        if term is None:
            return None
        if isinstance(term, ox.NamedNode):
            return Term.iri(term.value)
        if isinstance(term, ox.BlankNode):
            return Term("bnode", term.value)
        if isinstance(term, ox.Literal):
            return Term.literal(term.value, term.datatype.value, term.language)
        raise AmurkgError(f"unsupported term in a result: {term!r} (RDF-star triple terms are not supported)")


def _shipped_bytes(paths: list[Path]) -> bytes:
    """The shipped Turtle files as one document: one parser call costs 7 ms where one call per file
    costs 12. The files share their prefixes and use no relative IRIs, so joining them changes nothing."""
    return b"\n".join(path.read_bytes() for path in paths)


# ---------------------------------------------------------------------------------------- rdflib


class RdflibEngine:
    """An rdflib Dataset whose default graph is the union of all loaded graphs."""

    name = "rdflib"

    def __init__(self) -> None:
        import rdflib

        self._rdflib = rdflib
        self.dataset = rdflib.Dataset(default_union=True)

    def load_shipped(self, paths: list[Path]) -> None:
        for path in paths:
            # Pass the text, not the path: rdflib leaves files it opens itself unclosed.
            rdflib_parse(self.dataset, path.read_text(encoding="utf-8"), "turtle", path.resolve().as_uri())

    def load_source(self, source: RdfSource) -> None:
        rdflib = self._rdflib
        scratch = rdflib.Dataset()
        try:
            rdflib_parse(scratch, source.text, source.format, source.base_iri)
        except Exception as exc:  # rdflib's parsers raise many unrelated types; each becomes one line
            raise _rdflib_parse_error(source, exc) from None
        for quad in scratch.quads((None, None, None, None)):
            self.dataset.add(quad)

    def load_graph(self, ntriples: bytes, graph: str) -> None:
        target = self.dataset.graph(self._rdflib.URIRef(graph))
        target.parse(data=ntriples.decode("utf-8"), format="nt")

    def query(self, text: str, where: str) -> QueryResult:
        import warnings

        from pyparsing import ParseException

        with warnings.catch_warnings():
            # rdflib's own SPARQL evaluation over a Dataset still calls its deprecated default_context
            # (lazily, while results are read), so the whole evaluation runs under this filter.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                return self._evaluate(text)
            except ParseException as exc:
                raise syntax_error(where, exc.msg, exc.lineno, exc.col) from None
            except AmurkgError:
                raise
            except Exception as exc:  # evaluation errors surface as assorted types
                raise AmurkgError(f"{where}: the query could not be evaluated by rdflib: {exc}") from None

    def _evaluate(self, text: str) -> QueryResult:
        answer = self.dataset.query(text)
        if answer.type == "ASK":
            return AskResult(bool(answer.askAnswer))
        if answer.type == "SELECT":
            variables = [str(v) for v in answer.vars or []]
            rows = []
            for row in answer:
                assert isinstance(row, self._rdflib.query.ResultRow)
                rows.append(tuple(self._from_rdflib(row[i]) for i in range(len(variables))))
            return SelectResult(variables, rows)
        assert answer.graph is not None
        triples = []
        for s, p, o in answer.graph:
            ts, tp, to = self._from_rdflib(s), self._from_rdflib(p), self._from_rdflib(o)
            assert ts is not None and tp is not None and to is not None
            triples.append((ts, tp, to))
        return GraphResult(triples)

    def __len__(self) -> int:
        return sum(1 for _ in self.dataset.quads((None, None, None, None)))

    def _from_rdflib(self, term: Any) -> Term | None:
        rdflib = self._rdflib
        if term is None:
            return None
        if isinstance(term, rdflib.URIRef):
            return Term.iri(str(term))
        if isinstance(term, rdflib.BNode):
            return Term("bnode", str(term))
        if isinstance(term, rdflib.Literal):
            return Term.literal(str(term), str(term.datatype) if term.datatype else None, term.language)
        raise AmurkgError(f"unsupported term in a result: {term!r}")


def rdflib_parse(dataset: Any, text: str, fmt: str, base_iri: str) -> None:
    """Parse RDF text into an rdflib Dataset: triples into its default graph, quads into their graphs."""
    import warnings

    with warnings.catch_warnings():
        # rdflib's own parsers (TriG, N-Quads, JSON-LD) still use its deprecated ConjunctiveGraph API
        warnings.simplefilter("ignore", DeprecationWarning)
        if fmt in ("trig", "nquads"):
            dataset.parse(data=text, format=fmt, publicID=base_iri)
        else:
            dataset.default_graph.parse(data=text, format=fmt, publicID=base_iri)


def rdflib_graph(user_sources: list[RdfSource], extra_paths: list[Path] | None = None) -> Any:
    """The shipped ontology and data plus the user's files as one rdflib Graph (all graphs merged)."""
    import rdflib

    from amurkg.resources import shipped_files

    dataset = rdflib.Dataset()
    for path in shipped_files() + list(extra_paths or []):
        rdflib_parse(dataset, path.read_text(encoding="utf-8"), "turtle", path.resolve().as_uri())
    for source in user_sources:
        try:
            rdflib_parse(dataset, source.text, source.format, source.base_iri)
        except Exception as exc:  # rdflib's parsers raise many unrelated types
            raise _rdflib_parse_error(source, exc) from None
    merged = rdflib.Graph()
    for prefix, iri in dataset.namespaces():
        merged.bind(prefix, iri)
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        merged.add((s, p, o))
    return merged


def _rdflib_parse_error(source: RdfSource, exc: Exception) -> DataFileError:
    line = column = None
    message = str(exc)
    argstr, index = getattr(exc, "_str", None), getattr(exc, "_i", None)
    if isinstance(argstr, bytes):
        argstr = argstr.decode("utf-8", "replace")
    if isinstance(argstr, str) and isinstance(index, int):  # notation3 BadSyntax (Turtle, TriG)
        line = argstr.count("\n", 0, index) + 1
        column = index - (argstr.rfind("\n", 0, index) + 1) + 1
        message = getattr(exc, "_why", message)
    elif hasattr(exc, "getLineNumber"):  # SAX errors from RDF/XML
        line, column = exc.getLineNumber(), getattr(exc, "getColumnNumber", lambda: None)()
        message = getattr(exc, "getMessage", lambda: message)()
    return parse_error(source, message or type(exc).__name__, line, column)
