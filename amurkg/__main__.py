"""Entry point of the ``amurkg`` command and of ``python -m amurkg``."""

from __future__ import annotations

import sys

#: Commands that read the graph; for these the shipped graph starts loading before Typer is imported.
_GRAPH_COMMANDS = frozenset({"query", "sparql", "describe", "stats"})


def _needs_shipped_store(argv: list[str]) -> bool:
    """True when the command line will query the shipped graph with the default engine."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in _GRAPH_COMMANDS or "--help" in argv:
        return False
    for i, arg in enumerate(argv):
        value = arg.partition("=")[2] if arg.startswith("--engine=") else None
        if arg in ("--engine", "-e") and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None and value.lower() != "oxigraph":
            return False
    return True


def main() -> None:
    """Run the command line, loading the shipped graph in the background while Typer starts."""
    if _needs_shipped_store(sys.argv[1:]):
        from amurkg.engines import prefetch_shipped
        from amurkg.resources import shipped_files

        prefetch_shipped(shipped_files())
    from amurkg.cli import app

    app(prog_name="amurkg")


if __name__ == "__main__":
    main()
