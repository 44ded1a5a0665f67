"""Writing the whole graph (ontology, data, the user's files, and with ``reason`` the closure) in the common
RDF formats, the same bytes on every run, streamed by pyoxigraph.

The layers live in named graphs of one pyoxigraph store: the ontology, the data, each user file (in the graph
of its own IRI, or its own named graphs), and with ``reason`` the inferred triples and their derivations.
TriG and N-Quads keep the layers apart; the triple formats hold their union. Output is deterministic without
sorting: pyoxigraph's store orders its indexes by (fixed) hashes of the terms, and blank nodes, whose labels
a parser invents afresh each run, are first given canonical labels (RDFC-1.0), so the same input always gives
the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, BinaryIO

from amurkg.errors import FormatError
from amurkg.namespaces import GRAPH_BASE, PREFIXES
from amurkg.rdfio import RdfSource
from amurkg.resources import graph_files, ontology_files

#: CLI name -> (pyoxigraph format name, media type); the first is the default.
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "ttl": ("TURTLE", "text/turtle"),
    "nt": ("N_TRIPLES", "application/n-triples"),
    "nq": ("N_QUADS", "application/n-quads"),
    "trig": ("TRIG", "application/trig"),
    "jsonld": ("JSON_LD", "application/ld+json"),
    "xml": ("RDF_XML", "application/rdf+xml"),
}
DATASET_FORMATS = ("nq", "trig")
ONTOLOGY_GRAPH = GRAPH_BASE + "ontology"
DATA_GRAPH = GRAPH_BASE + "data"


def build_store(user_sources: Iterable[RdfSource] = (), reason: bool = False) -> Any:
    """A pyoxigraph store holding the layers (see the module description), blank nodes canonically labelled."""
    import pyoxigraph as ox

    from amurkg.engines import OxigraphEngine
    from amurkg.resources import shipped_turtle

    store = ox.Store()
    for graph, paths in ((ONTOLOGY_GRAPH, ontology_files()), (DATA_GRAPH, graph_files())):
        store.load(shipped_turtle(paths), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(graph))
    engine = OxigraphEngine()
    engine.store = store
    for source in user_sources:
        engine.load_source(source)
    if not reason:
        return canonical(store)
    # reason on canonically labelled blank nodes, so that the derivation records that name them are the same
    # every run; then label the whole again (the new graphs mention those nodes too)
    engine.store = canonical(store)
    engine.reason(derivations=True)
    return canonical(engine.store)


def user_prefixes(user_sources: Iterable[RdfSource]) -> dict[str, str]:
    """The prefixes the user's Turtle and TriG files declare, where they do not clash with amurkg's."""
    import pyoxigraph as ox

    found: dict[str, str] = {}
    for source in user_sources:
        if source.format not in ("turtle", "trig"):
            continue
        with source.open() as stream:
            parser = ox.parse(stream, format=getattr(ox.RdfFormat, source.format.upper()), base_iri=source.base_iri)
            for _ in parser:
                pass
            for prefix, iri in parser.prefixes.items():
                if prefix and prefix not in PREFIXES and iri not in PREFIXES.values():
                    found.setdefault(prefix, iri)
    return found


def canonical(store: Any) -> Any:
    """``store`` with its blank nodes relabelled by RDFC-1.0, in place; quads without blank nodes untouched.

    RDFC-1.0 labels a blank node from the quads that mention it (and, through them, other blank nodes), so
    canonicalising only those quads gives the labels a whole-dataset run would, at the cost of the few
    quads with blank nodes rather than of every quad (at a million triples of user data: a second instead of
    minutes). The relabelled quads are added back in sorted order: a store iterates in the order it was
    filled, and the rest was filled in the fixed order of the files.
    """
    import pyoxigraph as ox

    found = [
        ox.Quad(s["s"], s["p"], s["o"], s["g"]) if s["g"] is not None else ox.Quad(s["s"], s["p"], s["o"])
        for s in store.query(
            "SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } "
            "FILTER(isBlank(?s) || isBlank(?o)) }"
        )
    ]
    if not found:
        return store
    dataset = ox.Dataset(found)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    for quad in found:
        store.remove(quad)
    store.extend(sorted(dataset, key=str))
    return store


_UNION = (
    "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } }"
)


def _triples(store: Any) -> Any:
    """The union of the store's graphs as triples, each once (a triple two layers share is written once),
    in the store's order: DISTINCT keeps the first of each, and the engine does it without Python in the
    loop or a second copy of the store."""
    return store.query(_UNION)


def _shared_triples(store: Any) -> bool:
    """Whether some triple is in two of the store's graphs (the default graph included)."""
    return bool(
        store.query(
            "ASK { { GRAPH ?a { ?s ?p ?o } GRAPH ?b { ?s ?p ?o } FILTER(STR(?a) < STR(?b)) } "
            "UNION { ?s ?p ?o GRAPH ?b { ?s ?p ?o } } }"
        )
    )


def write_graph(out: BinaryIO, fmt: str, store: Any, extra_prefixes: dict[str, str] | None = None) -> None:
    """Serialise ``store`` in ``fmt`` (one of ``EXPORT_FORMATS``) onto ``out``, as it is read."""
    import pyoxigraph as ox

    if fmt not in EXPORT_FORMATS:
        raise FormatError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    rdf_format = getattr(ox.RdfFormat, EXPORT_FORMATS[fmt][0])
    prefixes = {**PREFIXES, **(extra_prefixes or {})} if fmt in ("ttl", "trig", "jsonld", "xml") else None
    if fmt in DATASET_FORMATS:
        ox.serialize(store, out, format=rdf_format, prefixes=prefixes)
    elif fmt in ("nt", "ttl") and not _shared_triples(store):
        # each graph in turn, written by the engine itself: no triple is in two graphs to be written twice
        graphs = [ox.DefaultGraph(), *sorted(store.named_graphs(), key=str)]
        for graph in graphs:
            if next(iter(store.quads_for_pattern(None, None, None, graph)), None) is not None:
                # Turtle: each part declares the prefixes again (allowed), so each reads on its own too
                store.dump(out, format=rdf_format, from_graph=graph, prefixes=prefixes)
    else:
        ox.serialize(_triples(store), out, format=rdf_format, prefixes=prefixes)


def export_graph(fmt: str = "ttl", user_sources: Iterable[RdfSource] = (), reason: bool = False) -> bytes:
    """The whole graph in ``fmt`` as bytes: the base graph (asserted triples), or with ``reason`` the full
    graph (the OWL RL closure and its derivations in graphs of their own in TriG and N-Quads)."""
    if fmt not in EXPORT_FORMATS:
        raise FormatError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    sources = list(user_sources)
    buffer = io.BytesIO()
    write_graph(buffer, fmt, build_store(sources, reason), user_prefixes(sources))
    return buffer.getvalue()


def write_store(out: BinaryIO, fmt: str, handle: Any, reason: bool = False) -> None:
    """Serialise what an on-disk store (``amurkg.store.Store``) shows queries: the curated graph and every
    registered import (with ``reason``, the closure of the curated graph too), as it is read.

    The graphs share no triple (imports are disjoint by construction), so N-Triples and Turtle are the
    store's own serialisation of each graph in turn, done by pyoxigraph without Python in the loop; TriG and
    N-Quads keep each graph's name; JSON-LD and RDF/XML, which cannot be concatenated, stream the triples.
    The output is the same bytes on every run for the same store: pyoxigraph iterates its indexes in a fixed
    order, and a store's blank nodes keep their labels.
    """
    import itertools

    import pyoxigraph as ox

    if fmt not in EXPORT_FORMATS:
        raise FormatError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    rdf_format = getattr(ox.RdfFormat, EXPORT_FORMATS[fmt][0])
    graphs = [ox.NamedNode(g) for g in handle.visible_graphs(reason)]
    store = handle.reader(reason)[0]  # db/, or a view of it with the closure
    if fmt in ("nt", "ttl"):
        for graph in graphs:  # in Turtle, each part declares the prefixes again (allowed)
            store.dump(out, format=rdf_format, from_graph=graph, prefixes=PREFIXES if fmt == "ttl" else None)
        return
    quads = itertools.chain.from_iterable(store.quads_for_pattern(None, None, None, g) for g in graphs)
    items: Iterable[Any] = quads if fmt in DATASET_FORMATS else (q.triple for q in quads)
    prefixes = PREFIXES if fmt in ("trig", "jsonld", "xml") else None
    ox.serialize(items, out, format=rdf_format, prefixes=prefixes)
