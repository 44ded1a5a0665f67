"""amurkg serve: a real server process, asked with SPARQLWrapper; answers, refusals, limits, a burst."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from test_remote import free_port, wait_for

import amurkg
from amurkg.catalog import list_queries
from amurkg.serve import negotiate


def start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "amurkg", "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port, 60)
    return proc, f"http://127.0.0.1:{port}/sparql"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    proc, url = start("--timeout", "2", "--max-rows", "3000", "--max-body", "200000", "--cors", "*")
    try:
        ready = amurkg.KnowledgeGraph.remote(url, timeout=60)
        assert ready.query("ASK { ?s ?p ?o }") == amurkg.AskResult(True)  # workers loaded
        yield url
    finally:
        stop(proc)


def request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def form(query: str) -> bytes:
    return urllib.parse.urlencode({"query": query}).encode()


@pytest.mark.parametrize("name", [q.name for q in list_queries() if not q.reasoning])
def test_every_canned_query_equals_local(name: str, endpoint: str, kg: amurkg.KnowledgeGraph) -> None:
    params = {"entity": "amur-leopard"} if name in ("entity-sources", "entity-facts") else {}
    local = kg.run(name, params)
    served = amurkg.KnowledgeGraph.remote(endpoint).run(name, params)
    assert sorted(served.rows, key=repr) == sorted(local.rows, key=repr)  # type: ignore[union-attr]


def test_reasoning_queries_from_a_reasoned_server() -> None:
    proc, url = start("--reason")
    try:
        remote = amurkg.KnowledgeGraph.remote(url, timeout=60)
        for canned in (q for q in list_queries() if q.reasoning):
            local = amurkg.load(reason=True).run(canned.name)
            assert sorted(remote.run(canned.name).rows, key=repr) == sorted(local.rows, key=repr)  # type: ignore[union-attr]
    finally:
        stop(proc)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("INSERT DATA { <http://a> <http://b> <http://c> }", "UPDATE"),
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is refused"),
        ("SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }", "FROM is refused"),
        ("LOAD <http://example.org/data.ttl>", "UPDATE"),
    ],
)
def test_refusals(query: str, fragment: str, endpoint: str) -> None:
    """The server refuses on its own, whatever the client does (plain SPARQLWrapper, no amurkg guard)."""
    import warnings

    from SPARQLWrapper import JSON, POST, SPARQLWrapper

    client = SPARQLWrapper(endpoint)
    client.setMethod(POST)
    client.setQuery(query)
    client.queryType = "SELECT"  # send it as a query even when it is an update, to reach the server's guard
    client.setReturnFormat(JSON)
    with warnings.catch_warnings(), pytest.raises(Exception) as caught:
        warnings.simplefilter("ignore")
        client.query().convert()
    error = caught.value
    text = error.read().decode() if hasattr(error, "read") else str(error)  # urllib's HTTPError carries the body
    assert fragment in text, text


def test_refusals_over_raw_http(endpoint: str) -> None:
    status, _, body = request(endpoint, urllib.parse.urlencode({"update": "CLEAR ALL"}).encode())
    assert status == 403 and b"read-only" in body
    status, _, _ = request(endpoint, b"CLEAR ALL", {"Content-Type": "application/sparql-update"})
    assert status == 403
    status, _, body = request(endpoint, form("INSERT DATA { <http://a> <http://b> <http://c> }"))
    assert status == 403 and b"UPDATE" in body


def test_a_query_over_the_time_limit_is_stopped(endpoint: str) -> None:
    started = time.monotonic()
    status, _, body = request(endpoint, form("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"))
    assert status == 503 and b"limit of 2 s" in body
    assert time.monotonic() - started < 10
    assert amurkg.KnowledgeGraph.remote(endpoint).query("ASK { ?s ?p ?o }") == amurkg.AskResult(True)


def test_size_limits(endpoint: str) -> None:
    status, _, body = request(endpoint, form("SELECT * WHERE { ?s ?p ?o }"))
    assert status == 400 and b"more than this endpoint's limit of 3000" in body
    status, _, _ = request(endpoint, form("SELECT * WHERE { ?s ?p ?o } #" + "x" * 300_000))
    assert status == 413


def test_content_negotiation_and_cors(endpoint: str) -> None:
    ask = form("ASK { ?s ?p ?o }")
    status, headers, body = request(
        endpoint, ask, {"Accept": "application/sparql-results+xml;q=0.5, application/sparql-results+json"}
    )
    assert status == 200 and headers["Content-Type"].startswith("application/sparql-results+json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, body = request(endpoint, ask, {"Accept": "text/html;q=0.9, application/sparql-results+xml;q=0.8"})
    assert headers["Content-Type"].startswith("application/sparql-results+xml") and b"<boolean>true" in body
    select = form(
        "SELECT ?l WHERE { <https://w3id.org/amurkg/id/jilin> <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    )
    assert request(endpoint, select, {"Accept": "text/csv"})[2] == b"l\r\nJilin\r\n"
    assert request(endpoint, select, {"Accept": "text/tab-separated-values"})[2] == b'?l\n"Jilin"@en\n'
    assert request(endpoint, select, {"Accept": "image/png"})[0] == 406
    construct = form("CONSTRUCT WHERE { <https://w3id.org/amurkg/id/jilin> ?p ?o }")
    for accept, marker in (
        ("text/turtle", b"@prefix"),
        ("application/n-triples", b"<https://w3id.org/amurkg/id/jilin>"),
        ("application/ld+json", b"@id"),
    ):
        status, headers, body = request(endpoint, construct, {"Accept": accept})
        assert status == 200 and headers["Content-Type"].startswith(accept) and marker in body
    get = endpoint + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    assert request(get)[0] == 200
    status, headers, body = request(endpoint)
    assert status == 200 and b"sd:Service" in body  # the service description
    direct = request(endpoint, b"ASK { ?s ?p ?o }", {"Content-Type": "application/sparql-query"})
    assert direct[0] == 200


def test_negotiation_rules() -> None:
    offered = {"application/sparql-results+json": "json", "text/csv": "csv"}
    assert negotiate("", offered, "application/sparql-results+json") == "json"
    assert negotiate("text/*;q=0.9, */*;q=0.1", offered, "application/sparql-results+json") == "csv"
    assert negotiate("text/csv;q=0", offered, "application/sparql-results+json") is None


def test_a_concurrent_burst_is_answered_without_errors(endpoint: str) -> None:
    """50 clients x 20 requests on loopback, bounded in count and time."""
    query = form(
        amurkg.get_query("prey").text.replace(
            "?predator obo:RO_0002439", "<https://w3id.org/amurkg/id/amur-leopard> obo:RO_0002439"
        )
    )
    errors: list[str] = []
    answers: list[bytes] = []

    def client() -> None:
        for _ in range(20):
            status, _, body = request(endpoint, query, {"Accept": "text/csv"})
            (answers if status == 200 else errors).append(body if status == 200 else f"{status}: {body[:80]!r}")

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(answers) == 1000 and len(set(answers)) == 1 and b"Sus scrofa" in answers[0]


def test_a_worker_that_dies_is_reported_and_replaced() -> None:
    from amurkg.serve import QueryTimeoutError, ServeOptions, UnavailableError, WorkerPool

    pool = WorkerPool(ServeOptions(workers=1, timeout=30))
    try:
        worker = pool._idle.get()
        worker.process.kill()
        worker.process.join()
        pool._idle.put(worker)
        with pytest.raises(UnavailableError, match="stopped unexpectedly") as caught:
            pool.run("ASK { ?s ?p ?o }")
        assert not isinstance(caught.value, QueryTimeoutError)
        assert pool.run("ASK { ?s ?p ?o }") == amurkg.AskResult(True)  # the replacement answers
    finally:
        pool.close()


def test_serve_bad_input_is_one_line(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b .\n")
    for args in (["-d", str(broken)], ["--timeout", "0"], ["--workers", "0"], ["--port", "http"]):
        result = cli("serve", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("amurkg: error: ")
    assert f"{broken}:2" in cli("serve", "-d", str(broken)).stderr
