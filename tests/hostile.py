"""Hostile inputs shared by the test modules: a loopback listener that notices any connection attempt, and
Hypothesis strategies for queries that try to reach it."""

from __future__ import annotations

import select
import socket

from hypothesis import strategies as st


class Listener:
    """A loopback TCP port that notices every connection attempt, synchronously (the kernel queues a
    connection to a listening socket as soon as the client's handshake completes)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.base = f"http://127.0.0.1:{self.port}/"

    def connections(self) -> int:
        count = 0
        while select.select([self.sock], [], [], 0)[0]:
            conn, _ = self.sock.accept()
            conn.close()
            count += 1
        return count


# --- strategies ----------------------------------------------------------------------------------

# the long s and the dotless i upper-case to S and I, as rdflib's keyword matching does
SERVICE_WORDS = st.sampled_from(
    [
        "SERVICE",
        "service",
        "Service",
        "sErViCe",
        "\\u0053ERVICE",
        "\\u0073ervice",
        "SERV\\u0049CE",
        "\u017fervice",
        "serv\u0131ce",
    ]
)
FROM_WORDS = st.sampled_from(["FROM", "from", "From", "\\u0046ROM", "fr\\u006Fm"])
GAPS = st.sampled_from([" ", "\n", "\t", "\r\n", "\r", "  ", " # note\n", " # note\r", "\n#\n"])
TIGHT = st.sampled_from(["", " ", "\n"])


@st.composite
def service_targets(draw: st.DrawFn, listener: Listener) -> tuple[str, str]:
    """(prologue, target): an IRI, an escaped IRI, a prefixed name or a variable naming the listener."""
    kind = draw(st.sampled_from(["iri", "escaped", "pname", "pname-escaped", "var", "bind"]))
    if kind == "iri":
        return "", f"<{listener.url}>"
    if kind == "escaped":
        escaped = listener.url.replace("/", "\\u002F").replace("s", "\\u0073")
        return "", f"<{escaped}>"
    if kind in ("pname", "pname-escaped"):
        local = "sparql" if kind == "pname" else draw(st.sampled_from(["sp\\-arql", "%73parql", "sparql\\?x", "s\\.p"]))
        return f"PREFIX e: <{listener.base}>\n", f"e:{local}"
    if kind == "var":
        return "", "?svc"
    return "", "?svc"


@st.composite
def service_queries(draw: st.DrawFn, listener: Listener) -> str:
    prologue, target = draw(service_targets(listener))
    clause = f"{draw(SERVICE_WORDS)}{draw(st.sampled_from(['', ' SILENT', ' silent']))}{draw(GAPS)}{target}"
    clause += f"{draw(TIGHT)}{{ ?s ?p ?o }}"
    binder = ""
    if target == "?svc":
        binder = draw(st.sampled_from([f"VALUES ?svc {{ <{listener.url}> }} ", f"BIND(<{listener.url}> AS ?svc) "]))
    disguise = draw(
        st.sampled_from(
            ["", "?a ?b 'x' . ", '?a ?b "x\\"y" . ', "?a ?b '''x'y''' . ", "# SERVICE in a comment\n", "?a <p> ?c . "]
        )
    )
    pattern = draw(
        st.sampled_from(
            [
                "{{ {d}{b}{c} }}",
                "{{ {d}{b}OPTIONAL {{ {c} }} }}",
                "{{ {{ ?a ?b ?c }} UNION {{ {b}{c} }} }}",
                "{{ ?a ?b ?c MINUS {{ {b}{c} }} }}",
                "{{ {b}FILTER EXISTS {{ {c} }} }}",
                "{{ FILTER NOT EXISTS {{ {b}{c} }} }}",
                "{{ {{ SELECT * WHERE {{ {d}{b}{c} }} }} }}",
                "{{ GRAPH ?g {{ {b}{c} }} }}",
                "{{ {{ {{ {b}{c} }} }} }}",
            ]
        )
    ).format(d=disguise, b=binder, c=clause)
    form = draw(
        st.sampled_from(
            [
                "SELECT * WHERE {p}",
                "select ?s where{p}",
                "ASK {p}",
                "CONSTRUCT {{ ?s ?p ?o }} WHERE {p}",
                "DESCRIBE ?s {p}",
            ]
        )
    ).format(p=pattern)
    return prologue + form


FRAGMENTS = [
    "SELECT", "*", "WHERE", "{", "}", "?s", "?p", "?o", ".", "SERVICE", "service", "SILENT", "URL", "e:x",
    "e:a\\'b", "e:a\\#b", "e:a\\\"b", "'", '"', "'''", '"""', "\\", "\\u0053ERVICE", "\\u0022", "\\u0027",
    "\\u003E", "\\u007B", "#", "\n", "\r", " ", "  ", "FILTER", "(", ")", "EXISTS", "OPTIONAL", "UNION", "VALUES",
    "?svc", "<", ">", "\u017fervice", "FROM", "NAMED", "GRAPH", "BIND", "AS", "<p>", "'a'", '"b"', "1", "a",
]  # fmt: skip


@st.composite
def token_soup(draw: st.DrawFn, listener: Listener) -> str:
    parts = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=25))
    body = "".join(p.replace("URL", f"<{listener.url}>") for p in parts)
    return f"PREFIX e: <{listener.base}>\nSELECT * WHERE {{ {body} }}"


ELEMENTS = [
    "?s ?p ?o .",
    "?s <p> 'x' .",
    "?s e:a\\'b ?o .",
    "?s e:a\\#b ?o .",
    '?s ?p """multi\nline""" .',
    "?s ?p 'it\\'s' .",
    '?s ?p "q\\"q" .',
    "# a comment SERVICE URL { }\n",
    "# ends at CR\r",
    "OPTIONAL { ?s ?q ?r }",
    "FILTER(?o != 'SERVICE')",
    "FILTER EXISTS { ?s ?p ?o }",
    "{ ?a ?b ?c } UNION { ?d ?e ?f }",
    "MINUS { ?s <x> ?z }",
    "BIND(<URL> AS ?svc)",
    "VALUES ?v { 1 2 }",
    '?s ?p "\\u0022" .',
    "?s ?p '\\u0027' .",
    "?s <a\\u003Eb> ?o .",
    "SERVICE URL { ?s ?p ?o }",
    "SERVICE SILENT URL { ?x ?y ?z }",
    "SERVICE ?svc { ?s ?p ?o }",
    "\\u0053ERVICE URL { ?s ?p ?o }",
    "\u017fervice URL { ?s ?p ?o }",
    "?s e:x\\u0020SERVICE ?o .",
    "{ SELECT * WHERE { ?s ?p ?o } LIMIT 1 }",
    "GRAPH ?g { ?s ?p ?o }",
    '?s ?p "a"@en .',
    "?s ?p 1.5e3 .",
]


@st.composite
def pattern_soup(draw: st.DrawFn, listener: Listener) -> str:
    """Mostly well-formed group elements, some of them SERVICE clauses in disguise, in any order."""
    parts = draw(st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=8))
    sep = draw(st.sampled_from([" ", "\n", "\r\n", "\t"]))
    body = sep.join(p.replace("URL", f"<{listener.url}>") for p in parts)
    return f"PREFIX e: <{listener.base}>\nSELECT * WHERE {{ {body} }} LIMIT 3"
