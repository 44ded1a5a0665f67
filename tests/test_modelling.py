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


def test_the_cold_northern_climate_is_not_made_the_continental_climate(kg: amurkg.KnowledgeGraph) -> None:
    """The text says the leopard is adapted to a cold northern climate, and later describes a continental
    climate; it never says they are one, so they are two nodes, and no label of one names the other."""
    names = ask(kg, "SELECT ?n WHERE { amur:amur-leopard akg:adaptedTo ?c . ?c rdfs:label|skos:altLabel ?n }")
    assert names == {("continental climate",), ("cold northern climate",)}
    assert ask(kg, "SELECT ?n WHERE { amur:continental-climate skos:altLabel ?n }") == set()
    # the continental climate is the one that demands the coat
    answer = kg.query(PREFIXES + "ASK { amur:amur-leopard akg:adaptedTo ?c . ?c akg:demands amur:winter-coat }")
    assert answer == amurkg.AskResult(True)
    # the coat copes with the seasonal shifts, as the text says, and not with the winters it does not name
    assert ask(kg, "SELECT ?f WHERE { amur:winter-coat akg:copesWith/rdfs:label ?f }") == {("seasonal shifts",)}
    # where the climate prevails is the curators' reading of the habitat paragraph, and it says why
    reason = ask(
        kg,
        """SELECT ?start WHERE { ?f akg:statesSubject amur:continental-climate ; akg:statesPredicate akg:climateOf ;
             a akg:CuratorJudgement ; akg:judgementReason ?r ;
             <http://www.w3.org/ns/prov#wasDerivedFrom>/<http://www.w3.org/ns/oa#start> ?start }""",
    )
    assert reason == {("1377",), ("2077",)}  # the border region's forests, the climate sentence; not the prey's


def test_what_new_infrastructure_fragments_is_the_small_habitat(kg: amurkg.KnowledgeGraph) -> None:
    acted = ask(
        kg,
        """SELECT ?p ?what WHERE { VALUES ?p { amur:infrastructure-development amur:habitat-fragmentation
             amur:habitat-loss } ?p akg:actsOn/rdfs:label ?what }""",
    )
    assert acted == {
        ("https://w3id.org/amurkg/id/infrastructure-development", "small habitat of the leopard"),
        ("https://w3id.org/amurkg/id/habitat-fragmentation", "small habitat of the leopard"),
    }  # habitat loss: the text names no habitat it acts on
    assert ask(kg, "SELECT ?p WHERE { ?p akg:actsOn ?f . ?f a akg:ForestType }") == set()


def test_hunting_for_pelts_was_especially_in_the_early_1900s(kg: amurkg.KnowledgeGraph) -> None:
    assert ask(kg, "SELECT ?p WHERE { amur:hunting-for-pelts akg:duringPeriod ?p }") == set()
    assert ask(kg, "SELECT ?p WHERE { amur:hunting-for-pelts akg:mainlyDuring/rdfs:label ?p }") == {("early 1900s",)}
    # 1900 is not in the 20th century (1901-2000): the early 1900s are not said to lie inside it
    assert ask(kg, "SELECT ?o WHERE { amur:early-1900s time:intervalIn ?o }") == set()
    assert ask(kg, "SELECT ?y WHERE { amur:twentieth-century akg:startYear ?y }") == {("1901",)}


def test_land_development_says_why_it_is_residential_and_not_agricultural(kg: amurkg.KnowledgeGraph) -> None:
    rows = ask(
        kg,
        """SELECT ?class ?reason WHERE { ?f akg:statesSubject amur:land-development ;
             akg:statesPredicate akg:iucnThreat ; akg:statesObject/skos:notation ?class ;
             a akg:CuratorJudgement ; akg:judgementReason ?reason }""",
    )
    assert len(rows) == 1
    ((code, reason),) = rows
    assert code == "1" and "agriculture (IUCN class 2)" in reason and "not asserted" in reason


def test_place_readings_are_marked_alike_with_their_reasons(kg: amurkg.KnowledgeGraph) -> None:
    """Every place relation the text gives only in two halves is a curator judgement with its reason: the
    area's overlap with Jilin and Heilongjiang, its two parts, and the three nations that share it."""
    judged = ask(
        kg,
        """SELECT ?s ?p ?o WHERE { ?f akg:statesSubject ?s ; akg:statesPredicate ?p ; akg:statesObject ?o ;
             a akg:CuratorJudgement ; akg:judgementReason ?r .
             VALUES ?p { schema:containedInPlace geo:sfOverlaps akg:sharedBy } }""",
    )
    amur = "https://w3id.org/amurkg/id/"
    area = amur + "transboundary-area"
    assert judged == {
        (area, "http://www.opengis.net/ont/geosparql#sfOverlaps", amur + "jilin"),
        (area, "http://www.opengis.net/ont/geosparql#sfOverlaps", amur + "heilongjiang"),
        (amur + "southwestern-primorsky", "https://schema.org/containedInPlace", area),
        (amur + "north-korean-border-regions", "https://schema.org/containedInPlace", area),
        (area, "https://w3id.org/amurkg/ontology#sharedBy", amur + "russia"),
        (area, "https://w3id.org/amurkg/ontology#sharedBy", amur + "china"),
        (area, "https://w3id.org/amurkg/ontology#sharedBy", amur + "north-korea"),
        (amur + "north-korea", "https://schema.org/containedInPlace", amur + "korean-peninsula"),
    }
    # North Korea's share cites where the text puts the few individuals, not the sentence on its doubt
    starts = ask(
        kg,
        """SELECT ?start WHERE { ?f akg:statesSubject amur:transboundary-area ; akg:statesObject amur:north-korea ;
             <http://www.w3.org/ns/prov#wasDerivedFrom>/<http://www.w3.org/ns/oa#start> ?start }""",
    )
    assert starts == {("528",), ("1237",)}
    assert kg.run("place-reading-unjudged-violation").rows == []  # type: ignore[union-attr]
    assert kg.run("judgement-without-reason-violation").rows == []  # type: ignore[union-attr]


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
        + """amur:early-1900s akg:startYear 1900 ; akg:endYear 1899 .
amur:floating a akg:Consequence ; rdfs:label "a state tied to nothing"@en .
amur:wild-boar akg:socialBehaviour "lives in groups" .
""",
        encoding="utf-8",
    )
    planted = amurkg.load(data=[faults])
    found = {check: len(planted.run(check).rows) for check in checks}  # type: ignore[union-attr]
    assert found == dict.fromkeys(checks, 1)
