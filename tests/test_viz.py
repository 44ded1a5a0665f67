"""Graph views: counts agree with SPARQL, files round-trip, the HTML renders in Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from conftest import missing, tool

import amurkg
from amurkg.viz import GROUPS, READABLE, Notes, graph_metrics, overview, render, to_networkx

AMUR = "https://w3id.org/amurkg/id/"
AKG = "https://w3id.org/amurkg/ontology#"
BOOKKEEPING = (AMUR + "fact/", AMUR + "span/", AMUR + "source-")
NODE_FILTER = """FILTER(STRSTARTS(STR(?{v}), "https://w3id.org/amurkg/") && !STRSTARTS(STR(?{v}), "https://w3id.org/amurkg/ontology")
  && !STRSTARTS(STR(?{v}), "https://w3id.org/amurkg/id/fact/") && !STRSTARTS(STR(?{v}), "https://w3id.org/amurkg/id/span/")
  && !STRSTARTS(STR(?{v}), "https://w3id.org/amurkg/id/source-"))"""
LINK = f"""?s ?p ?o . FILTER(isIRI(?o) && ?p != rdf:type && STRSTARTS(STR(?s), "{AMUR}"))
  {NODE_FILTER.format(v="s")} {NODE_FILTER.format(v="o")}"""
PREFIX = "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\nPREFIX owl: <http://www.w3.org/2002/07/owl#>\n"
PREFIX += "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\nPREFIX amur: <https://w3id.org/amurkg/id/>\n"
PREFIX += "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"


def count(kg: amurkg.KnowledgeGraph, body: str) -> int:
    result = kg.query(PREFIX + f"SELECT (COUNT(*) AS ?n) WHERE {{ {body} }}")
    return int(result.rows[0][0].value)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def instance(kg: amurkg.KnowledgeGraph) -> nx.MultiDiGraph:
    return to_networkx(kg)


def test_instance_view_holds_every_individual_and_every_link_between_them(
    kg: amurkg.KnowledgeGraph, instance: nx.MultiDiGraph
) -> None:
    individuals = kg.query(
        PREFIX + "SELECT DISTINCT ?x WHERE { ?x a ?c . FILTER(STRSTARTS(STR(?x), 'https://w3id.org/amurkg/id/')) "
        "FILTER NOT EXISTS { ?x a/rdfs:subClassOf* skos:Concept } }"
    )
    expected = {row[0].value for row in individuals.rows if not row[0].value.startswith(BOOKKEEPING)}  # type: ignore[union-attr]
    assert expected <= set(instance.nodes)
    links = kg.query(
        PREFIX + "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isIRI(?s) && isIRI(?o) "
        "&& ?p NOT IN (rdf:type, akg:statesSubject, akg:statesObject, akg:statesPredicate)) }"
    )
    between = {
        (r[0].value, r[1].value, r[2].value) for r in links.rows if r[0].value in instance and r[2].value in instance
    }  # type: ignore[union-attr]
    assert {(u, d["property"], v) for u, v, d in instance.edges(data=True)} == between
    assert all({"label", "cls", "group", "iri"} <= set(d) for _, d in instance.nodes(data=True))
    assert not any(n.startswith(BOOKKEEPING) for n in instance)
    assert {d["group"] for _, d in instance.nodes(data=True)} <= {name for name, _, _ in GROUPS}
    assert len(GROUPS) <= 12


def test_instance_view_includes_the_users_data(tmp_path: Path) -> None:
    occurrences = tmp_path / "occurrences.ttl"
    lines = ["@prefix dwc: <http://rs.tdwg.org/dwc/terms/> .", "@prefix ex: <https://example.org/occ/> ."]
    lines += [
        f"ex:o{i} a dwc:Occurrence ; <http://rs.tdwg.org/dwc/iri/toTaxon> <{AMUR}wild-boar> ." for i in range(400)
    ]
    occurrences.write_text("\n".join(lines) + "\n")
    kg = amurkg.load(data=[occurrences])
    notes = Notes()
    graph = to_networkx(kg, "instance", notes=notes)
    mine = [n for n, d in graph.nodes(data=True) if n.startswith("https://example.org/occ/")]
    assert len(mine) == 400 and all(graph.nodes[n]["group"] == "your data" for n in mine)
    assert graph.in_degree(AMUR + "wild-boar") >= 400
    assert notes and "literal values" in notes[0]  # what the view leaves out is said
    small = overview(graph, 120, notes)
    assert small.number_of_nodes() <= 120 and "overview" in notes[-1]
    assert small.has_edge("group:your data", AMUR + "wild-boar")  # the folded occurrences stay linked


def test_the_story_view_tells_the_story(kg: amurkg.KnowledgeGraph) -> None:
    story = to_networkx(kg, "story")
    labels = {d["label"] for _, d in story.nodes(data=True)}
    assert {"Amur leopard", "Manchurian sika deer", "Siberian roe deer", "wild boar"} <= labels  # prey
    assert {"temperate mixed forest", "Russia", "China", "Critically Endangered"} <= labels  # habitat, range, status
    assert {"poaching of leopards", "anti-poaching patrols"} <= labels  # threats and what counters them
    assert nx.number_weakly_connected_components(story) == 1 and story.number_of_nodes() <= 40
    assert all(d["label"] for _, _, d in story.edges(data=True))  # every edge is labelled
    assert len({d["group"] for _, d in story.nodes(data=True)}) <= 12


def test_provenance_is_left_out_unless_asked(kg: amurkg.KnowledgeGraph, instance: nx.MultiDiGraph) -> None:
    with_prov = to_networkx(kg, provenance=True)
    facts = count(kg, "?f a <https://w3id.org/amurkg/ontology#Claim>")
    spans = count(kg, "?s a <https://w3id.org/amurkg/ontology#TextSpan>")
    assert with_prov.number_of_nodes() == instance.number_of_nodes() + facts + spans + 2  # + the two documents


def test_schema_view_counts_match_sparql(kg: amurkg.KnowledgeGraph) -> None:
    schema = to_networkx(kg, "schema")
    assert schema.number_of_nodes() == count(kg, "?c a owl:Class FILTER(isIRI(?c))")
    subclass = (
        "?s rdfs:subClassOf ?o . ?s a owl:Class . ?o a owl:Class FILTER(isIRI(?s) && isIRI(?o) && ?o != owl:Thing)"
    )
    domain_range = (
        "?p a owl:ObjectProperty ; rdfs:domain ?s ; rdfs:range ?o . ?s a owl:Class . ?o a owl:Class "
        "FILTER(isIRI(?s) && isIRI(?o) && ?o != owl:Thing)"
    )
    assert schema.number_of_edges() == count(kg, subclass) + count(kg, domain_range)
    taxon = "https://w3id.org/amurkg/ontology#Taxon"
    assert schema.has_edge("https://w3id.org/amurkg/ontology#Ungulate", "https://w3id.org/amurkg/ontology#Mammal")
    assert schema.nodes[taxon]["label"] == "taxon"


def test_focus_view_counts_match_sparql(kg: amurkg.KnowledgeGraph) -> None:
    focus = to_networkx(kg, "focus", focus="Amur leopard", depth=1)
    near = f"{{ BIND(amur:amur-leopard AS ?x) }} UNION {{ {LINK} FILTER(?s = amur:amur-leopard) BIND(?o AS ?x) }}"
    near += f" UNION {{ {LINK} FILTER(?o = amur:amur-leopard) BIND(?s AS ?x) }}"
    assert focus.number_of_nodes() == count(kg, f"SELECT DISTINCT ?x WHERE {{ {near} }}")
    members = f"SELECT DISTINCT ?x WHERE {{ {near} }}"
    both_ends = (
        f"{LINK} {{ {members.replace('?x', '?a')} }} {{ {members.replace('?x', '?b')} }} FILTER(?s = ?a && ?o = ?b)"
    )
    assert focus.number_of_edges() == count(kg, both_ends)


def test_focus_on_the_leopard_holds_its_prey_places_and_threats(kg: amurkg.KnowledgeGraph) -> None:
    labels = {d["label"] for _, d in to_networkx(kg, "focus", focus="amur:amur-leopard", depth=1).nodes(data=True)}
    assert {"Manchurian sika deer", "Siberian roe deer", "wild boar"} <= labels
    assert {"poaching of leopards", "canine distemper"} <= labels
    assert "Northeast Asia" in labels and "temperate mixed forest" in labels
    wider = {d["label"] for _, d in to_networkx(kg, "focus", focus="amur:amur-leopard", depth=2).nodes(data=True)}
    assert {"Russia", "China", "North Korea", "Land of the Leopard National Park"} <= wider


def test_focus_limited_to_properties_and_classes(kg: amurkg.KnowledgeGraph) -> None:
    prey = to_networkx(kg, "focus", focus="Amur leopard", depth=1, properties=["obo:RO_0002439"])
    assert {d["label"] for _, d in prey.nodes(data=True)} == {
        "Amur leopard",
        "Manchurian sika deer",
        "Siberian roe deer",
        "wild boar",
    }
    threats = to_networkx(kg, "focus", focus="Amur leopard", depth=1, classes=["threat"])  # any of its classes
    assert {d["label"] for _, d in threats.nodes(data=True)} == {
        "Amur leopard",
        "poaching of leopards",
        "canine distemper",
    }


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graphml_and_gexf_round_trip(fmt: str, instance: nx.MultiDiGraph, tmp_path: Path) -> None:
    path = tmp_path / f"g.{fmt}"
    path.write_bytes(render(instance, fmt, "t"))
    back = nx.read_graphml(path, force_multigraph=True) if fmt == "graphml" else nx.read_gexf(path)
    assert set(back.nodes) == set(instance.nodes)
    for node, data in instance.nodes(data=True):
        assert back.nodes[node]["label"] == data["label"] and back.nodes[node]["cls"] == data["cls"]
    edges = sorted((u, v, d["label"]) for u, v, d in instance.edges(data=True))
    assert sorted((u, v, d["label"]) for u, v, d in back.edges(data=True)) == edges


def test_dot_and_cytoscape_keep_labels_and_classes(instance: nx.MultiDiGraph) -> None:
    dot = render(instance, "dot", "t").decode()
    assert dot.startswith("digraph") and '"wild boar"' in dot and 'cls="ungulate"' in dot
    assert dot.count(" -> ") == instance.number_of_edges()
    data = json.loads(render(instance, "cytoscape", "t"))
    back = nx.cytoscape_graph(data)
    assert back.number_of_nodes() == instance.number_of_nodes()
    assert back.number_of_edges() == instance.number_of_edges()


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_pictures(fmt: str, kg: amurkg.KnowledgeGraph) -> None:
    graph = to_networkx(kg, "focus", focus="wild boar", depth=1)
    data = render(graph, fmt, "wild boar")
    if fmt == "png":
        assert data.startswith(b"\x89PNG")
    else:
        text = data.decode()
        assert "<svg" in text and "wild boar" in text and "taxa" in text  # label, legend (groups)
        assert render(graph, fmt, "wild boar") == data  # stable output


def test_stats_graph_names_the_central_entities(kg: amurkg.KnowledgeGraph, instance: nx.MultiDiGraph, cli) -> None:  # type: ignore[no-untyped-def]
    metrics = graph_metrics(instance)
    assert metrics["nodes"] == instance.number_of_nodes() and metrics["edges"] == instance.number_of_edges()
    assert metrics["degree"][0]["label"] == metrics["betweenness"][0]["label"] == "Amur leopard"
    assert metrics["components"] == nx.number_weakly_connected_components(instance)
    out = json.loads(cli("stats", "--graph", "--json").stdout)
    assert out["nodes"] == metrics["nodes"]
    text = cli("stats", "--graph").stdout
    assert "holding the web together" in text
    biggest = max(nx.weakly_connected_components(instance), key=len)
    assert f"{len(biggest)} nodes  around Amur leopard (amur:amur-leopard)" in text  # components are named
    assert len(out["parts"]) == metrics["components"] and sum(p["nodes"] for p in out["parts"]) == metrics["nodes"]


def test_viz_command_writes_every_format(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("g.png", "g.svg", "g.html", "g.graphml", "g.gexf", "g.dot", "g.json"):
        result = cli("viz", "--focus", "Korean pine", "--depth", "2", "-o", str(tmp_path / name))
        assert result.exit_code == 0, (name, result.stderr)
        assert (tmp_path / name).stat().st_size > 500
    assert cli("viz", "--view", "schema", "-f", "dot").stdout.startswith("digraph")


def test_viz_bad_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def one_line(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        for f in fragments:
            assert f in result.stderr

    one_line(cli("viz", "--focus", "amur leoprd"), "no entity", "Amur leopard")
    one_line(cli("viz", "--focus", "wild boar", "--depth", "-1"), "depth must be 0 or more")
    one_line(cli("viz", "--view", "focus"), "needs an entity")
    one_line(cli("viz", "-f", "pdf"), "--format")
    one_line(cli("viz", "-o", str(tmp_path / "g.bmp")), "unknown format 'bmp'")
    one_line(cli("viz", "-o", str(tmp_path / "missing" / "g.png")), "does not exist")
    assert not (tmp_path / "missing").exists()


def test_heavy_libraries_stay_off_the_query_path() -> None:
    code = (
        "import sys; from amurkg.cli import app\n"
        "try: app(['query', 'prey', '-f', 'csv'])\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('networkx', 'matplotlib', 'pyvis', 'rdflib', 'pyshacl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_api_returns_a_networkx_graph() -> None:
    graph = amurkg.to_networkx(amurkg.load(), view="focus", focus="wild boar")
    assert isinstance(graph, nx.MultiDiGraph) and graph.graph["focus"] == AMUR + "wild-boar"


@pytest.mark.tools  # headless Chromium
def test_html_renders_every_node_in_headless_chromium(kg: amurkg.KnowledgeGraph, tmp_path: Path) -> None:
    chromium = tool("chromium")
    graph = to_networkx(kg, "focus", focus="Amur leopard", depth=1)
    page = tmp_path / "focus.html"
    page.write_bytes(render(graph, "html", "Amur leopard", kg))
    source = page.read_text()
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', source), "the page must work offline"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
        "--window-size=1400,1000",
    ]
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    rendered = re.search(r'data-rendered-nodes="(-?\d+)"', dom)
    assert rendered, "the page's load handler did not run"
    assert int(rendered.group(1)) == graph.number_of_nodes()
    assert "data-script-errors" not in dom, re.search(r'data-script-errors="([^"]*)"', dom)
    pixels = re.search(r'data-label-pixels="([\d.]+)"', dom)
    threshold = re.search(r'data-label-threshold="([\d.]+)"', dom)
    assert pixels and threshold, "the page did not report its zoom"
    assert float(pixels.group(1)) >= max(float(threshold.group(1)), READABLE)  # labels drawn, and readable
    assert "<canvas" in dom
    shot = tmp_path / "focus.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True
    )
    assert shot.stat().st_size > 20_000  # a drawn network, not a blank page


@pytest.mark.tools  # cytoscape.js on Node.js
def test_cytoscape_js_loads_every_node_and_edge(instance: nx.MultiDiGraph, tmp_path: Path) -> None:
    """cytoscape.js itself (from npm, under Node.js) reads the export: cy.json() keeps only elements with ids."""
    import os

    node = tool("node")
    modules = os.environ.get("AMURKG_NODE_MODULES", "")
    if not (Path(modules) / "cytoscape").is_dir():
        missing(
            "this test needs cytoscape.js: npm install cytoscape, then AMURKG_NODE_MODULES=<its node_modules>", "node"
        )
    export = tmp_path / "graph.json"
    export.write_bytes(render(instance, "cytoscape", "t"))
    script = (
        "const cy = require('cytoscape')({headless: true});"
        "cy.json(JSON.parse(require('fs').readFileSync(process.argv[1])));"
        "console.log(JSON.stringify({nodes: cy.nodes().length, edges: cy.edges().length}));"
    )
    done = subprocess.run(
        [node, "-e", script, str(export)],
        env={**os.environ, "NODE_PATH": modules},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "cannot handle" not in done.stdout + done.stderr, done.stdout + done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts == {"nodes": instance.number_of_nodes(), "edges": instance.number_of_edges()}
