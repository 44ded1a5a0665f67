"""Answer the survey queries once after a store changed, so that their first asker reads them kept.

An import or a correction changes a store, which removes every kept answer (``amurkg.answers``); the writer
then asks each survey query that needs no parameter, at its defaults, and the answers are kept with the
stamp of the store as it now is, and so are the parts a first ask with other parameters reads (a date range,
detections near another point: ``amurkg.quick.prime``). A query that fails here is left to its first asker,
who sees the error; a store this cannot open (another writer took it first) keeps nothing: the change itself
is done, and the command that made it does not fail for this.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amurkg.graph import KnowledgeGraph


def warm(store: Path | str) -> list[str]:
    """Answer and keep the survey queries that take no required parameter, on the store at ``store``; the names
    of those kept (none where keeping is turned off)."""
    from amurkg import answers
    from amurkg.catalog import list_queries
    from amurkg.errors import AmurkgError
    from amurkg.graph import KnowledgeGraph

    if not answers.enabled():
        return []
    kept: list[str] = []
    try:
        kg = KnowledgeGraph(store=store)
    except (AmurkgError, OSError):  # another writer came first, say: the change made stays made, and reported
        return kept
    with kg:
        for canned in list_queries():
            if not canned.filters or canned.reasoning or any(p.required for p in canned.parameters):
                continue
            try:
                kg.run(canned.name)  # read to its end: kept by KnowledgeGraph.run_stream
            except (AmurkgError, OSError):  # the first asker gets the same error, with its context
                continue
            kept.append(canned.name)
        _prime(kg)
    return kept


def _prime(kg: KnowledgeGraph) -> None:
    """Keep what a first ask with other parameters reads (``amurkg.quick.prime``): a date range, another point."""
    from amurkg import quick
    from amurkg.catalog import get_query
    from amurkg.errors import AmurkgError

    shelf = kg._shelf()
    if shelf is None:
        return
    try:
        interval = kg.bind_parameters(get_query("detection-rate"), {})["interval"]
        quick.prime(kg, shelf, interval)
    except (AmurkgError, OSError, ImportError):  # the first asker computes it instead, and sees any error
        return


__all__ = ["warm"]
