"""The server's side of the query workers: admission control, fairness, time limits, replacement.

* The pool starts with a worker per CPU and grows, one fork at a time, up to ``--workers`` when every worker
  is busy: slow queries occupy their own workers while quick ones get fresh ones.
* A query still running after ``DEMOTE_AFTER`` seconds has its worker's CPU priority lowered to the least,
  so the CPU goes to quick queries first (long ones finish in the time left over); such a worker is
  replaced by a fresh fork once it is done, as lowering a priority cannot be undone without privileges.
* Queries wait for a free worker in a bounded queue; when the queue is full, or a query has waited as long
  as it may run, the server answers 503 with Retry-After at once instead of piling up work.
* A query that runs past its limit is stopped by killing its worker, and the zygote forks a fresh one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import AsyncGenerator
from typing import NamedTuple

from amurkg.errors import AmurkgError
from amurkg.serve.worker import _FRAME, CHUNK, recv_frame, send_frame

#: Seconds after which a running query's worker gets the lowest CPU priority.
DEMOTE_AFTER = 0.25


class UnavailableError(AmurkgError):
    """The endpoint could not answer this query now (HTTP 503)."""


class SaturatedError(UnavailableError):
    """Every worker is busy and the queue is full (or the wait was too long): try again shortly."""


class QueryTimeoutError(UnavailableError):
    """A query ran past the endpoint's time limit and was stopped."""


class Answer(NamedTuple):
    """A worker's answer: status, media type, the body read so far, and the rest (None when complete)."""

    status: int
    media_type: str
    body: bytes
    rest: AsyncGenerator[bytes, None] | None


class _Worker:
    def __init__(self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.pid, self.reader, self.writer = pid, reader, writer
        self.demoted = False

    async def frame(self) -> tuple[bytes, bytes]:
        head = await self.reader.readexactly(_FRAME.size)
        kind, size = _FRAME.unpack(head)
        return kind, (await self.reader.readexactly(size) if size else b"")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        if not self.writer.transport.is_closing():
            with contextlib.suppress(RuntimeError):  # its event loop has ended: the process is gone anyway
                self.writer.close()


class WorkerPool:
    """Workers forked by a zygote process that holds the graph; one query per worker at a time."""

    def __init__(
        self,
        data: tuple[str, ...],
        reason: bool,
        workers: int,
        timeout: float,
        queue: int,
        max_rows: int,
        max_bytes: int,
        store: str | None = None,
        pages: dict[str, object] | None = None,
    ) -> None:
        self.size, self.timeout, self.queue = workers, timeout, queue
        self.started = 0  # workers alive or being forked
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self._options = {"data": list(data), "reason": reason, "nice": 5, "server": os.getpid(), "store": store}
        self._options["pages"] = pages  # the web interface's page module and its settings, or None
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()  # every worker alive, idle or busy
        self._waiting: collections.deque[asyncio.Future[_Worker]] = collections.deque()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._zsock: socket.socket | None = None
        self._zlock = asyncio.Lock()
        self.replaced = 0
        self.closing = False  # set when the server stops: no more forks, released workers end
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------ life cycle

    def start_zygote(self) -> None:
        """Start the zygote and wait until it has loaded the graph (a load error is one AmurkgError)."""
        ours, theirs = socket.socketpair()
        self._zygote = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from amurkg.serve.worker import main; main(sys.argv[1:])",
                str(theirs.fileno()),
                json.dumps(self._options),
            ],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self._zsock = ours
        frame = recv_frame(ours)
        if frame is None or frame[0] != b"R":
            message = frame[1].decode() if frame else "the query process ended while loading the graph"
            self.close()
            raise AmurkgError(message)

    async def fill(self) -> None:
        """Fork the first workers: one per CPU (the pool grows on demand up to its size)."""
        for _ in range(min(self.size, max(2, os.cpu_count() or 2))):
            self._release(await self._spawn())

    async def _spawn(self) -> _Worker:
        assert self._zsock is not None
        if self.closing:
            raise UnavailableError("the endpoint is stopping")
        self.started += 1
        try:
            async with self._zlock:
                forking = asyncio.ensure_future(asyncio.to_thread(self._ask_zygote))
                try:
                    pid, fd = await asyncio.shield(forking)
                except asyncio.CancelledError:  # the fork still completes: end that worker when it does
                    forking.add_done_callback(_end_orphan)
                    raise
            reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
        except BaseException:
            self.started -= 1
            raise
        worker = _Worker(pid, reader, writer)
        self._workers.add(worker)
        return worker

    def _ask_zygote(self) -> tuple[int, int]:
        assert self._zsock is not None
        send_frame(self._zsock, b"S")
        message, fds, _, _ = socket.recv_fds(self._zsock, 4, 1)
        if len(message) != 4 or len(fds) != 1:
            raise UnavailableError("the query process stopped; restart amurkg serve")
        return struct.unpack("!I", message)[0], fds[0]

    async def aclose(self) -> None:
        """Stop every worker, busy ones included, and what is waiting for one; then the zygote."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._waiting:
            self._waiting.popleft().cancel()
        self.close()

    def close(self) -> None:
        """Stop every worker and the zygote (``aclose`` from inside the event loop)."""
        for worker in list(self._workers):
            self._kill(worker)
        self._idle.clear()
        if self._zsock is not None:
            self._zsock.close()
        if self._zygote is not None:
            self._zygote.kill()
            self._zygote.wait()

    def _kill(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.kill()

    # ------------------------------------------------------------------------------ admission

    def _release(self, worker: _Worker) -> None:
        if self.closing:
            self._kill(worker)
            return
        if worker.demoted:  # its priority cannot be raised again: a fresh fork takes its place
            task = asyncio.get_running_loop().create_task(self._replace(worker))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self, deadline: float) -> _Worker:
        if self._idle:
            return self._idle.pop()
        if self.started < self.size:
            with contextlib.suppress(OSError, AmurkgError):
                return await self._spawn()
        if len(self._waiting) >= self.queue:
            raise SaturatedError("every query worker is busy and the queue is full; try again shortly")
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                return await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():  # handed a worker just as the wait ended
                self._release(waiter.result())
            raise SaturatedError(f"no query worker became free within {self.timeout:g} s; try again shortly") from None

    async def _replace(self, worker: _Worker) -> None:
        self._kill(worker)
        self.started -= 1
        self.replaced += 1
        with contextlib.suppress(OSError, AmurkgError):  # the zygote is gone: the pool shrinks
            self._release(await self._spawn())

    # ------------------------------------------------------------------------------ answering

    async def answer(
        self, text: str, form: str, fmt: str, media_type: str, page: dict[str, object] | None = None
    ) -> Answer:
        """Run a checked query in a worker: its status, media type and first chunk, and the rest to stream.

        Raises ``SaturatedError`` (no worker free in time), ``QueryTimeoutError`` (stopped at the limit) or
        ``UnavailableError`` (the worker died); each is a 503 for the client.
        """
        deadline = asyncio.get_running_loop().time() + self.timeout
        worker = await self._acquire(deadline)
        job = {
            "text": text,
            "form": form,
            "fmt": fmt,
            "type": media_type,
            "max_rows": self.max_rows,
            "max_bytes": self.max_bytes,
        }
        if page is not None:  # a web page's data (amurkg.web): the same workers, limits and time limit
            job["page"] = page
        payload = json.dumps(job).encode()
        demote = asyncio.get_running_loop().call_later(DEMOTE_AFTER, self._demote, worker)
        try:
            worker.writer.write(_FRAME.pack(b"Q", len(payload)) + payload)
            async with asyncio.timeout_at(deadline):
                kind, data = await worker.frame()
                if kind == b"X":
                    self._release(worker)
                    error = json.loads(data)
                    return Answer(error["status"], "text/plain", (error["message"] + "\n").encode(), None)
                head = json.loads(data)
                body = bytearray()
                while len(body) < CHUNK:
                    kind, data = await worker.frame()
                    if kind == b"D":
                        body += data
                    elif kind == b"E":
                        self._release(worker)
                        return Answer(head["status"], head["type"], bytes(body), None)
                    else:  # an error before anything reached the client: still an error answer
                        self._release(worker)
                        error = json.loads(data)
                        return Answer(error["status"], "text/plain", (error["message"] + "\n").encode(), None)
        except TimeoutError:
            demote.cancel()
            await self._replace(worker)
            raise QueryTimeoutError(
                f"the query ran past this endpoint's limit of {self.timeout:g} s and was stopped"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, json.JSONDecodeError, KeyError):
            demote.cancel()
            await self._replace(worker)
            raise UnavailableError("the query worker stopped unexpectedly; send the query again") from None
        finally:
            if demote.when() > asyncio.get_running_loop().time():
                demote.cancel()
        return Answer(head["status"], head["type"], bytes(body), self._rest(worker, deadline))

    def _demote(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, worker.pid, 19)
            worker.demoted = True

    async def _rest(self, worker: _Worker, deadline: float) -> AsyncGenerator[bytes, None]:
        """The remaining chunks of a long answer; ``TruncatedError`` when a limit cut it short."""
        done = False
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    kind, data = await worker.frame()
                    if kind == b"D":
                        yield data
                    elif kind == b"E":
                        done = True
                        return
                    else:
                        done = True
                        raise TruncatedError(json.loads(data)["message"])
        finally:
            if done:
                self._release(worker)
            else:  # stopped mid-answer (time limit, client gone): the worker's state is unknown
                await self._replace(worker)


def _end_orphan(forking: asyncio.Future[tuple[int, int]]) -> None:
    """A worker forked for a request that was cancelled meanwhile: nobody will use it."""
    if forking.cancelled() or forking.exception() is not None:
        return
    pid, fd = forking.result()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.close(fd)


class TruncatedError(AmurkgError):
    """An answer was cut short after it had started (a limit was reached while it was being sent)."""
