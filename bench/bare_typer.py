"""Baseline (a) for bench_query.py: the cheapest possible Typer command, printing one line."""

import typer

app = typer.Typer()


@app.command()
def hello() -> None:
    """Print a line."""
    typer.echo("hello")


if __name__ == "__main__":
    app()
