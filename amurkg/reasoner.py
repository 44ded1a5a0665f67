"""OWL 2 RL forward chaining on pyoxigraph, recording how each entailment was derived.

Each rule of the OWL 2 RL/RDF rules (W3C, OWL 2 Profiles, section 4.3) that the ontology's constructs
call for is a SPARQL pattern whose answers are the premises of one conclusion; the engine runs every rule,
adds what is new to a named graph, and repeats until nothing is new (a fixpoint). For each entailment it
keeps the rule and the premises of its first derivation, so any inferred triple can be explained down to
the asserted facts it rests on, and from them to their source spans.

Conclusions that are not RDF are not produced either: a literal cannot be a subject, so two values of a
functional datatype property do not make the literals ``owl:sameAs`` (owlrl derives that, and from it
more; the SHACL shapes report the second value instead, as a cardinality violation).

Trivial entailments are not produced: every resource is an ``owl:Thing``, every class a subclass of
itself and of ``owl:Thing``, ``owl:Nothing`` a subclass of everything, every term ``owl:sameAs`` itself,
and the built-in datatypes and annotation properties their declarations. ``tests/test_reasoning.py``
compares the closure with owlrl's (the reference implementation) triple by triple, these excepted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from amurkg.namespaces import GRAPH_BASE, PREFIXES

INFERRED_GRAPH = GRAPH_BASE + "inferred"
DERIVATIONS_GRAPH = GRAPH_BASE + "derivations"
ENTAILMENT_NS = "https://w3id.org/amurkg/id/entailment/"
RDF_TYPE = PREFIXES["rdf"] + "type"


class Rule(NamedTuple):
    """One OWL 2 RL rule: its W3C name, the premises (triple patterns), extra filters, the conclusion."""

    name: str
    premises: tuple[tuple[str, str, str], ...]
    conclusion: tuple[str, str, str]
    where: str = ""


def _r(name: str, premises: str, conclusion: str, where: str = "") -> Rule:
    parts = [p.split() for p in premises.split(" . ") if p.strip()]
    return Rule(name, tuple((a, b, c) for a, b, c in parts), tuple(conclusion.split()), where)  # type: ignore[arg-type]


#: The rules, as premises "s p o . s p o" and a conclusion "s p o"; variables start with ?.
# fmt: off
RULES: tuple[Rule, ...] = (
    # equality (owl:sameAs arises from functional properties)
    _r("eq-sym", "?x owl:sameAs ?y", "?y owl:sameAs ?x"),
    _r("eq-trans", "?x owl:sameAs ?y . ?y owl:sameAs ?z", "?x owl:sameAs ?z"),
    _r("eq-rep-s", "?s owl:sameAs ?t . ?s ?p ?o", "?t ?p ?o"),
    _r("eq-rep-p", "?p owl:sameAs ?q . ?s ?p ?o", "?s ?q ?o"),
    _r("eq-rep-o", "?o owl:sameAs ?t . ?s ?p ?o", "?s ?p ?t"),
    # properties
    _r("prp-dom", "?p rdfs:domain ?c . ?x ?p ?y", "?x rdf:type ?c"),
    _r("prp-rng", "?p rdfs:range ?c . ?x ?p ?y", "?y rdf:type ?c"),
    _r("prp-fp", "?p rdf:type owl:FunctionalProperty . ?x ?p ?y1 . ?x ?p ?y2", "?y1 owl:sameAs ?y2"),
    _r("prp-ifp", "?p rdf:type owl:InverseFunctionalProperty . ?x1 ?p ?y . ?x2 ?p ?y", "?x1 owl:sameAs ?x2"),
    _r("prp-symp", "?p rdf:type owl:SymmetricProperty . ?x ?p ?y", "?y ?p ?x"),
    _r("prp-trp", "?p rdf:type owl:TransitiveProperty . ?x ?p ?y . ?y ?p ?z", "?x ?p ?z"),
    _r("prp-spo1", "?p1 rdfs:subPropertyOf ?p2 . ?x ?p1 ?y", "?x ?p2 ?y"),
    _r(  # property chains of two properties, the only length the ontology uses
        "prp-spo2",
        "?p owl:propertyChainAxiom ?l . ?l rdf:first ?p1 . ?l rdf:rest ?r . ?r rdf:first ?p2 . ?u ?p1 ?v . ?v ?p2 ?w",
        "?u ?p ?w",
        "?r rdf:rest rdf:nil .",
    ),
    _r("prp-eqp1", "?p1 owl:equivalentProperty ?p2 . ?x ?p1 ?y", "?x ?p2 ?y"),
    _r("prp-eqp2", "?p1 owl:equivalentProperty ?p2 . ?x ?p2 ?y", "?x ?p1 ?y"),
    _r("prp-inv1", "?p1 owl:inverseOf ?p2 . ?x ?p1 ?y", "?y ?p2 ?x"),
    _r("prp-inv2", "?p1 owl:inverseOf ?p2 . ?x ?p2 ?y", "?y ?p1 ?x"),
    # class expressions
    _r("cls-svf1", "?x owl:someValuesFrom ?y . ?x owl:onProperty ?p . ?u ?p ?v . ?v rdf:type ?y", "?u rdf:type ?x"),
    _r("cls-svf2", "?x owl:someValuesFrom owl:Thing . ?x owl:onProperty ?p . ?u ?p ?v", "?u rdf:type ?x"),
    _r("cls-avf", "?x owl:allValuesFrom ?y . ?x owl:onProperty ?p . ?u rdf:type ?x . ?u ?p ?v", "?v rdf:type ?y"),
    _r("cls-hv1", "?x owl:hasValue ?y . ?x owl:onProperty ?p . ?u rdf:type ?x", "?u ?p ?y"),
    _r("cls-hv2", "?x owl:hasValue ?y . ?x owl:onProperty ?p . ?u ?p ?y", "?u rdf:type ?x"),
    _r(
        "cls-int1",
        "?c owl:intersectionOf ?l . ?l rdf:first ?c1 . ?y rdf:type ?c1",
        "?y rdf:type ?c",
        "FILTER NOT EXISTS { ?l rdf:rest*/rdf:first ?ci FILTER NOT EXISTS { ?y rdf:type ?ci } }",
    ),
    _r(
        "cls-int2",
        "?c owl:intersectionOf ?l . ?m rdf:first ?ci . ?y rdf:type ?c",
        "?y rdf:type ?ci",
        "?l rdf:rest* ?m .",
    ),
    _r("cls-uni", "?c owl:unionOf ?l . ?m rdf:first ?ci . ?y rdf:type ?ci", "?y rdf:type ?c", "?l rdf:rest* ?m ."),
    # class axioms
    _r("cax-sco", "?c1 rdfs:subClassOf ?c2 . ?x rdf:type ?c1", "?x rdf:type ?c2"),
    _r("cax-eqc1", "?c1 owl:equivalentClass ?c2 . ?x rdf:type ?c1", "?x rdf:type ?c2"),
    _r("cax-eqc2", "?c1 owl:equivalentClass ?c2 . ?x rdf:type ?c2", "?x rdf:type ?c1"),
    # schema
    _r("scm-sco", "?c1 rdfs:subClassOf ?c2 . ?c2 rdfs:subClassOf ?c3", "?c1 rdfs:subClassOf ?c3"),
    _r("scm-eqc1a", "?c1 owl:equivalentClass ?c2", "?c1 rdfs:subClassOf ?c2"),
    _r("scm-eqc1b", "?c1 owl:equivalentClass ?c2", "?c2 rdfs:subClassOf ?c1"),
    _r("scm-eqc2", "?c1 rdfs:subClassOf ?c2 . ?c2 rdfs:subClassOf ?c1", "?c1 owl:equivalentClass ?c2"),
    _r("scm-spo", "?p1 rdfs:subPropertyOf ?p2 . ?p2 rdfs:subPropertyOf ?p3", "?p1 rdfs:subPropertyOf ?p3"),
    _r("scm-eqp1a", "?p1 owl:equivalentProperty ?p2", "?p1 rdfs:subPropertyOf ?p2"),
    _r("scm-eqp1b", "?p1 owl:equivalentProperty ?p2", "?p2 rdfs:subPropertyOf ?p1"),
    _r("scm-eqp2", "?p1 rdfs:subPropertyOf ?p2 . ?p2 rdfs:subPropertyOf ?p1", "?p1 owl:equivalentProperty ?p2"),
    _r("scm-dom1", "?p rdfs:domain ?c1 . ?c1 rdfs:subClassOf ?c2", "?p rdfs:domain ?c2"),
    _r("scm-dom2", "?p2 rdfs:domain ?c . ?p1 rdfs:subPropertyOf ?p2", "?p1 rdfs:domain ?c"),
    _r("scm-rng1", "?p rdfs:range ?c1 . ?c1 rdfs:subClassOf ?c2", "?p rdfs:range ?c2"),
    _r("scm-rng2", "?p2 rdfs:range ?c . ?p1 rdfs:subPropertyOf ?p2", "?p1 rdfs:range ?c"),
    _r(
        "scm-hv",
        "?c1 owl:hasValue ?i . ?c1 owl:onProperty ?p1 . ?c2 owl:hasValue ?i . ?c2 owl:onProperty ?p2 . "
        "?p1 rdfs:subPropertyOf ?p2",
        "?c1 rdfs:subClassOf ?c2",
    ),
    _r(
        "scm-svf1",
        "?c1 owl:someValuesFrom ?y1 . ?c1 owl:onProperty ?p . ?c2 owl:someValuesFrom ?y2 . "
        "?c2 owl:onProperty ?p . ?y1 rdfs:subClassOf ?y2",
        "?c1 rdfs:subClassOf ?c2",
    ),
    _r(
        "scm-svf2",
        "?c1 owl:someValuesFrom ?y . ?c1 owl:onProperty ?p1 . ?c2 owl:someValuesFrom ?y . "
        "?c2 owl:onProperty ?p2 . ?p1 rdfs:subPropertyOf ?p2",
        "?c1 rdfs:subClassOf ?c2",
    ),
    _r(
        "scm-avf1",
        "?c1 owl:allValuesFrom ?y1 . ?c1 owl:onProperty ?p . ?c2 owl:allValuesFrom ?y2 . "
        "?c2 owl:onProperty ?p . ?y1 rdfs:subClassOf ?y2",
        "?c1 rdfs:subClassOf ?c2",
    ),
    _r(
        "scm-avf2",
        "?c1 owl:allValuesFrom ?y . ?c1 owl:onProperty ?p1 . ?c2 owl:allValuesFrom ?y . "
        "?c2 owl:onProperty ?p2 . ?p1 rdfs:subPropertyOf ?p2",
        "?c2 rdfs:subClassOf ?c1",
    ),
    _r("scm-int", "?c owl:intersectionOf ?l . ?m rdf:first ?ci", "?c rdfs:subClassOf ?ci", "?l rdf:rest* ?m ."),
    _r("scm-uni", "?c owl:unionOf ?l . ?m rdf:first ?ci", "?ci rdfs:subClassOf ?c", "?l rdf:rest* ?m ."),
)
# fmt: on

_OWL = PREFIXES["owl"]
_RDFS = PREFIXES["rdfs"]
_REFLEXIVE = {
    _OWL + "sameAs",
    _OWL + "equivalentClass",
    _OWL + "equivalentProperty",
    _RDFS + "subClassOf",
    _RDFS + "subPropertyOf",
}


def trivial(s: Any, p: Any, o: Any) -> bool:
    """An entailment amurkg does not add: reflexive, about owl:Thing or owl:Nothing, or not RDF."""
    import pyoxigraph as ox

    if isinstance(s, ox.Literal) or not isinstance(p, ox.NamedNode):
        return True
    predicate, obj = p.value, getattr(o, "value", None)
    if predicate in _REFLEXIVE and s == o:
        return True
    if obj == _OWL + "Thing" and predicate in (RDF_TYPE, _RDFS + "subClassOf", _RDFS + "domain", _RDFS + "range"):
        return True
    return isinstance(s, ox.NamedNode) and s.value == _OWL + "Nothing" and predicate == _RDFS + "subClassOf"


def _term(token: str) -> str:
    if token.startswith("?"):
        return token
    prefix, _, local = token.partition(":")
    return f"<{PREFIXES[prefix]}{local}>"


def _query(rule: Rule) -> str:
    body = " . ".join(" ".join(_term(t) for t in triple) for triple in rule.premises)
    s, p, o = (_term(t) for t in rule.conclusion)
    variables = sorted({t for triple in (*rule.premises, rule.conclusion) for t in triple if t.startswith("?")})
    guards = [f"!isLiteral({s})"] if s.startswith("?") else []
    if p.startswith("?"):
        guards.append(f"isIRI({p})")
    where = f"{body} . {rule.where} FILTER NOT EXISTS {{ {s} {p} {o} }}"
    if guards:
        where += f" FILTER({' && '.join(guards)})"
    return f"SELECT DISTINCT {' '.join(variables)} WHERE {{ {where} }}"


class Derivation(NamedTuple):
    """How an entailment was first derived: the rule and its premises (triples, asserted or inferred)."""

    rule: str
    premises: tuple[Any, ...]


class Closure(NamedTuple):
    """What a fixpoint added: each entailed triple (pyoxigraph ``Triple``) with its first derivation."""

    triples: dict[Any, Derivation]
    rounds: int


def _predicates(rule: Rule) -> set[str] | None:
    """The constant predicates a rule's premises match, or None when one premise's predicate is a variable
    (that premise can match any new triple)."""
    found = set()
    for _, predicate, _ in rule.premises:
        if predicate.startswith("?"):
            return None
        found.add(_term(predicate)[1:-1])
    return found


def close(store: Any, rules: Iterable[Rule] = RULES, max_rounds: int = 100) -> Closure:
    """Apply ``rules`` to a pyoxigraph ``store`` (all its graphs, seen as one) until nothing is new; the new
    triples go into its ``INFERRED_GRAPH``. Returns them with their derivations.

    Semi-naive in the predicates: after the first round, a rule runs again only when a triple with one of the
    predicates its premises match was added in the round before (or when a premise matches any predicate).
    """
    import pyoxigraph as ox

    inferred_graph = ox.NamedNode(INFERRED_GRAPH)
    compiled = [(rule, _query(rule), _predicates(rule)) for rule in rules]
    present = (
        {q.predicate.value for q in store.quads_for_pattern(None, None, None, None)} if len(store) < 5_000_000 else None
    )
    found: dict[Any, Derivation] = {}
    changed: set[str] | None = None  # predicates with new triples in the last round; None: the first round
    for rounds in range(1, max_rounds + 1):
        added: set[str] = set()
        for rule, text, predicates in compiled:
            if predicates is not None:
                if changed is None and present is not None and not predicates <= present | added:
                    continue  # a premise's predicate occurs nowhere yet
                if changed is not None and not predicates & (changed | added):
                    continue  # nothing new for any premise
            new: list[Any] = []
            for solution in store.query(text, use_default_graph_as_union=True, prefixes=PREFIXES):

                def bind(token: str, solution: Any = solution) -> Any:
                    return solution[token[1:]] if token.startswith("?") else ox.NamedNode(_term(token)[1:-1])

                s, p, o = (bind(t) for t in rule.conclusion)
                if trivial(s, p, o):
                    continue
                triple = ox.Triple(s, p, o)
                if triple in found:
                    continue
                premises = tuple(ox.Triple(*(bind(t) for t in premise)) for premise in rule.premises)
                found[triple] = Derivation(rule.name, premises)
                new.append(ox.Quad(s, p, o, inferred_graph))
            if new:
                store.extend(new)
                added.update(q.predicate.value for q in new)
        if not added:
            return Closure(found, rounds)
        changed = added
    raise RuntimeError(f"OWL RL closure did not reach a fixpoint in {max_rounds} rounds")


def _node(triple: Any) -> Any:
    import pyoxigraph as ox

    digest = hashlib.sha256(str(triple).encode("utf-8")).hexdigest()[:16]
    return ox.NamedNode(ENTAILMENT_NS + digest)


def derivation_quads(closure: Closure) -> Iterator[Any]:
    """The derivations as RDF, in ``DERIVATIONS_GRAPH``: each entailed triple an ``akg:Entailment`` (the triple
    it states, the rule, its premises); each premise stated the same way (``akg:AssertedTriple`` when it is
    not itself entailed), so that a query can walk from any entailment to the asserted facts below it."""
    import pyoxigraph as ox

    akg = PREFIXES["akg"]
    graph = ox.NamedNode(DERIVATIONS_GRAPH)
    a = ox.NamedNode(RDF_TYPE)
    states = (
        ox.NamedNode(akg + "statesSubject"),
        ox.NamedNode(akg + "statesPredicate"),
        ox.NamedNode(akg + "statesObject"),
    )
    described: set[Any] = set()

    def state(triple: Any, kind: str) -> Iterator[Any]:
        node = _node(triple)
        if node in described:
            return
        described.add(node)
        yield ox.Quad(node, a, ox.NamedNode(akg + kind), graph)
        for predicate, term in zip(states, (triple.subject, triple.predicate, triple.object), strict=True):
            yield ox.Quad(node, predicate, term, graph)

    for triple, derivation in closure.triples.items():
        node = _node(triple)
        yield from state(triple, "Entailment")
        yield ox.Quad(node, ox.NamedNode(akg + "byRule"), ox.Literal(derivation.rule), graph)
        for premise in derivation.premises:
            yield ox.Quad(node, ox.NamedNode(akg + "fromPremise"), _node(premise), graph)
            if premise not in closure.triples:
                yield from state(premise, "AssertedTriple")
