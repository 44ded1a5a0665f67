"""amurkg check: every rule query passes on the shipped graph, and each one catches what it is for."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import amurkg
from amurkg.check import run_checks

PREFIXES = """@prefix amur: <https://w3id.org/amurkg/id/> .
@prefix akg: <https://w3id.org/amurkg/ontology#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix time: <http://www.w3.org/2006/time#> .
@prefix vocab: <https://w3id.org/amurkg/vocab/> .
"""


def failing(kg: amurkg.KnowledgeGraph) -> dict[str, list[dict[str, str]]]:
    return {o.check.name: o.rows.as_text_dicts() for o in run_checks(kg) if not o.passed}


def test_shipped_graph_passes_every_check(kg: amurkg.KnowledgeGraph) -> None:
    outcomes = run_checks(kg)
    assert len(outcomes) >= 5
    assert failing(kg) == {}


@pytest.mark.parametrize(
    ("turtle", "check", "expected"),
    [
        (
            "amur:amur-leopard akg:usesHabitat amur:plains .",
            "fact-without-source-violation",
            {"subject": "amur:amur-leopard", "property": "akg:usesHabitat", "object": "amur:plains"},
        ),
        ('amur:x rdfs:label "WILD BOAR"@en .', "duplicate-label-violation", {"label": "wild boar", "entities": "2"}),
        (
            "amur:f a akg:Claim ; akg:statesSubject amur:unnamed ; akg:statesPredicate akg:near ; "
            "akg:statesObject amur:russia ; "
            "prov:wasDerivedFrom amur:s .",
            "unlabelled-entity-violation",
            {"entity": "amur:unnamed"},
        ),
        (
            "amur:s a akg:TextSpan ; dcterms:isPartOf amur:source-seed ; oa:start 10 ; oa:end 99999 .",
            "span-outside-document-violation",
            {"span": "amur:s", "start": "10", "end": "99999", "length": "4504"},
        ),
        (  # a place relation the text states only in two halves, stated as a plain fact
            "amur:f a akg:Claim ; akg:statesSubject amur:jilin ; akg:statesPredicate schema:containedInPlace ; "
            "akg:statesObject amur:transboundary-area ; akg:spanSupport vocab:spans-together .",
            "place-reading-unjudged-violation",
            {
                "fact": "amur:f",
                "subject": "amur:jilin",
                "property": "schema:containedInPlace",
                "object": "amur:transboundary-area",
            },
        ),
        (
            "amur:f a akg:Claim , akg:CuratorJudgement ; prov:wasAttributedTo amur:amurkg-curators .",
            "judgement-without-reason-violation",
            {"fact": "amur:f", "missing": "reason"},
        ),
        (  # the early 1900s begin in 1900, outside the 20th century (1901-2000)
            "amur:early-1900s time:intervalIn amur:twentieth-century .",
            "period-extent-violation",
            {
                "period": "amur:early-1900s",
                "problem": "lies within a period of known years but has no years to show it",
            },
        ),
    ],
    ids=[
        "unsourced fact",
        "duplicate label",
        "unlabelled entity",
        "span outside document",
        "place reading unjudged",
        "judgement without reason",
        "period without years inside a century",
    ],
)
def test_each_check_catches_its_problem(turtle: str, check: str, expected: dict[str, str], tmp_path: Path) -> None:
    extra = tmp_path / "extra.ttl"
    extra.write_text(PREFIXES + turtle + "\n")
    found = failing(amurkg.load(data=[extra]))
    assert expected in found.get(check, []), found


def test_missing_confirmed_identifier_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import amurkg.resources as resources

    copy = tmp_path / "data"
    for folder in ("ontology", "graph", "queries"):
        shutil.copytree(resources.data_root() / folder, copy / folder)
    places = copy / "graph" / "places.ttl"
    text = places.read_text(encoding="utf-8")
    assert "skos:exactMatch wd:Q959" in text
    places.write_text(text.replace("skos:exactMatch wd:Q959 ;", ""), encoding="utf-8")
    monkeypatch.setattr(resources, "data_root", lambda: copy)
    found = failing(amurkg.load())
    assert {"entity": "amur:vladivostok", "property": "skos:exactMatch", "expected": "wd:Q959"} in found[
        "external-id-missing-violation"
    ]


def test_cli_exit_codes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = cli("check")
    n = sum(q.is_violation_check for q in amurkg.catalog.list_queries())
    assert n >= 9 and ok.exit_code == 0 and f"{n} of {n} checks passed" in ok.stdout
    extra = tmp_path / "dup.ttl"
    extra.write_text(PREFIXES + 'amur:x rdfs:label "Wild Boar"@en .\n')
    bad = cli("check", "-d", str(extra), "-e", "rdflib")
    assert bad.exit_code == 1
    assert "FAIL  duplicate-label-violation" in bad.stdout and "wild boar" in bad.stdout


def test_stats_report_link_coverage(kg: amurkg.KnowledgeGraph) -> None:
    stats = kg.stats()
    assert stats["confirmedIdsMissing"] == 0
    assert stats["ncbiTaxonomy"] == 3  # leopard, wild boar, canine distemper virus
    assert stats["gbif"] == 3  # leopard, Panthera, wild boar
    assert stats["geonames"] == 9 and stats["iso3166"] == 7 and stats["envo"] == 3
    assert stats["wikidata"] >= 20 and stats["linkedIndividuals"] >= stats["geonames"]
