"""The server's side of the query workers: admission control, fairness, time limits, replacement.

* The pool keeps a worker per CPU (at least two): as many queries run at once as the machine can run, and
  the others wait their turn, so a busy server does not slice its CPUs among ever more processes.
* A query that has used ``DEMOTE_AFTER`` seconds of CPU (not of waiting: a loaded machine does not make a
  query slow) gets its worker's CPU priority lowered to the least, and no longer counts as one of those
  workers: the pool forks another, up to ``--workers`` in all, so quick queries never wait behind slow
  ones, and long ones finish in the time left over. A demoted worker ends when its query does (lowering a
  priority cannot be undone without privileges); a worker beyond the base count ends when nobody waits.
* The pool remembers the shape of queries that were slow (their text without comments): sent again, such
  a query runs at once in a worker of its own at the least priority, or waits behind every other query, so
  clients that repeat a slow query cannot hold the CPU-count workers from quick ones even for a moment.
* Queries wait for a free worker in a bounded queue; when the queue is full, or a query has waited as long
  as it may run, the server answers 503 with Retry-After at once instead of piling up work.
* A query that runs past its limit is stopped by killing its worker, and the zygote forks a fresh one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Mapping
from typing import NamedTuple

from amurkg.errors import AmurkgError, EngineFaultError  # EngineFaultError: HTTP 500 here
from amurkg.serve.worker import _FRAME, CHUNK, recv_frame, send_frame

#: Seconds after which a running query's worker gets the lowest CPU priority.
DEMOTE_AFTER = 0.25


class UnavailableError(AmurkgError):
    """The endpoint could not answer this query now (HTTP 503)."""


class SaturatedError(UnavailableError):
    """Every worker is busy and the queue is full (or the wait was too long): try again shortly."""


class QueryTimeoutError(UnavailableError):
    """A query ran past the endpoint's time limit and was stopped."""


#: Queries whose worker stopped while answering them, remembered (at most this many, by their text) so that one
#: that stops a worker again is refused without costing another: a client repeating it cannot keep the pool forking.
_FAULTS_KEPT = 1000
_FAULT_HINT = (
    "; it is an engine fault, not a limit of this endpoint, and asking again fails the same way: pyoxigraph aborts, "
    "for one, on some ORDER BY over several variables of mixed kinds of values (order by fewer, or sort the rows "
    "yourself)"
)


class Answer(NamedTuple):
    """A worker's answer: status, media type, the body read so far, and the rest (None when complete)."""

    status: int
    media_type: str
    body: bytes
    rest: Rest | None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 2


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used, where the system tells it (Linux /proc), else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        fields = data[data.rindex(b")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
    except (OSError, ValueError, IndexError):
        return None


_COMMENT = re.compile(r"(?m)(?:^|(?<=\s))#[^\n<>\"']*$")


def shape(text: str) -> str:
    """A query's text without its comments and surrounding white space: the same question asked again with
    another comment (a counter, a timestamp) has the same shape. Only scheduling reads it, never an engine."""
    return _COMMENT.sub("", text).strip()


#: The tokens ``fault_key`` reads in a query: IRIs and strings (kept as written), variables (renamed), words and
#: other characters (white space between them is not a token).
_TOKENS = re.compile(
    r"""(<[^<>"{}|^`\\\s]*>|'{3}.*?'{3}|"{3}.*?"{3}|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
    r"|[?$]([\w\u00b7\u0300-\u036f\u203f\u2040]+)|([\w:.\-]+|\S)",
    re.DOTALL,
)


def fault_key(text: str, page: dict[str, object] | None = None) -> bytes:
    """What a query that stopped its worker is remembered by: a digest (32 bytes, whatever the query's size: a
    client sending 1,000 distinct 1 MB queries that stop workers made the server keep 1 GB) of its tokens without
    comments or white space and with its variables renamed in order (``?v1``, ``?v2``): the same query with
    another comment, spacing or variable names stops the engine the same way, and is refused as well."""
    if page is not None:
        basis = json.dumps(page, sort_keys=True, default=str)
    else:
        names: dict[str, str] = {}
        tokens = []
        for match in _TOKENS.finditer(shape(text)):
            variable = match.group(2)
            tokens.append(names.setdefault(variable, f"?v{len(names) + 1}") if variable else match.group(0))
        basis = "\0" + " ".join(tokens)
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).digest()


class _Shape:
    """The shape of a query (or a web page's job), read the first time the pool needs it: only once some query
    was slow, or when one is found slow. Kept as a digest of the text without comments (``shape``)."""

    __slots__ = ("_value", "page", "text")

    def __init__(self, text: str, page: dict[str, object] | None) -> None:
        self.text, self.page = text, page
        self._value: str | None = None

    @property
    def value(self) -> str:
        if self._value is None:
            page = self.page
            # a digest: the pool keeps 1,000 slow shapes, and a query may be a megabyte long
            basis = shape(self.text) if page is None else json.dumps(page, sort_keys=True, default=str)
            self._value = hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()
        return self._value


class _Worker:
    def __init__(
        self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sock: socket.socket
    ) -> None:
        self.pid, self.reader, self.writer, self.sock = pid, reader, writer, sock
        self.demoted = False
        self.key = _Shape("", None)  # the shape of its current query
        self.job = 0  # how many queries it was given: a timer set for one query ignores the next
        self.busy = False
        #: CPU seconds it had used when its current query started (None: unknown), and when it last answered
        #: (reported by the worker with each answer; read from /proc once, when it is forked)
        self.cpu_start: float | None = None
        self.cpu_now: float | None = cpu_seconds(pid)
        self.timer: asyncio.TimerHandle | None = None  # its current query's demotion check

    def alive(self) -> bool:
        """Whether an idle worker can take a query: its socket is not at its end (the kernel closes it when the
        process ends: asked now, not when the event loop next reads it) and holds nothing unasked for."""
        if self.reader.at_eof():
            return False
        try:
            return not self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)  # data or b"" (the end): not idle
        except BlockingIOError:
            return True  # nothing to read: alive and idle
        except OSError:
            return False

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


#: Seconds a stopping server gives its zygote to end by itself (and remove a store's read views) before killing it.
_ZYGOTE_GRACE = 5.0


#: Thread pools of numerical libraries (NumPy's BLAS, OpenMP): one thread each in the zygote and its workers,
#: unless the user set them. The pool's parallelism is its processes; a BLAS call in one worker otherwise left
#: threads spinning on the machine's cores after it, and the survey dashboard of another worker, on two
#: cores, went from 0.8 s to 1.2 s at a million observations.
_THREAD_POOLS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _single_threaded(environ: Mapping[str, str]) -> dict[str, str]:
    return {**{name: "1" for name in _THREAD_POOLS}, **environ}


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
        self.base = min(workers, max(2, _cpu_count()))  # workers kept for queries at full priority
        self.started = 0  # workers alive or being forked
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self._options = {"data": list(data), "reason": reason, "nice": 5, "server": os.getpid(), "store": store}
        self._options["pages"] = pages  # the web interface's page module and its settings, or None
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()  # every worker alive, idle or busy
        self._waiting: collections.deque[tuple[asyncio.Future[_Worker], _Shape]] = collections.deque()
        self._waiting_slow: collections.deque[asyncio.Future[_Worker]] = collections.deque()  # known slow shapes
        self._slow: collections.OrderedDict[str, None] = collections.OrderedDict()  # shapes that were slow
        #: ``fault_key`` of a query -> how many times its worker stopped while answering it (``_FAULTS_KEPT`` at most)
        self._faults: collections.OrderedDict[bytes, int] = collections.OrderedDict()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._ready = False  # the zygote has loaded the graph
        self._zsock: socket.socket | None = None
        self._zlock = asyncio.Lock()
        self.replaced = 0
        self.closing = False  # set when the server stops: no more forks, released workers end
        self._tasks: set[asyncio.Task[None]] = set()
        self._forking = 0  # forks asked for by _refill and not done yet
        self._slow_forks = 0  # forks asked for by _acquire for a query of a slow shape, not done yet

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
            # a process group of its own: a terminal's Ctrl-C reaches the server alone, which ends the zygote and
            # its workers itself (in the server's group, a Ctrl-C while Python was still starting the zygote
            # printed a KeyboardInterrupt traceback under the calm stop line); a killed server takes them along
            # (die_with_parent)
            process_group=0,
            env=_single_threaded(os.environ),
        )
        theirs.close()
        self._zsock = ours
        frame = recv_frame(ours)
        if frame is None or frame[0] != b"R":
            message = frame[1].decode() if frame else "the query process ended while loading the graph"
            self.close()
            raise AmurkgError(message)
        self._ready = True

    async def fill(self) -> None:
        """Fork the first workers: one per CPU (the pool grows while slow queries hold some)."""
        while self.started < self.base:
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
            sock = socket.socket(fileno=fd)
            reader, writer = await asyncio.open_connection(sock=sock)
        except BaseException:
            self.started -= 1
            raise
        worker = _Worker(pid, reader, writer, sock)
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
            self._waiting.popleft()[0].cancel()
        while self._waiting_slow:
            self._waiting_slow.popleft().cancel()
        self.close()

    def close(self) -> None:
        """Stop every worker and the zygote (``aclose`` from inside the event loop)."""
        for worker in list(self._workers):
            self._kill(worker)
        self._idle.clear()
        if self._zsock is not None:
            self._zsock.close()  # a zygote that has loaded reads the end of its socket and ends itself, removing
        if self._zygote is not None:  # what it made (a store's read views); one still loading is killed at once
            if self._ready:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._zygote.wait(timeout=_ZYGOTE_GRACE)
            self._zygote.kill()
            self._zygote.wait()

    def _kill(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.kill()

    # ------------------------------------------------------------------------------ admission

    def _release(self, worker: _Worker) -> None:
        worker.busy = False
        if worker.timer is not None:
            worker.timer.cancel()
            worker.timer = None
        if self.closing:
            self._kill(worker)
            return
        if not worker.demoted and self._slow and worker.key.value in self._slow and worker.cpu_start is not None:
            used = worker.cpu_now
            if used is not None and used - worker.cpu_start < DEMOTE_AFTER:  # quick this time: forget it
                self._slow.pop(worker.key.value, None)
        if worker.demoted:  # its priority cannot be raised again: it ends, and the pool refills
            self._retire(worker)
            return
        while self._waiting:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():
                worker.busy = True
                waiter.set_result(worker)
                return
        while self._waiting_slow and self._slow_room():  # after every other query: it runs demoted, and its
            slow = self._waiting_slow.popleft()  # worker ends after it
            if not slow.done():
                worker.busy = True
                self._lower(worker)
                slow.set_result(worker)
                self._refill()
                return
        if self._healthy() > self.base:  # forked while slow queries held workers; not needed now
            self._retire(worker)
            return
        self._idle.append(worker)

    def _healthy(self) -> int:
        """Workers alive or being forked that run queries at full priority (not those forked for a query of a slow
        shape: they run it at the least priority)."""
        return self.started - sum(1 for w in self._workers if w.demoted) - self._slow_forks

    def _slow_room(self) -> bool:
        """Whether one more query of a known slow shape may have a worker now. Slow ones hold at most ``--workers``
        less the base count (one, where there is no more), so that the base count of workers always remains
        for the other queries: eight clients repeating a never-ending query once took all sixteen workers, and
        a quick query waited until one of them reached the time limit."""
        held = sum(1 for w in self._workers if w.demoted) + self._slow_forks
        return held < max(1, self.size - self.base)

    def _drop_dead(self) -> None:
        """Retire idle workers whose process has ended (killed by the system for memory, or by hand): their socket
        is at its end, as the event loop has read it. No query is given to one, so none is answered 503 nor
        counted as stopping a worker for a death that came before it; the pool refills."""
        for worker in [w for w in self._idle if w.reader.at_eof()]:
            self._idle.remove(worker)
            self._retire(worker)

    def _take_idle(self) -> _Worker | None:
        """An idle worker that is alive now (``_Worker.alive``: an end the event loop has not read yet counts), or
        None; the dead ones found are retired."""
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            self._retire(worker)
        return None

    def zygote_ended(self) -> bool:
        """Whether the process that forks the workers has ended (killed, or out of memory): no worker can be
        forked again."""
        return self._zygote is not None and self._zygote.poll() is not None

    def _unavailable(self) -> UnavailableError | None:
        """The error for a query that can never have a worker: the zygote has ended and no worker is left."""
        if not self._workers and self.zygote_ended():
            return UnavailableError("the query process stopped; restart amurkg serve")
        return None

    def _fail_waiters(self, error: UnavailableError) -> None:
        for waiter, _ in self._waiting:
            if not waiter.done():
                waiter.set_exception(error)
        self._waiting.clear()
        for waiter in self._waiting_slow:
            if not waiter.done():
                waiter.set_exception(error)
        self._waiting_slow.clear()

    async def _acquire(self, deadline: float, key: _Shape) -> _Worker:
        if self._idle:
            self._drop_dead()
        slow = bool(self._slow) and key.value in self._slow  # a shape is read only once some query was slow
        # older queries of slow shapes that wait go first: a newcomer takes no worker meanwhile
        room = slow and self._slow_room() and not any(not f.done() for f in self._waiting_slow)
        if room and self.started < self.size:  # a worker of its own, at the least priority
            self._slow_forks += 1
            try:
                with contextlib.suppress(OSError, AmurkgError):
                    worker = await self._spawn()
                    worker.busy = True
                    self._lower(worker)
                    return worker
            finally:
                self._slow_forks -= 1
                self._refill()  # queries that came meanwhile, and found no worker, wait for the base count
        if self._idle and not (slow and (self._waiting or not room)) and (idle := self._take_idle()) is not None:
            idle.busy = True
            if slow:
                self._lower(idle)
                self._refill()  # a base worker less: fork one for the others where they wait
            return idle
        if not slow and self.started < self.size and self._healthy() < self.base:
            with contextlib.suppress(OSError, AmurkgError):
                worker = await self._spawn()
                worker.busy = True
                return worker
        if (error := self._unavailable()) is not None:  # nothing will ever come free: say so now, not at the deadline
            raise error
        if len(self._waiting) + len(self._waiting_slow) >= self.queue:
            raise SaturatedError("every query worker is busy and the queue is full; try again shortly")
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        if slow:
            self._waiting_slow.append(waiter)
        else:
            self._waiting.append((waiter, key))
        try:
            async with asyncio.timeout_at(deadline):
                return await waiter
        except BaseException as exc:  # past the deadline, or the request was given up
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:  # handed a worker as it ended
                self._release(waiter.result())
            else:
                waiter.cancel()  # never handed one later
                self._forget(waiter)
            if isinstance(exc, TimeoutError):
                raise SaturatedError(
                    f"no query worker became free within {self.timeout:g} s; try again shortly"
                ) from None
            raise

    def _forget(self, waiter: asyncio.Future[_Worker]) -> None:
        """Take a waiter that gave up (its client left, or its time ran out) out of the queue, so that its place
        counts free at once, not only when a worker next comes free (either queue: a shape found slow moves
        its waiters to the slow one)."""
        for index, (each, _) in enumerate(self._waiting):
            if each is waiter:
                del self._waiting[index]
                return
        with contextlib.suppress(ValueError):
            self._waiting_slow.remove(waiter)

    def _lower(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, worker.pid, 19)
            worker.demoted = True

    def _retire(self, worker: _Worker) -> None:
        """End a worker; fork another where the pool is below its base or queries wait."""
        self._kill(worker)
        self.started -= 1
        self._refill()

    def _refill(self) -> None:
        """Fork while the pool is below its base count with queries waiting (or below it at all), and for
        each query of a known slow shape that waits (up to ``--workers`` in all)."""
        while not self.closing and self.started < self.size:
            short = self._healthy() < self.base and (self.started < self.base or bool(self._waiting))
            slow = sum(1 for f in self._waiting_slow if not f.done()) > self._forking and self._slow_room()
            if not (short or slow):
                return
            self.replaced += 1
            self.started += 1  # counted now, so that the loop sees it; _fork takes it back before forking
            self._forking += 1
            task = asyncio.get_running_loop().create_task(self._fork())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fork(self) -> None:
        self.started -= 1
        try:
            worker = await self._spawn()
        except (OSError, AmurkgError):  # the zygote is gone: the pool shrinks, and where no worker is left the
            if (error := self._unavailable()) is not None:  # queries that wait are told at once
                self._fail_waiters(error)
            return
        finally:
            self._forking -= 1
        self._release(worker)

    async def _replace(self, worker: _Worker) -> None:
        """A worker whose state is unknown (stopped mid-query, or dead): end it, and refill the pool."""
        self._retire(worker)

    # ------------------------------------------------------------------------------ answering

    async def answer(
        self,
        text: str,
        form: str,
        fmt: str,
        media_type: str,
        page: dict[str, object] | None = None,
        *,
        accept: str | None = None,
    ) -> Answer:
        """Run a checked query in a worker: its status, media type and first chunk, and the rest to stream. With
        ``accept`` (the request's Accept header), the text is checked by the worker and the format settled there
        (``amurkg.serve.protocol.plan``): a refusal comes back as an error answer with its status.

        Raises ``SaturatedError`` (no worker free in time), ``QueryTimeoutError`` (stopped at the limit) or
        ``UnavailableError`` (the worker died); each is a 503 for the client.
        """
        deadline = asyncio.get_running_loop().time() + self.timeout
        # the digest is made only while some query is remembered as one that stopped its worker (it costs a pass
        # over the text: a third of what the server spends on a quick query); else when a worker stops
        fault = fault_key(text, page) if self._faults else None
        if fault is not None and self._faults.get(fault, 0) >= 2:
            self._faults.move_to_end(fault)
            raise EngineFaultError("the query engine stopped on this query twice before; refused" + _FAULT_HINT)
        key = _Shape(text, page)
        worker = await self._acquire(deadline, key)
        worker.key = key
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
        if accept is not None:
            job["accept"] = accept
        payload = json.dumps(job).encode()
        worker.job += 1
        worker.cpu_start = worker.cpu_now  # an idle worker uses no CPU: what it had used when it last answered
        worker.timer = asyncio.get_running_loop().call_later(DEMOTE_AFTER, self._demote, worker, worker.job)
        try:
            worker.writer.write(_FRAME.pack(b"Q", len(payload)) + payload)
            async with asyncio.timeout_at(deadline):
                kind, data = await worker.frame()
                if fault is not None:  # answered this time: a stop counted before came from elsewhere
                    self._faults.pop(fault, None)
                if kind == b"X":
                    error = json.loads(data)
                    worker.cpu_now = error.get("cpu")
                    self._release(worker)
                    return Answer(error["status"], "text/plain", (error["message"] + "\n").encode(), None)
                head = json.loads(data)
                worker.cpu_now = head.get("cpu")
                body = bytearray()
                while len(body) < CHUNK:
                    kind, data = await worker.frame()
                    if kind == b"D":
                        body += data
                    elif kind == b"E":
                        self._release(worker)
                        return Answer(head["status"], head["type"], bytes(body), None)
                    else:  # an error before anything reached the client: still an error answer
                        error = json.loads(data)
                        worker.cpu_now = error.get("cpu")
                        self._release(worker)
                        return Answer(error["status"], "text/plain", (error["message"] + "\n").encode(), None)
        except TimeoutError:
            # slow, whatever CPU it had (on a loaded machine a query may reach the limit before it has used
            # DEMOTE_AFTER of CPU): its shape runs demoted from now on
            self._remember_slow(key)
            await self._replace(worker)
            raise QueryTimeoutError(
                f"the query ran past this endpoint's limit of {self.timeout:g} s and was stopped"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, json.JSONDecodeError, KeyError):
            await self._replace(worker)
            # workers that waited idle died too (all killed at once, by an operator or the system short of memory):
            # the cause was outside, not this query, which is not counted against it
            dead = [w for w in self._idle if not w.alive()]
            for each in dead:
                self._idle.remove(each)
                self._retire(each)
            if dead:
                raise UnavailableError(
                    "the query worker stopped while answering, and idle ones with it (killed from outside, or the "
                    "machine ran short of memory); ask again"
                ) from None
            if fault is None:
                fault = fault_key(text, page)
            self._faults[fault] = times = self._faults.get(fault, 0) + 1
            self._faults.move_to_end(fault)
            while len(self._faults) > _FAULTS_KEPT:
                self._faults.popitem(last=False)
            if times >= 2:
                raise EngineFaultError("the query engine stopped on this query again" + _FAULT_HINT) from None
            raise UnavailableError(
                "the query worker stopped while answering (its process ended: the query engine failed, or the "
                "machine ran short of memory); if this query stops it again, it will be refused"
            ) from None
        except asyncio.CancelledError:  # the request was given up (client gone, server stopping)
            self._retire(worker)
            raise
        return Answer(head["status"], head["type"], bytes(body), Rest(self, worker, deadline))

    def _remember_slow(self, key: _Shape) -> None:
        self._slow[key.value] = None
        self._slow.move_to_end(key.value)
        while len(self._slow) > 1000:
            self._slow.popitem(last=False)

    def _demote(self, worker: _Worker, job: int) -> None:
        """Lower the priority of a worker whose query has used ``DEMOTE_AFTER`` s of CPU (of wall time where the
        system does not say), and let the pool fork a worker for the queries that wait."""
        if not worker.busy or worker.job != job or worker.demoted or worker not in self._workers:
            return
        used = cpu_seconds(worker.pid)
        if used is not None and worker.cpu_start is not None and used - worker.cpu_start < DEMOTE_AFTER:
            # waiting, not working
            worker.timer = asyncio.get_running_loop().call_later(DEMOTE_AFTER, self._demote, worker, job)
            return
        self._lower(worker)
        self._remember_slow(worker.key)  # its shape runs demoted from now on
        waiting = list(self._waiting)  # the same shape, already waiting: behind the others, in workers of its own
        self._waiting = collections.deque(w for w in waiting if w[1].value != worker.key.value)
        self._waiting_slow.extend(f for f, key in waiting if key.value == worker.key.value)
        self._refill()


def _end_orphan(forking: asyncio.Future[tuple[int, int]]) -> None:
    """A worker forked for a request that was cancelled meanwhile: nobody will use it."""
    if forking.cancelled() or forking.exception() is not None:
        return
    pid, fd = forking.result()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.close(fd)


class Rest:
    """The remaining chunks of a long answer, read from its worker as the client takes them.

    The worker goes back to the pool when the answer ends; when it is abandoned half way (a time limit, a
    client gone, ``aclose`` before the first chunk, a cancelled request) the worker is ended, as its state
    is unknown. ``TruncatedError`` when a limit cut the answer short."""

    def __init__(self, pool: WorkerPool, worker: _Worker, deadline: float) -> None:
        self.pool, self.worker, self.deadline = pool, worker, deadline
        self.finished = False

    def __aiter__(self) -> Rest:
        return self

    async def __anext__(self) -> bytes:
        if self.finished:
            raise StopAsyncIteration
        try:
            async with asyncio.timeout_at(self.deadline):
                kind, data = await self.worker.frame()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):  # the worker died half way
            await self.aclose()
            raise UnavailableError("the query worker stopped while sending its answer") from None
        except BaseException:  # time limit, request cancelled
            await self.aclose()
            raise
        if kind == b"D":
            return data
        self.finished = True
        if kind not in (b"E", b"X"):  # nothing a worker sends: its state is unknown
            self.pool._retire(self.worker)
            raise UnavailableError("the query worker sent an answer it cannot have")
        if kind == b"X":
            try:
                error = json.loads(data)
                self.worker.cpu_now = error.get("cpu")
                message = str(error["message"])
            except (ValueError, KeyError, TypeError, AttributeError):
                self.pool._retire(self.worker)
                raise UnavailableError("the query worker sent an answer it cannot have") from None
            self.pool._release(self.worker)
            raise TruncatedError(message)
        self.pool._release(self.worker)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Give up the rest of the answer: its worker is ended (the pool forks another)."""
        if not self.finished:
            self.finished = True
            self.pool._retire(self.worker)


class TruncatedError(AmurkgError):
    """An answer was cut short after it had started (a limit was reached while it was being sent)."""
