"""A read-only SPARQL 1.1 Protocol endpoint over the graph: ``amurkg serve``.

HTTP is handled by waitress (a maintained WSGI server); this module is the WSGI application. Queries run
in a small pool of worker processes that each hold the graph: a query over its time limit is stopped by
ending its process (a native query cannot be interrupted from Python), and no engine is ever shared
between threads. Updates, SERVICE, LOAD and FROM are refused before a worker sees the query.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

from amurkg.errors import AmurkgError
from amurkg.results import AskResult, GraphResult, QueryResult, SelectResult, format_graph, format_result

RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "ttl",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "xml",
}


class ServeOptions(NamedTuple):
    """How the endpoint behaves; the defaults are the safe ones."""

    data: tuple[Path, ...] = ()
    workers: int = 2
    timeout: float = 5.0
    max_rows: int = 10_000
    max_body: int = 1_000_000
    cors: str | None = None
    reason: bool = False


class UnavailableError(AmurkgError):
    """The endpoint could not answer this query now (HTTP 503); its worker has been replaced."""


class QueryTimeoutError(UnavailableError):
    """A query ran past the endpoint's time limit and was stopped."""


class _Worker(NamedTuple):
    process: Any
    conn: Connection


def _work(conn: Connection, data: tuple[Path, ...], max_rows: int, reason: bool) -> None:
    """Worker process: load the graph once, then answer queries until the pipe closes."""
    from amurkg.graph import KnowledgeGraph

    kg = KnowledgeGraph(data, reason=reason)
    conn.send(("ready", None))
    while True:
        try:
            text = conn.recv()
        except EOFError:
            return
        try:
            result = kg.query(text, where="query")
            if isinstance(result, SelectResult) and len(result.rows) > max_rows:
                raise AmurkgError(
                    f"the answer has {len(result.rows)} rows, more than this endpoint's limit of "
                    f"{max_rows}; add LIMIT or narrow the query"
                )
            if isinstance(result, GraphResult) and len(result.triples) > max_rows:
                raise AmurkgError(
                    f"the answer has {len(result.triples)} triples, more than this endpoint's limit "
                    f"of {max_rows}; narrow the query"
                )
            conn.send(("ok", result))
        except AmurkgError as exc:
            conn.send(("error", str(exc)))


class WorkerPool:
    """Worker processes that each hold the graph; one query at a time per worker."""

    def __init__(self, options: ServeOptions) -> None:
        import multiprocessing

        self.options = options
        self._ctx = multiprocessing.get_context("spawn")  # safe beside waitress's threads
        self._idle: queue.Queue[_Worker] = queue.Queue()
        started = [self._start() for _ in range(max(1, options.workers))]
        for worker in started:
            self._wait_ready(worker)
            self._idle.put(worker)

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_work, args=(child, self.options.data, self.options.max_rows, self.options.reason), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    @staticmethod
    def _wait_ready(worker: _Worker) -> None:
        if not worker.conn.poll(120):
            raise AmurkgError("a query worker did not start within 120 s")
        status, _ = worker.conn.recv()
        assert status == "ready"

    def run(self, text: str) -> QueryResult:
        """Answer one query, or raise QueryTimeoutError after ``timeout`` seconds (the worker is replaced)."""
        worker = self._idle.get()
        try:
            worker.conn.send(text)
            reply = worker.conn.recv() if worker.conn.poll(self.options.timeout) else None
            problem: UnavailableError = QueryTimeoutError(
                f"the query ran past this endpoint's limit of {self.options.timeout:g} s and was stopped"
            )
        except (EOFError, OSError):
            reply, problem = None, UnavailableError("the query worker stopped unexpectedly; send the query again")
        if reply is None:
            worker.process.kill()
            worker.process.join()
            replacement = self._start()
            threading.Thread(target=self._ready_then_idle, args=(replacement,), daemon=True).start()
            raise problem
        self._idle.put(worker)
        status, payload = reply
        if status == "error":
            raise AmurkgError(payload)
        result: QueryResult = payload
        return result

    def _ready_then_idle(self, worker: _Worker) -> None:
        self._wait_ready(worker)
        self._idle.put(worker)

    def close(self) -> None:
        """Stop every worker."""
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            worker.process.kill()
            worker.process.join()


def negotiate(accept: str, offered: dict[str, str], default: str) -> str | None:
    """The format for an Accept header (q-values, wildcards, most specific first); None when nothing fits."""
    if not accept.strip():
        return offered[default]
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        specificity = 0 if media == "*/*" else 1 if media.endswith("/*") else 2
        ranges.append((-q, -specificity, position, media.lower()))
    for neg_q, _, _, media in sorted(ranges):
        if -neg_q <= 0:
            continue
        if media == "*/*":
            return offered[default]
        if media.endswith("/*"):
            prefix = media[:-1]
            chosen = default if default.startswith(prefix) else next((t for t in offered if t.startswith(prefix)), None)
            if chosen:
                return offered[chosen]
            continue
        if media in offered:
            return offered[media]
    return None


def service_description(base: str) -> str:
    """A SPARQL 1.1 Service Description of this endpoint, in Turtle."""
    formats = " , ".join(
        f"<http://www.w3.org/ns/formats/{name}>"
        for name in (
            "SPARQL_Results_JSON",
            "SPARQL_Results_XML",
            "SPARQL_Results_CSV",
            "SPARQL_Results_TSV",
            "Turtle",
            "N-Triples",
            "JSON-LD",
            "RDF_XML",
        )
    )
    return (
        "@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .\n"
        f"<{base}> a sd:Service ;\n"
        f"    sd:endpoint <{base}> ;\n"
        "    sd:supportedLanguage sd:SPARQL11Query ;\n"
        f"    sd:resultFormat {formats} ;\n"
        "    sd:feature sd:UnionDefaultGraph ;\n"
        "    sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] .\n"
    )


Response = tuple[str, list[tuple[str, str]], bytes]


class Endpoint:
    """The WSGI application: the SPARQL 1.1 Protocol, read-only, over a worker pool."""

    def __init__(self, options: ServeOptions, pool: WorkerPool | None = None) -> None:
        self.options = options
        self.pool = pool or WorkerPool(options)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, headers, body = self.handle(environ)
        if self.options.cors:
            headers.append(("Access-Control-Allow-Origin", self.options.cors))
            headers.append(("Vary", "Origin"))
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def handle(self, environ: dict[str, Any]) -> Response:
        """One request to (status, headers, body)."""
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO", "/") not in ("/", "/sparql", "/query"):
            return _text("404 Not Found", "no such resource: the endpoint is /sparql")
        if method == "OPTIONS":
            return (
                "204 No Content",
                [
                    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                    ("Access-Control-Allow-Headers", "Content-Type, Accept"),
                ],
                b"",
            )
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > self.options.max_body:
                return _text("413 Content Too Large", f"the request body is over {self.options.max_body} bytes")
            body = environ["wsgi.input"].read(length) if length else b""
            kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
            if kind == "application/sparql-query":
                params.setdefault("query", []).append(body.decode("utf-8", "replace"))
            elif kind == "application/x-www-form-urlencoded":
                for key, values in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items():
                    params.setdefault(key, []).extend(values)
            elif kind == "application/sparql-update":
                return _text("403 Forbidden", "this endpoint is read-only: updates are refused")
            else:
                return _text(
                    "415 Unsupported Media Type", "send the query as application/sparql-query or as a query= form field"
                )
        elif method != "GET":
            return _text("405 Method Not Allowed", "use GET or POST")
        if "update" in params:
            return _text("403 Forbidden", "this endpoint is read-only: updates are refused")
        if "default-graph-uri" in params or "named-graph-uri" in params:
            return _text(
                "400 Bad Request", "this endpoint serves one graph: drop default-graph-uri and named-graph-uri"
            )
        queries = params.get("query", [])
        if not queries:
            base = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', 'localhost')}/sparql"
            return "200 OK", [("Content-Type", "text/turtle; charset=utf-8")], service_description(base).encode()
        if len(queries) > 1:
            return _text("400 Bad Request", "give exactly one query")
        return self._answer(queries[0], environ.get("HTTP_ACCEPT", ""))

    def _answer(self, text: str, accept: str) -> Response:
        from amurkg.errors import RefusedQueryError
        from amurkg.sparql import check_query

        try:
            form = check_query(text).form
        except RefusedQueryError as exc:
            return _text("403 Forbidden" if "UPDATE" in str(exc) else "400 Bad Request", str(exc))
        except AmurkgError as exc:
            return _text("400 Bad Request", str(exc))
        offered = GRAPH_TYPES if form in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES
        media = negotiate(accept, {k: k for k in offered}, next(iter(offered)))
        if media is None:
            return _text("406 Not Acceptable", "acceptable formats: " + ", ".join(offered))
        try:
            result = self.pool.run(text)
        except UnavailableError as exc:
            return _text("503 Service Unavailable", str(exc))
        except AmurkgError as exc:
            return _text("400 Bad Request", str(exc))
        if isinstance(result, GraphResult):
            return "200 OK", [("Content-Type", f"{media}; charset=utf-8")], format_graph(result, offered[media])
        assert isinstance(result, SelectResult | AskResult)
        body = format_result(result, offered[media], raw=True).encode("utf-8")
        return "200 OK", [("Content-Type", f"{media}; charset=utf-8")], body


def _text(status: str, message: str) -> Response:
    return status, [("Content-Type", "text/plain; charset=utf-8")], (message + "\n").encode("utf-8")


def serve(options: ServeOptions, host: str = "127.0.0.1", port: int = 7878, threads: int = 16) -> None:
    """Serve until interrupted; waitress parses HTTP and limits request bodies and connections."""
    import waitress

    endpoint = Endpoint(options)
    try:
        waitress.serve(
            endpoint,
            host=host,
            port=port,
            threads=threads,
            max_request_body_size=options.max_body,
            connection_limit=200,
            ident="amurkg",
            _quiet=True,
        )
    finally:
        endpoint.pool.close()


def describe_limits(options: ServeOptions) -> str:
    """A one-line summary of the endpoint's limits, for the start-up message."""
    return json.dumps(
        {
            "timeout_s": options.timeout,
            "max_rows": options.max_rows,
            "max_body": options.max_body,
            "workers": options.workers,
            "cors": options.cors,
            "reason": options.reason,
        }
    )
