"""Remote SPARQL endpoints: ask the same questions of a real triple store, and publish the graph to one
through the SPARQL 1.1 Graph Store HTTP Protocol.

SPARQLWrapper composes each protocol request (parameters, content types, the Accept header). amurkg sends
it itself, because a remote answer is untrusted input like any other: only ``http`` and ``https`` URLs, one
deadline for the whole exchange (connecting, redirects, authentication, every byte of the answer; a server
that drips bytes cannot stretch it), a cap on the answer's size, and a strict reading of what comes back.

Credentials come from the environment (``AMURKG_ENDPOINT_USER`` and ``AMURKG_ENDPOINT_PASSWORD``), never
from the command line, where other users of the machine could read them; they answer a server's Basic or
Digest challenge (Virtuoso's authenticated endpoints use Digest).
"""

from __future__ import annotations

import functools
import http.client
import io
import json
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from amurkg.errors import AmurkgError
from amurkg.results import Answer, AskResult, GraphStream, SelectResult, SelectStream, Term

USER_ENV = "AMURKG_ENDPOINT_USER"
PASSWORD_ENV = "AMURKG_ENDPOINT_PASSWORD"
DEFAULT_GRAPH = "https://w3id.org/amurkg/graph"
#: Triples sent per Graph Store Protocol request when pushing.
BATCH_LINES = 50_000
#: Largest answer read from a remote endpoint, in bytes.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
MAX_URL_CHARS = 4096
_MAX_REDIRECTS = 5
_VAR = re.compile(r"[A-Za-z0-9_\u00b7\u00c0-\U000effff]+")
_LANG = re.compile(r"[a-zA-Z]+(?:-[a-zA-Z0-9]+)*")


class RemoteError(AmurkgError):
    """A remote endpoint could not be reached or did not answer with what was asked for."""


def check_iri(value: str, what: str) -> str:
    """An absolute IRI with no characters that IRIs cannot hold, or a clear error."""
    if len(value) > MAX_URL_CHARS or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\\x00-\x1f]+", value):
        raise AmurkgError(f"the {what} {value[:80]!r} is not an absolute IRI such as https://example.org/graph")
    return value


def check_url(value: str, what: str) -> str:
    """An ``http`` or ``https`` URL with a host, or a clear error: nothing else is ever opened."""
    check_iri(value, what)
    parts = urllib.parse.urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise AmurkgError(
            f"the {what} {value[:80]!r} is not an http(s) URL; give the server's address, such as "
            "http://127.0.0.1:7878/query"
        )
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError:
        raise AmurkgError(f"the {what} {value[:80]!r} has a port that is not a number from 1 to 65535") from None
    return value


def _credentials() -> tuple[str, str] | None:
    user = os.environ.get(USER_ENV)
    return (user, os.environ.get(PASSWORD_ENV, "")) if user else None


# ---------------------------------------------------------------------------------------- transport


class _Deadline:
    """The instant by which a whole exchange must be over, and the answer size it may reach."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.max_bytes = max_bytes
        self.read = 0

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket's raw file, each read bounded by what is left of the deadline and of the size cap."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counts as a user of the socket, as urllib expects
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.remaining())
        count: int = self._raw.readinto(buffer) or 0
        self._deadline.read += count
        if self._deadline.read > self._deadline.max_bytes:
            raise _TooLargeError
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


class _TooLargeError(Exception):
    pass


class _SocketView:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile``, reading under the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


def _connection_class(base: type[http.client.HTTPConnection], deadline: _Deadline) -> type[http.client.HTTPConnection]:
    class Response(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
            super().__init__(_SocketView(sock, deadline), *args, **kwargs)  # type: ignore[arg-type]

    class Connection(base):  # type: ignore[valid-type,misc]
        response_class = Response

        def connect(self) -> None:
            self.timeout = deadline.remaining()
            super().connect()

        def send(self, data: Any) -> None:
            if self.sock is not None:
                self.sock.settimeout(deadline.remaining())
            super().send(data)

    return Connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection_class(http.client.HTTPConnection, self._deadline), req)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings for https endpoints (system certificates); made once, on first use (20 ms)."""
    return ssl.create_default_context()


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection_class(http.client.HTTPSConnection, self._deadline), req, context=_tls())


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, and only to http(s): never to ftp or file URLs."""

    max_redirections = _MAX_REDIRECTS

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        where = _show(req.full_url)
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise RemoteError(f"{where}: the server redirects to {newurl[:80]!r}, which is not http(s)")
        if req.data is not None:  # a query or an upload: following would drop its body or send it elsewhere
            fp.close()
            raise RemoteError(
                f"{where}: the server redirects the request to {_show(newurl)!r} ({_elsewhere(req.full_url, newurl)}), "
                "and amurkg does not send a query or data on to another address; give that URL instead"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _elsewhere(old: str, new: str) -> str:
    """How a redirect's target differs from the URL asked: another scheme, host, port or path."""
    a, b = urllib.parse.urlsplit(old), urllib.parse.urlsplit(new)
    if a.scheme.lower() != b.scheme.lower():
        return f"{b.scheme.lower()} instead of {a.scheme.lower()}"
    if (a.hostname or "") != (b.hostname or ""):
        return "another host"
    default = 443 if a.scheme.lower() == "https" else 80
    if (a.port or default) != (b.port or default):
        return f"another port, {b.port or default} instead of {a.port or default}"
    return "another path"


def shown_url(url: str) -> str:
    """A URL as messages show it: no credentials, no query string, not too long (a URL that does not parse is
    shown cut short, as it is)."""
    try:
        return _show(url)
    except ValueError:
        return url[:80]


class Reply(NamedTuple):
    """A remote answer read whole: status, media type (lower case, no parameters) and body."""

    status: int
    media_type: str
    body: bytes


def _authorize_upfront(
    request: urllib.request.Request,
    digest: urllib.request.HTTPDigestAuthHandler,
    creds: tuple[str, str] | None,
    handlers: list[urllib.request.BaseHandler],
    where: str,
    deadline: _Deadline,
) -> None:
    """Answer the server's authentication challenge before sending a body.

    urllib learns that a URL wants credentials only from a 401 to a first, unauthenticated attempt, and it
    sends that attempt's whole body first. A server that answers 401 at once and closes the connection
    (Virtuoso does) then breaks the upload midway ("broken pipe"), or not, depending on timing. So ask first
    with a HEAD, which has no body, read the challenge, and send the upload with its Authorization header;
    without credentials, the 401 itself is the answer, with how to give them."""
    import base64

    probe = urllib.request.Request(request.full_url, method="HEAD")
    opener = urllib.request.OpenerDirector()
    for handler in handlers:  # the same deadline; no redirects are followed for a probe
        if not isinstance(handler, _Redirects):
            opener.add_handler(handler)
    try:
        with opener.open(probe):
            return  # no challenge: the upload goes as it is
    except urllib.error.HTTPError as exc:
        if exc.code == 401 and creds is None:
            raise _http_error(where, exc) from None
        challenge = exc.headers.get("WWW-Authenticate", "") if exc.code == 401 else ""
    except AmurkgError:
        raise
    except Exception as exc:  # socket, TLS, protocol and deadline errors, as for the upload itself
        raise _explain(where, exc, deadline) from None
    scheme, _, rest = challenge.partition(" ")
    if creds is None:
        return
    if scheme.lower() == "digest":
        fields = urllib.request.parse_keqv_list([p for p in urllib.request.parse_http_list(rest) if p])
        value = digest.get_authorization(request, fields)
        if value:
            request.add_unredirected_header("Authorization", f"Digest {value}")
    elif scheme.lower() == "basic":
        token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode("ascii")
        request.add_unredirected_header("Authorization", f"Basic {token}")


def send(request: urllib.request.Request, seconds: float, max_bytes: int | None = None) -> Reply:
    """Send ``request`` and read the whole answer within ``seconds``; any failure is one ``RemoteError`` line."""
    check_url(request.full_url, "URL")
    deadline = _Deadline(seconds, max_bytes or MAX_RESPONSE_BYTES)
    opener = urllib.request.OpenerDirector()
    handlers: list[urllib.request.BaseHandler] = [
        _HTTPHandler(deadline),
        _HTTPSHandler(deadline),
        _Redirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ]
    creds = _credentials()
    where = _show(request.full_url)
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    digest = urllib.request.HTTPDigestAuthHandler(passwords)
    if creds:
        passwords.add_password(None, request.full_url, *creds)
    if request.data is not None:
        _authorize_upfront(request, digest, creds, handlers, where, deadline)
    if creds:
        handlers += [urllib.request.HTTPBasicAuthHandler(passwords), digest]
    for handler in handlers:
        opener.add_handler(handler)
    try:
        with opener.open(request) as response:
            body = response.read()
            kind = response.headers.get_content_type()
            return Reply(response.status, kind, body)
    except _TooLargeError:
        raise RemoteError(
            f"{where}: the answer is larger than {deadline.max_bytes:,} bytes; narrow the query"
        ) from None
    except urllib.error.HTTPError as exc:
        try:
            raise _http_error(where, exc) from None
        finally:
            exc.close()
    except AmurkgError:
        raise
    except Exception as exc:  # socket, TLS, protocol and deadline errors all become one line
        raise _explain(where, exc, deadline) from None


def _show(url: str) -> str:
    """A URL as shown in messages: without credentials or query string, and not too long."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"
    return shown[:120]


def _http_error(where: str, exc: urllib.error.HTTPError) -> RemoteError:
    if 300 <= exc.code < 400:
        location = (exc.headers.get("Location") or "") if exc.headers else ""
        if urllib.parse.urlsplit(location).scheme.lower() not in ("http", "https", ""):
            return RemoteError(f"{where}: the server redirects to {location[:80]!r}, which is not http(s)")
        return RemoteError(
            f"{where}: HTTP {exc.code}: the server redirects again and again (last to {location[:80]!r}); "
            "give the final URL"
        )
    try:
        detail = exc.read(2000).decode("utf-8", "replace")
    except Exception:  # the body of an error answer is a courtesy: never let it hide the status
        detail = ""
    detail = " ".join(detail.split())[:200] or "no message"
    hint = {
        401: " (credentials refused or missing; set AMURKG_ENDPOINT_USER and AMURKG_ENDPOINT_PASSWORD)",
        403: " (the server forbids this)",
        404: " (nothing there; check the URL)",
        414: " (query too long for GET; the server refuses long URLs)",
    }.get(exc.code, "")
    return RemoteError(f"{where}: HTTP {exc.code} {exc.reason}{hint}: {detail}")


def _explain(where: str, exc: BaseException, deadline: _Deadline) -> RemoteError:
    """One line naming the endpoint and what went wrong, whatever layer raised it."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return RemoteError(f"{where}: the host name does not resolve ({reason.strerror}); check the URL")
    if isinstance(reason, ConnectionRefusedError):
        return RemoteError(f"{where}: connection refused; is the server running and listening on that port?")
    if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason):
        return RemoteError(
            f"{where}: no answer within the timeout ({deadline.seconds:g} s for the whole exchange); raise "
            "{opt:timeout} or check the server"
        )
    if isinstance(reason, ssl.SSLError):
        return RemoteError(f"{where}: TLS failed ({reason.reason or reason}); check the certificate or use http")
    if isinstance(reason, (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return RemoteError(f"{where}: the server closed the connection before a whole answer arrived")
    if isinstance(reason, http.client.HTTPException):
        return RemoteError(f"{where}: the answer is not valid HTTP ({type(reason).__name__})")
    text = " ".join(str(reason).split())[:200] or type(reason).__name__
    return RemoteError(f"{where}: {text}")


# ---------------------------------------------------------------------------------------- queries


class RemoteEngine:
    """A SPARQL 1.1 Protocol endpoint answering in place of a local engine (SELECT and ASK as SPARQL JSON,
    CONSTRUCT and DESCRIBE as N-Triples), queries sent by POST."""

    name = "remote"
    #: The server's parser is unknown: the query check reads the text both ways engines do.
    dialect = "any"

    def __init__(self, url: str, timeout: float = 30.0, graph: str | None = None, max_bytes: int | None = None) -> None:
        self.url = check_url(url, "endpoint")
        self.timeout, self.graph = timeout, graph
        self.max_bytes = max_bytes or MAX_RESPONSE_BYTES

    def request(self, text: str, form: str) -> urllib.request.Request:
        """The protocol request for a query, composed by SPARQLWrapper (without credentials: see ``send``)."""
        import warnings

        from SPARQLWrapper import JSON, N3, POST, URLENCODED, SPARQLWrapper

        client = SPARQLWrapper(self.url)
        client.setMethod(POST)
        client.setRequestMethod(URLENCODED)
        client.setQuery(text)
        # SPARQLWrapper guesses the form with a regex that reads words in comments ("move", "add") as
        # UPDATE operations; amurkg's check knows the real form
        client.queryType = form
        client.setReturnFormat(JSON if form in ("SELECT", "ASK") else N3)
        if self.graph:
            client.addDefaultGraph(self.graph)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            request: urllib.request.Request = client._createRequest()
        if form not in ("SELECT", "ASK"):
            request.add_header("Accept", "application/n-triples, text/turtle;q=0.9")
        return request

    def execute(self, checked: Any, where: str, reasoned: bool = False) -> Answer:
        text = with_prefixes(checked.text)
        reply = send(self.request(text, checked.form), self.timeout, self.max_bytes)
        if checked.form in ("SELECT", "ASK"):
            result = parse_json_results(_show(self.url), reply)
            if isinstance(result, AskResult):
                return result
            return SelectStream(result.variables, iter(result.rows))
        return GraphStream(iter(parse_graph(_show(self.url), reply)))

    def load_shipped(self, paths: Any) -> None:
        """Nothing to load: the endpoint holds its own data."""

    def load_source(self, source: Any) -> None:
        raise AmurkgError("{opt:data} layers files on the local graph only; push them to the store instead")

    def reason(self, derivations: bool = False) -> int:
        """A store answers from what it holds: its entailments are its own (push the full graph with reason)."""
        return 0

    def count(self, graph: str | None = None) -> int:
        """Triples in the endpoint's default graph (or in ``graph``)."""
        from amurkg.sparql import bind_values, check_query

        body = "{ ?s ?p ?o }" if graph is None else "{ GRAPH ?g { ?s ?p ?o } }"
        text = f"SELECT (COUNT(*) AS ?n) WHERE {body}"
        if graph is not None:
            text = bind_values(text, {"g": Term.iri(graph)})
        answer = self.execute(check_query(text, "count", self.dialect), "count")
        rows = list(answer.rows) if isinstance(answer, SelectStream) else []
        if len(rows) != 1 or rows[0][0] is None or not rows[0][0].value.isdigit():
            raise RemoteError(f"{_show(self.url)}: the server did not answer a COUNT with a number")
        return int(rows[0][0].value)

    def __len__(self) -> int:
        return self.count()


def with_prefixes(text: str) -> str:
    """Declare the amurkg prefixes a query uses without declaring (a remote server knows none of them)."""
    from amurkg.namespaces import PREFIXES
    from amurkg.sparql import undeclared_prefixes

    used = {t.text.split(":", 1)[0] for t in undeclared_prefixes(text, {})}
    needed = [p for p in PREFIXES if p in used]
    if not needed:
        return text
    return "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in needed) + text


_JSON_TYPES = ("application/sparql-results+json", "application/json")
_GRAPH_TYPES = {"application/n-triples": "N_TRIPLES", "text/turtle": "TURTLE", "text/plain": "N_TRIPLES"}


def parse_json_results(where: str, reply: Reply | bytes) -> SelectResult | AskResult:
    """Read a SPARQL 1.1 JSON results document strictly: wrong media types, wrong JSON types, unknown term
    kinds, malformed language tags or variables are clear one-line errors, never a wrong answer."""
    if isinstance(reply, Reply):
        if reply.media_type not in _JSON_TYPES:
            start = reply.body[:60].decode("utf-8", "replace").strip()
            raise RemoteError(
                f"{where}: the answer is {reply.media_type}, not SPARQL JSON results (it starts {start!r})"
            )
        body = reply.body
    else:
        body = reply
    try:
        doc = json.loads(body)
    except RecursionError:
        raise RemoteError(f"{where}: the answer nests JSON too deeply to be SPARQL results") from None
    except ValueError:
        start = body[:60].decode("utf-8", "replace").strip()
        raise RemoteError(f"{where}: the answer is not SPARQL JSON results (it starts {start!r})") from None
    return _results(where, doc)


def _bad(where: str, what: str) -> RemoteError:
    return RemoteError(f"{where}: the answer is JSON but not SPARQL results: {what}")


def _results(where: str, doc: Any) -> SelectResult | AskResult:
    if not isinstance(doc, dict):
        raise _bad(where, "the document is not a JSON object")
    head = doc.get("head")
    if not isinstance(head, dict):
        raise _bad(where, "'head' is missing or not an object")
    if "boolean" in doc:
        if not isinstance(doc["boolean"], bool):
            raise _bad(where, f"'boolean' is {type(doc['boolean']).__name__}, not true or false")
        return AskResult(doc["boolean"])
    variables = head.get("vars")
    if not isinstance(variables, list) or not all(isinstance(v, str) and _VAR.fullmatch(v) for v in variables):
        raise _bad(where, "'head.vars' is not a list of variable names")
    if len(set(variables)) != len(variables):
        raise _bad(where, "'head.vars' names a variable twice")
    results = doc.get("results")
    bindings = results.get("bindings") if isinstance(results, dict) else None
    if not isinstance(bindings, list):
        raise _bad(where, "'results.bindings' is missing or not a list")
    known = set(variables)
    rows = []
    for number, binding in enumerate(bindings, 1):
        if not isinstance(binding, dict):
            raise _bad(where, f"binding {number} is not an object")
        extra = set(binding) - known
        if extra:
            raise _bad(where, f"binding {number} binds {sorted(extra)[0][:40]!r}, which is not in head.vars")
        rows.append(tuple(_term(where, number, binding.get(v)) for v in variables))
    return SelectResult(variables, rows)


def _term(where: str, number: int, binding: Any) -> Term | None:
    if binding is None:
        return None
    if not isinstance(binding, dict):
        raise _bad(where, f"binding {number} holds a {type(binding).__name__} where a term object belongs")
    kind, value = binding.get("type"), binding.get("value")
    if not isinstance(value, str):
        raise _bad(where, f"binding {number} has a term whose value is not a string")
    if kind == "uri":
        return Term.iri(value)
    if kind == "bnode":
        return Term("bnode", value)
    if kind in ("literal", "typed-literal"):
        datatype, lang = binding.get("datatype"), binding.get("xml:lang")
        if datatype is not None and not isinstance(datatype, str):
            raise _bad(where, f"binding {number} has a datatype that is not a string")
        if lang is not None and (not isinstance(lang, str) or not _LANG.fullmatch(lang)):
            raise _bad(where, f"binding {number} has a language tag that is not one")
        return Term.literal(value, datatype, lang)
    raise _bad(where, f"binding {number} has a term of unknown type {str(kind)[:40]!r}")


def parse_graph(where: str, reply: Reply) -> list[tuple[Term, Term, Term]]:
    """Read an N-Triples or Turtle answer (CONSTRUCT, DESCRIBE) with pyoxigraph; anything else is refused."""
    import pyoxigraph as ox

    fmt = _GRAPH_TYPES.get(reply.media_type)
    if fmt is None:
        raise RemoteError(f"{where}: the answer is {reply.media_type}, not RDF (N-Triples or Turtle)")
    try:
        quads = list(ox.parse(reply.body, format=getattr(ox.RdfFormat, fmt)))
    except (SyntaxError, ValueError) as exc:
        raise RemoteError(f"{where}: the answer is not valid RDF: {' '.join(str(exc).split())[:200]}") from None
    triples = []
    for q in quads:
        terms = []
        for t in (q.subject, q.predicate, q.object):
            if isinstance(t, ox.NamedNode):
                terms.append(Term.iri(t.value))
            elif isinstance(t, ox.BlankNode):
                terms.append(Term("bnode", t.value))
            elif isinstance(t, ox.Literal):
                terms.append(Term.literal(t.value, t.datatype.value, t.language))
            else:
                raise RemoteError(f"{where}: the answer holds RDF-star triple terms, which amurkg does not read")
        triples.append((terms[0], terms[1], terms[2]))
    return triples


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


def _batches(lines: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for line in lines:
        if not line.strip():
            continue
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    yield batch


def _send_batch(url: str, batch: list[bytes], number: int, timeout: float) -> None:
    """PUT the first batch (replacing the graph), POST the others."""
    body = b"\n".join(line.rstrip(b"\r\n") for line in batch) + b"\n"
    request = urllib.request.Request(url, data=body, method="PUT" if number == 0 else "POST")
    request.add_header("Content-Type", "application/n-triples")
    try:
        send(request, timeout, 1_000_000)
    except RemoteError as exc:
        if re.search(r": HTTP (404|405|501) ", str(exc)):
            raise RemoteError(
                f"{exc}; this URL does not take Graph Store Protocol uploads: give the store's address with "
                "--gsp-url (Oxigraph: /store; Fuseki: /DATASET/data; Virtuoso: /sparql-graph-crud-auth)"
            ) from None
        raise


def push(
    ntriples: bytes | Iterable[bytes],
    endpoint: str,
    graph: str = DEFAULT_GRAPH,
    store: str | None = None,
    timeout: float = 60.0,
) -> PushReport:
    """Replace ``graph`` at the store with the given N-Triples (PUT the first batch, POST the rest), then count
    it. ``ntriples`` is a document or an iterable of lines, read batch by batch, so memory stays bounded."""
    check_iri(graph, "graph")
    check_url(endpoint, "endpoint")
    target = check_url(store or store_url(endpoint), "Graph Store Protocol URL")
    lines = ntriples.splitlines() if isinstance(ntriples, bytes) else ntriples
    url = f"{target}?{urllib.parse.urlencode({'graph': graph})}"
    from amurkg.progress import step

    sent = batches = 0
    with step(f"pushing to {_show(target)}") as status:
        for number, batch in enumerate(_batches(lines, BATCH_LINES)):
            if number and not batch:
                break
            _send_batch(url, batch, number, timeout)
            sent += len(batch)
            batches += 1
            status.update(f"pushed {sent:,} triples in {batches} batch(es) to {_show(target)}")
    try:
        on_server = RemoteEngine(endpoint, timeout).count(graph)
    except RemoteError as exc:
        raise RemoteError(
            f"uploaded {sent} triples in {batches} batch(es) to <{graph}>, but counting them failed: {exc}"
        ) from None
    return PushReport(target, graph, sent, batches, on_server)
