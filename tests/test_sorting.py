"""A query that ends with ORDER BY over variables is answered in the process and sorted here (amurkg.sorting),
without forking a child, wherever the order is certain; the rows come in exactly the order the engine's own sort
gives (run in its child, as before), and everything else still goes to the engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import watching
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg import sorting
from amurkg.catalog import get_query, list_queries
from amurkg.errors import EngineFaultError
from amurkg.survey.generate import generate

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the engine's own sort runs in a forked child")

XSD = "http://www.w3.org/2001/XMLSchema#"


def engine_sorted(kg: amurkg.KnowledgeGraph, text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The answer with the engine doing the sort (in its child), as before amurkg.sorting: rows, or the error."""
    with monkeypatch.context() as m:
        m.setattr(sorting, "plan", lambda _text: None)
        try:
            return kg.query(text).rows  # type: ignore[union-attr]
        except EngineFaultError as exc:
            return type(exc)


def ours(kg: amurkg.KnowledgeGraph, text: str) -> tuple[Any, bool]:
    def call() -> Any:
        try:
            return kg.query(text).rows  # type: ignore[union-attr]
        except EngineFaultError as exc:
            return type(exc)

    return watching(sorting, "order", call)


# values of one family each, so that most columns sort here; a column sometimes mixes families (the engine's)
_text = st.text(alphabet="aAbZé😀 0-", max_size=3)
_families: dict[str, st.SearchStrategy[str]] = {
    "iri": st.sampled_from(["<http://example.org/a>", "<http://example.org/b>", "<http://example.org/é>", "<urn:x>"]),
    "string": _text.map(lambda s: f'"{s}"'),
    "typed-string": _text.map(lambda s: f'"{s}"^^<{XSD}string>'),
    "integer": st.integers(-20, 20).map(lambda n: f'"{n}"^^<{XSD}integer>'),
    "decimal": st.decimals(-20, 20, places=2).map(lambda d: f'"{d}"^^<{XSD}decimal>'),
    "dateTime": st.tuples(
        st.integers(1, 28), st.integers(0, 23), st.sampled_from(["Z", "+05:30", "-08:00", ".5Z", "+00:00"])
    ).map(lambda t: f'"2021-03-{t[0]:02d}T{t[1]:02d}:00:00{t[2]}"^^<{XSD}dateTime>'),
    "local-dateTime": st.integers(1, 28).map(lambda d: f'"2021-03-{d:02d}T00:00:00"^^<{XSD}dateTime>'),
    "double": st.one_of(st.floats(-5, 5), st.sampled_from(["INF", "-INF", "NaN", "1e0", "-0.0", "0"])).map(
        lambda f: f'"{f!r}"^^<{XSD}double>' if isinstance(f, float) else f'"{f}"^^<{XSD}double>'
    ),
    "float": st.sampled_from(["1.5", "2", "-INF", "1E1", "1.1"]).map(lambda v: f'"{v}"^^<{XSD}float>'),
    "far-zone": st.sampled_from(["+15:00", "-15:00", "+14:00", "-14:30", "Z"]).map(
        lambda z: f'"2020-01-01T00:00:00{z}"^^<{XSD}dateTime>'
    ),
    "lang": st.tuples(_text, st.sampled_from(["en", "de", "en-GB", "EN"])).map(lambda t: f'"{t[0]}"@{t[1]}'),
    "boolean": st.sampled_from([f'"true"^^<{XSD}boolean>', f'"false"^^<{XSD}boolean>']),
    "ill-typed": st.just(f'"abc"^^<{XSD}integer>'),
}


@st.composite
def sorted_queries(draw: st.DrawFn) -> str:
    width = draw(st.integers(1, 3))
    kinds = [draw(st.sampled_from(sorted(_families))) for _ in range(width)]
    height = draw(st.integers(0, 8))
    rows = []
    for _ in range(height):
        cells = []
        for kind in kinds:
            mixed = draw(st.integers(0, 9)) == 0  # now and then another family in the column
            family = draw(st.sampled_from(sorted(_families))) if mixed else kind
            cells.append("UNDEF" if draw(st.integers(0, 7)) == 0 else draw(_families[family]))
        rows.append("(" + " ".join(cells) + ")")
    names = [f"?v{i}" for i in range(width)]
    keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
    order = " ".join(draw(st.sampled_from([k, f"ASC({k})", f"DESC({k})"])) for k in keys)
    return f"SELECT * WHERE {{ VALUES ({' '.join(names)}) {{ {' '.join(rows)} }} }} ORDER BY {order}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=sorted_queries())
def test_rows_sorted_here_come_in_the_engines_order(
    kg: amurkg.KnowledgeGraph, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    got, _here = ours(kg, text)
    assert got == engine_sorted(kg, text, monkeypatch), text


def test_a_column_of_one_family_is_sorted_here_without_a_child(kg: amurkg.KnowledgeGraph) -> None:
    text = (
        f'SELECT * WHERE {{ VALUES (?n ?s) {{ ("2"^^<{XSD}integer> "b") ("1.5"^^<{XSD}decimal> "a") (UNDEF "c") }} }} '
        "ORDER BY DESC(?n) ?s"
    )
    forked: list[int] = []
    real = os.fork
    try:
        os.fork = lambda: forked.append(1) or real()  # type: ignore[assignment,func-returns-value]
        rows, here = ours(kg, text)
    finally:
        os.fork = real
    assert here and not forked
    assert [row[1].value for row in rows] == ["b", "a", "c"]  # 2 > 1.5, and unbound last when descending


def test_what_the_engine_orders_its_own_way_goes_to_it(kg: amurkg.KnowledgeGraph) -> None:
    for values in (
        '("b"@en) ("a")',  # a language and none
        f'("1.1"^^<{XSD}float>) ("1.1000000001"^^<{XSD}double>)',  # floats: the engine compares them at 32 bits
        f'("2020-01-01T00:00:00+15:00"^^<{XSD}dateTime>) ("2020-01-01T00:00:00Z"^^<{XSD}dateTime>)',  # no zone
        f'("2"^^<{XSD}double>) ("NaN"^^<{XSD}double>)',  # NaN
        f'("a") ("1"^^<{XSD}integer>)',  # two families in one column
        f'("2021-01-01T00:00:00"^^<{XSD}dateTime>) ("2021-01-01T00:00:00Z"^^<{XSD}dateTime>)',  # no time zone
        f'("2021-01-01T00:00:00Z"^^<{XSD}dateTime> 1) ("2021-01-01T05:30:00+05:30"^^<{XSD}dateTime> 2)',  # a tie
    ):
        width = values.split(")")[0].count(" ") + 1
        names = " ".join(f"?v{i}" for i in range(width))
        _, here = ours(kg, f"SELECT * WHERE {{ VALUES ({names}) {{ {values} }} }} ORDER BY ?v0")
        assert not here, values


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a LIMIT 3",
        "SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a OFFSET 1",
        "SELECT ?a WHERE { { SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a LIMIT 2 } }",
        "SELECT ?a WHERE { { SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a LIMIT 2 } } ORDER BY ?a",
        "SELECT ?a WHERE { ?a ?b ?c } ORDER BY STR(?a)",
        "SELECT ?a WHERE { ?a ?b ?c } ORDER BY DESC(STR(?a))",
        "SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a VALUES ?a { <urn:x> }",
        'SELECT ?a WHERE { ?a ?b "ORDER BY ?a" }',
        "SELECT ?a WHERE { ?a ?b ?c } # ORDER BY ?a",
        "SELECT ?a WHERE { ?a ?b ?c } ORDER BY",
        "SELECT REDUCED ?a WHERE { ?a ?b ?c } ORDER BY ?a",
    ],
)
def test_only_a_final_order_by_over_variables_is_planned(text: str) -> None:
    assert sorting.plan(text) is None


def test_the_plan_drops_only_the_final_clause() -> None:
    text = "SELECT ?a ?b WHERE { ?a ?b ?c } # note\nORDER BY ?a DESC(?b) asc(?c) # the end\n"
    plan = sorting.plan(text)
    assert plan == sorting.Plan("SELECT ?a ?b WHERE { ?a ?b ?c } # note\n", (("a", False), ("b", True), ("c", False)))


def test_an_order_by_a_variable_the_answer_does_not_show_goes_to_the_engine(kg: amurkg.KnowledgeGraph) -> None:
    _, here = ours(kg, "SELECT ?a WHERE { VALUES (?a ?b) { (1 2) (2 1) } } ORDER BY ?b")
    assert not here


def test_canned_queries_sorted_here_equal_the_engines_sort(
    kg: amurkg.KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    sorted_here = 0
    for canned in list_queries():
        if canned.reasoning or any(p.required for p in canned.parameters) or sorting.plan(canned.text) is None:
            continue
        rows, here = watching(sorting, "order", lambda c=canned: kg.run(c.name).rows)  # type: ignore[union-attr]
        with monkeypatch.context() as m:
            m.setattr(sorting, "plan", lambda _text: None)
            assert rows == kg.run(canned.name).rows, canned.name  # type: ignore[union-attr]
        sorted_here += here
    assert sorted_here >= 10  # most canned queries no longer fork


def test_survey_queries_on_a_store_are_sorted_here_as_the_engine_sorts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMURKG_NO_ANSWER_CACHE", "1")  # computed, not read back
    store = tmp_path / "store"
    amurkg.import_package(store, generate(tmp_path / "generated", 300, seed=5))
    sorted_here = 0
    with amurkg.KnowledgeGraph(store=store) as kg:
        for name in ("survey-effort", "activity-pattern", "detection-rate", "prey-detection-rate", "co-detections"):
            taken = {p.name for p in get_query(name).parameters}
            for params in ({}, {"since": "2021-01-01T00:00:00Z"}, {"interval": "5"}):
                if not set(params) <= taken:
                    continue
                rows, here = watching(sorting, "order", lambda n=name, p=params: kg.run(n, p).rows)  # type: ignore[misc]
                with monkeypatch.context() as m:
                    m.setattr(sorting, "plan", lambda _text: None)
                    assert rows == kg.run(name, params).rows, (name, params)  # type: ignore[union-attr]
                assert rows, (name, params)
                sorted_here += here
    assert sorted_here >= 5
