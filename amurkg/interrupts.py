"""Holding Ctrl-C (SIGINT), and SIGTERM where a command handles it, for a few statements that must not be cut
between them: a KeyboardInterrupt raised between a call that makes something (a forked child, an open file) and
the statement that takes it in hand leaves it running or open. Python runs its signal handlers in the main
thread, whichever thread the system delivered the signal to (RocksDB's threads included); while held, the
handler only notes the signal, and the handler held back runs when the hold ends. Outside the main thread, where
no handler can be set, nothing is held."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

Held = tuple[int, Any, list[int]] | None


def hold(signum: int = signal.SIGINT) -> Held:
    """Note Ctrl-C (or ``signum``: SIGTERM, which some commands turn into KeyboardInterrupt) instead of running its
    handler, from now until ``release``; what ``release`` needs (None: nothing held). Only a Python handler is held
    for a signal other than SIGINT: one ignored, or SIGTERM's default, is left as it is."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signum != signal.SIGINT and not callable(signal.getsignal(signum)):
        return None
    noted: list[int] = []
    previous = signal.signal(signum, lambda number, frame: noted.append(number))
    return signum, previous, noted


def release(held: Held) -> None:
    """End a ``hold``: the handler held back is put back, and runs now for a signal that came meanwhile (Python's
    own for Ctrl-C raises KeyboardInterrupt)."""
    if held is None:
        return
    signum, previous, noted = held
    signal.signal(signum, previous)
    if noted and callable(previous):
        handler: Callable[[int, Any], Any] = previous
        handler(signum, None)
    elif noted and previous == signal.SIG_DFL:
        raise KeyboardInterrupt


def hold_all() -> list[Held]:
    """``hold`` Ctrl-C and SIGTERM (where a command handles it itself: ``import`` and ``push`` turn it into
    KeyboardInterrupt, which cut the same statements short as Ctrl-C did)."""
    return [hold(signal.SIGINT), hold(signal.SIGTERM)]


def release_all(tokens: list[Held]) -> None:
    """End the holds of ``hold_all``, the last first; each handler held back is put back whatever the others
    raise."""
    try:
        release(tokens[-1])
    finally:
        if len(tokens) > 1:
            release_all(tokens[:-1])


@contextlib.contextmanager
def held() -> Iterator[None]:
    """``hold_all`` for the block; a Ctrl-C or SIGTERM that came during it is handled as the block ends."""
    tokens = hold_all()
    try:
        yield
    finally:
        release_all(tokens)
