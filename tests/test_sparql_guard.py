"""The query reader: forms, refusals and parameter binding, below the CLI."""

from __future__ import annotations

import pytest

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
