"""The query reader: forms, refusals and parameter binding, below the CLI."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from amurkg.errors import QuerySyntaxError, RefusedQueryError
from amurkg.results import Term
from amurkg.sparql import bind_values, check_query, tokens


@pytest.mark.parametrize(
    ("query", "form"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", "SELECT"),
        ("prefix ex: <http://e/>\nbase <http://b/>\nask { ?s ex:p ?o }", "ASK"),
        ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
        ("DESCRIBE <http://e/x>", "DESCRIBE"),
    ],
)
def test_forms(query: str, form: str) -> None:
    assert check_query(query).form == form


def test_positions_are_line_and_column() -> None:
    toks = tokens("SELECT ?x\n  WHERE { ?x 'a\\'b' }")
    where = next(t for t in toks if t.text == "WHERE")
    assert (where.line, where.column) == (2, 3)
    assert any(t.kind == "string" and t.text == "'a\\'b'" for t in toks)


def test_refusals_name_the_origin() -> None:
    with pytest.raises(RefusedQueryError, match=r"^my\.rq:2:3: SERVICE"):
        check_query("SELECT * {\n  SERVICE <http://x/> { ?s ?p ?o } }", where="my.rq")
    with pytest.raises(QuerySyntaxError, match="found 'FOO'"):
        check_query("FOO BAR")


def test_prefixed_names_and_variables_named_like_keywords_are_fine() -> None:
    assert (
        check_query("PREFIX service: <http://e/>\nSELECT ?from WHERE { ?from service:load ?service }").form == "SELECT"
    )


def test_values_are_bound_at_the_start_of_the_where_group() -> None:
    text = "SELECT ?n WHERE { ?x ?p ?n FILTER(?n > ?min) }"
    bound = bind_values(text, {"min": Term.literal("3", "http://www.w3.org/2001/XMLSchema#integer")})
    assert (
        bound == 'SELECT ?n WHERE { VALUES (?min) { ("3"^^<http://www.w3.org/2001/XMLSchema#integer>) } '
        "?x ?p ?n FILTER(?n > ?min) }"
    )


def test_bound_values_are_escaped_terms_not_text() -> None:
    evil = Term.literal('x" } ; DROP ALL ; #\n')
    bound = bind_values("SELECT * WHERE { ?s ?p ?v }", {"v": evil})
    assert '"x\\" } ; DROP ALL ; #\\n"' in bound
    assert check_query(bound).form == "SELECT"


def test_construct_binds_in_the_where_clause_not_the_template() -> None:
    bound = bind_values("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", {"s": Term.iri("http://e/x")})
    assert bound.startswith("CONSTRUCT { ?s ?p ?o } WHERE { VALUES (?s)")


_PIECES = [
    "SELECT", "select", "ASK", "CONSTRUCT", "DESCRIBE", "PREFIX", "prefix", "BASE", "ex:", "ex:a", ":b",
    "<http://x/>", "<from>", "?s", "?from", "$service", "ex:from", "from", "FROM", "From", "fromage", "_from",
    "SERVICE", "service", "LOAD", "load", "Insert", "DELETE", "clear", "drop", "dropped", "WITH", "INSERTS",
    "{", "}", "(", ")", ".", ";", ",", "*", "a", "1", "1.5e3", "'from'", '"SERVICE"', "'''x\nfrom'''",
    '"a\\"b"', "'\\u0041'", "@en", "^^", "_:b", "# from here\n", "#", "\n", " ", "\t", "`", "\\", "é", "ſervice",
    "ınsert", "'open",
]  # fmt: skip


_OPENINGS = ["", "SELECT", "ask", "CONSTRUCT", "DESCRIBE", "PREFIX ex: <http://x/>\nSELECT", "BASE <b>", "# c\nSELECT"]


@given(
    st.sampled_from(_OPENINGS),
    st.lists(st.sampled_from(_PIECES), max_size=14),
    st.lists(st.sampled_from(["", " ", "\n"]), max_size=14),
)
@example("SELECT", ["*", "{", "}", "# from here\n"], [" "])
@example("", ["PREFIX", "ex:", "<http://x/>", "SELECT"], [" ", " ", " "])
@example("SELECT", ["ſervice"], [])
def test_the_quick_check_answers_as_the_full_check(opening: str, pieces: list[str], gaps: list[str]) -> None:
    """The server's check reads ASCII text that is plainly a query in one pass of the regular expression engine
    (no token objects); whatever the text, it must say exactly what the full check says: the same form, or the
    same error with the same position."""
    from amurkg.sparql import _check_tokens

    text = opening + " " + "".join(p + (gaps[i] if i < len(gaps) else " ") for i, p in enumerate(pieces))

    def outcome(check: object) -> tuple[str, str]:
        try:
            return ("form", check())  # type: ignore[operator]
        except (QuerySyntaxError, RefusedQueryError) as exc:
            return (type(exc).__name__, str(exc))

    assert outcome(lambda: check_query(text).form) == outcome(lambda: _check_tokens(tokens(text), "query"))


def test_the_canned_queries_take_the_quick_check() -> None:
    """Every canned query, with its parameters bound as the CLI and the web pages bind them, is read by the quick
    check (so the server's common case is the fast one; the test above keeps it exact)."""
    from conftest import PARAMS

    import amurkg
    from amurkg.sparql import _plainly_readable

    kg = amurkg.load()
    for canned in amurkg.list_queries():
        text = bind_values(canned.text, kg.bind_parameters(canned, PARAMS.get(canned.name, {})))
        assert _plainly_readable(text), canned.name


_RUNS = st.lists(
    st.sampled_from(["a", "b", ".", "-", "_", "1", "FROM", "from", "service", "é", "SELECT", "ASK"]), max_size=200
)


@given(
    st.sampled_from(["SELECT * WHERE { ?s ?p ", "PREFIX ", "ASK { ", "SELECT * { ?s ?p ?o } # ", "SELECT * { ?o."]),
    st.lists(st.tuples(_RUNS, st.sampled_from([":", ": ", ":x ", " ", ". ", "} ", ":FROM"])), max_size=4),
    st.sampled_from(["", " }", " <http://x/> SELECT * WHERE { ?s ?p ?o }", " <http://e/> CONSTRUCT {} WHERE {}"]),
)
@example("SELECT * WHERE { ?s ?p ", [(["a"] * 100 + ["."] * 100, ":x ")], " }")
@example("PREFIX ", [(["a", "."] * 130 + ["a"], ": ")], " <http://x/> SELECT * WHERE { ?s ?p ?o }")
@example("PREFIX ", [(["a", ".", "SELECT", "."] + ["b"] * 300, ": ")], " <http://e/> CONSTRUCT {} WHERE {}")
@example("SELECT * { ?o.", [(["a"] * 300, ":x ")], " }")
def test_a_prefix_name_is_read_as_the_engine_reads_it_or_refused_over_its_bound(
    opening: str, runs: list[tuple[list[str], str]], ending: str
) -> None:
    """Prefix names are read at most 256 characters long (so a long run of name characters with no colon after
    it is not read to its end from each of its tokens: that took time growing with the square of its length),
    and a longer one is refused where it starts. Against the unbounded reading (the grammar's own): every text is
    read the same, token for token and with the same outcome (form, or error and position), or refused for a
    prefix name over the bound, which the text then holds."""
    import re

    from amurkg import sparql

    text = opening + " ".join("".join(run) + after for run, after in runs) + ending
    unbounded = {}
    for dialect, ascii_only in (("oxigraph", True), ("oxigraph", False), ("rdflib", True), ("rdflib", False)):
        source = sparql._pattern(dialect, ascii_only).pattern
        assert source.count("{0,255}+(?<!\\.)") == 1
        unbounded[dialect, ascii_only] = re.compile(source.replace("{0,255}+(?<!\\.)", "*(?<!\\.)"), re.VERBOSE)

    def outcome() -> tuple[str, str]:
        try:
            return ("form", check_query(text, dialect="any").form)
        except (QuerySyntaxError, RefusedQueryError) as exc:
            return (type(exc).__name__, str(exc))

    bounded_tokens = _tokens_or_error(text)
    bounded = outcome()
    original, runs_of = sparql._pattern, sparql._long_runs
    sparql._pattern = lambda dialect, ascii_only: unbounded[dialect, ascii_only]  # type: ignore[assignment]
    sparql._long_runs = lambda ascii_only: re.compile("(?!)")  # type: ignore[assignment]
    sparql._refused_scanner.cache_clear()
    try:
        reference_tokens = _tokens_or_error(text)
        reference = outcome()
    finally:
        sparql._pattern, sparql._long_runs = original, runs_of
        sparql._refused_scanner.cache_clear()
    if "a prefix name is over 256 characters" in bounded[1]:
        assert re.search(r"[a-zA-Z_\-0-9.é]{257,}:", text)
    else:
        assert bounded_tokens == reference_tokens
        assert bounded == reference


def _tokens_or_error(text: str) -> object:
    try:
        return [(t.kind, t.text, t.offset) for t in tokens(text)]
    except QuerySyntaxError as exc:
        return str(exc)
