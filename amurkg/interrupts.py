"""Holding Ctrl-C (SIGINT) for a few statements that must not be cut between them: a KeyboardInterrupt raised
between a call that makes something (a forked child, an open file) and the statement that takes it in hand leaves
it running or open. Python runs its signal handlers in the main thread, whichever thread the system delivered the
signal to; while held, the handler only notes the interrupt, which is raised (by the handler held back) when the
hold ends. Outside the main thread, where no handler can be set, nothing is held."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

Held = tuple[Any, list[int]] | None


def hold() -> Held:
    """Note Ctrl-C instead of raising it, from now until ``release``; what ``release`` needs (None: nothing held)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    return previous, noted


def release(held: Held) -> None:
    """End a ``hold``: the handler held back is put back, and runs now for a Ctrl-C that came meanwhile (Python's
    own raises KeyboardInterrupt)."""
    if held is None:
        return
    previous, noted = held
    signal.signal(signal.SIGINT, previous)
    if noted and callable(previous):
        handler: Callable[[int, Any], Any] = previous
        handler(signal.SIGINT, None)
    elif noted and previous == signal.SIG_DFL:
        raise KeyboardInterrupt


@contextlib.contextmanager
def held() -> Iterator[None]:
    """``hold`` for the block; a Ctrl-C that came during it is raised as the block ends."""
    token = hold()
    try:
        yield
    finally:
        release(token)
