"""HTTP for ``amurkg serve``: asyncio protocols, each request parsed by httptools (llhttp, the parser of
Node.js: strict about framing, so a request cannot be smuggled past it), with every deadline in amurkg's hands.

* A client has ``client_timeout`` seconds to send each whole request (head and body, idle time before it
  included) and to take each part of the answer: a client that drips bytes, stops reading or goes half-open
  is disconnected, whatever it does to look active.
* Connections beyond ``max_connections`` push out the oldest one that is not being answered, so a flood of
  idle connections cannot lock anyone out.
* Request heads and bodies are bounded; answers are streamed from the worker as they are produced and
  cut at ``max_bytes``.
* Identical queries within one server's life get the same bytes from a small cache (the graph never
  changes while it is served); an answer is kept from its second asking on, so distinct texts never fill it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http
import re
from typing import Any, NamedTuple

import httptools

from amurkg.errors import EngineFaultError
from amurkg.serve.pool import SaturatedError, TruncatedError, UnavailableError, WorkerPool
from amurkg.serve.protocol import (
    SECURITY_HEADERS,
    Job,
    Reply,
    allowed_hosts,
    host_allowed,
    plan,
    plan_checked,
    read_request,
    text_reply,
)

_MAX_HEAD = 16 * 1024
_CACHEABLE = 1024 * 1024  # answers up to this size are kept (within --cache-mb in all)
_VERDICT_TEXT = 64 * 1024  # query texts up to this length have the guard's verdict kept...
_VERDICT_CHARS = 4 * 1024 * 1024  # ...within this many characters in all
_PIPELINED = 64  # requests read ahead of their answers, at most (and their bytes at most a head and a body)...
_SLICE = 16 * 1024  # ...parsed this many bytes at a time (so a queue can exceed the bound by one slice's requests)
_REASONS = {status.value: status.phrase for status in http.HTTPStatus}
#: What a header of amurkg's own answers may not hold: a line break or another control character would end the
#: header or start another (the values come from amurkg, some built from a request: refused, never sent)
_UNSAFE_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class _Request(NamedTuple):
    method: str
    target: str
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes
    size: int  # bytes it holds: head and body (what a queue of pipelined requests is bounded by)
    keep_alive: bool
    chunked: bool  # whether an answer of unknown length may be sent in chunks (HTTP/1.1), else it ends at close
    hosts: int  # Host headers sent


class _UnsafeHeaderError(Exception):
    """A header value of amurkg's own that could end the header early: never sent."""


class _MalformedError(Exception):
    """A request this server cannot read: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Connection(asyncio.Protocol):
    """One client connection: requests are parsed as their bytes come, queued, and answered in order by a task
    of the connection's own, started when a request is complete and ended when none is left."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.busy = False  # a request of this connection is being answered
        self.queue: collections.deque[_Request] = collections.deque()
        self.queued = 0  # bytes held in queued requests (pipelined while one is answered)
        self.failed: _MalformedError | None = None  # what the client sent that could not be read, once reached
        self.last = False  # no request after those queued is read (the client asked to close, or upgraded)
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.writable: asyncio.Future[None] | None = None  # set while the client is not taking what is written
        self.gone = False
        self.refusal: _MalformedError | None = None
        self.pending = bytearray()  # bytes come but not parsed yet (pipelined while requests are answered)
        self.closing = False  # the answer just sent ends the connection
        self.begun = False  # a message began in the bytes being read
        self._new_message()

    def _new_message(self) -> None:
        self.url = bytearray()
        self.fields: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.head_size = 0  # bytes of the head being read
        self.head_bytes = 0  # bytes of the head read (once it is complete)
        self.head_done = False
        self.reading_head = False

    # ------------------------------------------------------------------------------ the transport's calls

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server = self.server
        if server.stopping or (len(server.connections) >= server.options.max_connections and not server.evict()):
            self.gone = True
            transport.abort()
            return
        server.connections[self] = None
        self._wait_for_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.server.connections.pop(self, None)
        self._stop_timer()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)  # a write that waits wakes, and finds the client gone (no error kept)
        if self.task is not None:  # a client that leaves ends the work done for it (its query, queued or running)
            self.task.cancel()

    def eof_received(self) -> bool | None:
        return None  # a client that stops sending has gone: the transport closes, its query is ended

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.last or self.failed is not None:
            return  # nothing after this is read as HTTP (the connection ends once the queue is answered)
        self.pending += data
        self._parse()

    def _parse(self) -> None:
        """Parse what has come, a slice at a time, while few requests wait for their answers: a client that
        pipelines thousands of requests has a bounded number parsed ahead, the rest held as bytes (bounded too:
        reading stops until the queue is answered)."""
        pending, done = self.pending, 0
        bound = _MAX_HEAD + self.server.options.max_body
        while done < len(pending) and len(self.queue) < _PIPELINED and self.queued <= bound:
            piece = bytes(pending[done : done + _SLICE])
            done += len(piece)
            self._feed(piece)
            if self.last or self.failed is not None:
                done = len(pending)
        del pending[:done]
        if len(pending) > bound and self.transport is not None:
            self.transport.pause_reading()  # read again once the queue is answered

    def _feed(self, data: bytes) -> None:
        self.begun = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # another protocol follows: its requests are not HTTP to read
            self.last = True
        except httptools.HttpParserCallbackError:  # one of the calls below refused what it read
            self._fail(self.refusal or _MalformedError(400, "malformed HTTP request"))
        except httptools.HttpParserError:
            self._fail(_MalformedError(400, "malformed HTTP request"))
        else:
            # a head still incomplete: what the parser holds of it is bounded too (a header line that never ends).
            # Bytes of a slice in which the message began are not counted (some may be the previous message's):
            # the bound is exceeded by one slice at most
            if self.reading_head and not self.begun:
                self.head_size += len(data)
                if self.head_size > _MAX_HEAD:
                    self._fail(_MalformedError(431, "the request head is over this endpoint's limit"))

    def _fail(self, error: _MalformedError) -> None:
        self.failed = error
        self._start()

    # ------------------------------------------------------------------------------ the parser's calls

    def on_message_begin(self) -> None:
        self._new_message()
        self.reading_head = self.begun = True

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head_done:  # a trailer of a chunked body: not read, but bounded with the body
            self._body_grows(len(name) + len(value))
            return
        self.fields.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True
        self.reading_head = False
        self.head_bytes = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.fields)
        if self.head_bytes > _MAX_HEAD:
            raise self._refuse(431, "the request head is over this endpoint's limit")
        expects = False
        for name, value in self.fields:
            lower = name.lower()
            if lower == b"content-length" and value.strip().isdigit() and int(value) > self.server.options.max_body:
                raise self._refuse(413, self.server.too_large())
            expects = expects or (lower == b"expect" and value.strip().lower() == b"100-continue")
        # a client that waits for leave to send its body (curl, for a large one) is told to go on, where nothing
        # else is being answered on this connection (the interim answer would fall into another one's bytes)
        idle = not self.busy and not self.queue and self.task is None
        if expects and idle and self.parser.get_http_version() == "1.1" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_grows(len(body))
        self.body += body

    def _body_grows(self, size: int) -> None:
        if len(self.body) + size > self.server.options.max_body:
            raise self._refuse(413, self.server.too_large())

    def _refuse(self, status: int, message: str) -> _MalformedError:
        """The error a parser's call raises to stop it; kept here, as the parser raises an error of its own."""
        self.refusal = _MalformedError(status, message)
        return self.refusal

    def on_message_complete(self) -> None:
        parser = self.parser
        keep_alive = parser.should_keep_alive()
        request = _Request(
            parser.get_method().decode("latin-1"),
            self.url.decode("latin-1"),
            {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.fields},
            bytes(self.body),
            self.head_bytes + len(self.body),
            keep_alive,
            parser.get_http_version() != "1.0",
            sum(1 for name, _ in self.fields if name.lower() == b"host"),
        )
        self.queue.append(request)
        self.queued += request.size
        self._new_message()
        if not keep_alive:
            self.last = True
        self._start()

    # ------------------------------------------------------------------------------ answering

    def _wait_for_request(self) -> None:
        """Give the client ``client_timeout`` seconds for its next whole request."""
        self._stop_timer()
        self.timer = self.loop.call_later(self.server.options.client_timeout, self._timed_out)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _timed_out(self) -> None:
        self.timer = None
        if not self.busy and self.transport is not None:
            self.transport.abort()

    def _start(self) -> None:
        self._stop_timer()
        if self.task is None and not self.gone:
            self.task = self.loop.create_task(self._answer_all())
            self.server.tasks.add(self.task)

    async def _answer_all(self) -> None:
        transport = self.transport
        assert transport is not None
        try:
            while True:
                if not self.queue:
                    self._parse()  # requests that came while the last were answered
                if not self.queue:
                    break
                request = self.queue.popleft()
                self.queued -= request.size
                self.busy = True
                try:
                    await self.server.respond(self, request)
                finally:
                    self.busy = False
                if self.closing or not request.keep_alive:
                    transport.close()  # after what is written has been sent
                    return
            if self.failed is not None:
                failed = self.failed
                await self.server.reply(self, text_reply(failed.status, failed.message), close=True)
                transport.close()
                return
            if not self.gone:
                self._wait_for_request()
                transport.resume_reading()
        except (ConnectionError, TimeoutError, OSError, _UnsafeHeaderError):
            transport.abort()
        except Exception as exc:  # a fault of amurkg's own: the client is cut off, never left waiting
            transport.abort()
            _report(exc)
        except asyncio.CancelledError:
            transport.abort()
            if not self.server.stopping and not self.gone:
                raise
            # the client has gone or the endpoint is stopping: end quietly
        finally:
            self.server.tasks.discard(self.task)
            self.task = None

    async def write(self, data: bytes) -> None:
        """Send ``data``; wait (``client_timeout`` at most) while the client is not taking what was sent."""
        if self.gone:
            raise ConnectionError("the client closed the connection")
        assert self.transport is not None
        self.transport.write(data)
        if self.writable is not None and not self.writable.done():
            async with asyncio.timeout(self.server.options.client_timeout):  # a client that does not read is dropped
                await self.writable
            if self.gone:
                raise ConnectionError("the client closed the connection")


class Server:
    """The HTTP side of ``amurkg serve``."""

    def __init__(self, options: Any, pool: WorkerPool, bound: str) -> None:
        self.options, self.pool, self.bound = options, pool, bound
        #: Host headers answered (DNS rebinding: a page elsewhere whose name now points here sends its own name)
        self.hosts = allowed_hosts(bound, tuple(getattr(options, "allow_hosts", ())))
        self.connections: collections.OrderedDict[_Connection, None] = collections.OrderedDict()
        self.cache: collections.OrderedDict[tuple[str, str], tuple[str, bytes]] = collections.OrderedDict()
        self.cache_bytes = 0
        self.cache_limit = options.cache_mb * 1024 * 1024
        self.seen: collections.OrderedDict[int, None] = collections.OrderedDict()  # texts asked once
        self.verdicts: collections.OrderedDict[str, str] = collections.OrderedDict()  # text -> form, checked
        self.verdict_chars = 0
        #: The web interface (``amurkg.web.Site``), or None: it answers the paths it serves, the endpoint the rest.
        self.site: Any = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False

    def protocol(self) -> _Connection:
        """A new connection's protocol (for ``loop.create_server``)."""
        return _Connection(self)

    async def close(self) -> None:
        """Drop every connection, idle or being answered, and end its request."""
        self.stopping = True
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def evict(self) -> bool:
        """Close the oldest connection that is not being answered; False when every one is busy."""
        for conn in self.connections:
            if not conn.busy and conn.task is None:
                self.connections.pop(conn)
                if conn.transport is not None:
                    conn.transport.abort()
                return True
        return False

    def too_large(self) -> str:
        return f"the request body is over this endpoint's limit of {self.options.max_body:,} bytes"

    # ------------------------------------------------------------------------------ answers

    async def respond(self, conn: _Connection, request: _Request) -> None:
        """Answer one request on ``conn``."""
        headers = request.headers
        head_only = request.method == "HEAD"
        close = not request.keep_alive
        if request.hosts > 1:  # RFC 9112 3.2: more than one Host is a 400 (a proxy and amurkg could read two names)
            await self.reply(conn, text_reply(400, "more than one Host header", SECURITY_HEADERS), close=True)
            conn.closing = True
            return
        if not host_allowed(headers.get("host"), self.hosts):
            refusal = (
                "this server answers requests for its own address only; a reverse proxy's name needs --allow-host NAME"
            )
            await self.reply(conn, text_reply(400, refusal, SECURITY_HEADERS), head_only=head_only, close=close)
            return
        asked = read_request(
            request.method,
            request.target,
            headers.get("content-type", ""),
            request.body,
            headers.get("accept", ""),
            headers.get("host"),
            self.bound,
        )
        if self.site is not None:
            page = await self.site.handle(request.method, request.target, headers)
            if page is not None:
                await self.reply(conn, page, head_only=head_only, close=close)
                return
        if isinstance(asked, Reply):
            await self.reply(conn, asked, head_only=head_only, close=close)
            return
        text, accept = asked
        if len(text) > _VERDICT_TEXT:
            # a long text is checked by the worker that runs it, in its own process under the time limit: one
            # match of the lexer's expression on a megabyte (an unclosed string) holds the interpreter for a
            # second, which in this process (a thread included) no other client would be answered in
            await self._answer(conn, Job(text, "", "", ""), request, accept=accept)
            return
        planned = self._plan(text, accept)
        if isinstance(planned, Reply):
            await self.reply(conn, planned, head_only=head_only, close=close)
            return
        await self._answer(conn, planned, request)

    def _plan(self, text: str, accept: str) -> Job | Reply:
        """``plan``, with the guard's verdict on a text that passed it kept (the check reads only the text,
        and the graph does not change while it is served): a query asked again is not read again. Refusals
        are not kept; the texts kept are bounded in characters, the oldest dropped first."""
        form = self.verdicts.get(text)
        if form is None:
            planned = plan(text, accept)
            if isinstance(planned, Job) and len(text) <= _VERDICT_TEXT:
                self.verdicts[text] = planned.form
                self.verdict_chars += len(text)
                while self.verdict_chars > _VERDICT_CHARS:
                    self.verdict_chars -= len(self.verdicts.popitem(last=False)[0])
            return planned
        self.verdicts.move_to_end(text)
        return plan_checked(text, form, accept)

    async def _answer(self, conn: _Connection, job: Job, request: _Request, *, accept: str | None = None) -> None:
        """Answer a checked query (``job``), or with ``accept``, a text the worker checks (and settles the format
        of) before it runs it; such answers are not kept."""
        head_only = request.method == "HEAD"
        close = not request.keep_alive
        key = (job.text, job.media_type)
        cached = self.cache.get(key) if accept is None else None
        if cached is not None:
            self.cache.move_to_end(key)
            await self.reply(
                conn, Reply(200, [("Content-Type", cached[0])], cached[1]), head_only=head_only, close=close
            )
            return
        try:
            answer = await self.pool.answer(job.text, job.form, job.fmt, job.media_type, accept=accept)
        except SaturatedError as exc:
            await self.reply(conn, text_reply(503, str(exc), [("Retry-After", "1")]), close=close)
            return
        except EngineFaultError as exc:  # asking again fails the same way: no Retry-After
            await self.reply(conn, text_reply(500, str(exc)), close=close)
            return
        except UnavailableError as exc:
            await self.reply(conn, text_reply(503, str(exc), [("Retry-After", "1")]), close=close)
            return
        media = f"{answer.media_type}; charset=utf-8"
        if answer.rest is None:
            if accept is None and answer.status == 200 and len(answer.body) <= _CACHEABLE and self._asked_before(key):
                self._remember(key, media, answer.body)
            await self.reply(
                conn, Reply(answer.status, [("Content-Type", media)], answer.body), head_only=head_only, close=close
            )
            return
        # a long answer, streamed as the worker writes it: in chunks (HTTP/1.1), else ended by closing the
        # connection (HTTP/1.0); cut (connection dropped, no last chunk) at a limit
        chunked = request.chunked
        framing = ("Transfer-Encoding", "chunked") if chunked else ("Connection", "close")
        if not chunked:
            conn.closing = True  # the end of the answer is the end of the connection (so its head says)
        async with contextlib.aclosing(answer.rest) as rest:
            await conn.write(self._head(200, [("Content-Type", media), framing], close=close and chunked))
            if head_only:
                return
            await conn.write(_chunk(answer.body) if chunked else answer.body)
            try:
                async for part in rest:
                    await conn.write(_chunk(part) if chunked else part)
            except (TruncatedError, UnavailableError):
                raise ConnectionError("answer cut short") from None
            if chunked:
                await conn.write(b"0\r\n\r\n")

    def _asked_before(self, key: tuple[str, str]) -> bool:
        """Whether this text was asked recently: only a second asking keeps an answer, so a flood of distinct
        texts (a counter in a comment) cannot fill the cache with answers nobody asks for again."""
        digest = hash(key)
        if digest in self.seen:
            return True
        self.seen[digest] = None
        if len(self.seen) > 8192:
            self.seen.popitem(last=False)
        return False

    def _remember(self, key: tuple[str, str], media: str, body: bytes) -> None:
        self.cache[key] = (media, body)
        self.cache_bytes += len(body) + len(key[0])
        while self.cache_bytes > self.cache_limit and self.cache:
            (text, _), (_, old) = self.cache.popitem(last=False)
            self.cache_bytes -= len(old) + len(text)

    def _headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out = [("Server", "amurkg"), *headers]
        if self.options.cors:
            out += [("Access-Control-Allow-Origin", self.options.cors), ("Vary", "Origin")]
        return out

    def _head(self, status: int, headers: list[tuple[str, str]], *, close: bool = False) -> bytes:
        """A response's status line and headers (amurkg's own headers added), refused when a value could end a
        header early (``_UnsafeHeaderError``: the connection is dropped, nothing is sent)."""
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
        for name, value in self._headers(headers):
            if _UNSAFE_HEADER.search(value) or _UNSAFE_HEADER.search(name):
                raise _UnsafeHeaderError(name)
            lines.append(f"{name}: {value}")
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def reply(self, conn: _Connection, reply: Reply, *, close: bool = False, head_only: bool = False) -> None:
        """Send a whole answer (its length known)."""
        head = self._head(reply.status, [*reply.headers, ("Content-Length", str(len(reply.body)))], close=close)
        await conn.write(head + reply.body if reply.body and not head_only else head)


def _report(exc: BaseException) -> None:
    """One line on standard error for a fault in answering a request (the connection is dropped)."""
    import sys

    line = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", f"amurkg serve: a request failed: {type(exc).__name__}: {exc}")
    sys.stderr.write(line[:500] + "\n")  # control characters shown as '?': no exception text drives the terminal
    sys.stderr.flush()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
