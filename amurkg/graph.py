"""The knowledge graph as a Python object: the shipped ontology and data, plus any user files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amurkg.catalog import FILTER_NAMES, CannedQuery, Parameter, get_query
from amurkg.engines import Engine, make_engine
from amurkg.errors import EntityNotFoundError, ParameterError, did_you_mean
from amurkg.namespaces import AMUR, expand
from amurkg.params import check_text, is_iri, parse_decimal, parse_integer, parse_iri, parse_string, shown
from amurkg.rdfio import RdfSource, read_rdf
from amurkg.resources import shipped_files
from amurkg.results import Answer, AskResult, QueryResult, SelectResult, SelectStream, Term, materialize
from amurkg.sparql import Binding, CheckedQuery, bind_terms, check_query

if TYPE_CHECKING:
    from amurkg import quick

_LABELS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT DISTINCT ?entity ?name WHERE {
  {
    ?entity rdfs:label|skos:altLabel ?name .
  } UNION {
    # a scientific name names a taxon; on an observation it says what was seen (a million of them in a
    # survey): start from the taxon classes, not from every record that carries a name
    { SELECT DISTINCT ?class WHERE { ?class rdfs:subClassOf* dwc:Taxon } }
    ?entity rdf:type ?class ; dwc:scientificName ?name .
  }
  FILTER(isIRI(?entity))
}
"""
_EXISTS = "ASK { { ?entity ?p ?o } UNION { ?s ?p ?entity } }"


class MissingEntailmentsWarning(UserWarning):
    """A query that needs reasoning was sent to a store that holds no entailments."""


class KnowledgeGraph:
    """The Amur leopard graph, loaded into a query engine, with optional user RDF layered on top.

    >>> kg = KnowledgeGraph()
    >>> kg.run("conservation-status").as_dicts()[0]["code"]
    'CR'
    """

    def __init__(
        self,
        data: Iterable[Path | str] = (),
        engine: str = "oxigraph",
        reason: bool = False,
        store: Path | str | None = None,
    ) -> None:
        """``store`` opens an on-disk store (``amurkg import``) read-only, instead of loading the shipped
        graph into memory; ``data`` cannot be layered on it."""
        from amurkg.progress import step

        if store is not None:
            from amurkg.engines import StoreEngine

            data = list(data)
            if data:
                from amurkg.errors import AmurkgError

                raise AmurkgError("{opt:data} and {opt:store} cannot be combined: import the files into the store")
            if engine != "oxigraph":
                from amurkg.errors import AmurkgError

                raise AmurkgError(f"a store is answered by oxigraph, not {engine!r}: drop the engine choice")
            self.engine: Engine = StoreEngine(store)
        else:
            self.engine = make_engine(engine)
        self.user_sources: list[RdfSource] = [read_rdf(Path(p)) for p in data]
        self.engine.load_shipped(shipped_files())
        if self.user_sources:  # the shipped graph loads in milliseconds: no status line claims "your data"
            with step("loading your data") as status:
                for number, source in enumerate(self.user_sources, 1):
                    status.update(f"loading {source.path.name} ({number} of {len(self.user_sources)})")
                    self.engine.load_source(source)
        self._names: list[tuple[Term, str]] | None = None
        #: Whether every query sees the OWL RL closure (``reason=True``, or after ``apply_reasoning()``).
        #: Otherwise only canned queries that declare ``# reasoning: owl-rl`` see it, and later calls do not.
        self.reasoned = False
        if reason:
            self.apply_reasoning()

    @classmethod
    def remote(cls, url: str, timeout: float = 30.0, graph: str | None = None) -> KnowledgeGraph:
        """The same API over a remote SPARQL endpoint (canned queries, parameters, describe).

        The store answers from what it holds: push the full graph (``amurkg push --reason``) for queries
        that need inference.
        """
        from amurkg.remote import RemoteEngine, check_iri

        if graph is not None:
            check_iri(graph, "graph")
        kg = cls.__new__(cls)
        kg.engine = RemoteEngine(url, timeout, graph)
        kg.user_sources = []
        kg._names = None
        kg.reasoned = True  # whatever entailments the store holds are its own
        return kg

    def close(self) -> None:
        """Release an on-disk store (its lock, so that an import may write it); other graphs need no closing."""
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> KnowledgeGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply_reasoning(self) -> None:
        """From now on, let every query see what OWL RL entails (superclasses, inverses, transitive
        containment...). Entailments live in named graphs of their own, claim no source span, and lead to the
        asserted facts they rest on through their derivations. ``len()`` still counts asserted triples."""
        self._ensure_closure(derivations=True)
        self.reasoned = True

    def _ensure_closure(self, derivations: bool = False) -> None:
        from amurkg.progress import step

        with step("computing what OWL RL entails"):
            self.engine.reason(derivations)

    def __len__(self) -> int:
        """The number of triples loaded."""
        return len(self.engine)

    def __repr__(self) -> str:
        if self.engine.name == "remote":
            return f"<KnowledgeGraph at {getattr(self.engine, 'url', '?')} (a remote SPARQL endpoint)>"
        files = len(self.user_sources)
        mine = f" + {files} file{'s' if files != 1 else ''} of your data" if files else ""
        reasoning = "with OWL RL entailments" if self.reasoned else "asserted triples only"
        what = f"{len(self):,} triples (the Amur leopard graph{mine})"
        return f"<KnowledgeGraph: {what}, {reasoning}, on {self.engine.name}>"

    # ------------------------------------------------------------------------------ querying

    def query(
        self,
        text: str,
        bindings: Mapping[str, Binding] | None = None,
        where: str = "query",
        *,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run a read-only SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE) and read the whole answer.

        ``bindings`` pre-binds variables to terms; ``where`` names the query's origin in errors;
        ``max_rows`` stops an answer that grows past that many rows (or triples) with ``LimitError``.
        Updates, SERVICE, LOAD and FROM are refused before the engine sees the query.
        """
        return materialize(self.stream(text, bindings, where), where, max_rows)

    def stream(self, text: str, bindings: Mapping[str, Binding] | None = None, where: str = "query") -> Answer:
        """Like ``query``, but rows (or triples) are computed as they are read: for answers of any size."""
        return self.execute(self.check(text, bindings, where), where)

    def _stream_reasoned(
        self, text: str, bindings: Mapping[str, Binding], where: str, derivations: bool = False
    ) -> Answer:
        """A query that needs the closure, whatever ``reasoned`` says; later calls are not changed by it."""
        self._ensure_closure(derivations)
        return self.engine.execute(self.check(text, bindings, where), where, reasoned=True)

    def check(self, text: str, bindings: Mapping[str, Binding] | None = None, where: str = "query") -> CheckedQuery:
        """Bind parameters and check the result as this graph's engine will read it (see ``amurkg.sparql``);
        the returned query's form tells what kind of answer it will give."""
        bound_text, bound = bind_terms(text, bindings or {}, self.engine.dialect)
        return check_query(bound_text, where, self.engine.dialect)._replace(bound=bound)

    def execute(self, checked: CheckedQuery, where: str = "query") -> Answer:
        """Start answering a query that ``check`` returned."""
        return self.engine.execute(checked, where, reasoned=self.reasoned)

    def write_json(self, checked: CheckedQuery, out: Any, where: str = "query") -> bool:
        """Write a SELECT answer as compact SPARQL 1.1 JSON results into the binary file ``out`` with the engine's
        own serializer, where it has one (pyoxigraph: no row becomes a Python object; ``amurkg serve`` answers
        this way). False, with nothing written, where it cannot: then ``execute``."""
        writer = getattr(self.engine, "write_json", None)
        return writer is not None and bool(writer(checked, where, out, reasoned=self.reasoned))

    def run(self, name: str, params: Mapping[str, str] | None = None, *, max_rows: int | None = None) -> QueryResult:
        """Run a canned query by name, with parameter values given as text (as on the command line)."""
        return materialize(self.run_stream(name, params), name, max_rows)

    def run_stream(self, name: str, params: Mapping[str, str] | None = None) -> Answer:
        """Like ``run``, with the answer computed as it is read."""
        canned = get_query(name)
        bindings = self.bind_parameters(canned, params or {})
        if canned.reasoning and self.engine.name == "remote":
            self._warn_without_entailments(canned.name)
        if canned.reasoning:
            needs = "akg:Entailment" in canned.text  # queries about derivations need their records
            return self._stream_reasoned(canned.text, bindings, str(canned.path), derivations=needs)
        # a filter the counts computed at import cannot answer (a date range): the text that counts detections
        text, path = canned.text_for(params or {})
        if path == canned.path and canned.detailed is not None:
            # the counts are of animals, time-lapse images left out: their text has no such variables
            bindings.pop("observationType", None)
            bindings.pop("timeLapse", None)
        if self.engine.name == "store":
            key = canned.name if path == canned.path else f"{path.parent.name}/{path.stem}"
            return self._stream_from_store(key, text, bindings, str(path))
        return self.stream(text, bindings, where=str(path))

    def _stream_from_store(self, name: str, text: str, bindings: Mapping[str, Binding], where: str) -> Answer:
        """A canned query on a store: its answer as kept since the store last changed (``amurkg.answers``), else
        from the detection series computed at import where they can say it (``amurkg.quick``), else from the
        engine; a SELECT answer of a default reader is kept for next time."""
        from amurkg import answers, quick

        checked = self.check(text, bindings, where)
        shelf = self._shelf()
        name_kept: str | None = None
        if shelf is not None and answers.keepable(checked.text):
            name_kept = answers.key(checked.text)
            if (kept := answers.read(shelf.path, name_kept)) is not None:
                return kept
        answer = quick.answer(self, name, bindings, shelf) or self.execute(checked, where)
        if shelf is not None and name_kept is not None and isinstance(answer, SelectStream):
            return answers.keep(shelf.path, name_kept, answer, shelf.locked)
        return answer

    def _shelf(self) -> quick.Shelf | None:
        """Where this reader's store keeps what is computed from it (``amurkg.answers``): only for a default reader
        of a store (no exact coordinates, no reasoning), while keeping is on."""
        from amurkg import answers, quick

        handle = getattr(self.engine, "handle", None)
        if handle is None or not answers.enabled() or self.reasoned or handle.exact_locations:
            return None
        return quick.Shelf(handle.path, lambda: handle.ox is not None)  # open: the reader still holds its lock

    def _warn_without_entailments(self, name: str) -> None:
        """A store answers from what it holds: when it lacks an entailment every full push carries (the
        inverse of "preys on", which only reasoning states), a query that needs reasoning would find less
        than it should, so say so once instead of answering short in silence."""
        import warnings

        probe = self.query(
            "ASK { ?prey <http://purl.obolibrary.org/obo/RO_0002458> ?predator }", where="entailment probe"
        )
        if isinstance(probe, AskResult) and not probe.value:
            warnings.warn(
                f"query {name!r} needs OWL RL entailments, which this store does not hold: its answer may be "
                "short; push the full graph (amurkg push --reason) and query that graph",
                MissingEntailmentsWarning,
                stacklevel=3,
            )

    def bind_parameters(self, canned: CannedQuery, params: Mapping[str, str]) -> dict[str, Binding]:
        """Turn text parameter values into RDF terms, checking names, kinds and required ones; the record
        filters a survey query takes (``catalog.RECORD_FILTERS``) become the terms ``amurkg.selection`` binds."""
        unknown = sorted(set(params) - {p.name for p in canned.parameters})
        if unknown:
            if unknown[0] in FILTER_NAMES:
                raise ParameterError(
                    f"query {canned.name!r} does not take the filter {unknown[0]!r}"
                    + (f"; {canned.filter_hint}" if canned.filter_hint else "")
                    + (f" (its filters: {', '.join(canned.filters)})" if canned.filters else "")
                )
            known = ", ".join(p.name for p in canned.parameters) or "none"
            raise ParameterError(f"query {canned.name!r} has no parameter {unknown[0]!r}; its parameters: {known}")
        bindings: dict[str, Binding] = {}
        given = _given_filters(canned, params)
        if given or {"observationType", "timeLapse"} & set(canned.filters):  # bound to their defaults
            from amurkg.selection import bind_filters

            bindings.update(bind_filters(self, canned.name, given, canned.filters))
        for param in canned.parameters:
            if param.name in canned.filters:
                continue
            value = params.get(param.name, param.default)
            if value is None:
                if param.required:
                    raise ParameterError(
                        f"query {canned.name!r} needs a value for {param.name!r} ({param.description}); "
                        f"give it with -p {param.name}=VALUE"
                    )
                continue
            bindings[param.name] = self._parse_value(canned, param, value)
        return bindings

    def _parse_value(self, canned: CannedQuery, param: Parameter, value: str) -> Term:
        where = f"parameter {param.name!r} of query {canned.name!r}"
        if param.kind == "entity":
            return self.resolve(value, where)
        parser = {"iri": parse_iri, "integer": parse_integer, "decimal": parse_decimal}.get(param.kind, parse_string)
        term = parser(value, where)
        if param.choices and term.value not in param.choices:
            raise ParameterError(
                f"{where}: {shown(value)} is not one of {', '.join(param.choices)}"
                + (f"; {param.description.split('; ', 1)[1]}" if "; " in param.description else "")
            )
        return term

    # ------------------------------------------------------------------------------ entities

    def resolve(self, ref: str, where: str = "entity") -> Term:
        """Find an entity by IRI (``<...>`` or bare), prefixed name, local name in ``amur:``, or label.

        Labels match case-insensitively against rdfs:label, skos:altLabel and dwc:scientificName. Only an
        IRI that occurs in the graph is returned; anything else is an ``EntityNotFoundError``.
        """
        ref = check_text(ref, where).strip()
        candidates: list[str] = []
        if ref.startswith("<") and ref.endswith(">"):
            candidates.append(ref[1:-1])
        else:
            expanded = expand(ref)
            if expanded:
                candidates.append(expanded)
            elif "://" in ref:
                candidates.append(ref)
            if re.fullmatch(r"[\w.-]+", ref):
                candidates.append(AMUR + ref)
        for iri in candidates:
            if not is_iri(iri):
                continue
            term = Term.iri(iri)
            answer = self.query(_EXISTS, {"entity": term}, "resolve")
            if isinstance(answer, AskResult) and answer.value:
                return term
        wanted = ref.casefold()
        matches = sorted({t for t, name in self._all_names() if name.casefold() == wanted})
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(m.display() for m in matches)
            raise EntityNotFoundError(f"{shown(ref)} names several entities ({listed}); give one of these instead")
        names = sorted(
            {name for _, name in self._all_names()}
            | {t.value[len(AMUR) :] for t, _ in self._all_names() if t.value.startswith(AMUR)}
        )
        if self.engine.name == "remote" and not names:
            raise EntityNotFoundError(f"no entity {shown(ref)}: {self._remote_hint()}")
        hint = did_you_mean(ref, names)
        raise EntityNotFoundError(
            f"no entity {shown(ref)} in the graph; {hint}give an IRI, a prefixed name such as amur:wild-boar, "
            "or a label"
        )

    def _remote_hint(self) -> str:
        """Why a remote endpoint knows no names: it queried an empty default graph while amurkg push put the
        graph in a named one (Oxigraph's and Fuseki's default graph is not the union), or it holds nothing."""
        from amurkg.remote import DEFAULT_GRAPH

        graph = getattr(self.engine, "graph", None)
        if graph is None:
            pushed = self.query(f"ASK {{ GRAPH <{DEFAULT_GRAPH}> {{ ?s ?p ?o }} }}", where="probe")
            if isinstance(pushed, AskResult) and pushed.value:
                return (
                    f"the endpoint's default graph holds no labels, but <{DEFAULT_GRAPH}> (where amurkg push puts "
                    f"the graph) does: add {{opt:graph}} {DEFAULT_GRAPH}"
                )
        where = f"the graph <{graph}>" if graph else "the endpoint's default graph"
        return f"{where} holds no labelled entities: push the graph there first (amurkg push), or name another"

    def entity_names(self) -> list[str]:
        """What ``resolve`` accepts besides IRIs: prefixed ``amur:`` names and labels (for completion)."""
        names = {name for _, name in self._all_names()}
        names |= {"amur:" + t.value[len(AMUR) :] for t, _ in self._all_names() if t.value.startswith(AMUR)}
        return sorted(names)

    def _all_names(self) -> list[tuple[Term, str]]:
        if self._names is None:
            answer = self.query(_LABELS, where="labels")
            assert isinstance(answer, SelectResult)
            self._names = [(row[0], row[1].value) for row in answer.rows if row[0] is not None and row[1] is not None]
        return self._names

    def describe(self, ref: str, *, quote: bool = False, sources: Path | str | None = None) -> SelectResult:
        """Everything the graph says about an entity, one row per fact: its direction (``out`` when the entity
        is the subject), property and value with their labels (an incoming fact with the property's inverse
        label), the spans that state it, and whether it was inferred. With ``quote``, also the text of those
        spans, read from the source documents in ``sources`` (or ``$AMURKG_SOURCES``)."""
        from amurkg.report import facts_of

        entity = self.resolve(ref)
        canned = get_query("entity-facts")
        result = self.query(canned.text, {"entity": entity}, where=str(canned.path))
        assert isinstance(result, SelectResult)
        library = None
        if quote:
            from amurkg.documents import Library

            library = Library(self, sources)
        return facts_of(result, entity, library, self.derivation)

    def derivation(self, subject: Term, predicate: Term, obj: Term) -> str:
        """How an inferred triple follows from asserted ones, in one line: the rule, then each asserted triple
        it rests on with its source spans ("prp-inv1 from amur:amur-leopard obo:RO_0002439 amur:wild-boar
        (seed 1921-2031); obo:RO_0002439 owl:inverseOf obo:RO_0002458 (ontology)"). See ``explain``."""
        if obj.kind != "uri" or subject.kind != "uri":
            return ""
        rows = self.explain(subject, predicate, obj).as_text_dicts()
        rules = [r["rule"] for r in rows if r.get("kind") == "inferred" and "rule" in r]
        leaves: dict[str, list[str]] = {}
        for row in rows:
            if row.get("kind") != "asserted":
                continue
            spans = leaves.setdefault(f"{row['s']} {row['p']} {row['o']}", [])
            if "document" in row:
                spans.append(f"{row['document'].split(':', 1)[-1].removeprefix('source-')} {row['start']}-{row['end']}")
        steps = "; ".join(f"{t} ({', '.join(spans) or 'asserted, no span'})" for t, spans in leaves.items())
        return f"{' ← '.join(dict.fromkeys(rules))} from {steps}" if rules else ""

    def explain(self, subject: Term, predicate: Term, obj: Term) -> SelectResult:
        """Every step of the derivation of a triple down to the asserted triples it rests on, with the source
        spans of those that are sourced facts (the ``explain`` canned query)."""
        canned = get_query("explain")
        bindings = {"subject": subject, "predicate": predicate, "object": obj}
        answer = self._stream_reasoned(canned.text, bindings, str(canned.path), derivations=True)
        result = materialize(answer, "explain")
        assert isinstance(result, SelectResult)
        return result

    def stats(self) -> dict[str, int]:
        """Counts of triples, classes, properties, individuals, facts, sourced facts, spans, documents;
        of the individuals linked to each external knowledge base; and of the identifiers the
        reference table confirms that the graph lacks (0 when link coverage is complete)."""
        counts: dict[str, int] = {}
        for name in ("graph-statistics", "link-coverage"):
            result = self.run(name)
            assert isinstance(result, SelectResult) and len(result.rows) == 1
            counts.update({v: int(t.value) for v, t in zip(result.variables, result.rows[0], strict=True) if t})
        missing = self.run("external-id-missing-violation")
        assert isinstance(missing, SelectResult)
        counts["confirmedIdsMissing"] = len(missing.rows)
        return counts


def load(data: Iterable[Path | str] = (), engine: str = "oxigraph", reason: bool = False) -> KnowledgeGraph:
    """Load the shipped graph, plus the user's RDF files, into a query engine (oxigraph or rdflib),
    optionally with the OWL RL closure added (``reason=True``)."""
    return KnowledgeGraph(data, engine, reason)


def _given_filters(canned: CannedQuery, params: Mapping[str, str]) -> dict[str, str]:
    """The record filters of ``params`` the query takes and that have a value (a blank form field is none)."""
    return {name: params[name] for name in canned.filters if name in params and params[name].strip()}
