"""Graph views with networkx, and pictures people can read.

Views: ``story`` (the Amur leopard at a glance: its prey, habitat, range, status and threats, and what is
done about them), ``instance`` (every individual and the links between them, the user's own data
included), ``schema`` (classes linked by subclass and by each property's domain and range) and ``focus``
(what lies within N links of one entity). Every node belongs to one of at most twelve groups (taxa,
places, habitat, threats...), which give the legend and the colours.

Formats: PNG and SVG (matplotlib), an interactive page that works offline (pyvis), GraphML and GEXF
(Gephi), DOT (Graphviz) and Cytoscape JSON (cytoscape.js). A picture has a node budget: a larger view is
drawn as an overview (the most connected entities, the rest folded into one node per group), and the
command says so. networkx is imported here only; matplotlib and pyvis only for the formats that need them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from amurkg.errors import AmurkgError, FormatError, require
from amurkg.graph import KnowledgeGraph
from amurkg.namespaces import AKG, AMUR, compact
from amurkg.results import SelectResult, Term

if TYPE_CHECKING:
    import networkx as nx

    Graph = nx.MultiDiGraph[str]

VIEWS = ("story", "instance", "schema", "focus")
FORMATS = ("png", "svg", "html", "graphml", "gexf", "dot", "cytoscape")
PICTURES = ("png", "svg")
#: Largest number of nodes a picture draws one by one; above it, an overview.
PICTURE_BUDGET = 120
#: Largest number of nodes the interactive page holds; above it, an overview.
PAGE_BUDGET = 1500
BOOKKEEPING = (AMUR + "fact/", AMUR + "span/", AMUR + "source-", AMUR + "entailment/")
LEOPARD = AMUR + "amur-leopard"
_SCHEMA_NS = (AKG, "http://www.w3.org/", "http://rs.tdwg.org/dwc/terms/", "https://schema.org/", "http://purl.")

_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_PROV = "http://www.w3.org/ns/prov#"

#: The legend: each group, the classes whose individuals belong to it (directly or through a subclass),
#: and its colour (a palette that stays distinct for colour-blind readers, after Paul Tol's).
GROUPS: list[tuple[str, tuple[str, ...], str]] = [
    ("taxa", (AKG + "Taxon", "http://rs.tdwg.org/dwc/terms/Taxon"), "#4477aa"),
    ("places", ("https://schema.org/Place",), "#228833"),
    ("habitat", (AKG + "HabitatFeature", AKG + "TreeGroup"), "#99cc66"),
    ("threats and their effects", (AKG + "CausalFactor",), "#ee6677"),
    (
        "conservation",
        (
            AKG + "ConservationAction",
            AKG + "ConservationAim",
            AKG + "ConservationStatusAssessment",
            "https://schema.org/Organization",
            _PROV + "Agent",
        ),
        "#aa3377",
    ),
    (
        "range and population",
        (AKG + "RangeOccurrence", AKG + "DispersalMovement", AKG + "PopulationEstimate"),
        "#ccbb44",
    ),
    ("climate", (AKG + "Climate", AKG + "ClimateFeature", AKG + "Adaptation"), "#66ccee"),
    ("time", (AKG + "Period",), "#bbbbbb"),
    ("codes and values", (_SKOS + "Concept", _SKOS + "ConceptScheme"), "#dddddd"),
    ("sources", (_PROV + "Entity", AKG + "Claim"), "#777777"),
    ("your data", (), "#ee8866"),
    ("other", (), "#999933"),
]
COLOURS = {name: colour for name, _, colour in GROUPS}

_GROUPS_OF_CLASSES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?class ?root WHERE { ?class rdfs:subClassOf* ?root . FILTER(isIRI(?class) && isIRI(?root)) }
"""
_TYPES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?node ?class ?label WHERE {
  ?node a ?class . FILTER(isIRI(?node))
  OPTIONAL { ?node rdfs:label ?label FILTER(LANGMATCHES(LANG(?label), "en") || LANG(?label) = "") }
}
"""
_IRI_LINKS = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?s ?p ?o WHERE {
  ?s ?p ?o .
  FILTER(isIRI(?s) && isIRI(?o) && ?p NOT IN (rdf:type, akg:statesSubject, akg:statesObject, akg:statesPredicate))
}
"""
_USER_NODES = """
SELECT DISTINCT ?node WHERE {
  GRAPH ?g { ?node ?p ?o } FILTER(isIRI(?node) && ?g != <https://w3id.org/amurkg/graph/inferred>)
}
"""
_LITERAL_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }"
_LITERALS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?node ?property ?value WHERE {
  ?node ?p ?value .
  FILTER(isLiteral(?value) && isIRI(?node))
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
# The story of the Amur leopard, as short direct links (a range occurrence becomes "lives in" its place).
_STORY = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX amur: <https://w3id.org/amurkg/id/>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX vocab: <https://w3id.org/amurkg/vocab/>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?s ?label ?o WHERE {
  {
    amur:amur-leopard obo:RO_0002439 ?o . BIND(amur:amur-leopard AS ?s) BIND("preys on" AS ?label)
  } UNION {
    amur:amur-leopard akg:usesHabitat|akg:dependsOn ?o . BIND(amur:amur-leopard AS ?s) BIND("lives in" AS ?label)
  } UNION {
    ?r akg:occurringTaxon amur:amur-leopard ; akg:inPlace ?o ; akg:duringPeriod amur:present-day ;
       akg:presenceStatus ?status .
    FILTER NOT EXISTS { ?o schema:containedInPlace ?bigger . ?r2 akg:occurringTaxon amur:amur-leopard ;
                        akg:inPlace ?bigger ; akg:duringPeriod amur:present-day }
    BIND(amur:amur-leopard AS ?s)
    BIND(IF(?status = vocab:confirmed, "ranges in", "may range in") AS ?label)
  } UNION {
    ?a akg:assessedTaxon amur:amur-leopard ; akg:redListCategory ?o . BIND(amur:amur-leopard AS ?s)
    BIND("Red List" AS ?label)
  } UNION {
    ?s akg:actsOn ?o . ?s a/rdfs:subClassOf* akg:Pressure .
    { BIND(amur:amur-leopard AS ?o) } UNION { amur:amur-leopard obo:RO_0002439|akg:usesHabitat|akg:dependsOn ?o }
    BIND("threatens" AS ?label)
  } UNION {
    ?s akg:counters ?o . BIND("counters" AS ?label)
  } UNION {
    ?s akg:protectedWithin|schema:containedInPlace ?o . ?s a/rdfs:subClassOf* akg:ProtectedArea .
    BIND("lies in" AS ?label)
  }
}
"""


class Notes(list[str]):
    """What a view left out or folded, for the command to tell the user (settings named as ``{opt:NAME}``,
    see ``amurkg.errors.SETTINGS``)."""


def _select(kg: KnowledgeGraph, text: str) -> list[dict[str, Term]]:
    result = kg.query(text, where="viz")
    assert isinstance(result, SelectResult)
    return [{v: t for v, t in zip(result.variables, row, strict=True) if t is not None} for row in result.rows]


def _bookkeeping(iri: str) -> bool:
    return iri.startswith(BOOKKEEPING)


class _Nodes(NamedTuple):
    labels: dict[str, str]
    groups: dict[str, str]
    classes: dict[str, str]
    every_class: dict[str, set[str]]


def _node_info(kg: KnowledgeGraph) -> _Nodes:
    """Each typed IRI's label, group and class (an amurkg class preferred, for a stable choice)."""
    roots: dict[str, set[str]] = {}
    for row in _select(kg, _GROUPS_OF_CLASSES):
        roots.setdefault(row["class"].value, set()).add(row["root"].value)
    class_labels = _property_labels(kg)
    users = {row["node"].value for row in _select(kg, _USER_NODES)}
    labels: dict[str, str] = {}
    groups: dict[str, str] = {}
    classes: dict[str, str] = {}
    every_class: dict[str, set[str]] = {}
    for row in sorted(_select(kg, _TYPES), key=lambda r: (r["node"].value, r["class"].value)):
        node, cls = row["node"].value, row["class"].value
        if "label" in row:
            labels.setdefault(node, row["label"].value)
        every_class.setdefault(node, set()).add(class_labels.get(cls, compact(cls)))
        group = next((name for name, members, _ in GROUPS if roots.get(cls, {cls}) & set(members)), None)
        if group is not None and (node not in groups or groups[node] in ("other", "your data")):
            groups[node] = group
            classes[node] = class_labels.get(cls, compact(cls))
        elif node not in groups:
            groups[node] = "your data" if node in users else "other"
            classes[node] = class_labels.get(cls, compact(cls))
    for node in users - groups.keys():
        groups[node] = "your data"
        classes[node] = "your data"
    return _Nodes(labels, groups, classes, every_class)


def _property_labels(kg: KnowledgeGraph) -> dict[str, str]:
    labels: dict[str, str] = {}
    for row in _select(kg, _PROPERTY_LABELS):
        labels.setdefault(row["property"].value, row["label"].value)
    return labels


def _is_schema_term(iri: str) -> bool:
    return iri.startswith(_SCHEMA_NS) and not iri.startswith(AMUR)


def to_networkx(
    kg: KnowledgeGraph,
    view: str = "instance",
    focus: str | None = None,
    depth: int = 1,
    properties: Iterable[str] = (),
    classes: Iterable[str] = (),
    provenance: bool = False,
    notes: Notes | None = None,
) -> Graph:
    """The graph as a networkx MultiDiGraph.

    Nodes are IRIs with ``label``, ``group`` (one of ``GROUPS``), ``cls`` (their class's label) and ``iri``;
    edges are keyed by property and carry ``property`` (its IRI) and ``label``. ``notes`` collects what was
    left out. See the module's description for the views.
    """
    if view not in VIEWS:
        raise FormatError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    notes = notes if notes is not None else Notes()
    if view == "schema":
        return _schema(kg)
    if view == "story":
        return _story(kg)
    if view == "focus":
        if focus is None:
            raise AmurkgError("the focus view needs an entity: give {opt:focus} (an IRI, amur: name or label)")
        if depth < 0:
            raise AmurkgError(f"depth must be 0 or more, not {depth}")
        return _focus(kg, focus, depth, list(properties), list(classes))
    return _instance(kg, provenance, notes)


def _add(graph: Graph, iri: str, info: _Nodes) -> None:
    group = info.groups.get(iri, "other")
    graph.add_node(
        iri,
        iri=iri,
        label=info.labels.get(iri, compact(iri)),
        group=group,
        cls=info.classes.get(iri, group),
        classes="; ".join(sorted(info.every_class.get(iri, set()))),
    )


def _instance(kg: KnowledgeGraph, provenance: bool, notes: Notes) -> Graph:
    """Every individual (typed IRIs that are not ontology terms), the user's included, and the links
    between them; facts, spans and source documents only with ``provenance``."""
    import networkx as nx

    info = _node_info(kg)
    labels = _property_labels(kg)
    graph: Graph = nx.MultiDiGraph()
    skipped_bookkeeping = 0
    for iri in sorted(info.groups):
        if _is_schema_term(iri):
            continue
        if _bookkeeping(iri) and not provenance:
            skipped_bookkeeping += 1
            continue
        if info.groups[iri] == "codes and values":
            continue  # code-list values join when something links to them
        _add(graph, iri, info)
    for row in sorted(_select(kg, _IRI_LINKS), key=lambda r: (r["s"].value, r["p"].value, r["o"].value)):
        s, p, o = row["s"].value, row["p"].value, row["o"].value
        if s not in graph and (_is_schema_term(s) or s not in info.groups):
            continue  # links from ontology terms, or from IRIs neither typed nor the user's
        if _is_schema_term(o) or (not provenance and (_bookkeeping(s) or _bookkeeping(o))):
            continue
        for node in (s, o):
            if node not in graph:
                _add(graph, node, info)
        graph.add_edge(s, o, key=compact(p), property=p, label=labels.get(p, compact(p)))
    literals = _select(kg, _LITERAL_COUNT)
    count = int(literals[0]["n"].value) if literals else 0
    left = f"{count:,} literal values (names, numbers, dates: hover over a node in -f html to see them)"
    if skipped_bookkeeping:
        left += f", and {skipped_bookkeeping:,} facts, spans and source documents (add {{opt:provenance}})"
    notes.append(f"the instance view leaves out {left}")
    return graph


def _schema(kg: KnowledgeGraph) -> Graph:
    import networkx as nx

    graph: Graph = nx.MultiDiGraph()
    for row in sorted(_select(kg, _CLASSES), key=lambda r: r["node"].value):
        iri = row["node"].value
        graph.add_node(
            iri, iri=iri, label=row["label"].value if "label" in row else compact(iri), group="other", cls="class"
        )
    roots: dict[str, set[str]] = {}  # a class is coloured by the group its own individuals would have
    for row in _select(kg, _GROUPS_OF_CLASSES):
        roots.setdefault(row["class"].value, set()).add(row["root"].value)
    for iri in graph.nodes:
        group = next((name for name, members, _ in GROUPS if roots.get(iri, {iri}) & set(members)), "other")
        graph.nodes[iri]["group"] = group
    labels = _property_labels(kg)
    labels.setdefault(_RDFS + "subClassOf", "subclass of")
    for row in sorted(_select(kg, _SCHEMA), key=lambda r: (r["s"].value, r["p"].value, r["o"].value)):
        s, p, o = row["s"].value, row["p"].value, row["o"].value
        graph.add_edge(s, o, key=compact(p), property=p, label=labels.get(p, compact(p)))
    return graph


def _story(kg: KnowledgeGraph) -> Graph:
    import networkx as nx

    info = _node_info(kg)
    graph: Graph = nx.MultiDiGraph()
    for row in sorted(_select(kg, _STORY), key=lambda r: (r["s"].value, r["label"].value, r["o"].value)):
        s, label, o = row["s"].value, row["label"].value, row["o"].value
        for node in (s, o):
            if node not in graph:
                _add(graph, node, info)
        graph.add_edge(s, o, key=label, property=label, label=label)
    if LEOPARD in graph:
        graph.graph["focus"] = LEOPARD
    return graph


def _focus(kg: KnowledgeGraph, focus: str, depth: int, properties: list[str], classes: list[str]) -> Graph:
    import networkx as nx

    centre = kg.resolve(focus).value
    whole = _instance(kg, provenance=False, notes=Notes())
    if centre not in whole:
        raise AmurkgError(f"{focus!r} is not an individual of the instance graph; try {{opt:view}} schema for classes")
    full = whole
    wanted_props = {_expand_name(p) for p in properties}
    if wanted_props:
        keep = [(u, v, k) for u, v, k, d in full.edges(keys=True, data=True) if _matches(d, wanted_props)]
        full = full.edge_subgraph(keep).copy() if keep else nx.MultiDiGraph()  # type: ignore[arg-type]
        if centre not in full:
            full.add_node(centre, **whole.nodes[centre])
    near = nx.ego_graph(full, centre, radius=depth, undirected=True)
    if classes:
        wanted = {c.casefold() for c in classes}
        nodes = [
            n
            for n, d in near.nodes(data=True)
            if n == centre
            or d["cls"].casefold() in wanted
            or wanted & {c.casefold() for c in d.get("classes", "").split("; ")}
            or d["group"].casefold() in wanted
            or compact(n).casefold() in wanted
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


# ------------------------------------------------------------------------------------- overview


def overview(graph: Graph, budget: int, notes: Notes) -> Graph:
    """The graph itself when it has at most ``budget`` nodes; else its most connected entities, and one node per
    group standing for the rest ("+ 212 more places"), linked wherever one of its members was."""
    import networkx as nx

    if graph.number_of_nodes() <= budget:
        return graph
    degree = dict(graph.degree())
    focus = graph.graph.get("focus")
    ranked = sorted(graph.nodes, key=lambda n: (n != focus, -degree[n], n))
    kept = set(ranked[: budget - len(GROUPS)])
    folded: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node not in kept:
            folded.setdefault(graph.nodes[node]["group"], []).append(node)
    small: Graph = nx.MultiDiGraph(graph.subgraph(kept))
    small.graph.update(graph.graph)
    stand_in = {}
    for group, members in folded.items():
        key = f"group:{group}"
        stand_in.update(dict.fromkeys(members, key))
        small.add_node(key, iri=key, label=f"+ {len(members):,} more: {group}", group=group, cls="group")
    for u, v, k, d in graph.edges(keys=True, data=True):
        a, b = stand_in.get(u, u), stand_in.get(v, v)
        if (a, b) != (u, v) and a != b and not small.has_edge(a, b, key=k):
            small.add_edge(a, b, key=k, **d)
    notes.append(
        f"the view has {graph.number_of_nodes():,} nodes, more than a readable picture holds ({budget}): "
        f"drawn as an overview of the {len(kept)} most connected, the rest folded by group; "
        "-f graphml or gexf keep every node"
    )
    return small


# ------------------------------------------------------------------------------------- writing


def render(graph: Graph, fmt: str, title: str, kg: KnowledgeGraph | None = None, notes: Notes | None = None) -> bytes:
    """The graph in ``fmt``: png, svg (matplotlib), html (pyvis), graphml, gexf, dot, cytoscape. Pictures and
    pages of large graphs are overviews (see ``overview``); ``notes`` says so."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    notes = notes if notes is not None else Notes()
    if fmt in PICTURES:
        require("matplotlib", "viz", f"drawing {fmt.upper()} pictures")
        require("scipy", "viz", f"drawing {fmt.upper()} pictures")
        return _picture(overview(graph, PICTURE_BUDGET, notes), fmt, title)
    if fmt == "html":
        require("pyvis", "viz", "interactive HTML views")
        return _html(overview(graph, PAGE_BUDGET, notes), title, kg)
    if fmt == "graphml":
        return _networkx_writer(graph, "graphml")
    if fmt == "gexf":
        return _networkx_writer(graph, "gexf")
    if fmt == "dot":
        return _dot(graph)
    return _cytoscape(graph)


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


def _cytoscape(graph: Graph) -> bytes:
    """Cytoscape JSON (the ``elements`` form cytoscape.js loads with ``cy.json()``); every edge has an id, which
    cytoscape.js needs to keep parallel edges apart."""
    import networkx as nx

    doc = nx.cytoscape_data(_plain(graph))
    for number, edge in enumerate(doc["elements"]["edges"]):
        data = edge["data"]
        data["id"] = f"e{number}:{data['source']}|{data.get('key', '')}|{data['target']}"
    for node in doc["elements"]["nodes"]:
        node["data"]["colour"] = COLOURS.get(node["data"].get("group", "other"), COLOURS["other"])
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _dot(graph: Graph) -> bytes:
    lines = ["digraph amurkg {", '  node [shape=box, style="rounded,filled"];']

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    for node, data in graph.nodes(data=True):
        colour = COLOURS.get(data["group"], COLOURS["other"])
        lines.append(
            f"  {q(node)} [label={q(data['label'])}, cls={q(data['cls'])}, group={q(data['group'])}, "
            f"fillcolor={q(colour)}];"
        )
    for u, v, data in graph.edges(data=True):
        lines.append(f"  {q(u)} -> {q(v)} [label={q(data['label'])}, property={q(data['property'])}];")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _groups_present(graph: Graph) -> list[tuple[str, str]]:
    present = {d["group"] for _, d in graph.nodes(data=True)}
    return [(name, colour) for name, _, colour in GROUPS if name in present]


def _layout(graph: Graph) -> dict[str, Any]:
    """Positions for a picture: each connected part laid out by Kamada-Kawai (path lengths as spring
    lengths, which spreads hub-and-spoke graphs evenly), from a seeded spring layout so the same graph gives
    the same picture every run; parts side by side, the largest first, each sized by its node count."""
    import networkx as nx

    simple: nx.Graph[str] = nx.Graph(graph.to_undirected())
    positions: dict[str, Any] = {}
    offset = 0.0
    for part in sorted(nx.connected_components(simple), key=lambda c: (-len(c), min(c))):
        sub = simple.subgraph(part)
        size = len(part) ** 0.5
        if len(part) <= 2:
            local = dict(nx.circular_layout(sub)) if len(part) == 2 else {next(iter(part)): (0.0, 0.0)}
        else:
            start = nx.spring_layout(sub, seed=7, k=2.5 / len(part) ** 0.5)
            local = dict(nx.kamada_kawai_layout(sub, pos=start))
        for node, (x, y) in local.items():
            positions[node] = (offset + (x + 1) * size, y * size)
        offset += 2 * size + 0.8
    return positions


def _picture(graph: Graph, fmt: str, title: str) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "amurkg"  # stable element ids, so the same graph gives the same SVG
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.lines import Line2D

    n = max(graph.number_of_nodes(), 1)
    side = min(max(9.0, n**0.5 * 2.2), 26.0)
    fig, ax = plt.subplots(figsize=(side * 1.3, side))
    pos = _layout(graph) if graph.number_of_nodes() else {}
    focus = graph.graph.get("focus")
    sizes = [900 if v == focus else 380 for v in graph.nodes]
    nx.draw_networkx_edges(
        graph,
        pos,
        ax=ax,
        edge_color="#8a8a8a",
        width=0.9,
        arrows=True,
        arrowsize=11,
        node_size=sizes,
        connectionstyle="arc3,rad=0.08",
    )
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        node_size=sizes,
        node_color=[COLOURS.get(graph.nodes[v]["group"], COLOURS["other"]) for v in graph.nodes],
        edgecolors="#333333",
        linewidths=0.8,
    )
    ys = [y for _, y in pos.values()] or [0.0]
    lift = 0.028 * ((max(ys) - min(ys)) or 1.0)  # labels sit just above their nodes, not on them
    nx.draw_networkx_labels(
        graph,
        {node: (x, y + lift) for node, (x, y) in pos.items()},
        ax=ax,
        labels={v: _short(d["label"]) for v, d in graph.nodes(data=True)},
        font_size=11 if n <= 60 else 9,
        verticalalignment="bottom",
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
    )
    if graph.number_of_edges() <= 90:
        nx.draw_networkx_edge_labels(
            graph,
            pos,
            ax=ax,
            font_size=8,
            font_color="#444444",
            rotate=False,
            connectionstyle="arc3,rad=0.08",
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            edge_labels={(u, v, k): d["label"] for u, v, k, d in graph.edges(keys=True, data=True)},
        )
    handles = [
        Line2D([0], [0], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="#333333", markersize=11, label=g)
        for g, c in _groups_present(graph)
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=11, frameon=False)
    ax.set_title(title, fontsize=16)
    ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _short(label: str, width: int = 30) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


#: Labels are drawn at least this large (in screen pixels) when the page opens.
READABLE = 11
_PROBE = """<script>
  // amurkg: record script errors and what vis-network drew, for tests and for anyone debugging
  window.addEventListener("error", function (e) {
    var root = document.documentElement.dataset;
    root.scriptErrors = (root.scriptErrors || "") + e.message + ";";
  });
</script>
"""
_READABLE = """<script>
  // amurkg: once laid out, zoom in until labels are readable (at least READABLE px), centred on the focus
  window.addEventListener("load", function () {
    if (typeof network === "undefined") { document.documentElement.dataset.renderedNodes = "-1"; return; }
    function settle() {
      network.fit();
      var size = FONT, scale = network.getScale();
      if (size * scale < READABLE) {
        var centre = FOCUS ? network.getPositions([FOCUS])[FOCUS] : network.getViewPosition();
        network.moveTo({position: centre, scale: READABLE / size, animation: false});
      }
      var root = document.documentElement.dataset;
      root.renderedNodes = String(Object.keys(network.getPositions()).length);
      root.labelPixels = String(size * network.getScale());
      root.labelThreshold = String(THRESHOLD);
    }
    network.once("stabilizationIterationsDone", settle);
    setTimeout(settle, 4000);
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
    font = 14
    net = Network(height="88vh", width="100%", directed=True, cdn_resources="in_line")
    for node, data in graph.nodes(data=True):
        lines = [f"<b>{html.escape(data['label'])}</b>", html.escape(data["cls"]), html.escape(compact(node))]
        lines += [f"{html.escape(p)}: {html.escape(v)}" for p, v in facts.get(node, [])[:12]]
        net.add_node(
            node,
            label=_short(data["label"]),
            title="<br>".join(lines),
            color=COLOURS.get(data["group"], COLOURS["other"]),
            size=24 if node == graph.graph.get("focus") else 13,
            font={"size": font},
        )
    for u, v, data in graph.edges(data=True):
        net.add_edge(u, v, title=html.escape(data["label"]), label=data["label"], arrows="to", font={"size": 10})
    threshold = 4
    net.set_options(
        json.dumps(
            {
                "nodes": {"font": {"size": font}, "scaling": {"label": {"drawThreshold": threshold}}},
                "edges": {"font": {"size": 10}, "smooth": {"type": "continuous"}},
                "physics": {
                    "barnesHut": {"gravitationalConstant": -6000, "springLength": 140},
                    "stabilization": {"iterations": 400},
                },
            }
        )
    )
    page = net.generate_html()
    # pyvis links Bootstrap from a CDN for menus this page does not use; drop it so the file works offline
    page = re.sub(r"<link[^>]+bootstrap[^>]+>\s*", "", page)
    page = re.sub(r"<script[^>]+bootstrap[^>]*></script>\s*", "", page)
    focus = graph.graph.get("focus")
    readable = (
        _READABLE.replace("READABLE", str(READABLE))
        .replace("FONT", str(font))
        .replace("THRESHOLD", str(threshold))
        .replace("FOCUS", json.dumps(focus) if focus in graph else "null")
    )
    page = page.replace("<head>", "<head>\n" + _PROBE, 1).replace("</body>", readable + "</body>", 1)
    legend = " ".join(
        f'<span style="white-space:nowrap;margin-right:12px"><span style="display:inline-block;width:10px;height:10px;'
        f'border-radius:5px;background:{colour}"></span> {html.escape(group)}</span>'
        for group, colour in _groups_present(graph)
    )
    header = (
        f'<h2 style="font-family:sans-serif;margin:8px">{html.escape(title)}</h2>'
        f'<div style="font-family:sans-serif;font-size:13px;margin:0 8px 8px">{legend}</div>'
    )
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + header, page, count=1)
    return page.encode("utf-8")


def _literal_facts(kg: KnowledgeGraph) -> dict[str, list[tuple[str, str]]]:
    facts: dict[str, list[tuple[str, str]]] = {}
    for row in _select(kg, _LITERALS):
        facts.setdefault(row["node"].value, []).append((row["property"].value, row["value"].value))
    return {k: sorted(v) for k, v in facts.items()}


def default_view(fmt: str, focus: str | None) -> str:
    """The view drawn when none is named: the focus view around --focus; else the story for pictures and
    pages, and the whole instance graph for Gephi, Graphviz and Cytoscape."""
    if focus is not None:
        return "focus"
    return "story" if fmt in (*PICTURES, "html") else "instance"


def render_view(
    kg: KnowledgeGraph,
    view: str | None,
    fmt: str,
    focus: str | None = None,
    depth: int = 1,
    properties: Iterable[str] = (),
    classes: Iterable[str] = (),
    provenance: bool = False,
    to_terminal: bool = False,
    notes: Notes | None = None,
) -> bytes:
    """Build a view and write it in ``fmt``; refuses to send a picture or a page to a terminal."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)} (or name it by the -o extension)")
    if to_terminal and fmt in (*PICTURES, "html"):
        what = "an HTML page" if fmt == "html" else f"a {fmt.upper()} picture"
        raise AmurkgError(f"{what} is not for reading in a terminal: give -o FILE.{fmt} and open the file")
    view = view or default_view(fmt, focus)
    notes = notes if notes is not None else Notes()
    graph = to_networkx(kg, view, focus, depth, properties, classes, provenance, notes)
    if view == "focus":
        what = f"within {depth} link{'s' if depth != 1 else ''} of {graph.nodes[graph.graph['focus']]['label']}"
    elif view == "story":
        what = "the Amur leopard at a glance"
    else:
        what = f"{view} view"
    title = f"Amur leopard knowledge graph: {what} ({graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges)"
    return render(graph, fmt, title, kg, notes)


# ------------------------------------------------------------------------------------- metrics


def graph_metrics(graph: Graph, top: int = 10) -> dict[str, Any]:
    """Nodes, edges, weakly connected components (each named by its best-connected entity), and the most
    central entities (degree, betweenness)."""
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
    """Graph metrics as text (components, then two ranked lists) or JSON."""
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
