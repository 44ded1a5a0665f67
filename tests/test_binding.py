"""Terms reach a query bound, never pasted as text: on rdflib as on pyoxigraph, a bound IRI or literal drawn
from the whole Unicode range comes back exactly, and an IRI holding ``>`` cannot turn into other terms."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.results import SelectResult, Term

XSD = "http://www.w3.org/2001/XMLSchema#"
ECHO = "SELECT ?v (STR(?v) AS ?text) (ISIRI(?v) AS ?iri) (DATATYPE(?v) AS ?type) (LANG(?v) AS ?lang) WHERE { }"
unicode_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=25)
iri_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp", "Co", "Cn"))


@pytest.fixture(scope="module")
def engines() -> dict[str, amurkg.KnowledgeGraph]:
    return {"oxigraph": amurkg.load(), "rdflib": amurkg.load(engine="rdflib")}


def echo(kg: amurkg.KnowledgeGraph, term: Term) -> tuple[Term | None, ...]:
    result = kg.query(ECHO, {"v": term})
    assert isinstance(result, SelectResult) and len(result.rows) == 1
    return result.rows[0]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        unicode_text.map(Term.literal),
        st.tuples(unicode_text, st.sampled_from(["en", "de-ch", "zh-hans"])).map(
            lambda t: Term.literal(t[0], None, t[1])
        ),
        st.tuples(unicode_text, st.sampled_from(["http://example.org/dt", XSD + "string"])).map(
            lambda t: Term.literal(t[0], t[1])
        ),
    )
)
def test_a_bound_literal_comes_back_exactly_on_both_engines(
    engines: dict[str, amurkg.KnowledgeGraph], term: Term
) -> None:
    answers = {name: echo(kg, term) for name, kg in engines.items()}
    assert answers["oxigraph"] == answers["rdflib"]
    assert answers["oxigraph"][0] == term and answers["oxigraph"][1] == Term.literal(term.value)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(iri_chars, max_size=25))
def test_a_bound_iri_comes_back_exactly_on_both_engines(engines: dict[str, amurkg.KnowledgeGraph], tail: str) -> None:
    iri = "http://example.org/" + tail
    try:
        pyoxigraph.NamedNode(iri)  # an IRI both engines hold (pyoxigraph checks RFC 3987)
    except ValueError:
        assume(False)
    term = Term.iri(iri)
    answers = {name: echo(kg, term) for name, kg in engines.items()}
    assert answers["oxigraph"] == answers["rdflib"] and answers["oxigraph"][0] == term


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.sampled_from('<>"{}|^`\\ )(.;'), min_size=1, max_size=8), unicode_text)
def test_an_iri_with_characters_iris_cannot_hold_is_never_read_as_other_terms(
    engines: dict[str, amurkg.KnowledgeGraph], hostile: str, rest: str
) -> None:
    """rdflib holds such IRIs (its Turtle parser reads ``\\u003E``); bound, it gets back the very term. pyoxigraph
    refuses them everywhere; written by the grammar (``\\u003E``), the query fails rather than changes."""
    term = Term.iri("http://example.org/a" + hostile + rest)
    assert echo(engines["rdflib"], term)[0] == term
    try:
        answer = echo(engines["oxigraph"], term)
    except amurkg.AmurkgError:
        return
    assert answer[0] == term


@pytest.mark.parametrize("engine", ["rdflib", "oxigraph"])
def test_an_escaped_angle_bracket_in_a_data_file_is_refused_not_read_as_another_entity(  # type: ignore[no-untyped-def]
    tmp_path: Path, cli, engine: str
) -> None:
    # \u003E decodes to '>', which no IRI may hold (Turtle 1.1, IRIREF): both engines refuse the file at the line
    # and column of the term, rather than answering for <http://ex.org/a> or <http://ex.org/b> (once, rdflib
    # pasted the decoded text into a query and described the wrong entity with exit 0)
    data = tmp_path / "evil.ttl"
    data.write_text(
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        '<http://ex.org/a\\u003E) (<http://ex.org/b> rdfs:label "evil one" .\n'
        '<http://ex.org/a> rdfs:label "plain a" .\n'
        '<http://ex.org/b> rdfs:label "plain b" .\n'
    )
    done = cli("describe", "evil one", "-d", str(data), "-e", engine, "-f", "tsv")
    assert done.exit_code == 2, done.output
    assert "plain a" not in done.stdout and "plain b" not in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{data}:2:" in lines[0] and "Traceback" not in done.output, done.stderr


def test_the_grammar_escapes_what_an_iri_cannot_hold() -> None:
    assert Term.iri("http://x/a>b").n3() == "<http://x/a\\u003Eb>"
    assert Term.iri("http://x/é").n3() == "<http://x/é>"
