"""amurkg: a curated, provenance-tracked knowledge graph of the Amur leopard, and tools to query it.

>>> import amurkg
>>> kg = amurkg.load()
>>> [row["preyName"] for row in kg.run("prey").as_dicts()]
['Manchurian sika deer', 'Siberian roe deer', 'wild boar']
"""

from amurkg.catalog import CannedQuery, get_query, list_queries
from amurkg.errors import AmurkgError
from amurkg.graph import KnowledgeGraph, load
from amurkg.results import AskResult, GraphResult, SelectResult, Term
from amurkg.viz import to_networkx

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """Field data's names load on first use: ``import amurkg`` (and every command) stays fast."""
    if name in ("import_package", "PackageError"):
        from amurkg.survey import importer

        return getattr(importer, name)
    if name in ("activity_overlap", "Overlap"):
        from amurkg.survey import activity

        return getattr(activity, name)
    raise AttributeError(f"module 'amurkg' has no attribute {name!r}")


def export(fmt: str = "ttl", data: tuple[str, ...] = (), reason: bool = False) -> bytes:
    """The whole graph (ontology, data and the given RDF files) serialised in ``fmt``; with ``reason``, the
    OWL RL closure and its derivations too."""
    from pathlib import Path

    from amurkg.rdfio import read_rdf
    from amurkg.serialize import export_graph

    return export_graph(fmt, [read_rdf(Path(p)) for p in data], reason)


__all__ = [
    "AmurkgError",
    "AskResult",
    "CannedQuery",
    "GraphResult",
    "KnowledgeGraph",
    "Overlap",
    "PackageError",
    "SelectResult",
    "Term",
    "__version__",
    "activity_overlap",
    "export",
    "get_query",
    "import_package",
    "list_queries",
    "load",
    "to_networkx",
]
