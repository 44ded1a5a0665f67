"""Bounded local work for the command line: a time limit, a memory limit, and a clean stop on Ctrl-C or
SIGTERM, even while a query runs inside native code.

A query in pyoxigraph runs in Rust without returning to Python until it has an answer (a sort, an
aggregate, a join that finds nothing for a long time), so neither a Python signal handler nor an exception
can stop it. When ``amurkg`` runs as a command, a supervisor thread therefore takes SIGINT and SIGTERM
itself (they are blocked in the other threads) and watches the clock and the process's resident memory;
when a limit is passed or a signal comes, it removes the temporary files of any output being written,
prints one line on stderr and ends the process. Nothing half-written is left: an output file is the old
one or the whole new one.

Called in-process (tests, notebooks), there is no supervisor: limits are then checked while answers are
read (``check``), which stops streaming answers but not a single long native computation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from amurkg.errors import LimitError

#: Default time limit for a local query, in seconds.
DEFAULT_TIMEOUT = 60.0
#: Default largest answer, in rows or triples.
DEFAULT_MAX_ROWS = 1_000_000


def default_max_memory_mb() -> int:
    """Half of the machine's memory, at most 4 GiB: the default resident-memory limit, in MiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return 4096
    return max(256, min(4096, total // 2))


def resident_mb() -> float | None:
    """This process's resident memory in MiB, where the system tells it (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def private_mb(pid: int) -> float:
    """The memory a forked child holds of its own, in MiB: its resident pages that are not still shared with its
    parent (copy on write), from Linux's /proc/PID/smaps_rollup; 0 where the system does not tell."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            text = handle.read()
    except OSError:
        return 0.0
    kib = 0
    for line in text.splitlines():
        if line.startswith((b"Private_Clean:", b"Private_Dirty:")):
            with contextlib.suppress(ValueError, IndexError):
                kib += int(line.split()[1])
    return kib / 1024


class _Supervisor:
    """The thread that enforces limits and signals for a command-line process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: notified when a fork in progress has registered its child (or failed): see ``forking``
        self.settled = threading.Condition(self.lock)
        self.forking = 0
        self.deadline: float | None = None
        self.timeout = 0.0
        self.what = "the command"
        self.max_mb: float | None = None
        self.temporary: set[Path] = set()
        #: forked children answering a query (``amurkg.isolation``): their memory counts, and they end with us
        self.children: set[int] = set()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        self.thread = threading.Thread(target=self._watch, name="amurkg-supervisor", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while True:
            got = signal.sigtimedwait({signal.SIGINT, signal.SIGTERM}, 0.05)
            if got is not None:
                name = "interrupted" if got.si_signo == signal.SIGINT else "stopped by SIGTERM"
                self._end(f"amurkg: {name}; nothing was left half-written", 128 + got.si_signo)
            with self.lock:
                deadline, timeout, what, max_mb = self.deadline, self.timeout, self.what, self.max_mb
                children = list(self.children)
            if deadline is not None and time.monotonic() > deadline:
                self._end(
                    f"amurkg: error: {what} ran past the time limit of {timeout:g} s and was stopped; narrow it, "
                    "add LIMIT, or raise --timeout",
                    2,
                )
            if max_mb is not None:
                used = resident_mb()
                if used is not None and children:
                    used += sum(private_mb(pid) for pid in children)
                if used is not None and used > max_mb:
                    self._end(
                        f"amurkg: error: {what} needed more than {max_mb:,.0f} MiB of memory and was stopped; "
                        "narrow it, or raise --max-memory",
                        2,
                    )

    def _end(self, message: str, code: int) -> None:
        # the lock is held until the process ends: a main thread that finds its child gone (killed here) waits
        # on it in ``release_child`` instead of reporting that child's death over this message
        self.lock.acquire()
        try:
            # a child forked but not yet registered would be left running after we end: wait (briefly, the owner
            # registers it within statements) until every fork in progress has registered its child
            self.settled.wait_for(lambda: not self.forking, timeout=10)
            for pid in self.children:  # killed and reaped before we end: no child is left running
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            for path in self.temporary:
                with contextlib.suppress(OSError):
                    path.unlink()
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        finally:
            os._exit(code)


_supervisor: _Supervisor | None = None
_soft_deadline: list[tuple[float, float, str]] = []
_entry_point = False


def enable_supervision() -> None:
    """Called by the ``amurkg`` entry point: commands that set limits then get a supervisor thread."""
    global _entry_point
    _entry_point = True


@contextmanager
def limits(what: str, timeout: float | None, max_memory_mb: float | None = None) -> Iterator[None]:
    """Enforce a time and memory limit on the block (``what`` names it in the message).

    Commands that start other processes (``serve``) must not use this: the supervisor blocks SIGINT and
    SIGTERM in the calling thread, and child processes would inherit that.
    """
    _set(what, timeout, max_memory_mb)
    try:
        yield
    finally:
        _set(what, None, None)


def supervise() -> None:
    """Start the supervisor (when running as the ``amurkg`` command) without setting a limit: from here on
    SIGINT and SIGTERM remove every registered temporary file before the process ends. Every writer of an
    output file calls it (``amurkg.output.open_output``), so each one cleans up the same way."""
    global _supervisor
    if _entry_point and _supervisor is None and hasattr(signal, "sigtimedwait"):
        _supervisor = _Supervisor()
        _supervisor.start()


def _set(what: str, timeout: float | None, max_memory_mb: float | None) -> None:
    supervise()
    if timeout is not None and not 0 < timeout < 10**9:  # also refuses nan and inf
        raise LimitError("--timeout must be a positive number of seconds, such as 60")
    if max_memory_mb is not None and not 0 < max_memory_mb < 10**9:
        raise LimitError("--max-memory must be a positive number of MiB, such as 2048")
    deadline = time.monotonic() + timeout if timeout is not None else None
    if _supervisor is not None:
        with _supervisor.lock:
            _supervisor.deadline, _supervisor.timeout, _supervisor.what = deadline, timeout or 0.0, what
            _supervisor.max_mb = max_memory_mb
    _soft_deadline[:] = [(deadline, timeout or 0.0, what)] if deadline is not None else []


def check() -> None:
    """In-process (no supervisor): raise ``LimitError`` once the time limit has passed."""
    if _soft_deadline:
        deadline, timeout, what = _soft_deadline[0]
        if time.monotonic() > deadline:
            _soft_deadline.clear()
            raise LimitError(
                f"{what} ran past the time limit of {timeout:g} s and was stopped; narrow it, or raise --timeout"
            )


def register_temporary(path: Path) -> None:
    """A temporary file to remove if the process is stopped before it is renamed into place."""
    if _supervisor is not None:
        with _supervisor.lock:
            _supervisor.temporary.add(path)


def register_child(pid: int) -> None:
    """A forked child answering a query (``amurkg.isolation``): its own memory counts against the memory limit,
    and it is killed and reaped if the process is stopped (a limit, Ctrl-C, SIGTERM)."""
    if _supervisor is not None:
        with _supervisor.lock:
            _supervisor.children.add(pid)


@contextmanager
def forking() -> Iterator[None]:
    """Around forking a child and registering it (``register_child``): a Ctrl-C, SIGTERM or limit that the
    supervisor takes meanwhile ends the process only once the child is registered, so it is killed too (the
    forked child leaves the block only through ``os._exit``)."""
    supervisor = _supervisor
    if supervisor is None:
        yield
        return
    with supervisor.lock:
        supervisor.forking += 1
    try:
        yield
    finally:
        with supervisor.lock:
            supervisor.forking -= 1
            supervisor.settled.notify_all()


def release_child(pid: int) -> None:
    """The child is about to be reaped (or was killed) by its owner: the supervisor leaves it alone from now on."""
    if _supervisor is not None:
        with _supervisor.lock:
            _supervisor.children.discard(pid)


def release_temporary(path: Path) -> None:
    """The temporary file was renamed or removed: nothing to clean up any more."""
    if _supervisor is not None:
        with _supervisor.lock:
            _supervisor.temporary.discard(path)
