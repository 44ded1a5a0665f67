"""Remote endpoints: push to a real Oxigraph server, ask it every canned question, and fail clearly."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import PARAMS, WAIT

import amurkg
from amurkg.catalog import list_queries

GRAPH = "https://w3id.org/amurkg/graph"
FULL = "https://w3id.org/amurkg/graph/full"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph server (the binary the `oxigraph` package ships) on a free loopback port."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    assert Path(binary).exists(), "these tests need the oxigraph server: pip install oxigraph (the test extra does)"
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph")
    proc = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}/query"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def pushed(oxigraph_server: str) -> str:
    from typer.testing import CliRunner

    from amurkg.cli import app

    runner = CliRunner()
    for args in (
        ["push", "--endpoint", oxigraph_server],
        ["push", "--endpoint", oxigraph_server, "--graph", FULL, "--reason"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
    return oxigraph_server


def test_push_reports_and_verifies_the_count(pushed: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("push", "--endpoint", pushed)
    assert result.exit_code == 0
    local = len(amurkg.load())
    assert f"pushed {local} triples" in result.stderr and f"now holds {local} triples" in result.stderr


def test_pushing_twice_leaves_one_copy(pushed: str) -> None:
    remote = amurkg.KnowledgeGraph.remote(pushed, timeout=WAIT)
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/amurkg/graph> { ?s ?p ?o } }"
    before = remote.query(count).rows[0][0].value  # type: ignore[union-attr]
    from amurkg.remote import push
    from amurkg.serialize import export_graph

    report = push(export_graph("nt"), pushed)
    assert report.on_server == int(before) == len(amurkg.load())


@pytest.mark.parametrize("name", [q.name for q in list_queries() if not q.reasoning])
def test_every_canned_query_answers_the_same_remotely(name: str, pushed: str, kg: amurkg.KnowledgeGraph) -> None:
    params = PARAMS.get(name, {})
    local = kg.run(name, params)
    remote = amurkg.KnowledgeGraph.remote(pushed, timeout=WAIT, graph=GRAPH).run(name, params)
    assert isinstance(local, amurkg.SelectResult) and isinstance(remote, amurkg.SelectResult)
    assert remote.variables == local.variables
    assert sorted(remote.rows, key=repr) == sorted(local.rows, key=repr)


@pytest.mark.parametrize("name", [q.name for q in list_queries() if q.reasoning])
def test_reasoning_queries_answer_from_the_full_graph(name: str, pushed: str) -> None:
    local = amurkg.load(reason=True).run(name, PARAMS.get(name))
    remote = amurkg.KnowledgeGraph.remote(pushed, timeout=WAIT, graph=FULL).run(name, PARAMS.get(name))
    assert sorted(remote.rows, key=repr) == sorted(local.rows, key=repr)  # type: ignore[union-attr]


def test_output_formats_match_local_runs(pushed: str, cli) -> None:  # type: ignore[no-untyped-def]
    for fmt in ("json", "csv", "tsv", "xml", "md", "table"):
        local = cli("query", "prey", "-f", fmt).stdout
        remote = cli("query", "prey", "-f", fmt, "--endpoint", pushed, "--graph", GRAPH).stdout
        assert remote == local, fmt
    construct = cli(
        "sparql",
        "CONSTRUCT WHERE { <https://w3id.org/amurkg/id/jilin> ?p ?o }",
        "--endpoint",
        pushed,
        "--graph",
        GRAPH,
        "--rdf-format",
        "nt",
    )
    assert (
        construct.stdout
        == cli("sparql", "CONSTRUCT WHERE { <https://w3id.org/amurkg/id/jilin> ?p ?o }", "--rdf-format", "nt").stdout
    )


JSON = "application/sparql-results+json"
#: Answers that are JSON but wrong, served at /json/<name>
BAD_JSON = {
    "boolean-string": b'{"head": {}, "boolean": "false"}',
    "boolean-number": b'{"head": {}, "boolean": 0}',
    "vars-number": b'{"head": {"vars": [1]}, "results": {"bindings": []}}',
    "value-number": b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": 3}}]}}',
    "unknown-type": b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "triple", "value": "a"}}]}}',
    "unlisted-var": b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"y": {"type": "uri", "value": "a"}}]}}',
    "bad-lang": b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "a", '
    b'"xml:lang": "en us"}}]}}',
    "bindings-object": b'{"head": {"vars": ["x"]}, "results": {"bindings": {"x": 1}}}',
    "array": b"[1, 2, 3]",
    "deep": b"[" * 100_000 + b"]" * 100_000,
}


class _Stub(http.server.BaseHTTPRequestHandler):
    """Test-only endpoint that misbehaves on purpose, by path."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/slow"):  # far past the client's limit of 1 s, however busy the machine
            time.sleep(120)
            return
        if self.path.startswith("/boom"):
            self._send(500, b"out of memory while joining", "text/plain")
        elif self.path.startswith("/html"):
            self._send(200, b"<html><body>Welcome to our portal</body></html>", "text/html")
        elif self.path.startswith("/truncated"):
            self._send(200, b'{"head": {"vars": ["x"]}, "results": {"bind', JSON)
        elif self.path.startswith("/json/"):
            self._send(200, BAD_JSON[self.path.removeprefix("/json/")], JSON)
        elif self.path.startswith("/drip"):  # a valid answer, one byte every 0.3 s: each read is quick
            body = json.dumps({"head": {"vars": []}, "results": {"bindings": []}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.3)
        elif self.path.startswith("/endless"):  # headers, then a body that never ends
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.end_headers()
            while True:
                self.wfile.write(b" " * 65536)
        elif self.path.startswith("/redirect-port"):
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:9/sparql")
            self.end_headers()
        elif self.path.startswith("/redirect-file"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path.startswith("/wrong-graph-type"):
            self._send(200, b"<a> <b> <c> .", "application/octet-stream")
        else:
            self._send(200, json.dumps({"head": {"vars": []}, "results": {"bindings": []}}).encode(), JSON)

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """A stub server whose threads end with it and never print a client's disconnection to stderr."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def one_line(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_clear_errors_for_every_kind_of_failure(stub: str, cli) -> None:  # type: ignore[no-untyped-def]
    closed = f"http://127.0.0.1:{free_port()}/query"
    one_line(cli("query", "prey", "--endpoint", closed), "connection refused")
    one_line(
        cli("query", "prey", "--endpoint", "http://no-such-host.invalid/query", "--timeout", "5"), "does not resolve"
    )
    one_line(cli("query", "prey", "--endpoint", f"{stub}/slow", "--timeout", "1"), "no answer within the timeout")
    one_line(
        cli("sparql", "SELECT * WHERE { ?s ?p ?o }", "--endpoint", f"{stub}/boom"),
        "HTTP 500",
        "out of memory while joining",
    )
    one_line(
        cli("sparql", "SELECT * WHERE { ?s ?p ?o }", "--endpoint", f"{stub}/html"), "not SPARQL JSON results", "<html>"
    )
    one_line(cli("sparql", "SELECT * WHERE { ?s ?p ?o }", "--endpoint", f"{stub}/truncated"), "not SPARQL JSON results")
    one_line(cli("push", "--endpoint", closed), "connection refused")


def test_bad_remote_options(cli, stub: str) -> None:  # type: ignore[no-untyped-def]
    one_line(cli("query", "prey", "--graph", GRAPH), "--graph goes with --endpoint")
    one_line(cli("query", "prey", "--endpoint", stub, "--reason"), "push them first")
    one_line(cli("query", "prey", "--endpoint", stub, "--graph", "not an iri"), "not an absolute IRI")
    one_line(cli("push", "--endpoint", stub, "--graph", "x y"), "not an absolute IRI")


def test_comment_words_do_not_turn_a_query_into_an_update(pushed: str) -> None:
    query = "# move, add, load, drop: words in a comment\nSELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    result = amurkg.KnowledgeGraph.remote(pushed, timeout=WAIT, graph=GRAPH).query(query)
    assert int(result.rows[0][0].value) == len(amurkg.load())  # type: ignore[union-attr]


def test_large_graphs_go_in_batches(pushed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import amurkg.remote as remote
    from amurkg.serialize import export_graph

    monkeypatch.setattr(remote, "BATCH_LINES", 1000)
    data = export_graph("nt")
    report = remote.push(data, pushed, graph="https://w3id.org/amurkg/graph/batched")
    assert report.batches == -(-len(amurkg.load()) // 1000) >= 4
    assert report.on_server == report.sent == len(amurkg.load())
    again = remote.push(data, pushed, graph="https://w3id.org/amurkg/graph/batched")  # PUT replaces, POSTs add
    assert again.on_server == report.on_server


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_wrong_json_is_one_line_never_a_wrong_answer(stub: str, cli, name: str) -> None:  # type: ignore[no-untyped-def]
    one_line(cli("sparql", "SELECT * WHERE { ?s ?p ?o }", "--endpoint", f"{stub}/json/{name}"), "SPARQL")


def test_a_dripping_answer_meets_the_whole_request_deadline(stub: str, cli) -> None:  # type: ignore[no-untyped-def]
    # each byte comes within 0.3 s, the whole answer in 15 s: only a deadline on the whole request stops it at 2 s
    one_line(cli("sparql", "ASK {}", "--endpoint", f"{stub}/drip", "--timeout", "2"), "no answer within the timeout")


def test_an_endless_answer_stops_at_the_size_cap(stub: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import amurkg.remote as remote

    monkeypatch.setattr(remote, "MAX_RESPONSE_BYTES", 1_000_000)
    with pytest.raises(remote.RemoteError, match="larger than 1,000,000 bytes"):
        amurkg.KnowledgeGraph.remote(f"{stub}/endless", timeout=30).query("ASK {}")


def test_only_http_urls_and_redirects(stub: str, cli) -> None:  # type: ignore[no-untyped-def]
    for url in ("file:///etc/passwd", "ftp://example.org/sparql", "gopher://x/", "http:///nohost", "http://a:99999/"):
        one_line(cli("query", "prey", "--endpoint", url), "the endpoint" if "99999" not in url else "port")
    one_line(
        cli("push", "--endpoint", stub, "--gsp-url", "file:///tmp/x"),
        "the Graph Store Protocol URL",
        "not an http(s) URL",
    )
    one_line(cli("sparql", "ASK {}", "--endpoint", f"{stub}/redirect-file"), "not http(s)")
    one_line(
        cli("sparql", "CONSTRUCT WHERE { ?s ?p ?o }", "--endpoint", f"{stub}/wrong-graph-type"),
        "application/octet-stream, not RDF",
    )


def test_a_query_of_the_empty_default_graph_names_the_graph_to_use(pushed: str, cli) -> None:  # type: ignore[no-untyped-def]
    """After amurkg push, the data sit in a named graph; a query without --graph reads Oxigraph's (empty)
    default graph: say which --graph to give instead of blaming the entity."""
    result = cli("query", "prey", "--endpoint", pushed)  # the default predator is resolved first
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"--graph {GRAPH}" in result.stderr


def test_a_reasoning_query_to_a_store_without_entailments_warns(pushed: str) -> None:
    from amurkg.graph import MissingEntailmentsWarning

    name = next(q.name for q in list_queries() if q.reasoning and q.name == "prey-ungulates")
    with pytest.warns(MissingEntailmentsWarning, match="push the full graph"):
        amurkg.KnowledgeGraph.remote(pushed, timeout=WAIT, graph=GRAPH).run(name)
    import warnings

    with warnings.catch_warnings():  # the full graph holds them: no warning
        warnings.simplefilter("error")
        amurkg.KnowledgeGraph.remote(pushed, timeout=WAIT, graph=FULL).run(name)


class _DigestStore(http.server.BaseHTTPRequestHandler):
    """Like Virtuoso's authenticated Graph Store endpoint: Digest only, and an upload without valid credentials
    is refused at once, the connection closed before its body is read."""

    realm, nonce, user, password = "SPARQL", "a1b2c3", "dba", "s3cret"
    received: ClassVar[list[int]] = []

    def _challenge(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Digest realm="{self.realm}", nonce="{self.nonce}", qop="auth"')
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _authorized(self) -> bool:
        import hashlib
        import urllib.request

        scheme, _, rest = self.headers.get("Authorization", "").partition(" ")
        if scheme != "Digest":
            return False
        f = urllib.request.parse_keqv_list([p for p in urllib.request.parse_http_list(rest) if p])

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = md5(f"{self.command}:{f.get('uri')}")
        expected = md5(f"{ha1}:{self.nonce}:{f.get('nc')}:{f.get('cnonce')}:auth:{ha2}")
        return f.get("response") == expected

    def do_HEAD(self) -> None:
        self._challenge()

    def do_PUT(self) -> None:
        if not self._authorized():
            self._challenge()  # the body is never read
            return
        self.received.append(len(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def do_POST(self) -> None:
        self.do_PUT()

    def log_message(self, *args: object) -> None:
        pass


def test_a_large_upload_to_a_digest_store_that_refuses_unauthenticated_bodies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The credentials go with the upload itself (after a HEAD reads the challenge): with urllib's usual
    unauthenticated first attempt, the server's early 401 and close break a large body midway."""
    from amurkg.errors import AmurkgError
    from amurkg.remote import _send_batch

    server = _QuietServer(("127.0.0.1", 0), _DigestStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sparql-graph-crud-auth?graph=urn:g"
    batch = [b"<urn:s> <urn:p> " + b'"' + b"x" * 200 + b'"' + f" . # {i}".encode() for i in range(40_000)]
    try:
        monkeypatch.setenv("AMURKG_ENDPOINT_USER", "dba")
        monkeypatch.setenv("AMURKG_ENDPOINT_PASSWORD", "s3cret")
        for number in range(3):
            _send_batch(url, batch, number, 30)
        assert len(_DigestStore.received) == 3 and min(_DigestStore.received) > 8_000_000
        monkeypatch.setenv("AMURKG_ENDPOINT_PASSWORD", "wrong")
        with pytest.raises(AmurkgError, match="401"):
            _send_batch(url, batch[:10], 1, 30)
    finally:
        server.shutdown()
        server.server_close()


class _CountlessStore(http.server.BaseHTTPRequestHandler):
    """Takes every upload, then cannot answer the query that counts what it holds."""

    def do_HEAD(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def do_POST(self) -> None:
        if self.path.startswith("/store"):
            self.do_PUT()
            return
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"the query engine is down"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_upload_that_worked_but_could_not_be_counted_says_both(cli) -> None:  # type: ignore[no-untyped-def]
    server = _QuietServer(("127.0.0.1", 0), _CountlessStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = cli("push", "--endpoint", f"{base}/query", "--gsp-url", f"{base}/store")
    finally:
        server.shutdown()
        server.server_close()
    one_line(result, f"uploaded {len(amurkg.load())} triples", "but counting them failed", "HTTP 500")


def test_a_redirect_elsewhere_says_where_and_why(stub: str, cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("query", "prey", "--endpoint", f"{stub}/redirect-port")
    one_line(done, "another port, 9 instead of", "http://127.0.0.1:9/sparql")
    assert "not http(s)" not in done.stderr


def test_a_timeout_through_the_real_command_names_the_endpoint(stub: str) -> None:
    """Through the entry point (where the process's own time limit runs too), the message names the endpoint."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "amurkg", "query", "prey", "--endpoint", f"{stub}/slow", "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"{stub}/slow" in done.stderr and "timeout" in done.stderr
