"""The HTTP layer of `amurkg serve` (``amurkg.serve.http``) read by the standard library's own HTTP client
(``http.client``): requests pipelined on one connection and split anywhere in transit are answered in order, one
answer each; heads, bodies and queues are bounded; a request that could be read two ways (smuggling) is refused;
and any bytes at all get well-formed answers or a closed connection, never a fault of the server.

The server here is the real ``Server`` on a real socket, with a stand-in for the worker pool that answers at once
with what it was asked (the pool and its workers are tested in test_serve.py, end to end); a last test runs the
real ``amurkg serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import http.client
import io
import itertools
import json
import socket
import threading
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conftest import WAIT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amurkg.serve import ServeOptions
from amurkg.serve import http as serve_http
from amurkg.serve.pool import Answer

STREAMED = "STREAMED"  # a query text holding this word is answered in parts, as a long answer is


class _Rest:
    """The rest of a long answer, as the pool hands it over (an async iterator with ``aclose``)."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            await asyncio.sleep(0)
            yield part

    async def aclose(self) -> None:
        self.parts = []


class _Pool:
    """Answers every query at once with its own text (JSON), so an answer tells which request it is for; a text
    handed over unchecked (``accept``) is planned here as the worker plans it."""

    def __init__(self) -> None:
        self.unchecked: list[str] = []

    async def answer(
        self, text: str, form: str, fmt: str, media_type: str, page: Any = None, *, accept: str | None = None
    ) -> Answer:
        if accept is not None:
            self.unchecked.append(text)
            planned = serve_http.plan(text, accept)
            if isinstance(planned, serve_http.Reply):
                return Answer(planned.status, "text/plain", planned.body, None)
            media_type = planned.media_type
        body = json.dumps({"text": text}).encode()
        if STREAMED in text:
            return Answer(200, media_type, body[:5], _Rest([body[5:10], body[10:]]))  # type: ignore[arg-type]
        return Answer(200, media_type, body, None)


class _Running:
    """``Server`` on 127.0.0.1 in an event loop of its own thread; faults of the loop are collected."""

    def __init__(self, **options: Any) -> None:
        self.faults: list[dict[str, Any]] = []
        # the garbage earlier tests of this worker left in cycles is collected here, in the thread that made it: a
        # pyoxigraph answer (unsendable) collected in the loop's thread raised there, into a test that holds none
        # (a fresh-venv run, 2026-12-07). amurkg serve's HTTP process itself holds no pyoxigraph object
        gc.collect()
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(lambda loop, context: self.faults.append(context))
        ready = threading.Event()
        self.server = serve_http.Server(ServeOptions(**options), _Pool(), "127.0.0.1:0")  # type: ignore[arg-type]

        async def main() -> None:
            self.listener = await self.loop.create_server(self.server.protocol, "127.0.0.1", 0)
            self.port = self.listener.sockets[0].getsockname()[1]
            self.server.hosts = serve_http.allowed_hosts(f"127.0.0.1:{self.port}", ())
            ready.set()

        self.thread = threading.Thread(target=self._run, args=(main,), daemon=True)
        self.thread.start()
        assert ready.wait(WAIT)

    def _run(self, main: Any) -> None:
        self.loop.run_until_complete(main())
        self.loop.run_forever()

    def close(self) -> None:
        async def stop() -> None:
            self.listener.close()
            await self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        return sock

    def __enter__(self) -> _Running:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the server; its loop must have recorded no fault (an error of the server's own, never retrieved)."""
        self.close()
        assert not self.faults, self.faults


@pytest.fixture(scope="module")
def running() -> Iterator[_Running]:
    with _Running(client_timeout=2.0, max_body=2_000) as server:
        yield server


def _host(running: _Running) -> bytes:
    return f"127.0.0.1:{running.port}".encode()


def _query(host: bytes, text: str, *, method: str = "POST", close: bool = False, chunked: bool = False) -> bytes:
    """One SPARQL request (form POST, in one piece or in chunks; or GET), as bytes on the wire."""
    extra = b"Connection: close\r\n" if close else b""
    if method in ("GET", "HEAD"):
        target = "/sparql?" + urllib.parse.urlencode({"query": text})
        return f"{method} {target} HTTP/1.1\r\n".encode() + b"Host: " + host + b"\r\n" + extra + b"\r\n"
    body = urllib.parse.urlencode({"query": text}).encode()
    head = b"POST /sparql HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    if chunked:
        cut = len(body) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:cut], body[cut:]) if part)
        return head + extra + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    return head + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


class _Kept(io.BytesIO):
    def close(self) -> None:  # http.client closes its file after each answer: the next answer is read from it
        pass


class _Replay:
    """The bytes a server sent, read back one response at a time by ``http.client``."""

    def __init__(self, data: bytes) -> None:
        self.file = _Kept(data)

    def makefile(self, mode: str) -> io.BytesIO:
        return self.file


def _responses(data: bytes, methods: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    """Every response in ``data``, parsed by ``http.client`` as a client that sent ``methods`` reads them
    (a HEAD's answer has no body); raises where the bytes are not well-formed HTTP."""
    replay = _Replay(data)
    out = []
    for method in methods:
        if replay.file.tell() == len(data):
            break
        response = http.client.HTTPResponse(replay, method=method)  # type: ignore[arg-type]
        response.begin()
        out.append((response.status, dict(response.getheaders()), response.read()))
    assert replay.file.tell() == len(data), "bytes after the last answer"
    return out


def _exchange(running: _Running, pieces: list[bytes]) -> bytes:
    """Send ``pieces`` one ``sendall`` each while reading what comes back (a client that reads as it sends),
    until the server closes the connection."""
    received = bytearray()
    with running.connect() as sock:

        def read() -> None:
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:  # the server closed half way (a refused request)
                break
        reader.join(WAIT)
        assert not reader.is_alive(), "the server neither answered nor closed the connection"
    return bytes(received)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


REQUESTS = st.tuples(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40),
    st.sampled_from(["POST", "GET", "HEAD"]),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(REQUESTS, min_size=1, max_size=6), st.lists(st.integers(0, 10_000), max_size=8))
def test_pipelined_requests_split_anywhere_get_one_answer_each_in_order(
    running: _Running, asked: list[tuple[str, str, bool, bool]], cuts: list[int]
) -> None:
    """Requests sent back to back on one connection (form POSTs, chunked POSTs, GETs and HEADs, short and long
    answers), the bytes cut at any points in transit: one answer per request, in the order asked, each its own;
    the last asks to close, and the server closes after answering it."""
    host = _host(running)
    texts = [f"ASK {{}} # {i} {STREAMED if streamed else ''} {text}" for i, (text, _, streamed, _) in enumerate(asked)]
    wire = b"".join(
        _query(host, text, method=method, chunked=chunked, close=i == len(asked) - 1)
        for i, (text, (_, method, _, chunked)) in enumerate(zip(texts, asked, strict=True))
    )
    methods = [method for _, method, _, _ in asked]
    answers = _responses(_exchange(running, _split(wire, cuts)), methods)
    assert len(answers) == len(asked)
    for (status, headers, body), text, method in zip(answers, texts, methods, strict=True):
        assert status == 200, body
        if method == "HEAD":
            assert body == b""
        else:
            assert json.loads(body) == {"text": text}
        assert headers["Server"] == "amurkg"


def test_a_head_request_for_a_long_answer_over_http_1_0_keep_alive_closes_as_its_head_says(
    running: _Running,
) -> None:
    """HTTP/1.0 has no chunks: a long answer's head says ``Connection: close``, and the connection closes after
    it, a HEAD's too (the request after it is not answered on a connection the server said it would close)."""
    host = _host(running)
    target = "/sparql?" + urllib.parse.urlencode({"query": f"ASK {{}} # {STREAMED}"})
    wire = (f"HEAD {target} HTTP/1.0\r\n".encode() + b"Host: " + host + b"\r\nConnection: keep-alive\r\n\r\n") + _query(
        host, "ASK {} # next", method="GET", close=True
    )
    answers = _responses(_exchange(running, [wire]), ["HEAD", "GET"])
    assert [(status, headers.get("Connection")) for status, headers, _ in answers] == [(200, "close")]


def test_a_long_answer_to_http_1_0_ends_with_the_connection_not_in_chunks(running: _Running) -> None:
    body = urllib.parse.urlencode({"query": f"ASK {{}} # {STREAMED}"}).encode()
    wire = (
        b"POST /sparql HTTP/1.0\r\nHost: " + _host(running) + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    received = _exchange(running, [wire])
    assert b"Transfer-Encoding" not in received.partition(b"\r\n\r\n")[0]
    [(status, _, answer)] = _responses(received, ["POST"])
    assert status == 200 and json.loads(answer) == {"text": f"ASK {{}} # {STREAMED}"}


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        # a head over the bound: its headers, or one header line that never ends
        (b"GET /sparql HTTP/1.1\r\nHost: H\r\n" + b"X-A: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"GET /sparql HTTP/1.1\r\nHost: H\r\n" + b"X-A: a\r\n" * 3_000 + b"\r\n", 431),
        # a body over --max-body, declared, or sent in chunks
        (b"POST /sparql HTTP/1.1\r\nHost: H\r\nContent-Length: 5000\r\n\r\n" + b"q" * 5000, 413),
        (
            b"POST /sparql HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"400\r\n"
            + b"q" * 1024
            + b"\r\n"
            + b"400\r\n"
            + b"q" * 1024
            + b"\r\n0\r\n\r\n",
            413,
        ),
        # framing that two readers could read two ways (request smuggling): refused, nothing after it answered
        (
            b"POST /sparql HTTP/1.1\r\nHost: H\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\n\r\nGET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: H\r\n\r\n",
            400,
        ),
        (b"POST /sparql HTTP/1.1\r\nHost: H\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd", 400),
        (b"GET /sparql HTTP/1.1\r\nHost: H\r\n\x00X: y\r\n\r\n", 400),
        (b"GET /sparql HTTP/1.1\r\nHost: H\r\nX: a\rb\r\n\r\n", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        # two Host headers: a proxy in front and amurkg could each read another name (RFC 9112 3.2)
        (b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: evil.example\r\nHost: H\r\n\r\n", 400),
        (b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: H\r\nHost: H\r\n\r\n", 400),
    ],
)
def test_a_request_that_cannot_be_read_one_way_is_refused_and_the_connection_closed(
    running: _Running, wire: bytes, status: int
) -> None:
    wire = wire.replace(b"Host: H", b"Host: " + _host(running))
    answers = _responses(_exchange(running, [wire]), ["GET", "GET"])
    assert [a[0] for a in answers] == [status]  # one answer, the refusal: the smuggled GET is never answered
    assert answers[0][1].get("Connection") == "close"


def test_a_refused_request_after_good_ones_comes_after_their_answers(running: _Running) -> None:
    host = _host(running)
    wire = _query(host, "ASK {} # first") + _query(host, "ASK {} # second") + b"BROKEN\x00 HTTP/1.1\r\n\r\n"
    answers = _responses(_exchange(running, [wire]), ["POST", "POST", "GET"])
    assert [a[0] for a in answers] == [200, 200, 400]
    assert [json.loads(a[2])["text"] for a in answers[:2]] == ["ASK {} # first", "ASK {} # second"]


def test_pipelining_is_read_ahead_within_bounds(running: _Running) -> None:
    """A client that sends thousands of requests without reading answers: the server reads a bounded number
    ahead (then stops reading, so the kernel's buffers fill and the client's sends block), answers them all in
    order as the client reads, and never holds an unbounded queue."""
    host = _host(running)
    requests = 3_000
    wire = b"".join(_query(host, f"ASK {{}} # {i}", method="GET", close=i == requests - 1) for i in range(requests))
    seen: list[int] = []

    def watch() -> None:
        for _ in range(200):
            with contextlib.suppress(RuntimeError):  # the connections changed while they were listed
                seen.append(max((len(c.queue) for c in list(running.server.connections)), default=0))
            threading.Event().wait(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    received = _exchange(running, [wire])
    watcher.join()
    answers = _responses(received, ["GET"] * requests)
    assert [json.loads(a[2])["text"] for a in answers] == [f"ASK {{}} # {i}" for i in range(requests)]
    # read ahead: at most the bound plus the requests of one slice (parsed in one go)
    assert max(seen) <= serve_http._PIPELINED + serve_http._SLICE // len(_query(host, "", method="GET"))


FRAGMENTS = [
    b"GET ", b"POST ", b"PUT ", b"/sparql", b"?query=ASK%7B%7D", b" HTTP/1.1", b" HTTP/1.0", b" HTTP/2",
    b"\r\n", b"\n", b"\r", b"Host: HOST\r\n", b"Content-Length: 5\r\n", b"Content-Length: -1\r\n",
    b"Content-Length: 99999999999999999999\r\n", b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip\r\n",
    b"Connection: close\r\n", b"Connection: keep-alive\r\n", b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
    b"Expect: 100-continue\r\n", b"Content-Type: application/x-www-form-urlencoded\r\n", b"query=ASK%7B%7D",
    b"5\r\nhello\r\n", b"0\r\n\r\n", b"ffffffffffffffff\r\n", b"\x00", b"\xff\xfe", b" ", b"\t", b":", b"%",
]  # fmt: skip


@pytest.fixture(scope="module")
def impatient() -> Iterator[_Running]:
    """A server that closes a connection idle for a quarter of a second (an incomplete request ends soon)."""
    with _Running(client_timeout=0.25, max_body=2_000) as server:
        yield server


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=12), max_size=25), st.lists(st.integers(0, 400)))
def test_any_bytes_get_well_formed_answers_or_a_close_and_no_fault(
    impatient: _Running, fragments: list[bytes], cuts: list[int]
) -> None:
    """Whatever arrives, in whatever pieces: what the server sends back reads as whole HTTP answers of known
    statuses, the connection ends (answered, refused or timed out), the server's loop records no fault, and the
    next client is answered."""
    running = impatient
    wire = b"".join(fragments).replace(b"HOST", _host(running))
    received = _exchange(running, _split(wire, cuts))
    for status, _, _ in _responses(received, ["GET"] * 200):
        assert status in (200, 400, 404, 405, 406, 413, 415, 431), status
    assert not running.faults, running.faults
    check = _responses(_exchange(running, [_query(_host(running), "ASK {} # after", close=True)]), ["POST"])
    assert [a[0] for a in check] == [200]


def test_a_header_that_could_end_early_is_never_sent() -> None:
    """amurkg's own header values (some built from a request, as a download's file name) are checked as they
    are written: a line break or another control character in one is a refusal to send, not a second header."""
    server = serve_http.Server(ServeOptions(), None, "127.0.0.1:7878")  # type: ignore[arg-type]
    assert server._head(200, [("Content-Type", "text/plain")]).startswith(b"HTTP/1.1 200 OK\r\n")
    for bad in ("a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00b", "a\x7fb"):
        with pytest.raises(serve_http._UnsafeHeaderError):
            server._head(200, [("Content-Disposition", f'attachment; filename="{bad}"')])


def test_a_long_query_text_is_checked_by_the_worker_not_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check of a text over the kept verdicts' size is the worker's (one match of the lexer's expression on an
    unclosed megabyte string holds the interpreter for a second: in the server, no other client would be answered
    meanwhile). The server hands such a text over with the request's Accept, and plans none itself."""
    planned_here: list[int] = []
    real = serve_http.plan

    def recorded(text: str, accept: str) -> object:
        planned_here.append(len(text))
        return real(text, accept)

    monkeypatch.setattr(serve_http, "plan", recorded)
    with _Running(client_timeout=WAIT, max_body=400_000) as server:
        host = _host(server)
        long_text = "ASK {} # " + "x" * (serve_http._VERDICT_TEXT + 10)
        [(status, _, body)] = _responses(_exchange(server, [_query(host, long_text, close=True)]), ["POST"])
        assert status == 200 and json.loads(body) == {"text": long_text}
        assert server.server.pool.unchecked == [long_text]  # type: ignore[attr-defined]
        assert planned_here == [len(long_text)]  # once, by the stand-in worker; never by the server itself
        short = _responses(_exchange(server, [_query(host, "ASK {} # short", close=True)]), ["POST"])
        assert [status for status, _, _ in short] == [200] and planned_here[-1] == len("ASK {} # short")
        assert server.server.pool.unchecked == [long_text]  # type: ignore[attr-defined]


def test_a_client_that_expects_100_continue_is_told_to_send_its_body(running: _Running) -> None:
    """curl sends a large body only once told to go on (or after waiting a second): the server says 100 Continue
    when the head is read, and the answer follows the body; a body declared over the limit gets 413, no 100."""
    host = _host(running)
    body = urllib.parse.urlencode({"query": "ASK {} # expecting"}).encode()
    head = (
        b"POST /sparql HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
    )
    with running.connect() as sock:
        sock.sendall(head % len(body))
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    [(status, _, answer)] = _responses(received, ["POST"])
    assert status == 200 and json.loads(answer) == {"text": "ASK {} # expecting"}
    refused = _exchange(running, [head % 5_000])
    assert refused.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in refused
