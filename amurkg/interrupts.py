"""Holding Ctrl-C (SIGINT) for a few statements that must not be cut between them: a KeyboardInterrupt raised
between a call that makes something (a forked child, an open file) and the statement that takes it in hand leaves
it running or open. Held in the main thread, where Python runs its signal handlers; a Ctrl-C that comes meanwhile
is raised when the hold ends. Where the system has no signal mask (Windows), nothing is held."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

Held = set[int | signal.Signals] | None


def hold() -> Held:
    """Block SIGINT in this thread, if it is the main thread; the mask to put back (None: nothing was blocked)."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def release(held: Held) -> None:
    """End a ``hold``: a Ctrl-C that came meanwhile is raised now."""
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """``hold`` for the block; a Ctrl-C that came during it is raised as the block ends."""
    mask = hold()
    try:
        yield
    finally:
        release(mask)
