"""Graph views with networkx: the instance graph, the schema, or the neighbourhood of one entity,
written as pictures (matplotlib), interactive HTML (pyvis), GraphML, GEXF, DOT or Cytoscape JSON.

networkx, matplotlib and pyvis are imported here only, so ``amurkg query`` never pays for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from amurkg.errors import AmurkgError, FormatError, require
from amurkg.graph import KnowledgeGraph
from amurkg.namespaces import AKG, AMUR, compact
from amurkg.results import SelectResult, Term

if TYPE_CHECKING:
    import networkx as nx

    Graph = nx.MultiDiGraph[str]

VIEWS = ("instance", "schema", "focus")
FORMATS = ("png", "svg", "html", "graphml", "gexf", "dot", "cytoscape")
KG = "https://w3id.org/amurkg/"
BOOKKEEPING = (AMUR + "fact/", AMUR + "span/", AMUR + "source-")

_INSTANCE_EDGES = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?s ?p ?o WHERE {
  ?s ?p ?o .
  FILTER(isIRI(?o) && ?p != rdf:type)
  FILTER(STRSTARTS(STR(?s), "https://w3id.org/amurkg/id/"))
  FILTER(STRSTARTS(STR(?o), "https://w3id.org/amurkg/") && !STRSTARTS(STR(?o), "https://w3id.org/amurkg/ontology"))
}
"""
_INSTANCE_NODES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?node ?label ?class ?classLabel WHERE {
  ?node a ?class .
  FILTER(STRSTARTS(STR(?node), "https://w3id.org/amurkg/"))
  FILTER(!STRSTARTS(STR(?node), "https://w3id.org/amurkg/ontology"))
  OPTIONAL { ?node rdfs:label ?label }
  OPTIONAL { ?class rdfs:label ?classLabel }
}
"""
_LITERALS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?node ?property ?value WHERE {
  ?node ?p ?value .
  FILTER(isLiteral(?value) && STRSTARTS(STR(?node), "https://w3id.org/amurkg/id/"))
  OPTIONAL { ?p rdfs:label ?pl }
  BIND(COALESCE(STR(?pl), STR(?p)) AS ?property)
}
"""
_PROPERTY_LABELS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?property ?label WHERE { ?property rdfs:label ?label }
"""
_SCHEMA = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?p ?o WHERE {
  {
    ?s rdfs:subClassOf ?o . BIND(rdfs:subClassOf AS ?p)
  } UNION {
    ?p a owl:ObjectProperty ; rdfs:domain ?s ; rdfs:range ?o .
  }
  ?s a owl:Class . ?o a owl:Class .
  FILTER(isIRI(?s) && isIRI(?o) && ?o != owl:Thing)
}
"""
_CLASSES = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?node ?label WHERE { ?node a owl:Class . FILTER(isIRI(?node)) OPTIONAL { ?node rdfs:label ?label } }
"""


def _select(kg: KnowledgeGraph, text: str) -> list[dict[str, Term]]:
    result = kg.query(text, where="viz")
    assert isinstance(result, SelectResult)
    return [{v: t for v, t in zip(result.variables, row, strict=True) if t is not None} for row in result.rows]


def _bookkeeping(iri: str) -> bool:
    return iri.startswith(BOOKKEEPING)


def to_networkx(
    kg: KnowledgeGraph,
    view: str = "instance",
    focus: str | None = None,
    depth: int = 1,
    properties: Iterable[str] = (),
    classes: Iterable[str] = (),
    provenance: bool = False,
) -> Graph:
    """The graph as a networkx MultiDiGraph.

    Nodes are IRIs with ``label`` (rdfs:label), ``cls`` (the label of their class) and ``iri``;
    edges are keyed by property and carry ``property`` (its IRI) and ``label`` (its label).
    ``instance``: every individual and the links between them (facts, spans and source documents only
    with ``provenance``). ``schema``: classes, linked by subclass and by each property's domain and
    range. ``focus``: the instance graph within ``depth`` links of the ``focus`` entity, optionally
    following only the given ``properties`` and keeping only nodes of the given ``classes``.
    """
    if view not in VIEWS:
        raise FormatError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    if view == "schema":
        return _schema(kg)
    if view == "focus":
        if focus is None:
            raise AmurkgError("the focus view needs an entity: give --focus ENTITY (an IRI, amur: name or label)")
        if depth < 0:
            raise AmurkgError(f"depth must be 0 or more, not {depth}")
        return _focus(kg, focus, depth, list(properties), list(classes))
    return _instance(kg, provenance)


def _property_labels(kg: KnowledgeGraph) -> dict[str, str]:
    labels: dict[str, str] = {}
    for row in _select(kg, _PROPERTY_LABELS):
        labels.setdefault(row["property"].value, row["label"].value)
    return labels


def _instance(kg: KnowledgeGraph, provenance: bool) -> Graph:
    import networkx as nx

    info: dict[str, tuple[str, str]] = {}  # node -> (label, class label); amurkg classes win, then IRI order
    for row in sorted(_select(kg, _INSTANCE_NODES), key=lambda r: (r["node"].value, r["class"].value)):
        iri, cls = row["node"].value, row["class"].value
        if iri not in info or cls.startswith(AKG):
            label = row["label"].value if "label" in row else compact(iri)
            info[iri] = (label, row["classLabel"].value if "classLabel" in row else compact(cls))

    def add(graph: Graph, iri: str) -> None:
        label, cls = info.get(iri, (compact(iri), "concept"))
        graph.add_node(iri, iri=iri, label=label, cls=cls)

    graph: Graph = nx.MultiDiGraph()
    for iri in info:  # every individual, linked or not; code-list concepts join when something links to them
        if iri.startswith(AMUR) and (provenance or not _bookkeeping(iri)):
            add(graph, iri)
    labels = _property_labels(kg)
    for row in sorted(_select(kg, _INSTANCE_EDGES), key=lambda r: (r["s"].value, r["p"].value, r["o"].value)):
        s, p, o = row["s"].value, row["p"].value, row["o"].value
        if not provenance and (_bookkeeping(s) or _bookkeeping(o)):
            continue
        for node in (s, o):
            if node not in graph:
                add(graph, node)
        graph.add_edge(s, o, key=compact(p), property=p, label=labels.get(p, compact(p)))
    return graph


def _schema(kg: KnowledgeGraph) -> Graph:
    import networkx as nx

    graph: Graph = nx.MultiDiGraph()
    for row in sorted(_select(kg, _CLASSES), key=lambda r: r["node"].value):
        iri = row["node"].value
        graph.add_node(iri, iri=iri, label=row["label"].value if "label" in row else compact(iri), cls="class")
    labels = _property_labels(kg)
    labels.setdefault("http://www.w3.org/2000/01/rdf-schema#subClassOf", "subclass of")
    for row in sorted(_select(kg, _SCHEMA), key=lambda r: (r["s"].value, r["p"].value, r["o"].value)):
        s, p, o = row["s"].value, row["p"].value, row["o"].value
        graph.add_edge(s, o, key=compact(p), property=p, label=labels.get(p, compact(p)))
    return graph


def _focus(kg: KnowledgeGraph, focus: str, depth: int, properties: list[str], classes: list[str]) -> Graph:
    import networkx as nx

    centre = kg.resolve(focus).value
    full = _instance(kg, provenance=False)
    if centre not in full:
        raise AmurkgError(f"{focus!r} is not an individual of the instance graph; try --view schema for classes")
    wanted_props = {_expand_name(p) for p in properties}
    if wanted_props:
        keep = [(u, v, k) for u, v, k, d in full.edges(keys=True, data=True) if _matches(d, wanted_props)]
        full = full.edge_subgraph(keep).copy() if keep else nx.MultiDiGraph()  # type: ignore[arg-type]
        if centre not in full:
            full.add_node(centre, **_instance(kg, provenance=False).nodes[centre])
    near = nx.ego_graph(full, centre, radius=depth, undirected=True)
    if classes:
        wanted = {c.casefold() for c in classes}
        nodes = [
            n
            for n, d in near.nodes(data=True)
            if n == centre or d["cls"].casefold() in wanted or compact(n).casefold() in wanted
        ]
        near = near.subgraph(nodes)
    graph: Graph = nx.MultiDiGraph(near)
    graph.graph["focus"] = centre
    return graph


def _expand_name(name: str) -> str:
    from amurkg.namespaces import expand

    return expand(name) or name


def _matches(edge: dict[str, str], wanted: set[str]) -> bool:
    return edge["property"] in wanted or edge["label"] in wanted or compact(edge["property"]) in wanted


# ------------------------------------------------------------------------------------- writing


def render(graph: Graph, fmt: str, title: str, kg: KnowledgeGraph | None = None) -> bytes:
    """The graph in ``fmt``: png, svg (matplotlib), html (pyvis), graphml, gexf, dot, cytoscape."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt in ("png", "svg"):
        require("matplotlib", "viz", f"drawing {fmt.upper()} pictures")
        require("scipy", "viz", f"drawing {fmt.upper()} pictures")
        return _picture(graph, fmt, title)
    if fmt == "html":
        require("pyvis", "viz", "interactive HTML views")
        return _html(graph, title, kg)
    if fmt == "graphml":
        return _networkx_writer(graph, "graphml")
    if fmt == "gexf":
        return _networkx_writer(graph, "gexf")
    if fmt == "dot":
        return _dot(graph)
    import networkx as nx

    return (json.dumps(nx.cytoscape_data(_plain(graph)), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _plain(graph: Graph) -> Graph:
    """A copy whose graph-level attributes are strings only (the file formats need that)."""
    copy = graph.copy()
    copy.graph = {k: str(v) for k, v in graph.graph.items()}
    return copy


def _networkx_writer(graph: Graph, kind: str) -> bytes:
    import io

    import networkx as nx

    buffer = io.BytesIO()
    if kind == "graphml":
        nx.write_graphml(_plain(graph), buffer)
    else:
        nx.write_gexf(_plain(graph), buffer)
    return buffer.getvalue()


def _dot(graph: Graph) -> bytes:
    lines = ["digraph amurkg {", "  node [shape=box, style=rounded];"]

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    for node, data in graph.nodes(data=True):
        lines.append(f"  {q(node)} [label={q(data['label'])}, cls={q(data['cls'])}];")
    for u, v, data in graph.edges(data=True):
        lines.append(f"  {q(u)} -> {q(v)} [label={q(data['label'])}, property={q(data['property'])}];")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _palette(graph: Graph) -> dict[str, str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    classes = sorted({d["cls"] for _, d in graph.nodes(data=True)})
    colours = [to_hex(colormaps[name](i)) for name in ("tab20", "tab20b", "tab20c") for i in range(20)]
    return {c: colours[i % len(colours)] for i, c in enumerate(classes)}


def _layout(graph: Graph) -> dict[str, Any]:
    import networkx as nx

    simple: nx.Graph[str] = nx.Graph(graph.to_undirected())
    if simple.number_of_nodes() <= 2:
        return dict(nx.circular_layout(simple))
    # Kamada-Kawai (path lengths as spring lengths) spreads this hub-and-spoke graph evenly; it starts from a
    # seeded spring layout, so the same graph gives the same picture every run
    start = nx.spring_layout(simple, seed=7, k=2.5 / simple.number_of_nodes() ** 0.5)
    return dict(nx.kamada_kawai_layout(simple, pos=start))


def _picture(graph: Graph, fmt: str, title: str) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "amurkg"  # stable element ids, so the same graph gives the same SVG
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.lines import Line2D

    n = max(graph.number_of_nodes(), 1)
    side = min(max(10.0, n**0.5 * 2.6), 40.0)
    fig, ax = plt.subplots(figsize=(side * 1.25, side))
    colours = _palette(graph)
    pos = _layout(graph) if graph.number_of_nodes() else {}
    focus = graph.graph.get("focus")
    nx.draw_networkx_edges(
        graph,
        pos,
        ax=ax,
        edge_color="#9a9a9a",
        width=0.7,
        arrows=True,
        arrowsize=8,
        node_size=260,
        connectionstyle="arc3,rad=0.06",
    )
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        node_size=[520 if v == focus else 260 for v in graph.nodes],
        node_color=[colours[graph.nodes[v]["cls"]] for v in graph.nodes],
        edgecolors="#333333",
        linewidths=0.6,
    )
    nx.draw_networkx_labels(
        graph,
        pos,
        ax=ax,
        labels={v: _short(d["label"]) for v, d in graph.nodes(data=True)},
        font_size=7,
        verticalalignment="bottom",
    )
    if graph.number_of_edges() <= 80:
        nx.draw_networkx_edge_labels(
            graph,
            pos,
            ax=ax,
            font_size=5,
            font_color="#555555",
            rotate=False,
            edge_labels={(u, v, k): d["label"] for u, v, k, d in graph.edges(keys=True, data=True)},
        )
    handles = [
        Line2D(
            [0], [0], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="#333333", markersize=8, label=cls
        )
        for cls, c in colours.items()
    ]
    ax.legend(handles=handles, title="class", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title, fontsize=14)
    ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


_PROBE = """<script>
  // amurkg: record script errors and what vis-network drew, for tests and for anyone debugging
  window.addEventListener("error", function (e) {
    var root = document.documentElement.dataset;
    root.scriptErrors = (root.scriptErrors || "") + e.message + ";";
  });
  window.addEventListener("load", function () {
    // nodes the network has laid out (its internal table also holds support nodes for curved edges)
    var drawn = (typeof network !== "undefined") ? Object.keys(network.getPositions()).length : -1;
    document.documentElement.dataset.renderedNodes = String(drawn);
  });
</script>
"""


def _html(graph: Graph, title: str, kg: KnowledgeGraph | None) -> bytes:
    import html
    import re
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvis and IPython raise deprecation warnings of their own
        from pyvis.network import Network

    facts = _literal_facts(kg) if kg is not None else {}
    colours = _palette(graph)
    net = Network(height="88vh", width="100%", directed=True, cdn_resources="in_line")
    for node, data in graph.nodes(data=True):
        lines = [f"<b>{html.escape(data['label'])}</b>", html.escape(data["cls"]), html.escape(compact(node))]
        lines += [f"{html.escape(p)}: {html.escape(v)}" for p, v in facts.get(node, [])[:12]]
        net.add_node(
            node,
            label=_short(data["label"]),
            title="<br>".join(lines),
            color=colours[data["cls"]],
            size=22 if node == graph.graph.get("focus") else 12,
        )
    for u, v, data in graph.edges(data=True):
        net.add_edge(u, v, title=html.escape(data["label"]), label=data["label"], arrows="to", font={"size": 8})
    net.barnes_hut(gravity=-6000, spring_length=140)
    page = net.generate_html()
    # pyvis links Bootstrap from a CDN for menus this page does not use; drop it so the file works offline
    page = re.sub(r"<link[^>]+bootstrap[^>]+>\s*", "", page)
    page = re.sub(r"<script[^>]+bootstrap[^>]*></script>\s*", "", page)
    page = page.replace("<head>", "<head>\n" + _PROBE, 1)
    legend = " ".join(
        f'<span style="white-space:nowrap;margin-right:12px"><span style="display:inline-block;width:10px;height:10px;'
        f'border-radius:5px;background:{colour}"></span> {html.escape(cls)}</span>'
        for cls, colour in colours.items()
    )
    header = (
        f'<h2 style="font-family:sans-serif;margin:8px">{html.escape(title)}</h2>'
        f'<div style="font-family:sans-serif;font-size:12px;margin:0 8px 8px">{legend}</div>'
    )
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + header, page, count=1)
    return page.encode("utf-8")


def _literal_facts(kg: KnowledgeGraph) -> dict[str, list[tuple[str, str]]]:
    facts: dict[str, list[tuple[str, str]]] = {}
    for row in _select(kg, _LITERALS):
        facts.setdefault(row["node"].value, []).append((row["property"].value, row["value"].value))
    return {k: sorted(v) for k, v in facts.items()}


def render_view(
    kg: KnowledgeGraph,
    view: str,
    fmt: str,
    focus: str | None = None,
    depth: int = 1,
    properties: Iterable[str] = (),
    classes: Iterable[str] = (),
    provenance: bool = False,
    to_terminal: bool = False,
) -> bytes:
    """Build a view and write it in ``fmt``; refuses to send a picture's bytes to a terminal."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)} (or name it by the -o extension)")
    if to_terminal and fmt in ("png", "svg", "html"):
        what = "an HTML page" if fmt == "html" else f"a {fmt.upper()} picture"
        raise AmurkgError(f"{what} is not for reading in a terminal: give -o FILE.{fmt} and open the file")
    graph = to_networkx(kg, view, focus, depth, properties, classes, provenance)
    title = (
        "Amur leopard knowledge graph: "
        + (
            f"within {depth} link{'s' if depth != 1 else ''} of {graph.nodes[graph.graph['focus']]['label']}"
            if view == "focus"
            else f"{view} view"
        )
        + f" ({graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges)"
    )
    return render(graph, fmt, title, kg)


# ------------------------------------------------------------------------------------- metrics


def graph_metrics(graph: Graph, top: int = 10) -> dict[str, Any]:
    """Nodes, edges, weakly connected components, and the most central entities (degree, betweenness)."""
    import networkx as nx

    simple: nx.Graph[str] = nx.Graph(graph.to_undirected())
    degree = nx.degree_centrality(simple) if simple.number_of_nodes() > 1 else {}
    between = nx.betweenness_centrality(simple) if simple.number_of_nodes() > 2 else {}

    def best(scores: dict[str, float]) -> list[dict[str, Any]]:
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [{"entity": compact(n), "label": graph.nodes[n]["label"], "score": round(s, 4)} for n, s in ranked]

    components = []
    for members in sorted(nx.weakly_connected_components(graph), key=lambda c: (-len(c), min(c))):
        hub = max(members, key=lambda n: (degree.get(n, 0.0), n))
        components.append(
            {
                "nodes": len(members),
                "around": graph.nodes[hub]["label"],
                "entity": compact(hub),
                "members": sorted(graph.nodes[n]["label"] for n in members)[:5] if len(members) <= 5 else [],
            }
        )
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "components": len(components),
        "parts": components,
        "degree": best(degree),
        "betweenness": best(between),
    }


def format_metrics(metrics: dict[str, Any], as_json: bool) -> str:
    """Graph metrics as text (two ranked lists) or JSON."""
    if as_json:
        return json.dumps(metrics, indent=2, ensure_ascii=False) + "\n"
    lines = [
        f"nodes       {metrics['nodes']:>6}",
        f"edges       {metrics['edges']:>6}",
        f"components  {metrics['components']:>6}",
    ]
    for part in metrics["parts"]:
        who = ", ".join(part["members"]) if part["members"] else f"around {part['around']} ({part['entity']})"
        lines.append(f"  {part['nodes']:>5} node{'s' if part['nodes'] != 1 else ' '}  {who}")
    lines += ["", "most connected (degree centrality):"]
    lines += [f"  {r['score']:.3f}  {r['label']}  ({r['entity']})" for r in metrics["degree"]]
    lines += ["", "holding the web together (betweenness centrality):"]
    lines += [f"  {r['score']:.3f}  {r['label']}  ({r['entity']})" for r in metrics["betweenness"]]
    return "\n".join(lines) + "\n"
