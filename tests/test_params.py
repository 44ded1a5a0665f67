"""Parameter values become exactly one RDF term: generated values of every kind, on both real engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.catalog import CannedQuery, Parameter
from amurkg.errors import AmurkgError, EntityNotFoundError, ParameterError
from amurkg.params import MAX_VALUE_CHARS
from amurkg.results import SelectResult

EXAMPLES = 300
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def probe(kind: str) -> CannedQuery:
    """A canned query that returns its one parameter, so what the engine saw can be compared."""
    text = f"# title: probe\n# description: returns ?v\n# param: v ({kind}) the value\nSELECT ?v WHERE {{ }}\n"
    return CannedQuery(
        "probe", "probe", "returns ?v", (Parameter("v", kind, None, False, "the value"),), Path("p"), text
    )


@pytest.fixture(scope="module", params=["oxigraph", "rdflib"])
def engine_kg(request: pytest.FixtureRequest) -> amurkg.KnowledgeGraph:
    return amurkg.load(engine=request.param)


def seen(kg: amurkg.KnowledgeGraph, kind: str, value: str) -> SelectResult:
    canned = probe(kind)
    result = kg.query(canned.text, kg.bind_parameters(canned, {"v": value}), "probe")
    assert isinstance(result, SelectResult)
    return result


def short_line(exc: AmurkgError) -> None:
    assert "\n" not in str(exc) and len(str(exc)) < 400, str(exc)


# Text made to break out of a literal: quotes, backslashes, \u sequences rdflib would expand, braces, newlines
HOSTILE = st.text(
    alphabet=st.sampled_from(['"', "'", "\\", "u", "U", "0", "2", "7", "}", "{", ")", "\n", "\r", "\t", "#", " ", "a"])
    | st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=60,
) | st.lists(
    st.sampled_from(
        ["\\u0022", "\\u0027", "\\U00000022", "\\u005C", "\\\\", "\\", '"', "'", "x", "\n", "\\n", "u0041"]
    ),
    max_size=8,
).map("".join)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=HEALTH)
@given(value=HOSTILE)
def test_a_string_value_is_one_literal_whatever_it_holds(engine_kg: amurkg.KnowledgeGraph, value: str) -> None:
    result = seen(engine_kg, "string", value)
    assert len(result.rows) == 1, value  # no added row
    (term,) = result.rows[0]  # no second term
    assert term is not None and term.kind == "literal" and term.value == value


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=HEALTH)
@given(value=st.one_of(HOSTILE, st.from_regex(r"\Ahttps?://[a-z.]{1,10}/[^\s]{0,20}\Z")))
def test_an_iri_value_is_an_iri_or_one_clear_line(engine_kg: amurkg.KnowledgeGraph, value: str) -> None:
    try:
        result = seen(engine_kg, "iri", value)
    except ParameterError as exc:
        short_line(exc)
        return
    (term,) = result.rows[0]
    assert len(result.rows) == 1 and term is not None and term.kind == "uri"
    assert not any(c in term.value for c in '<>"{}|^`\\ \n')


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=HEALTH)
@given(value=st.one_of(HOSTILE, st.integers().map(str), st.decimals(allow_nan=False, allow_infinity=False).map(str)))
def test_numbers_are_numbers_or_one_clear_line(engine_kg: amurkg.KnowledgeGraph, value: str) -> None:
    for kind in ("integer", "decimal"):
        try:
            result = seen(engine_kg, kind, value)
        except ParameterError as exc:
            short_line(exc)
            continue
        (term,) = result.rows[0]
        assert term is not None and term.datatype is not None and term.datatype.endswith(kind)
        from decimal import Decimal

        assert Decimal(term.value) == Decimal(value.strip())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=HEALTH)
@given(
    value=st.one_of(
        HOSTILE, st.sampled_from(["wild boar", "amur:russia", "Jilin", "<https://w3id.org/amurkg/id/china>"])
    )
)
def test_an_entity_is_in_the_graph_or_one_clear_line(engine_kg: amurkg.KnowledgeGraph, value: str) -> None:
    try:
        term = engine_kg.resolve(value)
    except (EntityNotFoundError, ParameterError) as exc:
        short_line(exc)
        return
    exists = engine_kg.query("ASK { { ?e ?p ?o } UNION { ?s ?p ?e } }", {"e": term})
    assert exists == amurkg.AskResult(True)


@pytest.mark.parametrize("kind", ["string", "iri", "integer", "decimal", "entity"])
def test_huge_values_are_refused_without_being_echoed(kg: amurkg.KnowledgeGraph, kind: str) -> None:
    value = "x" * (MAX_VALUE_CHARS + 1) if kind != "entity" else "wild boar " * 100_000
    with pytest.raises(ParameterError) as caught:
        kg.bind_parameters(probe(kind), {"v": value})
    assert len(str(caught.value)) < 200 and f"{MAX_VALUE_CHARS:,}" in str(caught.value)


def test_did_you_mean_is_cheap_on_long_misspellings(kg: amurkg.KnowledgeGraph) -> None:
    with pytest.raises(EntityNotFoundError) as caught:
        kg.resolve("wild boar" + "z" * 1500)
    assert "did you mean" not in str(caught.value) and len(str(caught.value)) < 300
