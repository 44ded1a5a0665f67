"""OWL RL inference on demand (owlrl), kept apart from the asserted graph.

Inferred triples go to their own named graph, ``https://w3id.org/amurkg/graph/inferred``: queries see
them through the union default graph, exports can include or leave them out, and they never carry
provenance of their own (they are not reified, so no source span is claimed for them).
"""

from __future__ import annotations

from typing import Any

from amurkg.namespaces import GRAPH_BASE
from amurkg.rdfio import RdfSource

INFERRED_GRAPH = GRAPH_BASE + "inferred"
_REFLEXIVE_NOISE = (
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2002/07/owl#equivalentClass",
    "http://www.w3.org/2002/07/owl#equivalentProperty",
    "http://www.w3.org/2000/01/rdf-schema#subClassOf",
    "http://www.w3.org/2000/01/rdf-schema#subPropertyOf",
)


def inferred_graph(user_sources: list[RdfSource]) -> Any:
    """The triples OWL RL entails from the shipped graph plus ``user_sources`` that are not asserted.

    Trivial entailments (every term ``owl:sameAs`` itself, every class its own subclass) are dropped.
    """
    import warnings

    from amurkg.errors import require

    require("owlrl", "reason", "reasoning over your own --data")
    import owlrl
    import rdflib

    from amurkg.engines import rdflib_graph

    base = rdflib_graph(user_sources)
    closure = rdflib.Graph()
    for triple in base:
        closure.add(triple)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # owlrl warns about literals it cannot type-check
        owlrl.DeductiveClosure(
            owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False, datatype_axioms=False
        ).expand(closure)
    inferred = rdflib.Graph()
    for s, p, o in closure:
        if (s, p, o) in base or (s == o and str(p) in _REFLEXIVE_NOISE) or isinstance(s, rdflib.Literal):
            continue  # asserted already, trivial, or not RDF (owlrl types literals as subjects)
        inferred.add((s, p, o))
    return inferred


def inferred_ntriples(user_sources: list[RdfSource]) -> bytes:
    """``inferred_graph`` as N-Triples, sorted, ready for any engine to load."""
    data: bytes = inferred_graph(user_sources).serialize(format="nt", encoding="utf-8")
    return b"\n".join(sorted(line for line in data.splitlines() if line.strip())) + b"\n"
