"""Browsable HTML documentation of the ontology, written by pyLODE, with examples from the graph.

The page is one self-contained file (pyLODE inlines its style sheet and uses no scripts from the
web), so it opens offline.
"""

from __future__ import annotations

import html
from pathlib import Path

from amurkg.errors import OutputError
from amurkg.graph import KnowledgeGraph
from amurkg.output import atomic_write
from amurkg.resources import ontology_files
from amurkg.results import SelectResult

EXAMPLES_PER_CLASS = 6


def ontology_html() -> str:
    """pyLODE's OntPub page for the ontology's classes and properties.

    The code lists (SKOS concept schemes) stay out: pyLODE would take each scheme for an ontology of
    its own and merge their titles into the page header.
    """
    import asyncio
    import logging
    import warnings

    from amurkg.errors import require

    require("pylode", "docs", "amurkg docs")

    import rdflib
    from pylode import OntPub

    graph = rdflib.Graph()
    for path in ontology_files():
        if path.name != "vocabularies.ttl":
            graph.parse(data=path.read_text(encoding="utf-8"), format="turtle")
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))  # pyLODE logs at INFO
    # pyLODE's HTML library (dominate) asks asyncio for the thread's event loop, which makes one and leaves
    # it open; give it one of ours and close it afterwards
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyLODE leaves its own style-sheet file unclosed
            page: str = OntPub(ontology=graph).make_html()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return page


def examples_section(kg: KnowledgeGraph) -> str:
    """An HTML section listing, for each class, some individuals of the graph that belong to it."""
    result = kg.run("class-examples")
    assert isinstance(result, SelectResult)
    by_class: dict[tuple[str, str], list[str]] = {}
    for row in result.as_dicts():
        by_class.setdefault((row["classLabel"], row["class"]), []).append(row["exampleLabel"])
    rows = []
    for (label, iri), examples in sorted(by_class.items()):
        shown = ", ".join(html.escape(e) for e in examples[:EXAMPLES_PER_CLASS])
        more = f" and {len(examples) - EXAMPLES_PER_CLASS} more" if len(examples) > EXAMPLES_PER_CLASS else ""
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td><code>{html.escape(iri)}</code></td>"
            f"<td>{len(examples)}</td><td>{shown}{more}</td></tr>"
        )
    return (
        '<section id="examples"><h2>Examples from the graph</h2>'
        "<p>Individuals of the Amur leopard graph in each class (directly or through a subclass).</p>"
        "<table><thead><tr><th>class</th><th>name</th><th>individuals</th><th>examples</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>\n"
    )


def write_docs(out_dir: Path, kg: KnowledgeGraph | None = None) -> Path:
    """Write ``out_dir/index.html`` (atomically) and return its path."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"cannot write documentation into {out_dir}: it is a file; give a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {(exc.strerror or str(exc)).lower()}") from None
    page = ontology_html()
    section = examples_section(kg or KnowledgeGraph())
    page = page.replace("</body>", section + "</body>", 1) if "</body>" in page else page + section
    target = out_dir / "index.html"
    atomic_write(target, page.encode("utf-8"))
    return target
