"""SHACL validation: the shipped graph conforms, and each kind of contributor mistake is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amurkg.rdfio import read_rdf
from amurkg.validate import validate

PREFIXES = """@prefix amur: <https://w3id.org/amurkg/id/> .
@prefix akg: <https://w3id.org/amurkg/ontology#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix iucnrl: <https://w3id.org/amurkg/iucn/redlist/> .
@prefix vocab: <https://w3id.org/amurkg/vocab/> .
@prefix time: <http://www.w3.org/2006/time#> .
@prefix schema: <https://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# (kind of mistake, Turtle added to the graph, focus node, fragment of the expected message)
BROKEN = [
    ("missing label", "amur:snow-leopard a akg:BigCat .", "amur:snow-leopard", "needs exactly one English rdfs:label"),
    (
        "label not in English",
        'amur:snow-leopard a akg:BigCat ; rdfs:label "Schneeleopard"@de .',
        "amur:snow-leopard",
        "needs exactly one English rdfs:label",
    ),
    (
        "fact with no source",
        "amur:amur-leopard akg:usesHabitat amur:plains .",
        "amur:amur-leopard",
        "fact has no source",
    ),
    (
        "prey that is not a taxon",
        "amur:amur-leopard obo:RO_0002439 amur:russia .",
        "amur:amur-leopard",
        "preys on must point to a taxon",
    ),
    (
        "population minimum above maximum",
        "amur:population-estimate akg:minimumCount 500 .",
        "amur:population-estimate",
        "up to the maximum count",
    ),
    (
        "unknown IUCN Red List code",
        "amur:iucn-assessment akg:redListCategory <https://w3id.org/amurkg/iucn/redlist/XX> .",
        "amur:iucn-assessment",
        "Red List category must be one of",
    ),
    (
        "dangling reference",
        "amur:wild-boar akg:abundantIn amur:atlantis .",
        "amur:wild-boar",
        "the graph does not describe",
    ),
    (
        "wrong datatype",
        'amur:est a akg:PopulationEstimate ; rdfs:label "est"@en ; akg:estimatedTaxon amur:amur-leopard ; '
        'akg:countedLifeStage vocab:adult ; akg:minimumCount "a hundred" ; akg:maximumCount 130 .',
        "amur:est",
        "minimum count must be one whole number",
    ),
    (
        "span past the end of its document",
        "<https://w3id.org/amurkg/id/span/seed-4400-9999> a akg:TextSpan ; dcterms:isPartOf amur:source-seed ; "
        "oa:start 4400 ; oa:end 9999 .",
        "span:seed-4400-9999",
        "past the end of its document",
    ),
    (
        "span that ends before it starts",
        "<https://w3id.org/amurkg/id/span/x> a akg:TextSpan ; dcterms:isPartOf amur:source-seed ; "
        "oa:start 50 ; oa:end 40 .",
        "span:x",
        "below its end",
    ),
    (
        "claim citing no span",
        "<https://w3id.org/amurkg/id/fact/x> a akg:Claim ; akg:statesSubject amur:wild-boar ; "
        'akg:statesPredicate rdfs:label ; akg:statesObject "wild boar"@en .',
        "fact:x",
        "at least one source span",
    ),
    (
        "curator judgement that does not say why",
        "<https://w3id.org/amurkg/id/fact/x> a akg:Claim , akg:CuratorJudgement ; "
        "akg:statesSubject amur:wild-boar ; akg:statesPredicate akg:sizeClass ; akg:statesObject vocab:medium-sized ; "
        "prov:wasDerivedFrom <https://w3id.org/amurkg/id/span/seed-0-55> ; "
        "prov:wasAttributedTo amur:amurkg-curators .",
        "fact:x",
        "says why",
    ),
    (
        "malformed scientific name",
        'amur:wild-boar dwc:scientificName "sus Scrofa" .',
        "amur:wild-boar",
        "one Latin name",
    ),
    (
        "occurrence without a place",
        'amur:occ a akg:RangeOccurrence ; rdfs:label "occ"@en ; '
        "akg:occurringTaxon amur:amur-leopard ; akg:duringPeriod amur:present-day ; "
        "akg:presenceStatus vocab:confirmed .",
        "amur:occ",
        "exactly one place",
    ),
    (
        "presence status outside the code list",
        "amur:occurrence-china-now akg:presenceStatus vocab:abundant .",
        "amur:occurrence-china-now",
        "presence status must be",
    ),
    (
        "protected area category that IUCN does not have",
        'amur:land-of-the-leopard akg:iucnProtectedAreaCategory "VII" .',
        "amur:land-of-the-leopard",
        "IUCN protected area category must be",
    ),
    ("malformed ISO 3166 code", 'amur:russia akg:iso3166Code "Russia" .', "amur:russia", "ISO 3166 code"),
    (
        "period that ends before it starts",
        "amur:present-day akg:startYear 2020 ; akg:endYear 2010 .",
        "amur:present-day",
        "no later than its end year",
    ),
    (
        "period outside the period it lies within",
        "amur:early-1900s time:intervalIn amur:twentieth-century ; akg:startYear 1890 .",
        "amur:early-1900s",
        "begins later or ends earlier",
    ),
    (
        "free text where a code list belongs",
        'amur:wild-boar akg:socialBehaviour "lives in groups" .',
        "amur:wild-boar",
        "takes a value from a code list",
    ),
    (
        "consequence attached to nothing",
        'amur:floating-state a akg:Consequence ; rdfs:label "a state tied to nothing"@en .',
        "amur:floating-state",
        "a consequence attached to nothing",
    ),
    (
        "several spans without saying how they support the fact",
        "<https://w3id.org/amurkg/id/fact/x> a akg:Claim ; akg:statesSubject amur:wild-boar ; "
        "akg:statesPredicate akg:sizeClass ; akg:statesObject vocab:medium-sized ; "
        "prov:wasDerivedFrom <https://w3id.org/amurkg/id/span/seed-0-55> , "
        "<https://w3id.org/amurkg/id/span/seed-57-94> .",
        "fact:x",
        "alone or only together",
    ),
]


@pytest.fixture(scope="module")
def shipped_report():  # type: ignore[no-untyped-def]
    return validate([])


def test_the_shipped_graph_conforms(shipped_report) -> None:  # type: ignore[no-untyped-def]
    assert shipped_report.conforms, shipped_report.findings[:5]
    assert shipped_report.findings == []
    assert shipped_report.exit_code == 0


@pytest.mark.parametrize(("kind", "turtle", "focus", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_kind_of_mistake_is_caught(kind: str, turtle: str, focus: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "mistake.ttl"
    path.write_text(PREFIXES + turtle + "\n")
    report = validate([read_rdf(path)])
    assert not report.conforms and report.exit_code == 1
    hits = [f for f in report.findings if f.focus == focus and message in f.message]
    assert hits, f"{kind}: {[(f.focus, f.message) for f in report.findings]}"
    assert all(f.severity == "Violation" for f in hits)


def test_cli_exit_codes_and_formats(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = cli("validate")
    assert ok.exit_code == 0 and "conforms" in ok.stdout
    bad = tmp_path / "bad.ttl"
    bad.write_text(PREFIXES + "amur:snow-leopard a akg:BigCat .\n")
    text = cli("validate", "-d", str(bad))
    assert text.exit_code == 1
    assert "Violation: amur:snow-leopard rdfs:label: needs exactly one English rdfs:label" in text.stdout
    doc = json.loads(cli("validate", "-d", str(bad), "--format", "json").stdout)
    assert doc["conforms"] is False and doc["results"][0]["focus"] == "amur:snow-leopard"
    ttl = cli("validate", "-d", str(bad), "--format", "ttl")
    assert ttl.exit_code == 1 and "sh:ValidationReport" in ttl.stdout


def test_user_shapes_are_added(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shapes = tmp_path / "mine.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix akg: <https://w3id.org/amurkg/ontology#> .\n"
        "<https://example.org/s> a sh:NodeShape ; sh:targetClass akg:Country ;\n"
        '  sh:property [ sh:path akg:iso3166Alpha3 ; sh:minCount 1 ; sh:message "every country needs alpha-3" ] .\n'
    )
    assert cli("validate", "--shapes", str(shapes)).exit_code == 0  # all three countries have it
    shapes.write_text(shapes.read_text().replace("iso3166Alpha3", "iso3166Numeric").replace("alpha-3", "numeric"))
    assert cli("validate", "--shapes", str(shapes)).exit_code == 0
    shapes.write_text(shapes.read_text().replace("akg:Country", "akg:City"))
    result = cli("validate", "--shapes", str(shapes))
    assert result.exit_code == 1 and "Vladivostok" in result.stdout and "every country needs numeric" in result.stdout


def test_bad_input_is_exit_2_with_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b .\n")
    for args in (["-d", str(broken)], ["--shapes", str(broken)], ["--format", "yaml"]):
        result = cli("validate", *args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("amurkg: error: ")
    assert "(shapes)" in cli("validate", "--shapes", str(broken)).stderr


SPARQL_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:NoWildBoar a sh:NodeShape ;
    sh:targetNode <https://w3id.org/amurkg/id/wild-boar> ;
    sh:sparql [ sh:message "wild boar is here" ; sh:select \"\"\"SELECT $this WHERE { BODY }\"\"\" ] .
"""


@pytest.mark.parametrize(
    "body",
    [
        "SERVICE <URL> { ?s ?p ?o }",
        "\\\\u0053ERVICE <URL> { ?s ?p ?o }",
        "{ SELECT * FROM <URL> WHERE { ?s ?p ?o } }",
        "FILTER EXISTS { SERVICE SILENT <URL> { ?a ?b ?c } }",
    ],
)
def test_shacl_sparql_never_reaches_the_network(tmp_path: Path, cli, body: str) -> None:  # type: ignore[no-untyped-def]
    from hostile import Listener

    listener = Listener()
    try:
        shapes = tmp_path / "shapes.ttl"
        shapes.write_text(SPARQL_SHAPE.replace("BODY", body.replace("URL", listener.url)), encoding="utf-8")
        result = cli("validate", "--shapes", str(shapes))
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "refused" in result.stderr and str(shapes) in result.stderr
        assert listener.connections() == 0
    finally:
        listener.sock.close()


def test_shacl_sparql_constraints_run(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SPARQL_SHAPE.replace("BODY", "$this ?p ?o"), encoding="utf-8")
    result = cli("validate", "--shapes", str(shapes), "-f", "json")
    assert result.exit_code == 1
    assert "wild boar is here" in result.stdout


def test_the_report_on_the_shipped_graph_is_pyshacls_computed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped graph never changes within a release: pySHACL's report on it is kept, keyed by a digest
    of the graph, the shapes and the versions, and served as it was; data or shapes of the user's own are
    always validated afresh."""
    import pyshacl

    from amurkg.validate import format_report, validate

    monkeypatch.setenv("AMURKG_CACHE_DIR", str(tmp_path / "cache"))
    fresh = validate([])
    assert len(list((tmp_path / "cache").glob("validation-*.json"))) == 1

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pySHACL ran although its report on the shipped graph was kept")

    monkeypatch.setattr(pyshacl, "validate", refuse)
    kept = validate([])
    for fmt in ("text", "json"):
        assert format_report(kept, fmt) == format_report(fresh, fmt)
    from rdflib.compare import isomorphic

    assert isomorphic(kept.results_graph, fresh.results_graph)
    extra = tmp_path / "extra.ttl"
    extra.write_text(PREFIXES + 'amur:x a akg:BigCat ; rdfs:label "x"@en .\n')
    from amurkg.errors import AmurkgError
    from amurkg.rdfio import read_rdf

    with pytest.raises(AmurkgError, match="pySHACL ran"):  # (validate reports pySHACL's failures as its own)
        validate([read_rdf(extra)])
    (next((tmp_path / "cache").glob("validation-*.json"))).write_text("{ not json")
    with pytest.raises(AmurkgError, match="pySHACL ran"):  # a damaged cache is ignored, not trusted
        validate([])


def _reference_report(paths: list[Path]):  # type: ignore[no-untyped-def]
    """pySHACL as its documentation shows it, on a graph rdflib reads by itself: no amurkg code involved."""
    import warnings

    import pyshacl
    import rdflib

    from amurkg.resources import shapes_file, shipped_files

    data = rdflib.Graph()
    for path in [*shipped_files(), *paths]:
        data.parse(path, format="turtle")
    shapes = rdflib.Graph().parse(shapes_file(), format="turtle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        conforms, results, _ = pyshacl.validate(
            data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, js=False
        )
    return conforms, results


@pytest.mark.heavy
def test_findings_are_exactly_pyshacls_reference_report(tmp_path: Path) -> None:
    """Every mistake of the broken-graph suite at once, plus generated records that break the shapes many
    times over: amurkg's faster run (each constraint query parsed once, no clone of its own copy of the data)
    reports what pySHACL reports on its own, result for result."""
    from rdflib.compare import isomorphic

    lines = [turtle for _, turtle, _, _ in BROKEN]
    for i in range(60):  # each focus node meets the SPARQL-based constraints again
        lines.append(f"<https://example.org/occ/{i}> a akg:RangeOccurrence ; akg:inPlace amur:jilin .")
    mistakes = tmp_path / "mistakes.ttl"
    mistakes.write_text(PREFIXES + "\n".join(lines) + "\n", encoding="utf-8")
    ours = validate([read_rdf(mistakes)])
    conforms, reference = _reference_report([mistakes])
    assert ours.conforms is conforms is False
    assert len(ours.findings) > 60
    assert isomorphic(ours.results_graph, reference)
