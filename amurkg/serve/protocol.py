"""The SPARQL 1.1 Protocol, read-only: what a request asks for, in which format, and the plain answers
(service description, refusals) that need no query engine.

Everything here is a pure function of the request, so it is tested without a server.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import NamedTuple

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
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
_MAX_FIELDS = 20


class Reply(NamedTuple):
    """An answer that needs no query engine: status line, headers and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Job(NamedTuple):
    """A query to answer: its text (checked), form, and the media type and format to answer in."""

    text: str
    form: str
    media_type: str
    fmt: str


def text_reply(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A plain-text answer (errors and refusals), one line."""
    return Reply(status, [("Content-Type", "text/plain; charset=utf-8"), *(headers or [])], (message + "\n").encode())


def negotiate(accept: str, offered: dict[str, str], default: str) -> str | None:
    """The format for an Accept header (q-values, wildcards, most specific first); None when nothing fits."""
    if not accept.strip():
        return offered[default]
    ranges = []
    for position, part in enumerate(accept.split(",")[:50]):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0 <= q <= 1:  # also nan
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


#: Headers every answer of ``amurkg serve`` carries (the web pages' and the endpoint's refusals alike): pages may
#: load scripts, styles and images from this server only; no inline script, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
]


def is_host_name(value: str) -> bool:
    """Whether ``value`` is a plain host name or address, with or without a port."""
    return _HOST.fullmatch(value) is not None


def _split_host(value: str) -> tuple[str, str | None]:
    """(host, port or None) of a Host header or an ``--allow-host`` name, the host lower-cased and without a
    final dot (``Example.ORG.:80`` -> ``example.org``, ``80``)."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else None
        if rest and not rest.startswith(":"):
            return value, None
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = port_text
    else:
        host, port = value, None
    return host.rstrip(".") if host != "." else host, port


def allowed_hosts(bound: str, extra: tuple[str, ...] = ()) -> tuple[frozenset[str], frozenset[str]]:
    """(``host:port`` pairs, host names with any port) that ``Host`` may name: the bound address, localhost,
    127.0.0.1 and [::1] with the bound port, and each ``--allow-host`` (with its port when it gives one)."""
    host, port = _split_host(bound)
    pairs = {f"{h}:{port}" for h in (host, "localhost", "127.0.0.1", "[::1]")}
    names: set[str] = set()
    for name in extra:
        h, p = _split_host(name)
        if p is None:
            names.add(h)
        else:
            pairs.add(f"{h}:{p}")
    return frozenset(pairs), frozenset(names)


def host_allowed(header: str | None, allowed: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Whether a request's ``Host`` header names this server (a guard against DNS rebinding: a page from
    elsewhere whose name now points at 127.0.0.1 sends its own name). A missing port is port 80."""
    if header is None or not _HOST.fullmatch(header.strip()):
        return False
    host, port = _split_host(header)
    pairs, names = allowed
    if host in names:
        return True
    return f"{host}:{port if port is not None else '80'}" in pairs


def base_url(host_header: str | None, bound: str) -> str:
    """The endpoint's own URL for the service description: from the Host header only when it is a plain
    host name or address with a port (so nothing a client sends is echoed into the Turtle), else the
    address the server is bound to."""
    host = host_header if host_header and _HOST.fullmatch(host_header) else bound
    return f"http://{host}/sparql"


def _form_fields(body: bytes) -> dict[str, list[str]]:
    text = body.decode("ascii")  # url-encoded forms are ASCII; anything else is a client error
    return urllib.parse.parse_qs(
        text, keep_blank_values=True, strict_parsing=False, errors="strict", max_num_fields=_MAX_FIELDS
    )


def read_request(
    method: str, target: str, content_type: str, body: bytes, accept: str, host: str | None, bound: str
) -> Reply | tuple[str, str]:
    """What a request asks: (query text, Accept) to answer, or a Reply made here (errors, refusals,
    the service description, CORS preflight)."""
    path, _, query_string = target.partition("?")
    if path not in ("/", "/sparql", "/query"):
        return text_reply(404, "no such resource: the endpoint is /sparql")
    if method == "OPTIONS":
        return Reply(
            204,
            [
                ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type, Accept"),
                ("Access-Control-Max-Age", "600"),
            ],
            b"",
        )
    try:
        params = urllib.parse.parse_qs(
            query_string, keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS
        )
        if method == "POST":
            kind = content_type.split(";")[0].strip().lower()
            if kind == "application/sparql-query":
                params.setdefault("query", []).append(body.decode("utf-8"))
            elif kind == "application/x-www-form-urlencoded":
                for key, values in _form_fields(body).items():
                    params.setdefault(key, []).extend(values)
            elif kind == "application/sparql-update":
                return text_reply(403, "this endpoint is read-only: updates are refused")
            else:
                return text_reply(415, "send the query as application/sparql-query or as a query= form field")
        elif method not in ("GET", "HEAD"):
            return text_reply(405, "use GET or POST", [("Allow", "GET, POST, OPTIONS")])
    except (UnicodeDecodeError, ValueError):
        return text_reply(400, "the request is not valid UTF-8 or URL-encoding, or has too many fields")
    if "update" in params:
        return text_reply(403, "this endpoint is read-only: updates are refused")
    if "default-graph-uri" in params or "named-graph-uri" in params:
        return text_reply(400, "this endpoint serves one graph: drop default-graph-uri and named-graph-uri")
    queries = params.get("query", [])
    if not queries:
        description = service_description(base_url(host, bound)).encode()
        return Reply(200, [("Content-Type", "text/turtle; charset=utf-8")], description)
    if len(queries) > 1:
        return text_reply(400, "give exactly one query")
    return queries[0], accept


def plan(text: str, accept: str) -> Job | Reply:
    """Check a query the way the engine reads it and settle its answer's format, or refuse it."""
    from amurkg.errors import AmurkgError, RefusedQueryError
    from amurkg.sparql import check_query

    try:
        form = check_query(text, "query", "oxigraph").form
    except RefusedQueryError as exc:
        return text_reply(403 if "UPDATE" in str(exc) else 400, str(exc))
    except AmurkgError as exc:
        return text_reply(400, str(exc))
    return plan_checked(text, form, accept)


def plan_checked(text: str, form: str, accept: str) -> Job | Reply:
    """The answer's format for a query that passed the check with this form, or a refusal (406)."""
    offered = GRAPH_TYPES if form in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES
    media = negotiate(accept, {k: k for k in offered}, next(iter(offered)))
    if media is None:
        return text_reply(406, "acceptable formats: " + ", ".join(offered))
    return Job(text, form, media, offered[media])
