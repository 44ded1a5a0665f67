"""OWL RL inference for the engines: the closure computed by ``amurkg.reasoner`` on pyoxigraph, kept in named
graphs of its own, apart from the asserted graph.

Inferred triples go to ``https://w3id.org/amurkg/graph/inferred`` and their derivations to
``.../graph/derivations``: queries that ask for reasoning see them (through the union default graph), others
do not, exports can include or leave them out, and no inferred triple claims a source span of its own; it
leads to the asserted facts it rests on through its derivation instead. Blank nodes keep their identity:
the closure is computed on the very terms the engine holds.
"""

from __future__ import annotations

from typing import Any

from amurkg.reasoner import DERIVATIONS_GRAPH, INFERRED_GRAPH, close, derivation_quads

__all__ = ["DERIVATIONS_GRAPH", "INFERRED_GRAPH", "REASONING_GRAPHS", "rdflib_closure"]

#: The graphs reasoning adds.
REASONING_GRAPHS = (INFERRED_GRAPH, DERIVATIONS_GRAPH)


def rdflib_closure(quads: Any) -> list[tuple[Any, Any, Any, Any]]:
    """The closure of rdflib quads ``(s, p, o, graph)``, as rdflib quads in the two reasoning graphs.

    The terms cross to pyoxigraph and back unchanged: a blank node keeps its label both ways, so an inferred
    triple about one names the very node of the asserted graph.
    """
    import pyoxigraph as ox
    import rdflib

    def to_ox(term: Any) -> Any:
        if isinstance(term, rdflib.URIRef):
            return ox.NamedNode(str(term))
        if isinstance(term, rdflib.BNode):
            return ox.BlankNode(str(term))
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))

    def to_rdflib(term: Any) -> Any:
        if isinstance(term, ox.NamedNode):
            return rdflib.URIRef(term.value)
        if isinstance(term, ox.BlankNode):
            return rdflib.BNode(term.value)
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))

    store = ox.Store()
    store.extend([ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o, _ in quads])
    closure = close(store)
    inferred = rdflib.URIRef(INFERRED_GRAPH)
    out = [(to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object), inferred) for t in closure.triples]
    for quad in derivation_quads(closure):
        out.append(
            (
                to_rdflib(quad.subject),
                to_rdflib(quad.predicate),
                to_rdflib(quad.object),
                rdflib.URIRef(DERIVATIONS_GRAPH),
            )
        )
    return out
