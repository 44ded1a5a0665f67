"""Shell completion of the command line's values: entity names, and the taxa a survey command can be about.

Only the standard library is imported at the top: the command line imports this module to start, and reads a
graph only when the shell asks for a completion.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: Names of the taxa: those typed as dwc:Taxon (a survey's own names for what the curated graph lacks) and those
#: of a class below akg:Taxon (the curated taxa), by scientific name, label or other label. Two queries rather
#: than one UNION of the two typings: Oxigraph joins that union with every typed subject of a store.
_TAXON_NAMES = (
    """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?name WHERE {
  ?t a dwc:Taxon .
  { ?t dwc:scientificName ?name } UNION { ?t rdfs:label ?name } UNION { ?t skos:altLabel ?name }
}""",
    """PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?name WHERE {
  ?class rdfs:subClassOf* akg:Taxon . ?t a ?class .
  { ?t dwc:scientificName ?name } UNION { ?t rdfs:label ?name } UNION { ?t skos:altLabel ?name }
}""",
)
#: Completions offered at most.
MOST = 200


def for_bash(value: str) -> str:
    """A completion as bash needs it: bash puts it on the command line as it is, so spaces and shell characters
    are escaped with a backslash (wild\\ boar)."""
    return re.sub(r"([\s'\"\\$`!&;|<>()*?\[\]{}#~])", r"\\\1", value)


def escape_for_bash() -> None:
    """Make bash completions escaped as ``for_bash`` says, once Typer has matched them against what was typed.
    (Escaping them in the completion functions made Typer drop every one as soon as the typed word held a space:
    ``wild\\ boar`` does not start with ``wild b``.) Called only when the shell asks for completions, in that
    process only; Typer registers its bash class again as it builds the command, so the class itself formats
    escaped. A word bash split at a colon (``amur:amur-l``) is read whole, as ``bash_words`` says. With a Typer
    whose completion classes differ, completions stay unescaped rather than fail."""
    try:
        from typer._click.shell_completion import split_arg_string
        from typer._completion_classes import BashComplete
    except ImportError:
        return
    kept: dict[str, int] = {"cut": 0}  # characters of the typed word before bash's own current word

    def get_completion_args(self: Any) -> tuple[list[str], str]:
        current, args, incomplete = bash_words(split_arg_string, os.environ["COMP_WORDS"], os.environ["COMP_CWORD"])
        kept["cut"] = len(incomplete) - len(current)
        return args, incomplete

    def format_completion(self: Any, item: Any) -> str:
        return for_bash(str(item.value)[kept["cut"] :])

    BashComplete.get_completion_args = get_completion_args  # type: ignore[method-assign]
    BashComplete.format_completion = format_completion  # type: ignore[method-assign]


def bash_words(split: Any, line: str, cword: str) -> tuple[str, list[str], str]:
    """(bash's current word, the arguments before the word being completed, that word) from bash's
    ``COMP_WORDS`` (joined by spaces) and ``COMP_CWORD``. Bash splits words at a colon too (``COMP_WORDBREAKS``):
    ``amur:amur-l`` comes as ``amur``, ``:``, ``amur-l``, and nothing started with ``amur-l``; they are joined
    again, and bash is given back only what follows the colon, the part of the word it replaces."""
    words = split(line)
    at = int(cword)
    typed = words[: at + 1]
    merged: list[str] = []
    for i, word in enumerate(typed):
        if i > 1 and merged and (word == ":" or merged[-1].endswith(":")):
            merged[-1] += word
        else:
            merged.append(word)
    current = typed[at] if at < len(typed) else ""
    if at >= len(typed):  # the cursor after a space: a new, empty word
        merged.append("")
    return current, merged[1:-1], merged[-1]


def taxon_names(kg: Any) -> list[str]:
    """The scientific names and labels of every taxon in ``kg``: the curated taxa, and in a store the taxa its
    packages named that the curated graph lacks."""
    names: set[str] = set()
    for text in _TAXON_NAMES:
        for row in kg.query(text, where="taxon names").rows:
            if row[0] is not None and row[0].value.strip():
                names.add(row[0].value)
    return sorted(names, key=lambda n: (n.casefold(), n))


def complete_taxa(ctx: Any, incomplete: str) -> list[str]:
    """``--taxon``'s completions: the taxa of the ``--store`` given before it on the command line, else of the
    curated graph, whose names start with what was typed. A store that cannot be opened offers the curated
    graph's taxa; completion never fails."""
    from amurkg.errors import AmurkgError
    from amurkg.graph import KnowledgeGraph

    store = (getattr(ctx, "params", None) or {}).get("store")
    try:
        kg = KnowledgeGraph(store=Path(store)) if store else KnowledgeGraph()
    except (AmurkgError, OSError, ValueError):
        kg = KnowledgeGraph()
    try:
        found = [n for n in taxon_names(kg) if n.startswith(incomplete)][:MOST]
    except (AmurkgError, OSError, ValueError):
        found = []
    finally:
        kg.close()
    return found
