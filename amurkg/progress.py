"""A status line for work that takes more than a moment, on stderr, and only when a person watches it.

The library announces its long steps (``with step("validating"):``); nothing is shown unless the command
line has enabled it for a terminal, so scripts, pipes, logs and notebooks see nothing extra. rich (which
Typer already brings) draws the spinner, and is imported only then.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_console: Any = None


def enable_on_terminal() -> None:
    """Show status lines from now on if stderr is a terminal."""
    global _console
    if _console is None and sys.stderr.isatty():
        from rich.console import Console

        _console = Console(stderr=True)


class Step:
    """A running step whose message can change (``update``), for work done in parts."""

    def __init__(self, status: Any) -> None:
        self._status = status

    def update(self, message: str) -> None:
        """Replace the step's message."""
        if self._status is not None:
            self._status.update(message)


@contextmanager
def step(message: str) -> Iterator[Step]:
    """Show ``message`` with a spinner while the block runs (when enabled); yields a ``Step`` to update."""
    if _console is None:
        yield Step(None)
        return
    with _console.status(message) as status:
        yield Step(status)
