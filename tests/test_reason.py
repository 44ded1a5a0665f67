"""OWL RL inference on demand: hierarchy questions work, inferred triples stay apart and unsourced."""

from __future__ import annotations

import pytest
import rdflib
from conftest import column, rows

import amurkg
from amurkg.catalog import list_queries
from amurkg.reason import INFERRED_GRAPH, inferred_graph

REASONING = [q.name for q in list_queries() if q.reasoning]


@pytest.fixture(scope="module")
def reasoned() -> amurkg.KnowledgeGraph:
    return amurkg.load(reason=True)


@pytest.fixture(scope="module")
def reasoned_rdflib() -> amurkg.KnowledgeGraph:
    return amurkg.load(engine="rdflib", reason=True)


def test_reasoning_queries_declare_it() -> None:
    assert {"prey-ungulates", "human-pressures", "countries-of-places"} <= set(REASONING)


def test_inverse_relation_is_inferred(reasoned: amurkg.KnowledgeGraph) -> None:
    result = reasoned.run("prey-ungulates")
    assert column(result, "preyName") == {"Manchurian sika deer", "Siberian roe deer", "wild boar"}


def test_superclasses_are_inferred(reasoned: amurkg.KnowledgeGraph) -> None:
    got = {(r["pressure"], r["when"]) for r in rows(reasoned.run("human-pressures"))}
    assert ("logging", "in the past") in got and ("poaching of prey species", "today") in got
    assert ("illegal trade in fur", "drives another pressure") in got
    assert len(got) == 7


def test_containment_is_transitive(reasoned: amurkg.KnowledgeGraph) -> None:
    got = {(r["place"], r["country"]) for r in rows(reasoned.run("countries-of-places"))}
    assert ("southwestern Primorsky Krai", "Russia") in got
    assert ("Land of the Leopard National Park", "Russia") in got
    assert ("Jilin", "China") in got and len(got) == 10


def test_canned_queries_apply_reasoning_themselves() -> None:
    kg = amurkg.load()
    assert not kg.reasoned
    assert len(kg.run("countries-of-places").rows) == 10
    assert kg.reasoned


def test_without_reasoning_the_same_pattern_finds_only_asserted_links() -> None:
    kg = amurkg.load()
    text = amurkg.get_query("countries-of-places").text
    assert len(kg.query(text).rows) == 5


@pytest.mark.parametrize("name", REASONING)
def test_engines_agree_with_reasoning(
    name: str, reasoned: amurkg.KnowledgeGraph, reasoned_rdflib: amurkg.KnowledgeGraph
) -> None:
    a, b = reasoned.run(name), reasoned_rdflib.run(name)
    assert isinstance(a, amurkg.SelectResult) and isinstance(b, amurkg.SelectResult)
    assert a.rows and sorted(a.rows, key=repr) == sorted(b.rows, key=repr)


def test_inferred_triples_are_new_unsourced_and_kept_apart(reasoned: amurkg.KnowledgeGraph) -> None:
    inferred = inferred_graph([])
    assert len(inferred) > 500
    preyed = rdflib.URIRef("http://purl.obolibrary.org/obo/RO_0002458")
    assert (
        rdflib.URIRef("https://w3id.org/amurkg/id/wild-boar"),
        preyed,
        rdflib.URIRef("https://w3id.org/amurkg/id/amur-leopard"),
    ) in inferred
    # no reflexive noise, nothing already asserted
    assert not any(s == o and p == rdflib.OWL.sameAs for s, p, o in inferred)
    # inferred triples are never reified and never cite a span: no invented provenance
    provenance = {rdflib.RDF.subject, rdflib.RDF.predicate, rdflib.RDF.object, rdflib.PROV.wasDerivedFrom}
    assert not [t for t in inferred if t[1] in provenance]
    assert not list(inferred.subjects(rdflib.RDF.type, rdflib.RDF.Statement))
    count = reasoned.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }} }}")
    assert int(count.rows[0][0].value) == len(inferred)  # type: ignore[union-attr]
    # and the sourced-fact check ignores them
    assert reasoned.run("fact-without-source-violation").rows == []  # type: ignore[union-attr]


def test_describe_with_reasoning_shows_inferred_facts_without_a_source(cli) -> None:  # type: ignore[no-untyped-def]
    plain = cli("describe", "wild boar", "-f", "table").stdout
    reasoned = cli("describe", "wild boar", "-f", "table", "--reason").stdout
    assert "is preyed upon by" not in plain
    line = next(x for x in reasoned.splitlines() if "is preyed upon by" in x)
    assert "seed" not in line and "reference" not in line


def test_export_base_by_default_full_with_reason(cli) -> None:  # type: ignore[no-untyped-def]
    base = cli("export", "-f", "nq").stdout
    full = cli("export", "-f", "nq", "--reason").stdout
    assert INFERRED_GRAPH not in base
    assert f"<{INFERRED_GRAPH}> ." in full
    assert set(base.splitlines()) < set(full.splitlines())
    sparql = cli("sparql", "ASK { ?s <http://purl.obolibrary.org/obo/RO_0002458> ?o }", "-f", "json", "--reason")
    assert '"boolean": true' in sparql.stdout
