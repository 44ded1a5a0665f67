"""Remote SPARQL endpoints: ask the same questions of a real triple store (SPARQLWrapper), and publish the
graph to one through the SPARQL 1.1 Graph Store HTTP Protocol.

Credentials come from the environment (``AMURKG_ENDPOINT_USER`` and ``AMURKG_ENDPOINT_PASSWORD``), never
from the command line, where other users of the machine could read them.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NamedTuple

from amurkg.errors import AmurkgError
from amurkg.results import AskResult, GraphResult, QueryResult, SelectResult, Term

USER_ENV = "AMURKG_ENDPOINT_USER"
PASSWORD_ENV = "AMURKG_ENDPOINT_PASSWORD"
DEFAULT_GRAPH = "https://w3id.org/amurkg/graph"
BATCH_LINES = 50_000


class RemoteError(AmurkgError):
    """A remote endpoint could not be reached or did not answer with SPARQL results."""


def check_iri(value: str, what: str) -> str:
    """An absolute IRI with no characters that IRIs cannot hold, or a clear error."""
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]+", value):
        raise AmurkgError(f"{what} {value!r} is not an absolute IRI such as https://example.org/graph")
    return value


def _credentials() -> tuple[str, str] | None:
    user = os.environ.get(USER_ENV)
    return (user, os.environ.get(PASSWORD_ENV, "")) if user else None


def _explain(url: str, exc: BaseException) -> RemoteError:
    """One line naming the endpoint and what went wrong, whatever layer raised it."""
    reason = getattr(exc, "reason", exc)
    if isinstance(exc, urllib.error.HTTPError):
        body = exc.read()[:300].decode("utf-8", "replace") if hasattr(exc, "read") else ""
        return RemoteError(f"{url}: HTTP {exc.code} {exc.reason}: {' '.join(body.split())[:200] or 'no message'}")
    if isinstance(reason, socket.gaierror):
        return RemoteError(f"{url}: the host name does not resolve ({reason.strerror}); check the URL")
    if isinstance(reason, ConnectionRefusedError):
        return RemoteError(f"{url}: connection refused; is the server running and listening on that port?")
    if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason):
        return RemoteError(f"{url}: no answer within the timeout; raise --timeout or check the server")
    text = " ".join(str(exc).split())
    status = (
        text.split(":", 1)[0] if text.startswith(("QueryBadFormed", "EndPoint", "Unauthorized", "URITooLong")) else ""
    )
    if status:
        detail = text.split("Response:", 1)[-1].strip(" b'\"") if "Response:" in text else ""
        kind = {
            "QueryBadFormed": "HTTP 400 (query refused)",
            "EndPointNotFound": "HTTP 404 (no endpoint there)",
            "Unauthorized": "HTTP 401 (credentials refused; set AMURKG_ENDPOINT_USER/PASSWORD)",
            "URITooLong": "HTTP 414 (query too long)",
            "EndPointInternalError": "HTTP 500 (server error)",
        }[status]
        return RemoteError(f"{url}: {kind}: {detail[:200] or 'no message'}")
    return RemoteError(f"{url}: {text[:300]}")


class RemoteEngine:
    """A SPARQL 1.1 Protocol endpoint answering in place of a local engine (SELECT and ASK as SPARQL JSON,
    CONSTRUCT and DESCRIBE as N-Triples), queries sent by POST."""

    name = "remote"

    def __init__(self, url: str, timeout: float = 30.0, graph: str | None = None) -> None:
        self.url, self.timeout, self.graph = url, timeout, graph

    def query(self, text: str, where: str) -> QueryResult:
        import warnings

        from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper

        from amurkg.sparql import inspect_query

        form = inspect_query(text, where).form
        client = SPARQLWrapper(self.url)
        client.setMethod(POST)
        client.setQuery(text)
        # SPARQLWrapper guesses the form with a regex that reads words in comments ("move", "add") as
        # UPDATE operations and then sends the query as an update; amurkg's tokenizer knows the real form
        client.queryType = form
        client.setTimeout(max(1, round(self.timeout)))
        client.setReturnFormat(JSON if form in ("SELECT", "ASK") else TURTLE)
        if self.graph:
            client.addDefaultGraph(self.graph)
        creds = _credentials()
        if creds:
            client.setCredentials(*creds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SPARQLWrapper warns about content types it does not expect
            try:
                response = client.query().response
                body = response.read()
            except Exception as exc:  # urllib, socket and SPARQLWrapper errors all become one line
                raise _explain(self.url, exc) from None
        if form in ("SELECT", "ASK"):
            return parse_json_results(self.url, body)
        return _parse_graph(self.url, body)

    def load_shipped(self, paths: Any) -> None:
        """Nothing to load: the endpoint holds its own data."""

    def load_source(self, source: Any) -> None:
        raise AmurkgError("--data layers files on the local graph only; push them with amurkg push instead")

    def load_graph(self, ntriples: bytes, graph: str) -> None:
        raise AmurkgError(
            f"{self.url}: amurkg cannot reason over a remote store; push the full graph (amurkg push --reason) "
            "and query it"
        )

    def __len__(self) -> int:
        result = self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "count")
        assert isinstance(result, SelectResult) and result.rows and result.rows[0][0] is not None
        return int(result.rows[0][0].value)


def parse_json_results(url: str, body: bytes) -> SelectResult | AskResult:
    """Read a SPARQL 1.1 JSON results document; a body that is not one is a clear error."""
    try:
        doc = json.loads(body)
    except ValueError:
        start = body[:60].decode("utf-8", "replace").strip()
        raise RemoteError(f"{url}: the answer is not SPARQL JSON results (it starts {start!r})") from None
    if not isinstance(doc, dict):
        raise RemoteError(f"{url}: the answer is JSON but not SPARQL results")
    if "boolean" in doc:
        return AskResult(bool(doc["boolean"]))
    try:
        variables = list(doc["head"]["vars"])
        rows = [tuple(_term(b.get(v)) for v in variables) for b in doc["results"]["bindings"]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise RemoteError(f"{url}: the answer is JSON but not SPARQL results (missing {exc})") from None
    return SelectResult(variables, rows)


def _term(binding: dict[str, str] | None) -> Term | None:
    if binding is None:
        return None
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return Term.iri(value)
    if kind == "bnode":
        return Term("bnode", value)
    return Term.literal(value, binding.get("datatype"), binding.get("xml:lang"))


def _parse_graph(url: str, body: bytes) -> GraphResult:
    import pyoxigraph as ox

    try:
        quads = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
    except SyntaxError as exc:
        raise RemoteError(f"{url}: the answer is not RDF (Turtle): {exc}") from None
    triples = []
    for q in quads:
        terms = []
        for t in (q.subject, q.predicate, q.object):
            if isinstance(t, ox.NamedNode):
                terms.append(Term.iri(t.value))
            elif isinstance(t, ox.BlankNode):
                terms.append(Term("bnode", t.value))
            else:
                terms.append(Term.literal(t.value, t.datatype.value, t.language))
        triples.append((terms[0], terms[1], terms[2]))
    return GraphResult(triples)


# ----------------------------------------------------------------------------------- publishing


class PushReport(NamedTuple):
    """What a push did: the graph replaced, triples sent, batches, and the count the server reports."""

    store: str
    graph: str
    sent: int
    batches: int
    on_server: int


def store_url(endpoint: str) -> str:
    """The Graph Store Protocol URL next to a query endpoint (Oxigraph's layout: /query and /store)."""
    base = endpoint.rstrip("/")
    for suffix in ("/query", "/sparql"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base + "/store"


def push(
    ntriples: bytes, endpoint: str, graph: str = DEFAULT_GRAPH, store: str | None = None, timeout: float = 60.0
) -> PushReport:
    """Replace ``graph`` at the store with ``ntriples`` (PUT the first batch, POST the rest), then count it."""
    check_iri(graph, "--graph")
    target = store or store_url(endpoint)
    lines = [line for line in ntriples.splitlines() if line.strip()]
    batches = [lines[i : i + BATCH_LINES] for i in range(0, len(lines), BATCH_LINES)] or [[]]
    url = f"{target}?{urllib.parse.urlencode({'graph': graph})}"
    for number, batch in enumerate(batches):
        body = b"\n".join(batch) + b"\n"
        request = urllib.request.Request(url, data=body, method="PUT" if number == 0 else "POST")
        request.add_header("Content-Type", "application/n-triples")
        creds = _credentials()
        if creds:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except Exception as exc:  # urllib and socket errors become one line
            raise _explain(target, exc) from None
    from amurkg.sparql import bind_values

    count = bind_values("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": Term.iri(graph)})
    counted = RemoteEngine(endpoint, timeout).query(count, "count")
    assert isinstance(counted, SelectResult) and counted.rows and counted.rows[0][0] is not None
    return PushReport(target, graph, len(lines), len(batches), int(counted.rows[0][0].value))
