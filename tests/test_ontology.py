"""The ontology: documented terms, reused vocabularies, and the Python namespace kept in step."""

from __future__ import annotations

import re

import pytest
import rdflib
from rdflib import OWL, RDF, RDFS, URIRef
from rdflib.namespace import DCTERMS, SKOS

from amurkg.namespaces import AKG as AKG_NS
from amurkg.resources import ontology_files
from amurkg.vocab import AKG


def ontology() -> rdflib.Graph:
    g = rdflib.Graph()
    for path in ontology_files():
        g.parse(data=path.read_text(encoding="utf-8"), format="turtle")
    return g


def test_ontology_header() -> None:
    g = ontology()
    onto = URIRef("https://w3id.org/amurkg/ontology")
    assert (onto, RDF.type, OWL.Ontology) in g
    for p in (DCTERMS.title, DCTERMS.description, DCTERMS.license, OWL.versionInfo, OWL.versionIRI):
        assert g.value(onto, p) is not None, p


def test_every_class_and_property_has_label_definition_domain_and_range() -> None:
    g = ontology()
    own = [s for s in set(g.subjects()) if isinstance(s, URIRef) and str(s).startswith(AKG_NS)]
    assert len(own) > 100
    for term in own:
        assert g.value(term, RDFS.label) is not None, term
        assert g.value(term, SKOS.definition) is not None, term
        if (term, RDF.type, OWL.ObjectProperty) in g or (term, RDF.type, OWL.DatatypeProperty) in g:
            assert g.value(term, RDFS.domain) is not None, f"{term} has no domain"
            assert g.value(term, RDFS.range) is not None, f"{term} has no range"


def test_required_concepts_are_modelled() -> None:
    for name in (
        "Taxon",
        "PreyTaxon",
        "ForestType",
        "TerrainType",
        "Country",
        "Region",
        "NationalPark",
        "Threat",
        "HistoricalDriver",
        "PopulationEstimate",
        "ConservationAction",
        "ConservationAim",
        "RangeOccurrence",
        "DispersalMovement",
        "ConservationStatusAssessment",
        "Climate",
        "Adaptation",
        "Consequence",
    ):
        assert (AKG[name], RDF.type, OWL.Class) in ontology(), name


def test_predation_reuses_the_relation_ontology() -> None:
    g = ontology()
    preys_on = URIRef("http://purl.obolibrary.org/obo/RO_0002439")
    assert (preys_on, RDFS.subPropertyOf, URIRef("http://purl.obolibrary.org/obo/RO_0002470")) in g
    assert (preys_on, OWL.inverseOf, URIRef("http://purl.obolibrary.org/obo/RO_0002458")) in g


def test_python_namespace_lists_exactly_the_ontology_terms() -> None:
    g = ontology()
    declared = {str(s)[len(AKG_NS) :] for s in g.subjects() if isinstance(s, URIRef) and str(s).startswith(AKG_NS)}
    in_python = {name for name in AKG.__annotations__}
    assert declared == in_python
    try:
        AKG.Taxn  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("a misspelt term must raise")


def test_every_akg_term_used_in_the_graph_is_declared(shipped_graph: rdflib.Graph) -> None:
    g = shipped_graph
    declared = set(g.subjects(RDF.type, None))
    used = {t for triple in g for t in triple if isinstance(t, URIRef) and str(t).startswith(AKG_NS)}
    assert used <= declared
    for p in set(g.predicates()):
        if str(p).startswith(
            (
                "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
                "http://www.w3.org/2000/01/rdf-schema#",
                "http://www.w3.org/2002/07/owl#",
                "http://purl.org/dc/terms/",
                "http://www.w3.org/2004/02/skos/core#",
            )
        ):
            continue
        assert (p, RDF.type, None) in g, f"{p} is used but not declared"


#: The datatypes OWL 2 DL reasoners know (OWL 2 Structural Specification, section 4, the datatype map).
OWL2_DATATYPES = {
    "http://www.w3.org/2001/XMLSchema#" + name
    for name in [
        "decimal",
        "integer",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "positiveInteger",
        "negativeInteger",
        "long",
        "int",
        "short",
        "byte",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
        "double",
        "float",
        "string",
        "normalizedString",
        "token",
        "language",
        "Name",
        "NCName",
        "NMTOKEN",
        "boolean",
        "hexBinary",
        "base64Binary",
        "anyURI",
        "dateTime",
        "dateTimeStamp",
    ]
} | {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#PlainLiteral",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#XMLLiteral",
    "http://www.w3.org/2000/01/rdf-schema#Literal",
    "http://www.w3.org/2002/07/owl#real",
    "http://www.w3.org/2002/07/owl#rational",
}


def test_only_owl2_datatypes_are_used(shipped_graph: rdflib.Graph) -> None:
    for _, _, literal in shipped_graph:
        if isinstance(literal, rdflib.Literal) and literal.datatype is not None:
            assert str(literal.datatype) in OWL2_DATATYPES, literal
    for _, _, rng in ontology().triples((None, RDFS.range, None)):
        if str(rng).startswith(("http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")):
            assert str(rng) in OWL2_DATATYPES, rng


def test_no_domain_or_range_on_terms_amurkg_does_not_own() -> None:
    g = ontology()
    for prop in (RDFS.domain, RDFS.range):
        foreign = [s for s in g.subjects(prop, None) if not str(s).startswith(AKG_NS)]
        assert foreign == [], f"{prop} asserted on reused terms: {foreign}"


def test_reasoning_over_darwin_core_occurrences_adds_no_false_types(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Occurrence records carry scientific names, vernacular names and taxa links: reasoning must not make
    them taxa, places or anything else they are not."""
    import amurkg

    occurrences = tmp_path / "occurrences.ttl"
    occurrences.write_text(
        "@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .\n@prefix dwciri: <http://rs.tdwg.org/dwc/iri/> .\n"
        "@prefix ex: <https://example.org/occ/> .\n"
        + "".join(
            f'ex:o{i} a dwc:Occurrence ; dwc:scientificName "Sus scrofa" ; dwc:vernacularName "wild boar"@en ; '
            f'dwc:taxonRank "species" ; dwc:scientificNameAuthorship "Linnaeus, 1758" ; '
            f"dwciri:toTaxon <https://w3id.org/amurkg/id/wild-boar> .\n"
            for i in range(5)
        ),
        encoding="utf-8",
    )
    kg = amurkg.load(data=[occurrences], reason=True)
    types = kg.query(
        "SELECT DISTINCT ?type WHERE { ?o a ?type FILTER(STRSTARTS(STR(?o), 'https://example.org/occ/')) }"
    )
    assert {row[0].value for row in types.rows} == {"http://rs.tdwg.org/dwc/terms/Occurrence"}  # type: ignore[union-attr]


def test_every_wikidata_link_of_the_ontology_is_a_confirmed_reference_row() -> None:
    """Links to Wikidata are facts too: each one the ontology states must be in the reference table."""
    from conftest import REFERENCE

    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} is absent: the owner's documents sit beside the checkout only in development and CI")
    table = REFERENCE.read_text(encoding="utf-8")
    g = ontology()
    linked = {str(o).rsplit("/", 1)[-1] for o in g.objects() if str(o).startswith("http://www.wikidata.org/entity/Q")}
    missing = sorted(q for q in linked if not re.search(rf"\b{q}\b", table))
    assert linked and not missing, missing
