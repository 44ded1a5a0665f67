"""Every fact is traceable to a span of a source document, and every cited span is real."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
from conftest import REFERENCE, SEED
from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from amurkg.namespaces import AMUR
from amurkg.resources import shipped_files
from amurkg.vocab import AKG

OA = rdflib.Namespace("http://www.w3.org/ns/oa#")
DWC = rdflib.Namespace("http://rs.tdwg.org/dwc/terms/")
NUMBER_WORDS = {"3": "three"}
DEMONYMS = {"Russia": "Russian", "China": "Chinese"}
EXEMPT = {RDF.type, RDFS.label, RDFS.comment, SKOS.definition}
DOCS = {URIRef(AMUR + "source-seed"): SEED, URIRef(AMUR + "source-reference"): REFERENCE}


@pytest.fixture(scope="module")
def graph(shipped_graph: rdflib.Graph) -> rdflib.Graph:
    return shipped_graph


def facts(g: rdflib.Graph) -> Iterator[tuple[URIRef, tuple[URIRef, URIRef, rdflib.term.Node], list[URIRef]]]:
    for statement in g.subjects(RDF.type, AKG.Claim):
        triple = tuple(g.value(statement, p) for p in (AKG.statesSubject, AKG.statesPredicate, AKG.statesObject))
        yield statement, triple, list(g.objects(statement, PROV.wasDerivedFrom))  # type: ignore[misc]


def span_text(g: rdflib.Graph, span: URIRef, texts: dict[URIRef, str]) -> str:
    doc = g.value(span, DCTERMS.isPartOf)
    start, end = int(g.value(span, OA.start)), int(g.value(span, OA.end))  # type: ignore[arg-type]
    return texts[doc][start:end]  # type: ignore[index]


@pytest.fixture(scope="module")
def texts(seed_text: str, reference_text: str) -> dict[URIRef, str]:
    return {URIRef(AMUR + "source-seed"): seed_text, URIRef(AMUR + "source-reference"): reference_text}


def domain_subject(g: rdflib.Graph, s: rdflib.term.Node) -> bool:
    if not (isinstance(s, URIRef) and str(s).startswith(AMUR)):
        return False
    kinds = set(g.objects(s, RDF.type))
    return not kinds & {AKG.Claim, AKG.TextSpan, AKG.SourceDocument}


def test_every_fact_about_an_entity_has_a_source(graph: rdflib.Graph) -> None:
    sourced = {triple for _, triple, spans in facts(graph) if spans}
    missing = [
        (s, p, o) for s, p, o in graph if domain_subject(graph, s) and p not in EXEMPT and (s, p, o) not in sourced
    ]
    assert missing == []


def test_every_claim_is_asserted_and_cites_a_span(graph: rdflib.Graph) -> None:
    for statement, triple, spans in facts(graph):
        assert triple in graph, f"{statement} describes a triple the graph does not assert"
        assert spans, f"{statement} has no source span"
        for span in spans:
            assert (span, RDF.type, AKG.TextSpan) in graph
            assert graph.value(span, DCTERMS.isPartOf) in DOCS


def test_every_span_is_cited(graph: rdflib.Graph) -> None:
    cited = {span for _, _, spans in facts(graph) for span in spans}
    assert set(graph.subjects(RDF.type, AKG.TextSpan)) == cited


@pytest.mark.parametrize("doc", sorted(DOCS), ids=lambda d: d.split("/")[-1])
def test_source_documents_are_described_by_digest_and_size(graph: rdflib.Graph, doc: URIRef) -> None:
    path: Path = DOCS[doc]
    if not path.is_file():
        pytest.skip(f"{path} is absent: the owner's documents sit beside the checkout only in development and CI")
    raw = path.read_bytes()
    assert str(graph.value(doc, AKG.sha256)) == hashlib.sha256(raw).hexdigest()
    assert int(graph.value(doc, AKG.byteSize)) == len(raw)  # type: ignore[arg-type]
    assert int(graph.value(doc, AKG.characterCount)) == len(raw.decode("utf-8"))  # type: ignore[arg-type]
    assert graph.value(doc, DCTERMS.title) is not None


def test_every_span_lies_inside_its_document_on_word_boundaries(graph: rdflib.Graph, texts: dict[URIRef, str]) -> None:
    for span in graph.subjects(RDF.type, AKG.TextSpan):
        text = texts[graph.value(span, DCTERMS.isPartOf)]  # type: ignore[index]
        start, end = int(graph.value(span, OA.start)), int(graph.value(span, OA.end))  # type: ignore[arg-type]
        assert 0 <= start < end <= len(text), span
        piece = text[start:end]
        assert piece == piece.strip(), f"{span} starts or ends on white space"
        assert start == 0 or not (text[start - 1].isalnum() and piece[0].isalnum()), f"{span} starts mid-word"
        assert end == len(text) or not (text[end].isalnum() and piece[-1].isalnum()), f"{span} ends mid-word"


def test_span_ids_spell_their_offsets(graph: rdflib.Graph) -> None:
    for span in graph.subjects(RDF.type, AKG.TextSpan):
        m = re.fullmatch(r".*/span/(seed|ref)-(\d+)-(\d+)", str(span))
        assert m, span
        assert (int(m.group(2)), int(m.group(3))) == (int(graph.value(span, OA.start)), int(graph.value(span, OA.end)))  # type: ignore[arg-type]


def _labels(g: rdflib.Graph, node: rdflib.term.Node) -> list[str]:
    return [str(v) for p in (RDFS.label, SKOS.altLabel) for v in g.objects(node, p)]


def test_cited_seed_spans_name_the_places_and_taxa_they_are_about(
    graph: rdflib.Graph, texts: dict[URIRef, str], seed_text: str
) -> None:
    """Where an object's label appears in the source text at all, the span citing the fact names it.

    The Amur leopard itself is left out: it is the topic of the text, which refers to it by pronoun
    ("their diet", "the population", "the cats") far more often than by name.
    """
    seed = URIRef(AMUR + "source-seed")
    kinds = set(graph.transitive_subjects(RDFS.subClassOf, AKG.Place))
    kinds |= set(graph.transitive_subjects(RDFS.subClassOf, AKG.Taxon))
    checked = 0
    for statement, (_, _, o), spans in facts(graph):
        if o == URIRef(AMUR + "amur-leopard") or not set(graph.objects(o, RDF.type)) & kinds:
            continue
        # a label, or a word of it ("the leopard population" names the Amur leopard)
        names = [n for n in _labels(graph, o) if len(n) > 3 and n.lower() in seed_text.lower()]
        names += [w for n in names for w in n.split() if len(w) >= 5]
        names += [DEMONYMS[n] for n in names if n in DEMONYMS]  # "the Russian-Chinese border"
        seed_spans = [s for s in spans if graph.value(s, DCTERMS.isPartOf) == seed]
        if not names or not seed_spans:
            continue
        cited = " ".join(span_text(graph, s, texts) for s in seed_spans).lower()
        assert any(n.lower() in cited for n in names), f"{statement}: no span names {names}"
        checked += 1
    assert checked > 45


def test_literal_values_appear_in_the_span_that_states_them(graph: rdflib.Graph, texts: dict[URIRef, str]) -> None:
    """Numbers, names, codes and identifiers are read off the cited text, not made up."""
    checked = 0
    for statement, (_, p, o), spans in facts(graph):
        # aimOrder is a position in the span, and a rank follows from the form of the name (next test)
        if not isinstance(o, Literal) or p in (AKG.aimOrder, DWC.taxonRank):
            continue
        value = str(o)
        if p == AKG.areaSquareKilometres:
            value = f"{int(value):,}"  # the reference writes 2,799
        if value.endswith("T00:00:00"):
            value = value.removesuffix("T00:00:00")  # a date, held as an OWL 2 xsd:dateTime at midnight
        if p in (AKG.startYear, AKG.endYear):
            # a period's years follow from the century the text names: 1901-2000 is "the 20th century"
            year = int(value)
            value = f"{(year - 1) // 100 + 1}th century"
            assert (year % 100 == 1) if p == AKG.startYear else (year % 100 == 0), f"{statement}: {year} is no bound"
        cited = " ".join(span_text(graph, s, texts) for s in spans)
        words = value.split()
        forms = {value, NUMBER_WORDS.get(value, value)}
        if len(words) == 3:  # a synonym written "C. n. hortulorum" in the reference
            forms.add(f"{words[0][0]}. {words[1][0]}. {words[2]}")
        assert any(f in cited for f in forms), f"{statement}: {value!r} is not in its span(s)"
        checked += 1
    assert checked > 40


def test_ranks_follow_from_the_form_of_the_scientific_name(graph: rdflib.Graph, texts: dict[URIRef, str]) -> None:
    expected = {1: "genus", 2: "species", 3: "subspecies"}
    ranked = 0
    for taxon, rank in graph.subject_objects(DWC.taxonRank):
        name = str(graph.value(taxon, DWC.scientificName))
        assert str(rank) == expected[len(name.split())], (taxon, name, rank)
        ranked += 1
    assert ranked >= 8


def test_external_identifiers_appear_in_the_reference_row_cited(graph: rdflib.Graph, texts: dict[URIRef, str]) -> None:
    for statement, (_, p, o), spans in facts(graph):
        if p not in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch):
            continue
        local = str(o).rsplit("/", 1)[-1]
        cited = " ".join(span_text(graph, s, texts) for s in spans)
        assert local in cited, f"{statement}: {local} is not in the cited reference row"


def test_key_facts_cite_the_sentences_that_state_them(graph: rdflib.Graph, texts: dict[URIRef, str]) -> None:
    def spans_of(s: URIRef, p: URIRef, o: rdflib.term.Node) -> str:
        found = [spans for _, triple, spans in facts(graph) if triple == (s, p, o)]
        assert found, (s, p, o)
        return " ".join(span_text(graph, x, texts) for x in found[0])

    amur = rdflib.Namespace(AMUR)
    assert "Critically Endangered" in spans_of(
        amur["iucn-assessment"], AKG.redListCategory, URIRef("https://w3id.org/amurkg/iucn/redlist/CR")
    )
    assert "sub-adult" in spans_of(
        amur["population-estimate"], AKG.countedLifeStage, URIRef("https://w3id.org/amurkg/vocab/sub-adult")
    )
    assert "unconfirmed" in spans_of(
        amur["occurrence-north-korea-now"], AKG.presenceStatus, URIRef("https://w3id.org/amurkg/vocab/unconfirmed")
    )
    assert "winter coat" in spans_of(amur["winter-coat"], AKG.adaptationOf, amur["amur-leopard"])
    assert "20th century" in spans_of(amur["range-contraction"], AKG.duringPeriod, amur["twentieth-century"])
    assert "early 1900s" in spans_of(amur["hunting-for-pelts"], AKG.mainlyDuring, amur["early-1900s"])
    assert "anti-poaching" in spans_of(amur["anti-poaching-patrols"], AKG.actionLocation, amur["land-of-the-leopard"])


def test_no_sentence_of_the_source_is_copied_into_the_project(seed_text: str) -> None:
    """Facts cite the text by position; no run of eight words from it stands in any shipped file."""
    words = re.findall(r"[\w’'-]+", seed_text)
    runs = {" ".join(words[i : i + 8]).lower() for i in range(len(words) - 7)}
    for path in shipped_files() + sorted((Path(__file__).parent.parent / "queries").glob("*.rq")):
        shipped_words = re.findall(r"[\w’'-]+", path.read_text(encoding="utf-8"))
        shipped_runs = {" ".join(shipped_words[i : i + 8]).lower() for i in range(len(shipped_words) - 7)}
        assert not runs & shipped_runs, f"{path.name} copies text from the source"


def test_iucn_class_assignments_are_marked_as_curator_judgements(kg) -> None:  # type: ignore[no-untyped-def]
    """Which IUCN threat, stress or habitat class something falls under is the curators' judgement: the text
    does not state it, and the reference table gives the classes, not the mapping. Every such fact says so."""
    rows = kg.query(
        """SELECT ?fact ?judged ?who ?source WHERE {
             ?fact a akg:Claim ; akg:statesPredicate ?p ; prov:wasDerivedFrom/dcterms:isPartOf ?source .
             VALUES ?p { akg:iucnThreat akg:iucnStress akg:iucnHabitat }
             BIND(EXISTS { ?fact a akg:CuratorJudgement } AS ?judged)
             OPTIONAL { ?fact prov:wasAttributedTo/rdfs:label ?who } }"""
    ).as_text_dicts()
    assert len(rows) >= 10
    for row in rows:
        assert row["judged"] == "true" and row["who"] == "the amurkg curators", row
        assert row["source"] == "amur:source-reference", row  # the class's entry in the IUCN scheme, cited
    stated = kg.query("ASK { ?f a akg:CuratorJudgement ; akg:statesPredicate akg:iucnProtectedAreaCategory }")
    assert stated.value is False  # the park's category is stated by the reference table: not a judgement
    described = {r["property"]: r["sources"] for r in kg.describe("poaching of leopards").as_text_dicts()}
    assert described["akg:iucnThreat"].endswith("; curators' judgement")
    assert "judgement" not in described["akg:drivenBy"]


def test_facts_citing_several_spans_say_how_the_spans_support_them(
    graph: rdflib.Graph, texts: dict[URIRef, str]
) -> None:
    """Several spans either each state the fact (then each names its object, where the text names it at all)
    or state it only together; a fact with one span needs neither."""
    alone = URIRef("https://w3id.org/amurkg/vocab/each-span-alone")
    together: URIRef | None = None
    support_of = {s: graph.value(s, AKG.spanSupport) for s, _, _ in graph.triples((None, AKG.spanSupport, None))}
    several = [(st, triple, spans) for st, triple, spans in facts(graph) if len(spans) > 1]
    assert several and all(st in support_of for st, _, _ in several)
    assert not [st for st, _, spans in facts(graph) if len(spans) == 1 and st in support_of]
    kinds = set(graph.transitive_subjects(RDFS.subClassOf, AKG.Place))
    kinds |= set(graph.transitive_subjects(RDFS.subClassOf, AKG.Taxon))
    checked = 0
    for statement, (_, _, o), spans in several:
        if support_of[statement] != alone:
            together = statement
            continue
        if not set(graph.objects(o, RDF.type)) & kinds:
            continue  # places and taxa: named where they are meant
        names = [n for n in _labels(graph, o) if len(n) > 3]
        seed_names = [n for n in names if n.lower() in texts[URIRef(AMUR + "source-seed")].lower()]
        if not seed_names or o == URIRef(AMUR + "amur-leopard"):
            continue
        for span in spans:
            assert any(n.lower() in span_text(graph, span, texts).lower() for n in seed_names), (statement, span)
            checked += 1
    assert checked >= 6 and together is not None


def test_describe_says_whether_spans_support_a_fact_alone_or_together(cli) -> None:  # type: ignore[no-untyped-def]
    china = cli("describe", "amur:occurrence-china-now").stdout
    assert "seed 837-995; seed 3485-3520 (each alone)" in china
    climate = cli("describe", "amur:continental-climate").stdout
    assert "seed 2077-2155; seed 2157-2266 (only together)" in climate
