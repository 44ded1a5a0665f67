"""Exports: every format holds the same graph, prefixes are bound, and the bytes never change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

import amurkg
from amurkg.namespaces import GRAPH_BASE
from amurkg.serialize import EXPORT_FORMATS

# rdflib's own JSON-LD, TriG and N-Quads parsers, used here to read exports back, still call its
# deprecated ConjunctiveGraph API; amurkg's code keeps running with warnings as errors.
pytestmark = [
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Dataset.contexts is deprecated:DeprecationWarning"),
]

PARSERS = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "xml": "xml"}


@pytest.fixture(scope="module")
def shipped(shipped_graph: rdflib.Graph) -> rdflib.Graph:
    return shipped_graph


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_triple_formats_hold_the_whole_graph(fmt: str, shipped: rdflib.Graph) -> None:
    exported = rdflib.Graph().parse(data=amurkg.export(fmt), format=PARSERS[fmt])
    assert isomorphic(exported, shipped)


@pytest.mark.parametrize("fmt", ["trig", "nq"])
def test_dataset_formats_keep_ontology_and_data_apart(fmt: str, shipped: rdflib.Graph) -> None:
    ds = rdflib.Dataset()
    ds.parse(data=amurkg.export(fmt), format={"trig": "trig", "nq": "nquads"}[fmt])
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert names == {GRAPH_BASE + "ontology", GRAPH_BASE + "data"}
    union = rdflib.Graph()
    for g in ds.graphs():
        for triple in g:
            union.add(triple)
    assert isomorphic(union, shipped)
    ontology = ds.graph(rdflib.URIRef(GRAPH_BASE + "ontology"))
    assert (rdflib.URIRef("https://w3id.org/amurkg/ontology"), rdflib.RDF.type, rdflib.OWL.Ontology) in ontology


def test_turtle_binds_prefixes_and_has_no_generated_ones() -> None:
    text = amurkg.export("ttl").decode()
    for prefix in ("akg:", "amur:", "obo:", "dwc:", "skos:", "prov:", "schema:"):
        assert f"@prefix {prefix}" in text
    assert "ns1:" not in text and "@prefix ns" not in text


def test_user_files_are_layered_into_exports(tmp_path: Path) -> None:
    extra = tmp_path / "extra.ttl"
    extra.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b ex:c .\n")
    text = amurkg.export("ttl", data=(str(extra),)).decode()
    assert "@prefix ex: <https://example.org/>" in text and "ex:a ex:b ex:c" in text
    ds = rdflib.Dataset()
    ds.parse(data=amurkg.export("trig", data=(str(extra),)), format="trig")
    assert extra.resolve().as_uri() in {str(g.identifier) for g in ds.graphs()}


@pytest.mark.parametrize("fmt", sorted(EXPORT_FORMATS))
def test_export_is_byte_identical_across_runs_and_hash_seeds(fmt: str, tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out-{seed}.{fmt}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "amurkg", "export", "-f", fmt, "-o", str(out)], check=True, env=env)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == amurkg.export(fmt)


def test_export_writes_the_format_named_by_the_extension(cli, tmp_path: Path, shipped: rdflib.Graph) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "graph.jsonld"
    assert cli("export", "-o", str(out)).exit_code == 0
    assert isomorphic(rdflib.Graph().parse(out, format="json-ld"), shipped)


def test_construct_answers_carry_prefixes(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("sparql", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?s = <https://w3id.org/amurkg/id/jilin>) }")
    assert "@prefix amur: <https://w3id.org/amurkg/id/>" in out.stdout
    assert len(rdflib.Graph().parse(data=out.stdout, format="turtle")) > 5
