"""HTTP for ``amurkg serve``: asyncio connections, each parsed by h11 (a sans-I/O HTTP/1.1 state machine),
with every deadline in amurkg's hands.

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
from typing import Any

import h11

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


class _Connection:
    __slots__ = ("busy", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.busy = False


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

    async def close(self) -> None:
        """Drop every connection, idle or being answered, and end its request."""
        self.stopping = True
        for conn in self.connections:
            conn.writer.transport.abort()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    # ------------------------------------------------------------------------------ connections

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until it closes, misbehaves or times out."""
        conn = _Connection(writer)
        if self.stopping or (len(self.connections) >= self.options.max_connections and not self._evict()):
            writer.transport.abort()
            return
        self.connections[conn] = None
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await self._serve(conn, reader, writer)
        except (ConnectionError, TimeoutError, h11.ProtocolError, asyncio.IncompleteReadError, OSError):
            pass
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            # the endpoint is stopping: end quietly (a cancelled connection task is reported as an error
            # by asyncio's streams before Python 3.13)
        finally:
            if task is not None:
                self.tasks.discard(task)
            self.connections.pop(conn, None)
            writer.transport.abort() if writer.transport.get_write_buffer_size() else writer.close()

    def _evict(self) -> bool:
        """Close the oldest connection that is not being answered; False when every one is busy."""
        for conn in self.connections:
            if not conn.busy:
                self.connections.pop(conn)
                conn.writer.transport.abort()
                return True
        return False

    async def _serve(self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        h = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)
        while True:
            deadline = loop.time() + self.options.client_timeout
            try:
                request = await self._next(h, reader, deadline)
                if isinstance(request, h11.ConnectionClosed):
                    return
                assert isinstance(request, h11.Request)
                body = await self._body(h, reader, request, deadline)
            except h11.RemoteProtocolError as exc:
                if h.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = getattr(exc, "error_status_hint", 400)
                    await self._reply(h, writer, text_reply(status, "malformed HTTP request"), close=True)
                return
            except _BodyTooLargeError:
                limit = f"the request body is over this endpoint's limit of {self.options.max_body:,} bytes"
                await self._reply(h, writer, text_reply(413, limit), close=True)
                return
            conn.busy = True
            try:
                await self._while_connected(h, reader, self._respond(h, writer, request, body))
            finally:
                conn.busy = False
            if h.our_state is h11.MUST_CLOSE or h.their_state is h11.MUST_CLOSE:
                return
            try:
                h.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _while_connected(self, h: h11.Connection, reader: asyncio.StreamReader, work: Any) -> None:
        """Answer while listening to the client: one that closes the connection ends the work done for it
        (its query waiting for a worker or running in one), so work for clients that left never piles up.
        What it sends meanwhile (a pipelined request) is kept for the next cycle, up to a bound."""
        answering = asyncio.ensure_future(work)
        reading: asyncio.Future[bytes] | None = asyncio.ensure_future(reader.read(65536))
        try:
            while reading is not None:
                done, _ = await asyncio.wait({answering, reading}, return_when=asyncio.FIRST_COMPLETED)
                if answering in done:
                    break
                data = reading.result()
                if not data:  # the client has gone
                    answering.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await answering
                    raise ConnectionError("the client closed the connection")
                h.receive_data(data)
                reading = None
                if len(h.trailing_data[0]) <= _MAX_HEAD + self.options.max_body:
                    reading = asyncio.ensure_future(reader.read(65536))
            await answering
        finally:
            if reading is not None:
                reading.cancel()  # data not read yet stays in the reader's buffer for the next cycle
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    h.receive_data(await reading)  # it came with the end of the answer (b"": the client closed)
            if not answering.done():
                answering.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await answering

    async def _next(self, h: h11.Connection, reader: asyncio.StreamReader, deadline: float) -> Any:
        while True:
            event = h.next_event()
            if event is not h11.NEED_DATA:
                return event
            async with asyncio.timeout_at(deadline):
                data = await reader.read(65536)
            h.receive_data(data)

    async def _body(
        self, h: h11.Connection, reader: asyncio.StreamReader, request: h11.Request, deadline: float
    ) -> bytes:
        declared = dict(request.headers).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.options.max_body:
            raise _BodyTooLargeError
        body = bytearray()
        while True:
            event = await self._next(h, reader, deadline)
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.options.max_body:
                    raise _BodyTooLargeError
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:  # the client went away half way
                raise ConnectionError("request body incomplete")

    # ------------------------------------------------------------------------------ answers

    async def _respond(
        self, h: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, body: bytes
    ) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        head_only = request.method == b"HEAD"
        if not host_allowed(headers.get("host"), self.hosts):
            refusal = (
                "this server answers requests for its own address only; a reverse proxy's name needs --allow-host NAME"
            )
            await self._reply(h, writer, text_reply(400, refusal, SECURITY_HEADERS), head_only=head_only)
            return
        asked = read_request(
            request.method.decode("latin-1"),
            request.target.decode("latin-1"),
            headers.get("content-type", ""),
            body,
            headers.get("accept", ""),
            headers.get("host"),
            self.bound,
        )
        if self.site is not None:
            page = await self.site.handle(request.method.decode("latin-1"), request.target.decode("latin-1"), headers)
            if page is not None:
                await self._reply(h, writer, page, head_only=head_only)
                return
        if isinstance(asked, Reply):
            await self._reply(h, writer, asked, head_only=head_only)
            return
        planned = self._plan(*asked)
        if isinstance(planned, Reply):
            await self._reply(h, writer, planned, head_only=head_only)
            return
        await self._answer(h, writer, planned, head_only)

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

    async def _answer(self, h: h11.Connection, writer: asyncio.StreamWriter, job: Job, head_only: bool) -> None:
        key = (job.text, job.media_type)
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            await self._reply(h, writer, Reply(200, [("Content-Type", cached[0])], cached[1]), head_only=head_only)
            return
        try:
            answer = await self.pool.answer(job.text, job.form, job.fmt, job.media_type)
        except SaturatedError as exc:
            await self._reply(h, writer, text_reply(503, str(exc), [("Retry-After", "1")]))
            return
        except EngineFaultError as exc:  # asking again fails the same way: no Retry-After
            await self._reply(h, writer, text_reply(500, str(exc)))
            return
        except UnavailableError as exc:
            await self._reply(h, writer, text_reply(503, str(exc), [("Retry-After", "1")]))
            return
        media = f"{answer.media_type}; charset=utf-8"
        if answer.rest is None:
            if answer.status == 200 and len(answer.body) <= _CACHEABLE and self._asked_before(key):
                self._remember(key, media, answer.body)
            await self._reply(
                h, writer, Reply(answer.status, [("Content-Type", media)], answer.body), head_only=head_only
            )
            return
        # a long answer: chunked, streamed as the worker writes it, cut (connection dropped) at a limit
        async with contextlib.aclosing(answer.rest) as rest:
            await self._send(writer, h, h11.Response(status_code=200, headers=self._headers([("Content-Type", media)])))
            if head_only:
                await self._send(writer, h, h11.EndOfMessage())
                return
            await self._send(writer, h, h11.Data(data=answer.body))
            try:
                async for chunk in rest:
                    await self._send(writer, h, h11.Data(data=chunk))
            except (TruncatedError, UnavailableError):
                writer.transport.abort()  # no final chunk: the client sees an incomplete answer
                raise ConnectionError("answer cut short") from None
            await self._send(writer, h, h11.EndOfMessage())

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

    async def _reply(
        self,
        h: h11.Connection,
        writer: asyncio.StreamWriter,
        reply: Reply,
        *,
        close: bool = False,
        head_only: bool = False,
    ) -> None:
        headers = self._headers([*reply.headers, ("Content-Length", str(len(reply.body)))])
        if close:
            headers.append(("Connection", "close"))
        data = h.send(h11.Response(status_code=reply.status, headers=headers)) or b""
        if reply.body and not head_only:
            data += h.send(h11.Data(data=reply.body)) or b""
        data += h.send(h11.EndOfMessage()) or b""
        await self._write(writer, data)

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        if writer.transport.get_write_buffer_size():  # the socket took only part: wait for the client
            async with asyncio.timeout(self.options.client_timeout):  # a client that does not read is dropped
                await writer.drain()

    async def _send(self, writer: asyncio.StreamWriter, h: h11.Connection, event: Any) -> None:
        data = h.send(event)
        if data:
            await self._write(writer, data)


class _BodyTooLargeError(Exception):
    pass
