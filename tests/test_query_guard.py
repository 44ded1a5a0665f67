"""No query reaches the network, however it is spelt: generated queries against both real engines, with a
real loopback listener that would see any connection the engines tried to make.

The check in ``amurkg.sparql`` reads a query the way each engine does; these properties hold whatever it
reads, because they watch what the engines actually do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile import FROM_WORDS, GAPS, Listener, pattern_soup, service_queries, token_soup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import AmurkgError, QuerySyntaxError, RefusedQueryError
from amurkg.offline import NetworkRefusedError
from amurkg.results import AskResult, SelectStream
from amurkg.sparql import check_query, tokens

EXAMPLES = 600  # per property and engine: several thousand generated queries in all


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.sock.close()


@pytest.fixture(scope="module", params=["oxigraph", "rdflib"])
def engine_kg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> amurkg.KnowledgeGraph:
    """The real query path of each engine over a three-triple graph, so that generated joins stay cheap
    while every pattern still has something to match (an empty graph could skip evaluating SERVICE)."""
    from amurkg.engines import make_engine
    from amurkg.rdfio import read_rdf

    tiny = tmp_path_factory.mktemp("tiny") / "tiny.ttl"
    tiny.write_text("<http://e/s> <http://e/p> <http://e/o> , 'x' , 'SERVICE' .\n", encoding="utf-8")
    kg = amurkg.load(engine=request.param)
    kg.engine = make_engine(request.param)
    kg.engine.load_source(read_rdf(tiny))
    return kg


def attempt(kg: amurkg.KnowledgeGraph, text: str) -> AmurkgError | None:
    """Run a query as the CLI would (check, then the engine), reading at most a few rows."""
    try:
        answer = kg.stream(text)
        if isinstance(answer, SelectStream):
            for _, _ in zip(range(3), answer.rows, strict=False):
                pass
        elif not isinstance(answer, AskResult):
            for _, _ in zip(range(3), answer.triples, strict=False):
                pass
    except AmurkgError as exc:
        return exc
    return None


def one_line(exc: AmurkgError) -> None:
    message = str(exc)
    assert "\n" not in message and len(message) < 500, message
    assert not isinstance(exc, NetworkRefusedError), f"the query check let this through: {message}"


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_service_is_refused_however_it_is_spelt(
    data: st.DataObject, engine_kg: amurkg.KnowledgeGraph, listener: Listener
) -> None:
    query = data.draw(service_queries(listener))
    problem = attempt(engine_kg, query)
    assert listener.connections() == 0, query
    assert isinstance(problem, (RefusedQueryError, QuerySyntaxError)), (query, problem)
    one_line(problem)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_from_is_refused_however_it_is_spelt(
    data: st.DataObject, engine_kg: amurkg.KnowledgeGraph, listener: Listener
) -> None:
    named = data.draw(st.sampled_from(["", " NAMED", " named"]))
    query = f"SELECT *{data.draw(GAPS)}{data.draw(FROM_WORDS)}{named} <{listener.url}> WHERE {{ ?s ?p ?o }}"
    problem = attempt(engine_kg, query)
    assert listener.connections() == 0, query
    assert isinstance(problem, (RefusedQueryError, QuerySyntaxError)), (query, problem)
    one_line(problem)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_mix_of_spellings_ever_connects(
    data: st.DataObject, engine_kg: amurkg.KnowledgeGraph, listener: Listener
) -> None:
    """The differential property: whatever the check admits, the engine never opens a connection."""
    query = data.draw(st.one_of(token_soup(listener), pattern_soup(listener)))
    problem = attempt(engine_kg, query)
    assert listener.connections() == 0, query
    if problem is not None:
        one_line(problem)


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX service: <http://e/>\nSELECT ?from WHERE { ?from service:load ?service }",
        "SELECT ?s WHERE { ?s ?p 'SERVICE <http://127.0.0.1:9/> { }' }",
        "SELECT ?s WHERE { ?s <http://e/service/from> ?o } # SERVICE FROM LOAD",
        'SELECT ?s WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "from")) }',
        "PREFIX e: <http://e/> SELECT * WHERE { ?s e:a\\#SERVICE ?o }",
        'SELECT * WHERE { ?s ?p """a "quoted" SERVICE""" }',
        'SELECT ?s WHERE { ?s ?p "x"@en } ORDER BY ?s LIMIT 1',
    ],
)
def test_the_words_elsewhere_are_not_refused(query: str, engine_kg: amurkg.KnowledgeGraph, listener: Listener) -> None:
    assert attempt(engine_kg, query) is None, query
    assert listener.connections() == 0


def test_rdflib_reading_expands_escapes_first() -> None:
    """rdflib replaces \\u escapes before it parses: a quote spelt \\u0022 ends a string there."""
    text = 'SELECT * WHERE { ?s ?p "a\\u0022 . SERVICE <http://127.0.0.1:9/> { ?x ?y ?z } . ?s ?p \\u0022b" }'
    assert check_query(text, dialect="oxigraph").form == "SELECT"  # one string for pyoxigraph
    with pytest.raises(RefusedQueryError, match=r"^query:1:35: SERVICE"):
        check_query(text, dialect="rdflib")
    with pytest.raises(RefusedQueryError):
        check_query(text, dialect="any")


def test_positions_of_expanded_text_are_those_of_the_text_as_given() -> None:
    toks = tokens("SELECT\n  \\u003Fx { }", dialect="rdflib")
    assert [(t.text, t.line, t.column) for t in toks][:2] == [("SELECT", 1, 1), ("?x", 2, 3)]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("SELECT * WHERE { ?s ?p 'open }", "query:1:24:"),
        ("SELECT * WHERE {\n  ?s ?p ?o . ^^ ` }", "query:2:17:"),
        ('SELECT * WHERE { ?s ?p "a\\q" }', "query:1:24:"),
    ],
)
def test_lexical_errors_point_at_the_character(query: str, where: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        check_query(query)
    assert str(caught.value).startswith(where), str(caught.value)


def test_huge_queries_are_refused_without_echo() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        check_query("SELECT * WHERE { ?s ?p ?o }" + " " * 2_000_000)
    assert len(str(caught.value)) < 300
