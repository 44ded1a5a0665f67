"""The small Python API a notebook user meets."""

from __future__ import annotations

import doctest

import pytest

import amurkg
import amurkg.graph


def test_front_door_exports_only_what_exists() -> None:
    for name in amurkg.__all__:
        assert hasattr(amurkg, name), name
    assert {"load", "KnowledgeGraph", "export", "list_queries"} <= set(amurkg.__all__)


def test_docstring_examples_run() -> None:
    for module in (amurkg, amurkg.graph):
        failures, tried = doctest.testmod(module)
        assert tried > 0 and failures == 0, module.__name__


def test_load_run_describe_export() -> None:
    kg = amurkg.load()
    assert len(kg) > 3000
    counts = kg.run("places-in-country", {"country": "North Korea"})
    assert isinstance(counts, amurkg.SelectResult)
    assert counts.as_dicts()[0]["place"] == "northern border regions of North Korea"
    facts = kg.describe("amur:wild-boar")
    assert "sources" in facts.variables and facts.rows
    assert kg.resolve("Sus scrofa") == amurkg.Term.iri("https://w3id.org/amurkg/id/wild-boar")
    assert amurkg.export("nt").count(b"\n") == len(kg)


def test_query_results_by_kind() -> None:
    kg = amurkg.load()
    assert kg.query("ASK { ?s ?p ?o }") == amurkg.AskResult(True)
    graph = kg.query("CONSTRUCT WHERE { <https://w3id.org/amurkg/id/jilin> ?p ?o }")
    assert isinstance(graph, amurkg.GraphResult) and len(graph.triples) > 5


def test_library_errors_are_named_and_catchable() -> None:
    kg = amurkg.load()
    with pytest.raises(amurkg.AmurkgError, match="no canned query"):
        kg.run("nope")
    with pytest.raises(amurkg.AmurkgError, match="needs a value"):
        kg.run("entity-sources")
    with pytest.raises(amurkg.AmurkgError, match="SPARQL UPDATE"):
        kg.query("CLEAR ALL")


def test_unknown_engine() -> None:
    with pytest.raises(amurkg.AmurkgError, match="unknown engine 'jena'"):
        amurkg.load(engine="jena")


def test_canned_query_catalogue() -> None:
    names = [q.name for q in amurkg.list_queries()]
    assert names == sorted(names) and "prey" in names
    prey = amurkg.get_query("prey")
    assert prey.parameter("predator") is not None and not prey.parameter("predator").required  # type: ignore[union-attr]
