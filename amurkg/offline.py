"""No network from Python code that reads untrusted input: a guard at the interpreter's own audit events.

rdflib, pySHACL and owlrl can be led to the network by what they read: a SERVICE clause, an external XML
entity, a JSON-LD context, a FROM clause. amurkg refuses those where it reads queries and files, and, as a
second line that does not depend on reading them right, runs those libraries inside ``offline()``: while it
is active in a thread, every Python-level attempt to resolve a host, open a socket connection or open a
URL raises ``NetworkRefusedError`` before anything leaves the machine. This is the measure rdflib's
security notes recommend (Python audit hooks, PEP 578). It cannot see native code: pyoxigraph's own HTTP
client is kept away by the query check in ``amurkg.sparql`` instead.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from amurkg.errors import AmurkgError

_BLOCKED = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "urllib.Request",
        "http.client.connect",
        "ftplib.connect",
    }
)
_state = threading.local()
_lock = threading.Lock()
_installed = False


class NetworkRefusedError(AmurkgError):
    """Code running on untrusted input tried to reach the network; amurkg stopped it."""


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in _BLOCKED and getattr(_state, "depth", 0) > 0:
        target = next((a for a in args if isinstance(a, (str, tuple))), "")
        raise NetworkRefusedError(
            f"refused a network request ({event} {target!s:.80}) made while reading untrusted input; "
            "amurkg works offline: inline what the input refers to, or ask a remote store with {opt:endpoint}"
        )


def _install() -> None:
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


@contextmanager
def offline() -> Iterator[None]:
    """Within this block (in this thread), Python code cannot reach the network."""
    _install()
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def is_offline() -> bool:
    """Whether the current thread is inside ``offline()``."""
    return getattr(_state, "depth", 0) > 0
