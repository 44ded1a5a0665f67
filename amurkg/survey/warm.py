"""Answer the survey queries once after a store changed, so that their first asker reads them kept.

An import or a correction changes a store, which removes every kept answer (``amurkg.answers``); the writer
then asks each survey query that needs no parameter, at its defaults, and the answers are kept with the
stamp of the store as it now is. A query that fails here is left to its first asker, who sees the error;
a store this cannot open (another writer took it first) keeps nothing: the change itself is done, and the
command that made it does not fail for this.
"""

from __future__ import annotations

from pathlib import Path


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
    return kept


__all__ = ["warm"]
