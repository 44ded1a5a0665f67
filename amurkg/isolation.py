"""Answering a query in a forked child process, so that an engine that ends its process ends the child, not amurkg.

pyoxigraph 0.5 aborts its process (a Rust panic, "comparison function does not correctly implement a total
order") on some ORDER BY over several variables whose values are of mixed kinds: no exception reaches Python,
and a command, a notebook's kernel or a script died with the engine's panic on the terminal. Only sorting does
it, so a query whose tokens hold ORDER BY (``orders``: read from the tokens, never from the text, so the words
in a string or a comment do not count) is answered in a child made with ``os.fork``: it shares the loaded
graph with its parent page by page (copy on write), so nothing is loaded again; forking costs a few milliseconds
on the shipped graph, about 0.1 s in a process that holds a store of a million observations. Other queries are
answered in the process, as before, and so are those that ``amurkg.sorting`` can sort as the engine would (the
engines try it first).

The child evaluates the query and sends the answer back through a pipe, in frames (a kind byte, a 4-byte
length, a ``marshal`` payload): the head (the variables of a SELECT, the value of an ASK, or that triples
follow), batches of rows or triples, then the end; or an amurkg error instead. The parent reads them as they
come and hands out the same ``Answer`` the engine gives in-process, so every writer of answers is unchanged
and the output is byte for byte what it was. The child's standard error goes to an anonymous file, read by the
parent only when the child died: a child killed by a signal becomes one ``EngineFaultError`` (the caller
words it: ``fault``), and the engine's panic text never reaches the terminal.

The parent stays in charge of the child: it ignores SIGINT (Ctrl-C reaches a terminal's whole process group,
and the parent decides), and the parent kills and reaps it whenever its answer is no longer read (read to the
end, closed early at a row limit, dropped, an exception, KeyboardInterrupt), so no child and no zombie is left
behind. On the command line it is also registered with the supervisor (``amurkg.limits``), which counts the
child's own memory against ``--max-memory`` and kills and reaps it before ending the process at a limit, on
Ctrl-C or on SIGTERM. A child whose parent was killed outright (SIGKILL) ends when it next writes to the pipe.

Where the system cannot fork (Windows), or inside a process that is itself a disposable worker (``amurkg
serve``'s, which the server replaces when it dies: ``disable``), queries are answered in the process.
"""

from __future__ import annotations

import contextlib
import itertools
import marshal
import os
import signal
import struct
import weakref
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from amurkg import interrupts
from amurkg.errors import AmurkgError
from amurkg.results import Answer, AskResult, GraphStream, Row, SelectStream, Term, iri_once

_FRAME = struct.Struct("!cI")
#: Rows (or triples) per frame: large enough that framing costs nothing, small enough to stream.
BATCH = 1024
#: The most of the child's standard error the parent reads (to recognise the engine's panic).
_MAX_STDERR = 64 * 1024

_enabled = hasattr(os, "fork")


def enabled() -> bool:
    """Whether queries that sort are answered in a forked child (POSIX, unless ``disable`` was called)."""
    return _enabled


def disable() -> None:
    """Answer every query in this process (and its forks) from now on: for a process that is itself a
    disposable worker, whose death its parent already handles (``amurkg serve``'s query workers)."""
    global _enabled
    _enabled = False


def orders(text: str) -> bool:
    """Whether a query sorts anywhere (ORDER BY at its end or in a subquery), read from its tokens as pyoxigraph
    reads them: ``ORDER BY`` in a string literal, an IRI or a comment does not count."""
    from amurkg.sparql import tokens

    if "order" not in text.lower():  # no token can spell it: lexing is not needed to say so
        return False
    toks = tokens(text, "oxigraph")
    return any(
        a.kind == "word" and b.kind == "word" and a.text.upper() == "ORDER" and b.text.upper() == "BY"
        for a, b in itertools.pairwise(toks)
    )


# ------------------------------------------------------------------------------------------------ the child


def _send(fd: int, kind: bytes, payload: bytes = b"") -> None:
    data = memoryview(_FRAME.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _plain(term: Term | None) -> Any:
    """A term as marshal can write it: an IRI as its text, another term as a plain tuple, None as itself."""
    if term is None:
        return None
    if term.kind == "uri":
        return term.value
    return tuple(term)


def _error_payload(exc: AmurkgError) -> bytes:
    """An amurkg error as its class's place, its arguments and its plain attributes (``context``...)."""
    cls = type(exc)
    extra = {k: v for k, v in vars(exc).items() if isinstance(v, str | int | float | bool | None)}
    args = tuple(a for a in exc.args if isinstance(a, str | int | float | bool | None))
    return marshal.dumps((cls.__module__, cls.__qualname__, args, extra))


def _child(fd: int, stderr: int, evaluate: Callable[[], Answer]) -> NoReturn:
    """Evaluate, send the answer, and end this process without running anything of the parent's (no atexit,
    no finalizer: the store's lock and views belong to the parent)."""
    code = 1
    try:
        os.dup2(stderr, 2)
        os.close(stderr)
        import faulthandler
        import gc

        faulthandler.disable()  # (-X faulthandler, pytest) it would print the abort's Python stack on the terminal

        gc.disable()  # a collection would touch every object, copying the parent's pages for nothing
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides (it kills this process)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if hasattr(signal, "pthread_sigmask"):  # blocked over the fork (``run_isolated``), and by the supervisor
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        try:
            answer = evaluate()
            if isinstance(answer, AskResult):
                _send(fd, b"A", b"1" if answer.value else b"0")
            else:
                if isinstance(answer, SelectStream):
                    _send(fd, b"S", marshal.dumps(list(answer.variables)))
                    items: Iterator[Any] = answer.rows
                else:
                    _send(fd, b"G")
                    items = answer.triples
                batch: list[Any] = []
                for item in items:
                    batch.append(tuple(map(_plain, item)))
                    if len(batch) == BATCH:
                        _send(fd, b"R", marshal.dumps(batch))
                        batch = []
                if batch:
                    _send(fd, b"R", marshal.dumps(batch))
            _send(fd, b"E")
        except AmurkgError as exc:
            _send(fd, b"X", _error_payload(exc))
        code = 0
    except BrokenPipeError:  # the parent stopped reading (and is about to kill this process)
        code = 0
    except BaseException:  # a bug: its traceback goes to the captured stderr, which the parent reports
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


# ------------------------------------------------------------------------------------------------ the parent


class _Child:
    """A forked child answering one query: its pid, the read end of its pipe, its captured stderr. Killed (if it
    still runs) and reaped when finished, closed, or garbage-collected."""

    def __init__(self, pid: int, fd: int, stderr: int) -> None:
        self.pid = pid
        self.stream = open(fd, "rb", buffering=1 << 16)  # noqa: SIM115 (closed in close())
        self.stderr = stderr
        self.state: dict[str, Any] = {"status": None}
        from amurkg import limits

        limits.register_child(pid)
        self._finalizer = weakref.finalize(self, _finish, pid, self.stream, stderr, self.state)

    def frame(self) -> tuple[bytes, bytes] | None:
        """The next frame, or None when the child ended without a complete one."""
        head = self.stream.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return None
        kind, size = _FRAME.unpack(head)
        payload = self.stream.read(size) if size else b""
        return None if len(payload) < size else (kind, payload)

    def wait(self) -> int:
        """Reap the child (it has ended, or is ending: its pipe is closed) and return its wait status."""
        from amurkg import limits

        limits.release_child(self.pid)  # before reaping: the supervisor never kills a pid that was reaped
        _, status = os.waitpid(self.pid, 0)
        self.state["status"] = status
        return status

    def stderr_text(self) -> str:
        try:
            return os.pread(self.stderr, _MAX_STDERR, 0).decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Kill the child if it still runs, reap it, close the pipe and the stderr file."""
        self._finalizer()


def _finish(pid: int, stream: Any, stderr: int, state: dict[str, Any]) -> None:
    if state["status"] is None:
        from amurkg import limits

        # killed before the supervisor lets it go: a Ctrl-C it takes in between would otherwise end the command
        # with the child neither killed by it nor by us (a zombie until reaped is what SIGKILL leaves meanwhile)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        limits.release_child(pid)
        try:
            state["status"] = os.waitpid(pid, 0)[1]
        except ChildProcessError:  # reaped by someone else (a SIGCHLD handler set to ignore children)
            state["status"] = 0
    stream.close()
    with contextlib.suppress(OSError):
        os.close(stderr)


def _scratch() -> int:
    """An anonymous file for the child's standard error (nothing to remove afterwards)."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("amurkg-query-stderr", getattr(os, "MFD_CLOEXEC", 0))
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile().detach().fileno()


def _fork() -> int:
    import warnings

    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (the supervisor, RocksDB's idle pools) may
        # deadlock the child: this child takes no lock another thread could hold (see the module's docstring)
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _block() -> set[int | signal.Signals] | None:
    """Block SIGINT and SIGTERM in this thread (the child inherits the mask); the mask before, or None where the
    system has no signal masks."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)


def _unblock(previous: set[int | signal.Signals] | None) -> None:
    """Put back the mask ``_block`` returned: a signal that came meanwhile is delivered now."""
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def run_isolated(evaluate: Callable[[], Answer], fault: Callable[[int, str], AmurkgError]) -> Answer:
    """Call ``evaluate`` in a forked child and return its answer as it streams back (see the module's docstring).

    An amurkg error of the child is raised here as the same class with the same message. A child killed by a
    signal raises ``fault(signal number, the child's stderr)``; one that failed otherwise, a RuntimeError with
    its traceback."""
    read, write = os.pipe()
    try:
        stderr = _scratch()
    except BaseException:
        os.close(read)
        os.close(write)
        raise
    # Ctrl-C is held from just before the fork until the child is in hand: one that came as os.fork returned (the
    # parent not yet holding the pid) left the child running its query, unowned, after amurkg had ended
    # and the supervisor (``amurkg.limits``), which ends the command on a Ctrl-C it takes itself, waits until the
    # child is registered with it: ending before left the child running. SIGINT and SIGTERM are also blocked over
    # that span: commands that handle SIGTERM themselves (import, push) raise KeyboardInterrupt for it, which left
    # the child unowned as Ctrl-C did; and the child, until it has set its own handlers, would have run the
    # parent's (a SIGTERM sent to the process group made it raise the parent's KeyboardInterrupt and run the
    # parent's code on the way out)
    from amurkg import limits

    held = interrupts.hold_all()
    blocked = _block()
    try:
        with limits.forking():
            try:
                pid = _fork()
            except BaseException:
                for fd in (read, write, stderr):
                    os.close(fd)
                raise
            if pid == 0:
                os.close(read)
                _child(write, stderr, evaluate)  # never returns (it ignores SIGINT: the parent decides)
            try:
                os.close(write)
                child = _Child(pid, read, stderr)
            except BaseException:  # an error before the child is in hand: killed and reaped here
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                raise
    except BaseException:
        _unblock(blocked)
        interrupts.release_all(held)
        raise
    try:
        _unblock(blocked)  # a SIGTERM blocked meanwhile is handled from here on, with the child in hand
        interrupts.release_all(held)  # a Ctrl-C (or SIGTERM) held meanwhile is raised here, with the child in hand
        head = child.frame()
        if head is None or head[0] == b"X":
            raise _failure(child, head, fault)
        kind, payload = head
        if kind == b"A":
            value = payload == b"1"
            end = child.frame()
            if end is None or end[0] != b"E":
                raise _failure(child, end, fault)
            child.wait()
            child.close()
            return AskResult(value)
        if kind == b"S":
            return SelectStream(marshal.loads(payload), _rows(child, fault))
        return GraphStream(_rows(child, fault))  # type: ignore[arg-type]
    except BaseException:
        child.close()
        raise


def _rows(child: _Child, fault: Callable[[int, str], AmurkgError]) -> Iterator[Row]:
    """The child's rows (or triples) as they come, with the same ``Term`` objects the engine makes in-process."""
    named: dict[str, Term] = {}  # IRIs repeat across rows: one Term each, as the engine does
    make = Term._make
    try:
        while True:
            frame = child.frame()
            if frame is None or frame[0] != b"R":
                if frame is not None and frame[0] == b"E":
                    child.wait()
                    return
                raise _failure(child, frame, fault)
            for plain in marshal.loads(frame[1]):
                row: list[Term | None] = []
                for value in plain:
                    if value is None:
                        row.append(None)
                    elif type(value) is str:
                        row.append(iri_once(named, value))
                    else:
                        row.append(make(value))
                yield tuple(row)
    finally:
        child.close()


def _failure(child: _Child, frame: tuple[bytes, bytes] | None, fault: Callable[[int, str], AmurkgError]) -> Exception:
    """What to raise for a child that sent an error, or ended without a complete answer."""
    if frame is not None and frame[0] == b"X":
        module, qualname, args, extra = marshal.loads(frame[1])
        child.wait()
        import importlib

        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        error = cls.__new__(cls)
        error.args = args
        for key, value in extra.items():
            setattr(error, key, value)
        return error  # type: ignore[no-any-return]
    if frame is not None:  # a frame of a kind it should not send here: a bug, stop it
        child.close()
        return RuntimeError(f"the process answering the query sent an unexpected frame {frame[0]!r}")
    status = child.wait()  # its end of the pipe is closed: it has ended
    if os.WIFSIGNALED(status):
        return fault(os.WTERMSIG(status), child.stderr_text())
    text = child.stderr_text().strip()
    return RuntimeError(
        f"the process answering the query ended with status {os.waitstatus_to_exitcode(status)}"
        + (f": {text}" if text else "")
    )
