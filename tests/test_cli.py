"""The command line: every command works, and every kind of bad input gets one clear line and exit 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

import amurkg

GOOD_TTL = """@prefix ex: <https://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
ex:musk-deer rdfs:label "Siberian musk deer"@en .
<https://w3id.org/amurkg/id/amur-leopard> obo:RO_0002439 ex:musk-deer .
"""


def one_line_error(result, *fragments: str) -> str:  # type: ignore[no-untyped-def]
    """The result failed with exit 2, one line on stderr that contains the fragments, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("amurkg: error: ")
    assert ("Traceback" not in result.stderr and result.exception is None) or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# ------------------------------------------------------------------ commands


def test_no_arguments_shows_help(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli()
    assert "Usage" in result.stdout + result.stderr
    assert "query" in result.stdout + result.stderr


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    import amurkg

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"amurkg {amurkg.__version__}"


def test_queries_lists_names_titles_and_parameters(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("queries")
    assert result.exit_code == 0
    assert "prey  " in result.stdout and "Prey of a predator" in result.stdout
    assert "predator=amur:amur-leopard" in result.stdout
    assert "entity=…" in result.stdout  # a required parameter
    listed = json.loads(cli("queries", "--json").stdout)
    prey = next(q for q in listed if q["name"] == "prey")
    assert prey["parameters"][0] == {
        "name": "predator",
        "kind": "entity",
        "required": False,
        "default": "amur:amur-leopard",
        "description": "the predator",
    }


def test_query_json_follows_the_w3c_format(cli) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(cli("query", "conservation-status", "--format", "json").stdout)
    assert doc["head"]["vars"][:3] == ["taxonName", "category", "code"]
    (binding,) = doc["results"]["bindings"]
    assert binding["code"] == {"type": "literal", "value": "CR"}
    assert binding["category"] == {"type": "literal", "value": "Critically Endangered", "xml:lang": "en"}


def test_query_xml_follows_the_w3c_format(cli) -> None:  # type: ignore[no-untyped-def]
    root = ElementTree.fromstring(cli("query", "prey", "-f", "xml").stdout)
    ns = {"s": "http://www.w3.org/2005/sparql-results#"}
    assert [v.get("name") for v in root.findall("s:head/s:variable", ns)][:2] == ["prey", "preyName"]
    uris = {u.text for u in root.findall("s:results/s:result/s:binding[@name='prey']/s:uri", ns)}
    assert "https://w3id.org/amurkg/id/wild-boar" in uris


def test_query_csv_and_tsv(cli) -> None:  # type: ignore[no-untyped-def]
    raw = cli("query", "prey", "-f", "csv").stdout_bytes
    assert b"\r\n" in raw  # RFC 4180 line ends, as the W3C CSV result format asks
    out = raw.decode()
    table = list(csv.DictReader(io.StringIO(out)))
    assert {r["scientificName"] for r in table} == {"Cervus nippon mantchuricus", "Capreolus pygargus", "Sus scrofa"}
    tsv = cli("query", "prey", "-f", "tsv").stdout.splitlines()  # plain values, for cut, awk and spreadsheets
    assert tsv[0].split("\t")[:2] == ["prey", "preyName"]
    assert "amur:wild-boar\twild boar\tSus scrofa" in "\n".join(tsv)
    raw = cli("query", "prey", "-f", "tsv", "--raw").stdout.splitlines()  # the W3C SPARQL TSV form
    assert raw[0].split("\t")[:2] == ["?prey", "?preyName"]
    assert '<https://w3id.org/amurkg/id/wild-boar>\t"wild boar"@en' in "\n".join(raw)


def test_query_table_and_markdown(cli) -> None:  # type: ignore[no-untyped-def]
    table = cli("query", "range-countries", "-f", "table").stdout
    assert "North Korea" in table and "unconfirmed" in table and "(3 rows)" in table
    md = cli("query", "range-countries", "-f", "md").stdout.splitlines()
    assert md[0].startswith("| country |") and md[1].startswith("|---|")
    assert len(md) == 5


def test_query_with_parameters_and_rdflib_engine(cli) -> None:  # type: ignore[no-untyped-def]
    a = cli("query", "places-in-country", "-p", "country=China", "-f", "json")
    b = cli("query", "places-in-country", "-p", "country=amur:china", "-f", "json", "--engine", "rdflib")
    assert a.exit_code == b.exit_code == 0
    assert json.loads(a.stdout) == json.loads(b.stdout)
    assert "Jilin" in a.stdout


def test_query_output_file_format_from_extension(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "prey.json"
    result = cli("query", "prey", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert len(json.loads(out.read_text())["results"]["bindings"]) == 3


def test_sparql_select_ask_construct_describe(cli) -> None:  # type: ignore[no-untyped-def]
    select = cli("sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "-f", "csv")
    assert select.exit_code == 0 and int(select.stdout.splitlines()[1]) > 3000
    ask = cli("sparql", "ASK { <https://w3id.org/amurkg/id/amur-leopard> ?p ?o }", "-f", "json")
    assert json.loads(ask.stdout) == {"head": {}, "boolean": True}
    construct = cli(
        "sparql",
        "PREFIX obo: <http://purl.obolibrary.org/obo/> "
        "CONSTRUCT { ?prey obo:RO_0002458 ?p } WHERE { ?p obo:RO_0002439 ?prey }",
    )
    assert construct.exit_code == 0
    import rdflib

    g = rdflib.Graph().parse(data=construct.stdout, format="turtle")
    assert len(g) == 3
    described = cli("sparql", "DESCRIBE <https://w3id.org/amurkg/id/wild-boar>", "--rdf-format", "nt")
    assert "<https://w3id.org/amurkg/id/wild-boar>" in described.stdout


def test_sparql_from_stdin_and_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    query = "SELECT ?l WHERE { <https://w3id.org/amurkg/id/wild-boar> <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    assert "wild boar" in cli("sparql", "-", "-f", "csv", input=query).stdout
    path = tmp_path / "q.rq"
    path.write_text(query)
    assert "wild boar" in cli("sparql", "--file", str(path), "-f", "csv").stdout


def test_describe_shows_facts_with_their_sources(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("describe", "Korean pine", "-f", "table")
    assert result.exit_code == 0
    assert "Pinus koraiensis" in result.stdout
    assert "reference " in result.stdout  # the scientific name cites the reference table
    # an incoming fact reads from this entity's side, cited from the text
    assert (
        "←    is a tree component of      temperate mixed forest" in result.stdout and "seed 1524-1627" in result.stdout
    )
    as_json = json.loads(cli("describe", "amur:korean-pine", "-f", "json").stdout)
    assert as_json["head"]["vars"] == [
        "direction", "property", "propertyLabel", "value", "valueLabel", "sources", "inferred"
    ]  # fmt: skip


def test_describe_gives_one_row_per_fact_with_its_sources_joined(kg: amurkg.KnowledgeGraph) -> None:
    facts = kg.describe("wild boar").as_text_dicts()
    keys = [(f["direction"], f["property"], f["value"]) for f in facts]
    assert len(keys) == len(set(keys))  # one row per fact, however many spans state it
    preyed = next(f for f in facts if f["property"] == "obo:RO_0002439")
    assert (preyed["direction"], preyed["propertyLabel"], preyed["valueLabel"]) == (
        "in",
        "preyed on by",
        "Amur leopard",
    )
    abundant = next(f for f in facts if f["property"] == "akg:abundantIn")
    assert abundant["sources"] == "seed 1921-2031; seed 2033-2075 (only together)"
    raw = kg.run("entity-facts", {"entity": "wild boar"}).as_text_dicts()
    assert {(r["direction"], r["property"], r["value"]) for r in raw} == set(keys)  # nothing lost in grouping


def test_describe_marks_inferred_facts() -> None:
    facts = amurkg.load(reason=True).describe("wild boar").as_text_dicts()
    inferred = [f for f in facts if f["inferred"] == "true"]
    assert inferred and all(f["sources"] == "" for f in inferred)
    assert any(f["property"] == "obo:RO_0002458" and f["value"] == "amur:amur-leopard" for f in inferred)


def test_describe_quotes_the_cited_text(cli, seed_text: str) -> None:  # type: ignore[no-untyped-def]
    from conftest import SHARED

    result = cli("describe", "wild boar", "--quote", "--sources", str(SHARED), "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["results"]["bindings"]
    preyed = next(r for r in rows if r["property"]["value"].endswith("RO_0002439"))
    start, end = 1921, 2031
    assert preyed["quote"]["value"] == " ".join(seed_text[start:end].split())


def test_describe_quote_needs_the_right_documents(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("describe", "wild boar", "--quote"), "--sources")
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "000_0a866dfb5b4830f3.txt").write_text("not the owner's text\n")
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "external-ids.md").write_text("nor this\n")
    one_line_error(cli("describe", "wild boar", "--quote", "--sources", str(tmp_path)), "SHA-256 differs")


def test_stats(cli) -> None:  # type: ignore[no-untyped-def]
    counts = json.loads(cli("stats", "--json").stdout)
    assert counts["facts"] == counts["sourcedFacts"] > 300
    text = cli("stats").stdout  # for reading: labels, sections, shares of the whole
    assert f"facts citing a source span           {counts['sourcedFacts']:,}  (100% of" in text
    share = round(100 * counts["ncbiTaxonomy"] / counts["taxa"])
    assert "NCBI Taxonomy" in text and f"({share}% of {counts['taxa']} taxa)" in text


def test_user_data_is_layered_on_the_shipped_graph(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "musk.ttl"
    extra.write_text(GOOD_TTL)
    prey = json.loads(cli("query", "prey", "-f", "json", "--data", str(extra)).stdout)
    names = {b["preyName"]["value"] for b in prey["results"]["bindings"]}
    assert names == {"Manchurian sika deer", "Siberian roe deer", "wild boar", "Siberian musk deer"}
    base = json.loads(cli("stats", "--json").stdout)["triples"]
    assert json.loads(cli("stats", "--json", "-d", str(extra)).stdout)["triples"] == base + 2
    # the user's fact has no source: the violation check says so
    unsourced = cli("query", "fact-without-source-violation", "-f", "csv", "-d", str(extra)).stdout
    assert "RO_0002439" in unsourced


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".nt", '<https://example.org/x> <http://www.w3.org/2000/01/rdf-schema#label> "x" .\n'),
        (
            ".rdf",
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"><rdf:Description rdf:about="https://example.org/x">'
            "<rdfs:label>x</rdfs:label></rdf:Description></rdf:RDF>",
        ),
        (
            ".jsonld",
            '{"@context": {"label": "http://www.w3.org/2000/01/rdf-schema#label"}, '
            '"@id": "https://example.org/x", "label": "x"}',
        ),
    ],
)
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_user_data_formats_by_extension(cli, tmp_path: Path, suffix: str, text: str, engine: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"extra{suffix}"
    path.write_text(text)
    result = cli("sparql", 'ASK { <https://example.org/x> ?p "x" }', "-f", "json", "-d", str(path), "-e", engine)
    assert json.loads(result.stdout)["boolean"] is True, result.stderr


# ------------------------------------------------------------------ bad input


def test_unknown_query_suggests_the_nearest(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "prey-specis"), "'prey-specis'", "did you mean", "'prey'")


def test_missing_required_parameter(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "entity-sources"), "needs a value for 'entity'", "-p entity=")


def test_unknown_parameter(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "prey", "-p", "prey=x"), "no parameter 'prey'", "predator")


def test_malformed_parameter(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "prey", "-p", "predator"), "NAME=VALUE")


def test_unknown_entity_suggests_labels(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "prey", "-p", "predator=amur leoprd"), "no entity 'amur leoprd'", "Amur leopard")
    one_line_error(cli("describe", "snow leopard"), "no entity 'snow leopard'")


def test_wrong_kind_of_parameter_value(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "facts-in-span", "-p", "start=ten"), "'ten' is not a whole number")


def test_parameter_values_cannot_change_the_query(cli) -> None:  # type: ignore[no-untyped-def]
    # a label containing SPARQL is just a (non-matching) label, never query text
    evil = 'x" } } SELECT * WHERE { ?s ?p ?o } #'
    one_line_error(cli("query", "prey", "-p", f"predator={evil}"), "no entity")


def test_syntax_error_names_line_and_column(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("sparql", "SELECT ?s WHERE {\n  ?s ?p \n}"), "query:3:", "syntax error")
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT * WHERE {\n ?s ?p ?o .\n FILTER( }\n")
    one_line_error(cli("sparql", "-q", str(bad)), f"{bad}:", "syntax error")
    one_line_error(cli("sparql", "SELECT * WHERE { ?s ?p ?o } LIMIT x"), "query:1:35:")
    one_line_error(cli("sparql", "SELECT ?s WHERE {\n  ?s ?p \n}", "-e", "rdflib"), "query:3:1:", "syntax error")


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("INSERT DATA { <http://a> <http://b> <http://c> }", "INSERT is a SPARQL UPDATE"),
        ("PREFIX x: <http://x/>\nDELETE WHERE { ?s ?p ?o }", "query:2:1: DELETE is a SPARQL UPDATE"),
        ("LOAD <http://example.org/data.ttl>", "LOAD is a SPARQL UPDATE"),
        ("DROP ALL", "DROP is a SPARQL UPDATE"),
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is refused"),
        ("SELECT * FROM <http://example.org/data.ttl> WHERE { ?s ?p ?o }", "FROM is refused"),
        ("SELECT * FROM NAMED <http://example.org/g> WHERE { GRAPH ?g { ?s ?p ?o } }", "FROM is refused"),
    ],
)
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_updates_and_network_access_are_refused(cli, query: str, fragment: str, engine: str) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("sparql", query, "-e", engine), fragment)


def test_keywords_inside_strings_iris_and_comments_are_not_refused(cli) -> None:  # type: ignore[no-untyped-def]
    query = '# SERVICE FROM LOAD\nSELECT ?x WHERE { BIND("FROM SERVICE" AS ?x) FILTER(?x != <http://e/LOAD>) }'
    result = cli("sparql", query, "-f", "csv")
    assert result.exit_code == 0 and "FROM SERVICE" in result.stdout


def test_no_query_given(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("sparql"), "no query given")


def test_malformed_user_turtle_names_file_and_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.ttl"
    bad.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b .\n")
    for engine in ("oxigraph", "rdflib"):
        one_line_error(cli("stats", "-d", str(bad), "-e", engine), f"{bad}:3")


def test_non_utf8_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "latin1.ttl"
    bad.write_bytes(b'@prefix ex: <https://example.org/> .\nex:a ex:b "caf\xe9" .\n')
    one_line_error(cli("stats", "-d", str(bad)), f"{bad}:2", "not valid UTF-8", "re-save")


def test_missing_and_unreadable_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("stats", "-d", str(tmp_path / "nope.ttl")), "no such file")
    one_line_error(cli("stats", "-d", str(tmp_path)), "cannot tell the RDF format")
    folder = tmp_path / "dir.ttl"
    folder.mkdir()
    one_line_error(cli("stats", "-d", str(folder)), "is a folder")
    one_line_error(cli("stats", "-d", str(tmp_path / "data.csv")), "cannot tell the RDF format", ".csv")
    one_line_error(cli("sparql", "-q", str(tmp_path / "missing.rq")), "no such query file")


def test_rdfxml_entity_declarations_are_not_expanded(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bomb = tmp_path / "bomb.rdf"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n <!ENTITY a "aaaaaaaaaa">\n <!ENTITY b "&a;&a;&a;&a;&a;">\n]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    )
    one_line_error(cli("stats", "-d", str(bomb)), f"{bomb}:2:", "document type declarations", "are refused")


def test_jsonld_remote_context_is_not_fetched(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.jsonld"
    remote.write_text('{"@context": "https://schema.org/", "@id": "https://example.org/x", "name": "x"}')
    for engine in ("oxigraph", "rdflib"):
        one_line_error(cli("stats", "-d", str(remote), "-e", engine), "https://schema.org/", "network")


def test_unwritable_output_leaves_nothing_behind(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "prey", "-o", str(tmp_path / "no" / "such" / "dir" / "out.csv")), "does not exist")
    one_line_error(cli("export", "-o", str(tmp_path)), "is a folder")


def test_failed_command_keeps_the_previous_output_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "answer.csv"
    out.write_text("previous answer\n")
    one_line_error(cli("query", "no-such-query", "-o", str(out)), "no canned query")
    assert out.read_text() == "previous answer\n"
    assert [p.name for p in tmp_path.iterdir()] == ["answer.csv"]  # no temporary file left


def test_bad_option_values_are_one_line_usage_errors(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("query", "prey", "--format", "yaml"), "--format", "amurkg query --help")
    one_line_error(cli("export", "--format", "n3"), "--format")
    one_line_error(cli("query", "prey", "--engine", "jena"), "--engine")
    one_line_error(cli("frobnicate"), "No such command")
    one_line_error(cli("query"), "Missing argument")
