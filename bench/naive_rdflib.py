"""Baseline (b) for bench_query.py: what one would write by hand without amurkg.

A Typer command that parses the same Turtle files with rdflib and runs the same canned query text.
"""

from pathlib import Path

import rdflib
import typer

ROOT = Path(__file__).resolve().parent.parent
app = typer.Typer()


@app.command()
def run(query_file: Path) -> None:
    """Parse the ontology and graph with rdflib, run the query, print tab-separated rows."""
    graph = rdflib.Graph()
    for folder in ("ontology", "graph"):
        for path in sorted((ROOT / folder).glob("*.ttl")):
            graph.parse(path, format="turtle")
    for row in graph.query(query_file.read_text(encoding="utf-8")):
        typer.echo("\t".join(str(v) for v in row))


if __name__ == "__main__":
    app()
