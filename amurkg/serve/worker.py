"""Query workers of ``amurkg serve``, and the zygote that forks them.

The zygote is a separate, single-threaded process: it loads the graph once, then forks a worker whenever
the server asks. Workers share the graph's memory with the zygote (copy on write; the Python objects are
frozen out of the garbage collector's way first, so reading them copies nothing), so twenty workers cost
little more than one. A worker answers one query at a time and can be killed at any moment: that is how
a query over its time limit is stopped. The server never forks, so it can use threads freely, and no
client connection ever leaks into a worker.

Frames on a worker's socket: a kind byte, a 4-byte big-endian length, then the payload.

* server to worker: ``Q`` a JSON job (text, form, format, limits);
* worker to server: ``H`` a JSON head (status, media type), ``D`` body chunks, ``E`` the end; or ``X`` a
  JSON error (status, message) instead.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import struct
from typing import Any

_FRAME = struct.Struct("!cI")
#: Answers up to this size are sent whole, with a Content-Length (one frame from the worker, one write to the
#: client, cacheable); larger ones are streamed in chunks of this size.
CHUNK = 1024 * 1024


def send_frame(sock: socket.socket, kind: bytes, payload: bytes = b"") -> None:
    """Write one frame."""
    sock.sendall(_FRAME.pack(kind, len(payload)) + payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """Read one frame, or None at the end of the stream."""
    head = _recv_exact(sock, _FRAME.size)
    if head is None:
        return None
    kind, size = _FRAME.unpack(head)
    payload = _recv_exact(sock, size) if size else b""
    return None if payload is None else (kind, payload)


class _TooLargeError(Exception):
    pass


#: The web interface's page module (``amurkg.web.data``), imported by the zygote before it forks when the
#: server serves pages: a job with a ``page`` key is answered by its ``page(kg, job)``.
_PAGES: Any = None


class _FrameWriter:
    """A binary file that holds the answer (within a byte limit) until it is complete, then sends it as a
    ``H`` head and ``D`` chunks: a limit reached half way is still a clean error answer for the client,
    and the server forwards the chunks as they come without holding the whole answer itself."""

    def __init__(self, sock: socket.socket, media_type: str, max_bytes: int) -> None:
        self.sock, self.media_type, self.max_bytes = sock, media_type, max_bytes
        self.buffer = bytearray()
        #: With a row limit, compact JSON results are counted as they are written (``count_rows``): the engine
        #: stops at the row past the limit, not at the byte limit, as it does when rows are read one by one.
        self.max_rows: int | None = None
        self.boundaries = 0
        self.scanned = 0

    def count_rows(self, max_rows: int) -> None:
        """Stop the answer (``LimitError``) once it holds more than ``max_rows`` rows: written between rows,
        ``},{"`` counts every row but the first (and no row that binds nothing: a bound from below, which is all
        a limit needs; ``amurkg.results.json_boundaries`` tells why nothing else is counted)."""
        self.max_rows = max_rows

    def check_rows(self) -> None:
        """Once the answer is complete: ``LimitError`` where it holds more than ``max_rows`` rows (all are counted
        now, those that bind nothing too)."""
        from amurkg.errors import LimitError
        from amurkg.results import json_rows

        if self.max_rows is None:
            return
        rows = json_rows(self.buffer, self.boundaries)
        if rows is None:
            rows = len(json.loads(self.buffer)["results"]["bindings"])
        if rows > self.max_rows:
            raise LimitError("")

    def write(self, data: bytes) -> int:
        from amurkg.errors import LimitError
        from amurkg.results import json_boundaries

        if len(self.buffer) + len(data) > self.max_bytes:
            raise _TooLargeError
        self.buffer += data
        if self.max_rows is not None:
            # each boundary is read once it is followed by a byte: from four bytes before the end of the last scan
            end = len(self.buffer)
            self.boundaries += json_boundaries(self.buffer, self.scanned, end)
            self.scanned = max(self.scanned, end - 4)
            if self.boundaries and self.boundaries >= self.max_rows:  # at least one row more than it counts
                del self.buffer[:]
                raise LimitError("")
        return len(data)

    def flush(self) -> None:
        """Nothing to do: the answer is sent whole by ``send`` (an engine that writes here calls it)."""

    def send(self) -> None:
        head = json.dumps({"status": 200, "type": self.media_type, "cpu": cpu_used()}).encode()
        if len(self.buffer) <= _WHOLE:  # head, body and end in one write: one wake-up of the server
            self.sock.sendall(
                b"".join((_FRAME.pack(b"H", len(head)), head, _FRAME.pack(b"D", len(self.buffer)), self.buffer, _END))
            )
            return
        send_frame(self.sock, b"H", head)
        view = memoryview(self.buffer)
        for start in range(0, len(view), CHUNK):
            part = view[start : start + CHUNK]
            self.sock.sendall(_FRAME.pack(b"D", len(part)))
            self.sock.sendall(part)  # no copy of the answer into the frame
        send_frame(self.sock, b"E")


#: Answers up to this size go to the server in one write, copied once into it (larger ones are sent from the
#: buffer as it is, in ``CHUNK``-sized frames).
_WHOLE = 256 * 1024
_END = _FRAME.pack(b"E", 0)


def cpu_used() -> float:
    """CPU seconds this process has used (user and system, as /proc/PID/stat counts them): sent with each
    answer, so the server knows what a worker had used when its next query starts without reading /proc."""
    times = os.times()
    return times.user + times.system


def _error(sock: socket.socket, status: int, message: str) -> None:
    send_frame(sock, b"X", json.dumps({"status": status, "message": message, "cpu": cpu_used()}).encode())


def answer(sock: socket.socket, kg: Any, job: dict[str, Any]) -> None:
    """Answer one job on ``sock``: head, body chunks and end, or an error frame."""
    from amurkg.errors import AmurkgError, LimitError
    from amurkg.results import (
        AskResult,
        GraphResult,
        GraphStream,
        SelectStream,
        format_graph,
        limited,
        write_result,
    )
    from amurkg.sparql import CheckedQuery

    if job.get("accept") is not None:  # a long text: checked here, not in the server (see amurkg.serve.http)
        from amurkg.serve.protocol import Job, plan

        planned = plan(job["text"], job["accept"])
        if not isinstance(planned, Job):  # refused, or no acceptable format: its status and line
            _error(sock, planned.status, planned.body.decode("utf-8").rstrip("\n"))
            return
        job = {**job, "form": planned.form, "fmt": planned.fmt, "type": planned.media_type}
    out = _FrameWriter(sock, job["type"], job["max_bytes"])
    max_rows = job["max_rows"]
    try:
        if "page" in job and _PAGES is not None:  # a web page's data, under the same limits as a query
            media_type, body = _PAGES.page(kg, job)
            out.media_type = media_type
            out.write(body)
            out.send()
            return
        checked = CheckedQuery(job["text"], job["form"], kg.engine.dialect)
        if job["form"] == "SELECT" and job["fmt"] == "json":
            out.count_rows(max_rows)
        if job["form"] == "SELECT" and job["fmt"] == "json" and kg.write_json(checked, out):
            out.check_rows()  # the engine's own serializer (no row became a Python object): counted in its text
            out.send()
            return
        result = kg.execute(checked, "query")
        if isinstance(result, GraphStream):
            triples = list(limited(result.triples, max_rows, "query", "triples"))
            out.write(format_graph(GraphResult(triples), job["fmt"]))
        else:
            if not isinstance(result, AskResult):
                result = SelectStream(result.variables, limited(result.rows, max_rows, "query"))
            write_result(result, job["fmt"], out, raw=True, compact=True)  # type: ignore[arg-type]
        out.send()
    except _TooLargeError:
        _error(sock, 400, f"the answer is larger than this endpoint's limit of {job['max_bytes']:,} bytes; narrow it")
    except LimitError:
        _error(
            sock, 400, f"the answer has more rows than this endpoint's limit of {max_rows:,}; add LIMIT or narrow it"
        )
    except AmurkgError as exc:
        _error(sock, getattr(exc, "http_status", 400), str(exc))


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` ends, even in the middle of a native query: the kernel's
    parent-death signal on Linux, else a thread that watches the parent."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1)
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent ended before the signal was set up
        os._exit(0)


def worker_loop(sock: socket.socket, kg: Any) -> None:
    """Answer jobs until the server closes the socket."""
    while True:
        frame = recv_frame(sock)
        if frame is None:
            return
        kind, payload = frame
        if kind == b"Q":
            answer(sock, kg, json.loads(payload))


def zygote(sock: socket.socket, options: dict[str, Any]) -> None:
    """Load the graph, say so, then fork a worker for each ``S`` frame, handing its socket to the server."""
    from amurkg import isolation
    from amurkg.errors import AmurkgError
    from amurkg.graph import KnowledgeGraph

    store = options.get("store")
    try:
        kg = KnowledgeGraph(options["data"], reason=options["reason"], store=store)
        # the first query builds the engine's lazy state before forking. On a store it is what every worker reads:
        # db/ open read-only, and with --reason a view that, made while isolation is on, is reopened read-only
        # too (amurkg.store._View): no RocksDB background work that a fork would lose, no file that changes under
        # a reader. The workers inherit these handles (copy on write, as the isolation's children do), instead
        # of each opening the store again: its index and filter blocks are read once, for every worker
        kg.query("ASK { ?s ?p ?o }")
        if options.get("pages"):
            global _PAGES
            import importlib

            _PAGES = importlib.import_module(options["pages"]["module"])
            _PAGES.prepare(kg, options["pages"])  # its caches are shared by every fork
    except AmurkgError as exc:
        send_frame(sock, b"X", str(exc).encode())
        return
    isolation.disable()  # a worker is itself the isolation: the server replaces one the engine ends
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    zygote_pid = os.getpid()
    gc.collect()
    gc.freeze()  # the loaded objects never move again: forked workers share their pages
    send_frame(sock, b"R")
    while True:
        frame = recv_frame(sock)
        if frame is None:
            return
        if frame[0] != b"S":
            continue
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                die_with_parent(zygote_pid)
                sock.close()
                mine.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.nice(options.get("nice", 0))
                worker_loop(theirs, kg)
            finally:
                os._exit(0)
        theirs.close()
        socket.send_fds(sock, [struct.pack("!I", pid)], [mine.fileno()])
        mine.close()


def main(argv: list[str]) -> None:
    """Run the zygote on the inherited socket: ``main([FD, OPTIONS_JSON])``."""
    sock = socket.socket(fileno=int(argv[0]))
    options = json.loads(argv[1])
    die_with_parent(int(options["server"]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when the zygote ends
    try:
        zygote(sock, options)
    finally:
        sock.close()
