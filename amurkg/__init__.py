"""amurkg: a curated, provenance-tracked knowledge graph of the Amur leopard, and tools to query it.

>>> import amurkg
>>> kg = amurkg.load()
>>> [row["preyName"] for row in kg.run("prey").as_dicts()]
['Manchurian sika deer', 'Siberian roe deer', 'wild boar']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Each public name and the module it comes from, imported on first use: ``import amurkg`` (and so every command,
#: whose entry point is in this package) costs nothing until a name is used, and a Ctrl-C while a command starts
#: reaches its entry point's handler rather than this file's imports.
_WHERE = {
    "CannedQuery": "amurkg.catalog",
    "get_query": "amurkg.catalog",
    "list_queries": "amurkg.catalog",
    "AmurkgError": "amurkg.errors",
    "KnowledgeGraph": "amurkg.graph",
    "load": "amurkg.graph",
    "AskResult": "amurkg.results",
    "GraphResult": "amurkg.results",
    "SelectResult": "amurkg.results",
    "Term": "amurkg.results",
    "to_networkx": "amurkg.viz",
    "import_package": "amurkg.survey.importer",
    "PackageError": "amurkg.survey.importer",
    "activity_overlap": "amurkg.survey.activity",
    "Overlap": "amurkg.survey.activity",
}

if TYPE_CHECKING:
    from amurkg.catalog import CannedQuery, get_query, list_queries
    from amurkg.errors import AmurkgError
    from amurkg.graph import KnowledgeGraph, load
    from amurkg.results import AskResult, GraphResult, SelectResult, Term
    from amurkg.survey.activity import Overlap, activity_overlap
    from amurkg.survey.importer import PackageError, import_package
    from amurkg.viz import to_networkx


def __getattr__(name: str) -> object:
    """A public name, from its module on first use (then kept here)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'amurkg' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


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
