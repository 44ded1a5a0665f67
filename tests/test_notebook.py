"""What a notebook user meets: typed DataFrames, HTML tables, readable reprs, errors in Python's terms, and
calls that do not change what later calls see."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pandas as pd
import pytest

import amurkg
from amurkg.errors import AmurkgError, LimitError

TYPED = """
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?n ?d ?x ?when ?flag ?name ?thing WHERE {
  VALUES (?n ?d ?x ?when ?flag ?name ?thing) {
    (1 1.50 2.5e0 "2012-04-05"^^xsd:date true "first" <https://w3id.org/amurkg/id/wild-boar>)
    (UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF)
    (-3 0.25 1.0e-1 "1999-12-31"^^xsd:date false "<b>bold</b>" <https://example.org/x>)
  }
}
"""


def test_dataframes_have_typed_columns_and_missing_values(kg: amurkg.KnowledgeGraph) -> None:
    df = kg.query(TYPED).to_dataframe()  # type: ignore[union-attr]
    assert list(df.columns) == ["n", "d", "x", "when", "flag", "name", "thing"]
    assert str(df["n"].dtype) == "Int64" and df["n"].tolist()[0] == 1 and pd.isna(df["n"][1])
    assert (df["d"][0] == Decimal("1.50") and df["d"][1] is None) or pd.isna(df["d"][1])
    assert str(df["x"].dtype) == "Float64" and df["x"][2] == pytest.approx(0.1)
    assert str(df["when"].dtype).startswith("datetime64") and df["when"][0].date() == datetime.date(2012, 4, 5)
    assert pd.isna(df["when"][1])
    assert str(df["flag"].dtype) == "boolean" and bool(df["flag"][0]) and not bool(df["flag"][2])
    assert str(df["name"].dtype) == "string" and df["thing"][0] == "amur:wild-boar"
    full = kg.query(TYPED).to_dataframe(iris="full")  # type: ignore[union-attr]
    assert full["thing"][0] == "https://w3id.org/amurkg/id/wild-boar"


def test_canned_answers_convert_too(kg: amurkg.KnowledgeGraph) -> None:
    area = kg.run("protected-areas").to_dataframe()  # type: ignore[union-attr]
    assert str(area["areaKm2"].dtype) == "Int64" and str(area["established"].dtype).startswith("datetime64")


def test_results_show_as_html_tables_in_jupyter(kg: amurkg.KnowledgeGraph) -> None:
    html = kg.query(TYPED)._repr_html_()  # type: ignore[union-attr]
    assert html.startswith("<table>") and "<th>when</th>" in html and "3 rows" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html  # values are escaped


def test_a_knowledge_graph_says_what_it_is(kg: amurkg.KnowledgeGraph) -> None:
    text = repr(kg)
    assert text.startswith("<KnowledgeGraph: ") and f"{len(kg):,} triples" in text and "oxigraph" in text


def test_errors_name_python_arguments_not_options(kg: amurkg.KnowledgeGraph) -> None:
    with pytest.raises(LimitError) as caught:
        kg.query("SELECT * WHERE { ?s ?p ?o }", max_rows=5)
    assert "max_rows=" in str(caught.value) and "--max-rows" not in str(caught.value)
    assert "--max-rows" in caught.value.for_cli()
    with pytest.raises(AmurkgError) as refused:
        kg.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    assert "KnowledgeGraph.remote(url)" in str(refused.value) and "--endpoint" not in str(refused.value)
