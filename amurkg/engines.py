"""Query engines behind the graph: pyoxigraph (default, fast to import and query) and rdflib.

Each engine loads the same files and converts its answers into ``amurkg.results`` terms, so callers
never see engine-specific objects. rdflib is imported only when its engine is chosen.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from amurkg.errors import AmurkgError, DataFileError, QueryEvaluationError, RefusedQueryError
from amurkg.namespaces import PREFIXES
from amurkg.offline import offline
from amurkg.rdfio import RdfSource, parse_error
from amurkg.resources import shipped_turtle
from amurkg.results import Answer, AskResult, GraphStream, Row, SelectStream, Term, iri_once
from amurkg.sparql import CheckedQuery, explain_syntax_error

if TYPE_CHECKING:
    import pyoxigraph

ENGINES = ("oxigraph", "rdflib")


class Engine(Protocol):
    """What the knowledge graph needs from a query engine."""

    name: str
    #: How the engine reads SPARQL text (see ``amurkg.sparql``): the query check reads it the same way.
    dialect: str

    def load_shipped(self, paths: list[Path]) -> None:
        """Load the shipped Turtle files (known to be valid)."""

    def load_source(self, source: RdfSource) -> None:
        """Load a user's file that ``amurkg.rdfio.read_rdf`` has read and checked: its triples into the named
        graph of the file's own IRI (so a query can tell the user's data apart: ``GRAPH ?g``), its quads into
        their own graphs. Queries see them all through the union default graph."""

    def reason(self, derivations: bool = False) -> int:
        """Add the OWL RL closure in its own graph, once (and, when asked, the records of how each entailment
        was derived, in theirs); the number of entailments."""

    def execute(self, checked: CheckedQuery, where: str, reasoned: bool = False) -> Answer:
        """Start answering a query that ``amurkg.sparql.check_query`` passed; rows stream as they are read.
        With ``reasoned``, the query also sees the closure (``reason`` must have run)."""

    def __len__(self) -> int:
        """Number of asserted triples (quads) loaded: entailments are not counted."""


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
    dialect = "oxigraph"
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
        self._entailed: int | None = None
        self._closure: Any = None
        self._derived = False
        self._added = 0

    def load_shipped(self, paths: list[Path]) -> None:
        self.store.load(shipped_turtle(paths), format=self._ox.RdfFormat.TURTLE)

    def load_source(self, source: RdfSource) -> None:
        fmt = getattr(self._ox.RdfFormat, self._FORMATS[source.format])
        before = set(self.store.named_graphs())
        try:
            with source.open() as stream:
                # pyoxigraph's load is transactional: a file that fails half way adds nothing
                if source.format in ("nquads", "trig"):
                    self.store.load(stream, format=fmt, base_iri=source.base_iri)
                else:
                    graph = self._ox.NamedNode(source.base_iri)
                    self.store.load(stream, format=fmt, base_iri=source.base_iri, to_graph=graph)
        except SyntaxError as exc:
            raise parse_error(source, str(exc.msg if exc.msg else exc), exc.lineno, exc.offset) from None
        except (OSError, ValueError) as exc:
            raise parse_error(source, str(exc)) from None
        added = [g for g in self.store.named_graphs() if g not in before]
        self._drop_repeats(sorted(added, key=str), sorted(before, key=str))

    def _drop_repeats(self, added: list[Any], earlier: list[Any]) -> None:
        """Keep each triple once across the graphs queries see as one.

        Queries read the union of all graphs, and Oxigraph's union keeps a triple once per graph that holds
        it, where SPARQL's merge of graphs is a set: a file that repeats the shipped graph (an export, edited
        and loaded back) would make every join match twice and every count double. So a new graph keeps only
        the triples no earlier graph holds. The shipped graph costs one lookup per shipped triple, whatever the
        file's size; only a second file of the user's is compared triple by triple with the first."""
        ox = self._ox
        default = list(self.store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
        for graph in added:
            mirrored = (ox.Quad(d.subject, d.predicate, d.object, graph) for d in default)
            repeats = [q for q in mirrored if q in self.store]
            if earlier:
                repeats += [
                    q
                    for q in self.store.quads_for_pattern(None, None, None, graph)
                    if any(ox.Quad(q.subject, q.predicate, q.object, g) in self.store for g in earlier)
                ]
            for quad in repeats:
                self.store.remove(quad)
            earlier.append(graph)

    def reason(self, derivations: bool = False) -> int:
        from amurkg.reasoner import close, derivation_quads

        before = len(self.store)
        if self._closure is None:
            self._closure = close(self.store)
        if derivations and not self._derived:
            self.store.extend(list(derivation_quads(self._closure)))
            self._derived = True
        self._added += len(self.store) - before
        self._entailed = len(self._closure.triples)
        return self._entailed

    def _dataset(self, reasoned: bool) -> dict[str, Any]:
        """Which graphs a query sees: all of them, or all but the reasoning graphs."""
        if reasoned or self._entailed is None:
            return {"use_default_graph_as_union": True}
        from amurkg.reason import REASONING_GRAPHS

        asserted = [g for g in self.store.named_graphs() if getattr(g, "value", None) not in REASONING_GRAPHS]
        return {"default_graph": [self._ox.DefaultGraph(), *asserted], "named_graphs": asserted}

    def _target(self, reasoned: bool) -> tuple[Any, dict[str, Any]]:
        """The pyoxigraph store a query reads, and its dataset arguments."""
        return self.store, self._dataset(reasoned)

    def execute(self, checked: CheckedQuery, where: str, reasoned: bool = False) -> Answer:
        """Answer in this process, or, for a query that sorts, in a forked child (``amurkg.isolation``): pyoxigraph
        aborts its process on some ORDER BY, and then only the child ends, with one ``EngineFaultError``."""
        from amurkg import isolation

        if isolation.enabled() and isolation.orders(checked.text):
            if checked.form == "SELECT" and (answer := self._sorted_here(checked, where, reasoned)) is not None:
                return answer
            try:
                target = self._target(reasoned)  # here: a store's view is made once, by the process that owns it
            except (OSError, RuntimeError, ValueError) as exc:
                raise QueryEvaluationError(f"{where}: the query could not be evaluated: {_short(exc)}") from None
            return isolation.run_isolated(
                lambda: self._answer(checked, where, self._in_child(target)),
                lambda signo, stderr: self._fault(where, signo, stderr),
            )
        return self._answer(checked, where, None, reasoned)

    def _sorted_here(self, checked: CheckedQuery, where: str, reasoned: bool) -> Answer | None:
        """A SELECT that ends with ORDER BY, answered in this process without it and sorted here as the engine
        would (``amurkg.sorting``): no child to fork. None where only the engine can order it (the caller then
        answers in the child, as before)."""
        from amurkg import sorting

        plan = sorting.plan(checked.text)
        if plan is None:
            return None
        answer = self._answer(checked._replace(text=plan.text), where, None, reasoned)
        if not isinstance(answer, SelectStream) or any(name not in answer.variables for name, _ in plan.keys):
            return None  # ordered by a variable it does not show: known before a row is computed
        rows = list(itertools.islice(answer.rows, sorting.MAX_ROWS + 1))
        if len(rows) > sorting.MAX_ROWS:
            return None
        ordered = sorting.order(answer.variables, rows, plan.keys)
        return None if ordered is None else SelectStream(answer.variables, iter(ordered))

    def _in_child(self, target: tuple[Any, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
        """What a forked child reads: what the parent reads (an in-memory store is shared copy on write; a store's
        database and views are open read-only, so RocksDB does no background work the fork would lose)."""
        return target

    def _fault(self, where: str, signo: int, stderr: str) -> AmurkgError:
        """The error for a child that the engine ended (or that was killed) while answering."""
        import signal

        from amurkg.errors import EngineFaultError

        try:
            name = signal.Signals(signo).name
        except ValueError:
            name = f"signal {signo}"
        retry = (
            "order by STR(?x), by fewer variables, or sort the rows yourself"
            if self.name == "store"
            else "answer it with {opt:engine}, or order by STR(?x) or by fewer variables"
        )
        if signo == getattr(signal, "SIGABRT", None) and "total order" in stderr:
            return EngineFaultError(
                f"{where}: the query engine (pyoxigraph) aborted while ordering the results: it cannot order the "
                f"mixed kinds of values under this ORDER BY; {retry}"
            )
        if signo == getattr(signal, "SIGKILL", None):
            return EngineFaultError(
                f"{where}: the process answering the query was killed (SIGKILL: the system may have run short of "
                "memory); narrow the query, or add LIMIT"
            )
        return EngineFaultError(f"{where}: the query engine (pyoxigraph) stopped on this query ({name}); {retry}")

    def _answer(
        self, checked: CheckedQuery, where: str, target: tuple[Any, dict[str, Any]] | None, reasoned: bool = False
    ) -> Answer:
        ox = self._ox
        try:
            store, dataset = self._target(reasoned) if target is None else target
            answer = store.query(checked.text, prefixes=PREFIXES, **dataset)
        except SyntaxError as exc:
            raise explain_syntax_error(checked.text, where, str(exc)) from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise QueryEvaluationError(f"{where}: the query could not be evaluated: {_short(exc)}") from None
        if isinstance(answer, ox.QueryBoolean):
            return AskResult(bool(answer))
        if isinstance(answer, ox.QuerySolutions):
            variables = [v.value for v in answer.variables]
            return SelectStream(variables, self._solutions(answer, variables, where))
        return GraphStream(self._triples(answer, where))

    def write_json(self, checked: CheckedQuery, where: str, out: Any, reasoned: bool = False) -> bool:
        """Write a SELECT answer as SPARQL 1.1 JSON results with the engine's own serializer, straight into the
        binary file ``out`` (its ``write`` may raise to stop a long answer), in this process: no row becomes a
        Python object. False, with nothing written, where the answer is not a SELECT's, and for a query that
        sorts where the engine is isolated (``execute`` answers it: the engine may abort while ordering)."""
        from amurkg import isolation

        if isolation.enabled() and isolation.orders(checked.text):
            return False
        try:
            store, dataset = self._target(reasoned)
            answer = store.query(checked.text, prefixes=PREFIXES, **dataset)
        except SyntaxError as exc:
            raise explain_syntax_error(checked.text, where, str(exc)) from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise QueryEvaluationError(f"{where}: the query could not be evaluated: {_short(exc)}") from None
        if not isinstance(answer, self._ox.QuerySolutions):
            return False
        try:
            answer.serialize(out, self._ox.QueryResultsFormat.JSON)
        except (OSError, RuntimeError, ValueError) as exc:  # evaluation goes on while the rows are written
            raise QueryEvaluationError(f"{where}: the query could not be evaluated: {_short(exc)}") from None
        return True

    def _solutions(self, answer: Any, variables: list[str], where: str) -> Iterator[Row]:
        convert = self._from_ox
        named: dict[str, Term] = {}  # IRIs repeat across rows (the same taxa, places...): convert once
        named_node = self._ox.NamedNode
        try:
            for solution in answer:  # a solution iterates its values in the order of the variables
                row: list[Term | None] = []
                for term in solution:
                    if type(term) is named_node:
                        row.append(iri_once(named, term.value))
                    else:
                        row.append(convert(term))
                yield tuple(row)
        except (OSError, RuntimeError, ValueError) as exc:
            raise QueryEvaluationError(f"{where}: the query could not be evaluated: {_short(exc)}") from None

    def _triples(self, answer: Any, where: str) -> Iterator[tuple[Term, Term, Term]]:
        convert = self._from_ox
        try:
            for t in answer:
                s, p, o = convert(t.subject), convert(t.predicate), convert(t.object)
                assert s is not None and p is not None and o is not None
                yield (s, p, o)
        except (OSError, RuntimeError, ValueError) as exc:
            raise QueryEvaluationError(f"{where}: the query could not be evaluated: {_short(exc)}") from None

    def __len__(self) -> int:
        return len(self.store) - self._added

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


# ---------------------------------------------------------------------------------------- rdflib


class RdflibEngine:
    """An rdflib Dataset whose default graph is the union of all loaded graphs."""

    name = "rdflib"
    dialect = "rdflib"

    def __init__(self) -> None:
        import rdflib

        self._rdflib = rdflib
        self.dataset = rdflib.Dataset(default_union=True)
        self.full: Any = None  # the dataset with the closure added, once reasoning has run
        self._entailed = 0

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
        own = rdflib.URIRef(source.base_iri)
        default = rdflib.graph.DATASET_DEFAULT_GRAPH_ID
        for s, p, o, g in scratch.quads((None, None, None, None)):
            graph = own if g is None or getattr(g, "identifier", g) == default else g
            self.dataset.graph(graph).add((s, p, o))

    def reason(self, derivations: bool = False) -> int:
        if self.full is None:
            from amurkg.reason import INFERRED_GRAPH, rdflib_closure

            rdflib = self._rdflib
            quads = list(self.dataset.quads((None, None, None, None)))
            self.full = rdflib.Dataset(default_union=True)
            for s, p, o, g in quads:
                self.full.graph(g if g is not None else rdflib.graph.DATASET_DEFAULT_GRAPH_ID).add((s, p, o))
            closure = rdflib_closure(quads)
            for s, p, o, g in closure:
                self.full.graph(g).add((s, p, o))
            self._entailed = sum(1 for q in closure if str(q[3]) == INFERRED_GRAPH)
        return self._entailed

    def execute(self, checked: CheckedQuery, where: str, reasoned: bool = False) -> Answer:
        """Parse with rdflib's own parser, refuse SERVICE and FROM in the algebra rdflib will evaluate (a
        second reading, the engine's, after ``check_query``'s), then evaluate that same algebra offline."""
        prepared = rdflib_prepare(checked, where)
        dataset = self.full if reasoned and self.full is not None else self.dataset
        with _rdflib_evaluation(where):
            answer = dataset.query(prepared)
        if answer.type == "ASK":
            return AskResult(bool(answer.askAnswer))
        if answer.type == "SELECT":
            variables = [str(v) for v in answer.vars or []]
            return SelectStream(variables, self._rows(answer, len(variables), where))
        return GraphStream(self._graph(answer, where))

    def _rows(self, answer: Any, width: int, where: str) -> Iterator[Row]:
        convert = self._from_rdflib
        rows = iter(answer)
        while True:  # evaluation is lazy: each row is computed (and may fail) as it is read
            with _rdflib_evaluation(where):
                row = next(rows, None)
            if row is None:
                return
            yield tuple(convert(row[i]) for i in range(width))

    def _graph(self, answer: Any, where: str) -> Iterator[tuple[Term, Term, Term]]:
        convert = self._from_rdflib
        with _rdflib_evaluation(where):
            graph = answer.graph
        for s, p, o in graph:
            ts, tp, to = convert(s), convert(p), convert(o)
            assert ts is not None and tp is not None and to is not None
            yield (ts, tp, to)

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


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + " …"


@contextmanager
def _rdflib_evaluation(where: str) -> Iterator[None]:
    """Where rdflib evaluates a query: offline, without its own deprecation noise (its SPARQL evaluation
    over a Dataset still calls its deprecated default_context), and with any failure as one line."""
    import warnings

    with warnings.catch_warnings(), offline():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            yield
        except AmurkgError:
            raise
        except Exception as exc:  # evaluation errors surface as assorted types
            raise QueryEvaluationError(f"{where}: the query could not be evaluated by rdflib: {_short(exc)}") from None


def rdflib_prepare(checked: CheckedQuery, where: str) -> Any:
    """rdflib's parse of the checked text, with amurkg's prefixes predeclared; SERVICE and FROM are refused in
    the algebra rdflib would evaluate, whatever spelling reached it."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parsed = parseQuery(checked.text)
        prepared = translateQuery(parsed, base=None, initNs=PREFIXES)
    except ParseException as exc:
        raise explain_syntax_error(checked.text, where, exc.msg, exc.lineno, exc.col) from None
    except Exception as exc:  # unknown prefixes and other translation errors are plain Exceptions
        raise explain_syntax_error(checked.text, where, _short(exc)) from None
    _refuse_in_algebra(prepared.algebra, where)
    if checked.bound:
        _bind_in_algebra(prepared.algebra, {stand_in: _to_rdflib(term) for stand_in, term in checked.bound})
    return prepared


def _to_rdflib(term: Term) -> Any:
    """The rdflib term for an amurkg term, built from its parts (no text is parsed)."""
    import rdflib

    if term.kind == "uri":
        return rdflib.URIRef(term.value)
    if term.kind == "bnode":
        return rdflib.BNode(term.value)
    if term.lang:
        return rdflib.Literal(term.value, lang=term.lang)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype) if term.datatype else None)


def _bind_in_algebra(node: Any, terms: dict[str, Any]) -> None:
    """Put each bound term in place of its stand-in IRI in the rows of the parsed query's VALUES blocks."""
    import rdflib
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "values":
                for row in dict.get(item, "res") or []:
                    for var, value in list(row.items()):
                        if isinstance(value, rdflib.URIRef) and str(value) in terms:
                            row[var] = terms[str(value)]
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _refuse_in_algebra(node: Any, where: str) -> None:
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                raise RefusedQueryError(f"{where}: SERVICE is refused: local queries never reach the network")
            if dict.get(item, "datasetClause"):
                raise RefusedQueryError(f"{where}: FROM is refused: amurkg answers from its own graph only")
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


class InvalidIriError(ValueError):
    """rdflib read an IRI that no RDF syntax allows (a space or a ``|`` written as a ``\\u`` escape)."""

    def __init__(self, iri: str) -> None:
        super().__init__(f'{iri!r} is not a valid IRI (no spaces or any of <>"{{}}|\\^`); percent-encode them')
        self.iri = iri


@contextmanager
def _refusing_invalid_iris() -> Iterator[None]:
    """rdflib accepts an IRI with a character no IRI may hold and logs a warning ("... does not look like a valid
    URI") that Python's last-resort handler prints on stderr, noise for the person at the terminal. Within this
    block its warnings are caught instead, and the first one refuses the file (``InvalidIriError``), as the
    oxigraph engine refuses it."""
    import logging

    found: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if " does not look like a valid URI" in text:
                found.append(text.rsplit(" does not look like a valid URI", 1)[0])

    logger = logging.getLogger("rdflib.term")
    handler, propagate = Catch(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    if found:
        raise InvalidIriError(found[0])


def rdflib_parse(dataset: Any, text: str, fmt: str, base_iri: str) -> None:
    """Parse RDF text into an rdflib Dataset: triples into its default graph, quads into their graphs."""
    import warnings

    with warnings.catch_warnings(), _refusing_invalid_iris():
        # rdflib's own parsers (TriG, N-Quads, JSON-LD) still use its deprecated ConjunctiveGraph API
        warnings.simplefilter("ignore", DeprecationWarning)
        if fmt in ("trig", "nquads"):
            dataset.parse(data=text, format=fmt, publicID=base_iri)
        else:
            dataset.default_graph.parse(data=text, format=fmt, publicID=base_iri)


def rdflib_graph(user_sources: list[RdfSource], extra_paths: list[Path] | None = None) -> Any:
    """The shipped ontology and data plus the user's files as one rdflib Graph (all graphs merged)."""
    import warnings

    import rdflib

    from amurkg.resources import shipped_files

    merged = rdflib.Graph()
    for path in shipped_files() + list(extra_paths or []):
        merged.parse(data=path.read_text(encoding="utf-8"), format="turtle", publicID=path.resolve().as_uri())
    for source in user_sources:
        try:
            if source.format in ("trig", "nquads"):  # named graphs: read as a dataset, then merged
                dataset = rdflib.Dataset()
                rdflib_parse(dataset, source.text, source.format, source.base_iri)
                for prefix, iri in dataset.namespaces():
                    merged.bind(prefix, iri, override=False)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    merged.addN((s, p, o, merged) for s, p, o, _ in dataset.quads((None, None, None, None)))
            else:  # triples straight into the merged graph: no second copy
                rdflib_parse_graph(merged, source.text, source.format, source.base_iri)
        except Exception as exc:  # rdflib's parsers raise many unrelated types
            raise _rdflib_parse_error(source, exc) from None
    return merged


def rdflib_parse_graph(graph: Any, text: str, fmt: str, base_iri: str) -> None:
    """Parse RDF text that holds triples (not quads) into an rdflib Graph."""
    import warnings

    with warnings.catch_warnings(), _refusing_invalid_iris():
        warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's JSON-LD parser uses deprecated APIs
        graph.parse(data=text, format=fmt, publicID=base_iri)


def _rdflib_parse_error(source: RdfSource, exc: Exception) -> DataFileError:
    line = column = None
    message = str(exc)
    if isinstance(exc, InvalidIriError):  # where it is: oxigraph's reading of the same text says
        line, column = _oxigraph_error_place(source)
        return parse_error(source, message, line, column)
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


def _oxigraph_error_place(source: RdfSource) -> tuple[int | None, int | None]:
    """The line and column where pyoxigraph stops reading ``source``, or (None, None) where it reads it all."""
    import pyoxigraph

    fmt = getattr(pyoxigraph.RdfFormat, OxigraphEngine._FORMATS.get(source.format, ""), None)
    if fmt is None:
        return None, None
    try:
        for _ in pyoxigraph.parse(source.text.encode("utf-8"), format=fmt, base_iri=source.base_iri):
            pass
    except SyntaxError as exc:
        return exc.lineno, exc.offset
    except (OSError, ValueError):
        pass
    return None, None


# ---------------------------------------------------------------------------------------- on-disk store


class StoreEngine(OxigraphEngine):
    """An amurkg store on disk (``amurkg.store``), read-only: the curated graph and the imported packages.

    Nothing is loaded when it opens. The OWL RL closure of the curated graph was computed when the store was
    created; imported records are asserted with their own types and are not reasoned over.
    """

    name = "store"

    def __init__(self, path: Path | str) -> None:
        import pyoxigraph

        from amurkg.store import Store

        self._ox = pyoxigraph
        self.handle = Store.open(path)
        self.store = self.handle.ox
        self._entailed = int(self.handle.marker.get("entailments", 0))
        self._closure = None
        self._derived = True
        self._added = 0

    def load_shipped(self, paths: list[Path]) -> None:
        """The store holds the curated graph already."""

    def load_source(self, source: RdfSource) -> None:
        raise AmurkgError(
            f"{source.path}: files cannot be layered on a store: import them (amurkg import) or drop {{opt:store}}"
        )

    def reason(self, derivations: bool = False) -> int:
        return self._entailed or 0

    def _target(self, reasoned: bool) -> tuple[Any, dict[str, Any]]:
        # db/ read as the union of its graphs; a view with the exact coordinates only where the handle opts in
        return self.handle.reader(reasoned)

    def _dataset(self, reasoned: bool) -> dict[str, Any]:
        return self.handle.reader(reasoned)[1]

    def __len__(self) -> int:
        return self.handle.asserted_triples()

    def close(self) -> None:
        self.handle.close()
