"""OWL RL inference: the answers hierarchy questions need, the same closure as the reference implementation
(owlrl), entailments kept apart and explained down to their sources, and calls that do not change later ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import column, rows
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdflib.compare import isomorphic

import amurkg
from amurkg.catalog import list_queries
from amurkg.reason import DERIVATIONS_GRAPH, INFERRED_GRAPH
from amurkg.reasoner import close, trivial
from amurkg.resources import ontology_files, shipped_files, shipped_turtle

pytestmark = [
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Dataset.contexts is deprecated:DeprecationWarning"),
]
REASONING = [q.name for q in list_queries() if q.reasoning]
AMUR = "https://w3id.org/amurkg/id/"
AKG = "https://w3id.org/amurkg/ontology#"
BUILT_IN = ("http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#")  # fmt: skip


@pytest.fixture(scope="module")
def reasoned() -> amurkg.KnowledgeGraph:
    return amurkg.load(reason=True)


@pytest.fixture(scope="module")
def reasoned_rdflib() -> amurkg.KnowledgeGraph:
    return amurkg.load(engine="rdflib", reason=True)


# --------------------------------------------------------------------------- the same closure as owlrl


def reference_closure(turtle: bytes) -> set[tuple[str, str, str]]:
    """What owlrl (the reference implementation) adds, minus what amurkg calls trivial: triples about owl:Thing
    and owl:Nothing, reflexive ones, and owlrl's declarations of the RDF, RDFS and XSD built-in terms."""
    import warnings

    import owlrl

    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    closure = rdflib.Graph()
    for triple in graph:
        closure.add(triple)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        owlrl.DeductiveClosure(
            owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False, datatype_axioms=False
        ).expand(closure)
    added = set()
    # owlrl reports an inconsistency (an individual of two disjoint classes) as an error-message node, not as
    # an entailment; amurkg's OWL RL closure adds nothing for it (HermiT reports it, tests/test_dl_reasoners.py)
    errors = set(
        closure.subjects(rdflib.RDF.type, rdflib.URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage"))
    )
    for s, p, o in closure:
        if (s, p, o) in graph or isinstance(s, rdflib.Literal) or s in errors:
            continue
        if str(s).startswith(BUILT_IN):
            continue  # owlrl declares the built-in datatypes, classes and annotation properties, and their disjointness
        terms = [to_ox(t) for t in (s, p, o)]
        if trivial(*terms):
            continue
        added.add(key(*terms))
    return added


def to_ox(term: rdflib.term.Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    assert isinstance(term, rdflib.Literal)
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or rdflib.XSD.string)))


def key(s: object, p: object, o: object) -> tuple[str, str, str]:
    """A triple as comparable text; a blank node is 'blank' (labels differ between implementations)."""
    return tuple("blank" if isinstance(t, ox.BlankNode) else str(t) for t in (s, p, o))  # type: ignore[return-value]


def amurkg_closure(turtle: bytes) -> set[tuple[str, str, str]]:
    store = ox.Store()
    store.load(turtle, format=ox.RdfFormat.TURTLE)
    return {key(t.subject, t.predicate, t.object) for t in close(store).triples}


def test_the_closure_of_the_shipped_graph_is_owlrls() -> None:
    turtle = shipped_turtle(shipped_files())
    mine, reference = amurkg_closure(turtle), reference_closure(turtle)
    assert mine == reference, (sorted(mine - reference)[:5], sorted(reference - mine)[:5])
    assert len(mine) > 300


CLASSES = ["Taxon", "PreyTaxon", "Ungulate", "Place", "Country", "Region", "Threat", "Pressure", "Period"]
PROPERTIES = [
    ("http://purl.obolibrary.org/obo/RO_0002439", "object"),
    ("https://schema.org/containedInPlace", "object"),
    (AKG + "near", "object"),
    (AKG + "inPlace", "object"),
    (AKG + "occurringTaxon", "object"),
    (AKG + "actsOn", "object"),
    (AKG + "areaSquareKilometres", "integer"),
]  # not a functional datatype property: two values would make literals owl:sameAs (see amurkg.reasoner)


@st.composite
def abox(draw: st.DrawFn) -> bytes:
    """A small graph of individuals typed with the ontology's classes and linked by its properties:
    inverses, transitive and symmetric properties, functional ones given two values (owl:sameAs)."""
    names = [f"<https://example.org/i{i}>" for i in range(draw(st.integers(3, 8)))]
    lines = []
    for name in names:
        for cls in draw(st.lists(st.sampled_from(CLASSES), max_size=2)):
            lines.append(f"{name} a <{AKG}{cls}> .")
    for _ in range(draw(st.integers(1, 14))):
        prop, kind = draw(st.sampled_from(PROPERTIES))
        subject = draw(st.sampled_from(names))
        value = draw(st.sampled_from(names)) if kind == "object" else str(draw(st.integers(0, 3)))
        lines.append(f"{subject} <{prop}> {value} .")
    return "\n".join(lines).encode() + b"\n"


_SCHEMA: list[bytes] = []


def schema() -> bytes:
    """The ontology as the generated data meets it: without the literal-valued annotations (labels, definitions,
    inverse labels, notations: 951 of its 2,094 triples) of the properties that take part in no axiom (never an
    object, and as a subject only declared an annotation property or given literals). No OWL RL rule reads such
    a triple (no domain, range, sub-property, characteristic or restriction names its property, and the
    generated individuals carry none), so both closures of ontology + data are the same without them; owlrl's
    time grows with the triples it revisits each round, so this halves it. The whole ontology, annotations
    included, is compared with owlrl in test_the_closure_of_the_shipped_graph_is_owlrls."""
    if _SCHEMA:
        return _SCHEMA[0]
    full = b"\n".join(path.read_bytes() for path in ontology_files()) + b"\n"
    graph = rdflib.Graph().parse(data=full, format="turtle")
    in_axioms = {o for o in graph.objects()} | {
        s
        for s, p, o in graph
        if not isinstance(o, rdflib.Literal) and (p, o) != (rdflib.RDF.type, rdflib.OWL.AnnotationProperty)
    }
    kept = rdflib.Graph()
    dropped = 0
    for s, p, o in graph:
        if isinstance(o, rdflib.Literal) and p not in in_axioms:
            dropped += 1
            continue
        kept.add((s, p, o))
    text = kept.serialize(format="nt", encoding="utf-8")
    assert dropped > 500 and len(kept) > 1000  # labels and definitions went; the axioms stayed
    assert amurkg_closure(text) == amurkg_closure(full)  # and they entailed nothing
    _SCHEMA.append(text)
    return text


def _individuals(*lines: str) -> bytes:
    return "\n".join(lines).encode() + b"\n"


_I = [f"<https://example.org/i{i}>" for i in range(4)]
_CONTAINED, _NEAR, _PREYS_ON = "<https://schema.org/containedInPlace>", f"<{AKG}near>", PROPERTIES[0][0]


#: Each example is a run of owlrl over the whole schema (most of a second, more under load), so Hypothesis
#: draws 8 graphs beside these three, which hold each kind of rule the strategy aims at every time: a chain of
#: a transitive property with a symmetric and an inverse one; a functional property given two values
#: (owl:sameAs, then everything said of one said of the other); an individual of two disjoint classes (owlrl's
#: error node, which amurkg does not mirror) with a datatype value.
@pytest.mark.heavy
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    data=_individuals(
        f"{_I[0]} {_CONTAINED} {_I[1]} .",
        f"{_I[1]} {_CONTAINED} {_I[2]} .",
        f"{_I[2]} {_CONTAINED} {_I[3]} .",
        f"{_I[0]} a <{AKG}Country> .",
        f"{_I[0]} {_NEAR} {_I[3]} .",
        f"{_I[1]} <{_PREYS_ON}> {_I[2]} .",
    )
)
@example(
    data=_individuals(
        f"{_I[0]} <{AKG}occurringTaxon> {_I[1]} .",
        f"{_I[0]} <{AKG}occurringTaxon> {_I[2]} .",
        f"{_I[1]} a <{AKG}PreyTaxon> .",
        f"{_I[2]} {_NEAR} {_I[3]} .",
        f"{_I[3]} {_CONTAINED} {_I[1]} .",
    )
)
@example(
    data=_individuals(
        f"{_I[0]} a <{AKG}Taxon> , <{AKG}Place> .",
        f"{_I[0]} <{AKG}actsOn> {_I[1]} .",
        f"{_I[1]} <{AKG}areaSquareKilometres> 2 .",
    )
)
@given(data=abox())
def test_the_closure_of_generated_data_is_owlrls(data: bytes) -> None:
    turtle = schema() + data
    assert amurkg_closure(turtle) == reference_closure(turtle)


# --------------------------------------------------------------------------- answers


def test_reasoning_queries_declare_it() -> None:
    assert {"prey-ungulates", "human-pressures", "countries-of-places", "explain"} <= set(REASONING)


def test_inverse_relation_is_inferred(reasoned: amurkg.KnowledgeGraph) -> None:
    result = reasoned.run("prey-ungulates")
    assert column(result, "preyName") == {"Manchurian sika deer", "Siberian roe deer", "wild boar"}


def test_superclasses_are_inferred(reasoned: amurkg.KnowledgeGraph) -> None:
    got = {(r["pressure"], r["when"]) for r in rows(reasoned.run("human-pressures"))}
    assert ("logging", "in the past") in got and ("poaching of prey species", "today") in got
    assert "illegal trade in fur" not in {pressure for pressure, _ in got}  # it drives poaching; not a pressure
    assert len(got) == 6


def test_the_fur_trade_drives_poaching_and_is_inferred_no_pressure(reasoned: amurkg.KnowledgeGraph) -> None:
    fur = "<https://w3id.org/amurkg/id/illegal-fur-trade>"
    akg = "https://w3id.org/amurkg/ontology#"
    assert reasoned.query(f"ASK {{ {fur} a <{akg}Driver> }}").value is True  # type: ignore[union-attr]
    assert reasoned.query(f"ASK {{ {fur} a <{akg}Pressure> }}").value is False  # type: ignore[union-attr]
    assert reasoned.query(f"ASK {{ ?p <{akg}actsOn> ?x . ?x a <{akg}PressureTarget> }}").value is True  # type: ignore[union-attr]
    assert reasoned.query(f"ASK {{ {fur} <{akg}actsOn> ?x }}").value is False  # type: ignore[union-attr]


def test_country_membership_follows_containment_but_not_sharing(reasoned: amurkg.KnowledgeGraph) -> None:
    got = {(r["place"], r["country"], r["how"]) for r in rows(reasoned.run("countries-of-places"))}
    assert ("Land of the Leopard National Park", "Russia", "wholly") in got
    assert ("Jilin", "China", "wholly") in got and len(got) == 13
    area = "Russia–China–North Korea border area"
    assert {(c, how) for p, c, how in got if p == area} == {
        ("Russia", "in part"),
        ("China", "in part"),
        ("North Korea", "in part"),
    }
    # inside the area that three countries share, but in one country only
    assert {(c, how) for p, c, how in got if p == "southwestern Primorsky Krai"} == {("Russia", "wholly")}
    several = {(r["place"], r["country"], r["countries"]) for r in rows(reasoned.run("places-in-several-countries"))}
    assert several == {(area, "Russia", "3"), (area, "China", "3"), (area, "North Korea", "3")}
    assert reasoned.run("places-in-several-countries", {"least": "4"}).rows == []
    assert len({r["place"] for r in rows(reasoned.run("places-in-several-countries", {"least": "1"}))}) == 11


@pytest.mark.parametrize("name", [n for n in REASONING if n != "explain"])
def test_engines_agree_with_reasoning(
    name: str, reasoned: amurkg.KnowledgeGraph, reasoned_rdflib: amurkg.KnowledgeGraph
) -> None:
    a, b = reasoned.run(name), reasoned_rdflib.run(name)
    assert isinstance(a, amurkg.SelectResult) and isinstance(b, amurkg.SelectResult)
    assert a.rows and sorted(a.rows, key=repr) == sorted(b.rows, key=repr)


# --------------------------------------------------------------------------- apart, and not sticky


def test_a_reasoning_query_does_not_change_later_calls() -> None:
    kg = amurkg.load()
    before = (len(kg), kg.stats(), kg.describe("wild boar").as_set())
    assert len(kg.run("countries-of-places").rows) == 13  # type: ignore[union-attr]
    assert not kg.reasoned
    assert (len(kg), kg.stats(), kg.describe("wild boar").as_set()) == before
    text = amurkg.get_query("countries-of-places").text
    assert len(kg.query(text).rows) == 0  # type: ignore[union-attr]  # asserted links only: inCountry is derived
    kg.apply_reasoning()  # the explicit way to let every query see the closure
    assert kg.reasoned and len(kg.query(text).rows) == 13  # type: ignore[union-attr]
    assert len(kg) == before[0]  # still counting asserted triples


def test_inferred_triples_are_new_unsourced_and_kept_apart(reasoned: amurkg.KnowledgeGraph) -> None:
    inferred = reasoned.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }} }}")
    triples = {(r[0].value, r[1].value, r[2].value) for r in inferred.rows}  # type: ignore[union-attr]
    assert (AMUR + "wild-boar", "http://purl.obolibrary.org/obo/RO_0002458", AMUR + "amur-leopard") in triples
    assert not any(s == o and p.endswith("sameAs") for s, p, o in triples)
    provenance = {"https://w3id.org/amurkg/ontology#statesSubject", "http://www.w3.org/ns/prov#wasDerivedFrom"}
    assert not [t for t in triples if t[1] in provenance]  # an inferred triple never claims a span of its own
    assert reasoned.run("fact-without-source-violation").rows == []  # type: ignore[union-attr]
    everything = amurkg.load().query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    asserted = {(r[0].value, r[1].value, r[2].value) for r in everything.rows}  # type: ignore[union-attr]
    assert not triples & asserted  # nothing asserted is stated again


# --------------------------------------------------------------------------- explained down to the source


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_what_says_the_leopard_eats_wild_boar(engine: str) -> None:
    """'eats' is the super-property of 'preys on': the inferred triple leads to the sourced fact."""
    kg = amurkg.load(engine=engine)
    steps = kg.run(
        "explain", {"subject": "Amur leopard", "predicate": "obo:RO_0002470", "object": "wild boar"}
    ).as_text_dicts()  # type: ignore[union-attr]
    assert steps[0]["kind"] == "inferred" and steps[0]["rule"] == "prp-spo1"
    sourced = [s for s in steps if s["kind"] == "asserted" and "document" in s]
    assert sourced and sourced[0]["p"] == "obo:RO_0002439" and sourced[0]["document"] == "amur:source-seed"
    assert len(kg) == len(amurkg.load(engine=engine))  # explaining reasons aside, as any reasoning query


def test_every_inferred_triple_leads_to_asserted_ones(reasoned: amurkg.KnowledgeGraph) -> None:
    orphans = reasoned.query(
        "PREFIX akg: <https://w3id.org/amurkg/ontology#>\n"
        f"SELECT ?s ?p ?o WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }} "
        "FILTER NOT EXISTS { ?e a akg:Entailment ; akg:statesSubject ?s ; akg:statesPredicate ?p ; "
        "akg:statesObject ?o ; akg:fromPremise+ ?leaf . ?leaf a akg:AssertedTriple } }"
    )
    assert orphans.rows == []  # type: ignore[union-attr]


def test_describe_shows_the_derivation_of_inferred_facts(cli) -> None:  # type: ignore[no-untyped-def]
    plain = cli("describe", "wild boar", "-f", "table").stdout
    reasoned = cli("describe", "wild boar", "-f", "table", "--reason").stdout
    assert "is preyed upon by" not in plain
    line = next(x for x in reasoned.splitlines() if "is preyed upon by" in x)
    assert "inferred (prp-inv1 from" in line and "obo:RO_0002439 amur:wild-boar (seed 1921-2031)" in line


# --------------------------------------------------------------------------- exports and blank nodes


def test_blank_nodes_keep_their_identity_through_reasoning(
    reasoned: amurkg.KnowledgeGraph, reasoned_rdflib: amurkg.KnowledgeGraph
) -> None:
    """The restriction behind PreyTaxon: inferred types point at the very node that defines it."""
    query = (
        "PREFIX owl: <http://www.w3.org/2002/07/owl#>\nSELECT ?x WHERE { ?x a ?r . "
        "?r owl:onProperty <http://purl.obolibrary.org/obo/RO_0002458> }"
    )
    for kg in (reasoned, reasoned_rdflib):
        assert column(kg.query(query), "x") == {"amur:manchurian-sika-deer", "amur:siberian-roe-deer", "amur:wild-boar"}  # type: ignore[arg-type]
    exported = rdflib.Graph().parse(data=amurkg.export("nt", reason=True), format="nt")
    assert len(list(exported.query(query))) == 3


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "xml", "trig", "nq"])
def test_reasoned_exports_read_back_isomorphic(fmt: str) -> None:
    nt = rdflib.Graph().parse(data=amurkg.export("nt", reason=True), format="nt")
    data = amurkg.export(fmt, reason=True)
    parser = {"ttl": "turtle", "jsonld": "json-ld", "xml": "xml", "trig": "trig", "nq": "nquads"}[fmt]
    if fmt in ("trig", "nq"):
        dataset = rdflib.Dataset().parse(data=data, format=parser)
        back = rdflib.Graph()
        for s, p, o, _ in dataset.quads((None, None, None, None)):
            back.add((s, p, o))
    else:
        back = rdflib.Graph().parse(data=data, format=parser)
    assert isomorphic(back, nt)
    rdf_format = {"ttl": "TURTLE", "jsonld": "JSON_LD", "xml": "RDF_XML", "trig": "TRIG", "nq": "N_QUADS"}[fmt]
    assert len(
        {(q.subject, q.predicate, q.object) for q in ox.parse(data, format=getattr(ox.RdfFormat, rdf_format))}
    ) == len(nt)


def test_reasoned_export_is_byte_identical_across_runs(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"full-{seed}.trig"
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-m", "amurkg", "export", "--reason", "-o", str(out)], check=True, env=env)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert f"<{DERIVATIONS_GRAPH}>".encode() in outputs[0] and f"<{INFERRED_GRAPH}>".encode() in outputs[0]


def test_export_base_by_default_full_with_reason(cli) -> None:  # type: ignore[no-untyped-def]
    base = cli("export", "-f", "nq").stdout
    full = cli("export", "-f", "nq", "--reason").stdout
    assert INFERRED_GRAPH not in base and f"<{INFERRED_GRAPH}> ." in full
    sparql = cli("sparql", "ASK { ?s <http://purl.obolibrary.org/obo/RO_0002458> ?o }", "-f", "json", "--reason")
    assert json.loads(sparql.stdout)["boolean"] is True
