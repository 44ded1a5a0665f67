"""The graph read as an ecologist reads it: one node per idea, places that know their parts, claims that can
be asked for, periods with their extent. Each test asks the question a user would ask, in SPARQL."""

from __future__ import annotations

from pathlib import Path

import amurkg
from amurkg.vocab import AKG

PREFIXES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX amur: <https://w3id.org/amurkg/id/>
PREFIX vocab: <https://w3id.org/amurkg/vocab/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
PREFIX geo: <http://www.opengis.net/ont/geosparql#>
PREFIX time: <http://www.w3.org/2006/time#>
"""


def ask(kg: amurkg.KnowledgeGraph, body: str) -> set[tuple[str, ...]]:
    result = kg.query(PREFIXES + body)
    assert isinstance(result, amurkg.SelectResult)
    return {tuple("" if t is None else t.value for t in row) for row in result.rows}


def test_one_climate_node_with_both_names(kg: amurkg.KnowledgeGraph) -> None:
    climates = ask(kg, "SELECT ?c WHERE { ?c a akg:Climate }")
    assert len(climates) == 1
    names = ask(kg, "SELECT ?n WHERE { amur:amur-leopard akg:adaptedTo ?c . ?c rdfs:label|skos:altLabel ?n }")
    assert names == {("continental climate",), ("cold northern climate",)}
    # and the climate the leopard is adapted to is the one that demands its coat
    answer = kg.query(PREFIXES + "ASK { amur:amur-leopard akg:adaptedTo ?c . ?c akg:demands amur:winter-coat }")
    assert answer == amurkg.AskResult(True)


def test_the_disease_is_one_node_caused_by_the_virus_through_one_property(kg: amurkg.KnowledgeGraph) -> None:
    links = ask(
        kg,
        "SELECT ?x ?p WHERE { ?x ?p amur:canine-distemper-virus FILTER NOT EXISTS { ?x a akg:Claim } }",
    )
    assert links == {("https://w3id.org/amurkg/id/canine-distemper", str(AKG.causedBy))}
    # the susceptibility is a consequence of isolation, and it is a susceptibility to that disease
    chain = ask(
        kg,
        """SELECT ?risk ?pathogen WHERE {
             amur:population-isolation akg:leadsTo ?s . ?s akg:susceptibilityTo ?d ; akg:riskLevel/rdfs:label ?risk .
             ?d a akg:Disease , akg:Threat ; akg:causedBy/rdfs:label ?pathogen }""",
    )
    assert chain == {("high risk", "canine distemper virus")}


def test_the_vulnerability_hangs_on_the_population_estimate(kg: amurkg.KnowledgeGraph) -> None:
    got = ask(
        kg,
        """SELECT ?min ?max ?what WHERE {
             ?e akg:estimatedTaxon amur:amur-leopard ; akg:minimumCount ?min ; akg:maximumCount ?max ;
                akg:indicates ?v . ?v akg:actsOn amur:amur-leopard ; rdfs:label ?what }""",
    )
    assert got == {("100", "130", "vulnerability to localised threats")}
    assert ask(kg, "SELECT ?x WHERE { ?x a akg:Consequence . FILTER(?x = amur:small-population) }") == set()


def test_the_transboundary_area_knows_its_parts(kg: amurkg.KnowledgeGraph) -> None:
    parts = ask(kg, "SELECT ?part WHERE { ?p schema:containedInPlace amur:transboundary-area ; rdfs:label ?part }")
    assert parts == {("southwestern Primorsky Krai",), ("northern border regions of North Korea",)}
    overlaps = ask(kg, "SELECT ?name WHERE { amur:transboundary-area geo:sfOverlaps/rdfs:label ?name }")
    assert overlaps == {("Jilin",), ("Heilongjiang",)}
    # every country that shares the area has a part of it or overlaps it
    countries = ask(
        kg,
        """SELECT DISTINCT ?country WHERE {
             { ?part schema:containedInPlace amur:transboundary-area }
             UNION { amur:transboundary-area geo:sfOverlaps ?part }
             ?part schema:containedInPlace+ ?c . ?c a akg:Country ; rdfs:label ?country .
             amur:transboundary-area akg:sharedBy ?c }""",
    )
    assert countries == {("Russia",), ("China",), ("North Korea",)}


def test_the_north_korean_part_is_marked_as_a_curators_reading(kg: amurkg.KnowledgeGraph) -> None:
    judged = ask(
        kg,
        """SELECT ?who WHERE {
             ?f akg:statesSubject amur:north-korean-border-regions ; akg:statesObject amur:transboundary-area ;
                a akg:CuratorJudgement ; <http://www.w3.org/ns/prov#wasAttributedTo>/rdfs:label ?who }""",
    )
    assert judged == {("the amurkg curators",)}


def test_claims_once_held_in_a_trait_catch_all_can_be_asked_for(kg: amurkg.KnowledgeGraph) -> None:
    assert ask(kg, "SELECT ?t WHERE { ?t akg:socialBehaviour vocab:solitary }") == {
        ("https://w3id.org/amurkg/id/amur-leopard",)
    }
    characters = ask(kg, "SELECT ?c WHERE { amur:amur-leopard akg:rangeCharacter/rdfs:label ?c }")
    assert characters == {("tiny",), ("fragmented",), ("among the most concentrated of any large mammal",)}
    assert ask(kg, "SELECT ?r WHERE { amur:amur-leopard akg:rarity/rdfs:label ?r }") == {
        ("among the rarest of its kind",)
    }
    assert ask(kg, "SELECT ?a WHERE { ?a a akg:PhysicalAdaptation ; akg:adaptationOf amur:amur-leopard }") == {
        ("https://w3id.org/amurkg/id/winter-coat",)
    }
    ranks = ask(kg, "SELECT ?r WHERE { amur:southwestern-primorsky akg:habitatRank/rdfs:label ?r }")
    assert ranks == {("most stable",), ("most monitored",)}
    assert ask(kg, "SELECT ?t WHERE { ?t a <https://w3id.org/amurkg/ontology#Trait> }") == set()


def test_the_new_checks_return_nothing_and_can_fail(kg: amurkg.KnowledgeGraph, tmp_path: Path) -> None:
    """The violation queries this modelling adds catch what they are for: each finds a planted fault."""
    checks = ("period-extent-violation", "unattached-consequence-violation", "code-list-value-violation")
    for check in checks:
        assert kg.run(check).rows == [], check  # type: ignore[union-attr]
    faults = tmp_path / "faults.ttl"
    faults.write_text(
        PREFIXES
        + """amur:early-1900s akg:startYear 1899 .
amur:floating a akg:Consequence ; rdfs:label "a state tied to nothing"@en .
amur:wild-boar akg:socialBehaviour "lives in groups" .
""",
        encoding="utf-8",
    )
    planted = amurkg.load(data=[faults])
    found = {check: len(planted.run(check).rows) for check in checks}  # type: ignore[union-attr]
    assert found == dict.fromkeys(checks, 1)
