"""Serialising the whole graph (ontology, data and the user's files) in the common RDF formats.

rdflib is the model layer here: it writes every format and keeps prefixes. Output is the same
bytes on every run: line-based formats are sorted, and the others come from parsing the same files
in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from amurkg.errors import FormatError
from amurkg.namespaces import GRAPH_BASE, PREFIXES
from amurkg.rdfio import RdfSource
from amurkg.resources import graph_files, ontology_files

if TYPE_CHECKING:
    import rdflib

#: CLI name -> (rdflib serializer, media type); the first is the default.
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "ttl": ("turtle", "text/turtle"),
    "nt": ("nt", "application/n-triples"),
    "nq": ("nquads", "application/n-quads"),
    "trig": ("trig", "application/trig"),
    "jsonld": ("json-ld", "application/ld+json"),
    "xml": ("xml", "application/rdf+xml"),
}


def build_layers(user_sources: Iterable[RdfSource] = ()) -> list[tuple[str, rdflib.Graph]]:
    """The graph as named layers: the ontology, the data, then each graph of each user file.

    Blank nodes get canonical labels (rdflib.compare), so the same input always gives the same output.
    """
    import rdflib
    from rdflib.compare import to_canonical_graph

    from amurkg.engines import _rdflib_parse_error, rdflib_parse

    raw: list[tuple[str, rdflib.Graph]] = []
    for graph_iri, paths in ((GRAPH_BASE + "ontology", ontology_files()), (GRAPH_BASE + "data", graph_files())):
        g = rdflib.Graph(bind_namespaces="core")
        for path in paths:
            g.parse(data=path.read_text(encoding="utf-8"), format="turtle", publicID=path.resolve().as_uri())
        raw.append((graph_iri, g))
    for source in user_sources:
        ds = rdflib.Dataset()
        try:
            rdflib_parse(ds, source.text, source.format, source.base_iri)
        except Exception as exc:  # rdflib's parsers raise many unrelated types
            raise _rdflib_parse_error(source, exc) from None
        for g in sorted(ds.graphs(), key=lambda c: str(c.identifier)):
            if len(g) == 0:
                continue
            is_default = g.identifier == rdflib.graph.DATASET_DEFAULT_GRAPH_ID
            layer = rdflib.Graph(bind_namespaces="none")
            for prefix, iri in ds.namespaces():
                layer.bind(prefix, iri, override=False)
            for triple in g:
                layer.add(triple)
            raw.append((source.base_iri if is_default else str(g.identifier), layer))
    layers = []
    for graph_iri, g in raw:
        canonical = rdflib.Graph(bind_namespaces="none")
        for prefix, iri in g.namespaces():
            canonical.bind(prefix, iri, override=False)
        for triple in sorted(to_canonical_graph(g)):
            canonical.add(triple)
        layers.append((graph_iri, canonical))
    return layers


def _bind(target: rdflib.Graph, layers: list[tuple[str, rdflib.Graph]]) -> None:
    """Bind amurkg's prefixes, then the user's (never replacing ours), so no ns1 appears."""
    for prefix, iri in PREFIXES.items():
        target.bind(prefix, iri, override=True, replace=True)
    for _, layer in layers:
        for prefix, iri in layer.namespaces():
            if prefix and prefix not in PREFIXES and str(iri) not in PREFIXES.values():
                target.bind(prefix, iri, override=False)


def export_graph(fmt: str = "ttl", user_sources: Iterable[RdfSource] = (), reason: bool = False) -> bytes:
    """Serialise the whole graph in ``fmt`` (one of ``EXPORT_FORMATS``) as UTF-8 bytes.

    By default the base graph (asserted triples only); with ``reason`` the full graph, adding what
    OWL RL entails as its own named graph in TriG and N-Quads.
    """
    import warnings

    import rdflib

    if fmt not in EXPORT_FORMATS:
        raise FormatError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    sources = list(user_sources)
    layers = build_layers(sources)
    if reason:
        from amurkg.reason import INFERRED_GRAPH, inferred_graph

        layers.append((INFERRED_GRAPH, _ordered_graph(layers, sorted(inferred_graph(sources)))))
    if fmt == "trig":
        return _trig(layers)
    if fmt == "nq":
        ds = rdflib.Dataset(default_union=False)
        for graph_iri, layer in layers:
            target = ds.graph(rdflib.URIRef(graph_iri))
            for triple in layer:
                target.add(triple)
        with warnings.catch_warnings():
            # rdflib's own N-Quads writer still calls its deprecated Dataset.contexts
            warnings.simplefilter("ignore", DeprecationWarning)
            return _sorted_lines(ds.serialize(format="nquads", encoding="utf-8"))
    merged = _ordered_graph(layers, sorted({t for _, layer in layers for t in layer}))
    data = merged.serialize(format=EXPORT_FORMATS[fmt][0], encoding="utf-8")
    if fmt == "jsonld":
        return _sorted_jsonld(data)
    return _sorted_lines(data) if fmt == "nt" else data


def _sorted_jsonld(data: bytes) -> bytes:
    """rdflib's JSON-LD writer walks subjects in set order; sort its node objects by @id."""
    import json

    doc = json.loads(data)
    nodes = doc if isinstance(doc, list) else doc.get("@graph", [doc])
    nodes.sort(key=lambda node: json.dumps(node, sort_keys=True, ensure_ascii=False))
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _ordered_graph(layers: list[tuple[str, rdflib.Graph]], triples: Iterable[tuple[Any, Any, Any]]) -> rdflib.Graph:
    """A graph whose store iterates in insertion order (SimpleMemory), so serialisers that walk
    the store (RDF/XML, JSON-LD) write the same bytes every run."""
    import rdflib

    g = rdflib.Graph(store="SimpleMemory", bind_namespaces="none")
    _bind(g, layers)
    for triple in triples:
        g.add(triple)
    return g


def _trig(layers: list[tuple[str, rdflib.Graph]]) -> bytes:
    """TriG with one block per layer; each block is rdflib's Turtle for that layer."""
    header: list[str] = []
    blocks: list[str] = []
    for graph_iri, layer in layers:
        body = _ordered_graph(layers, sorted(layer)).serialize(format="turtle")
        lines = body.splitlines()
        header += [line for line in lines if line.startswith("@prefix")]
        content = "\n".join("    " + line if line else "" for line in lines if not line.startswith("@prefix"))
        blocks.append(f"<{graph_iri}> {{\n{content.strip(chr(10))}\n}}\n")
    prefixes = sorted(set(header), key=header.index)
    return ("\n".join(prefixes) + "\n\n" + "\n".join(blocks)).encode("utf-8")


def _sorted_lines(data: bytes) -> bytes:
    lines = sorted({line for line in data.splitlines() if line.strip()})
    return b"\n".join(lines) + b"\n"
