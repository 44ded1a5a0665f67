"""`amurkg serve` writes SELECT answers with the engine's own JSON serializer: the rows are counted in its
text (``amurkg.results.json_rows``, and as the text is written by the worker's ``_FrameWriter``), and the
answer says what the rows read one by one say."""

from __future__ import annotations

import io
import itertools
import json

import pyoxigraph as ox
import pytest
from conftest import PARAMS
from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.catalog import list_queries
from amurkg.errors import LimitError
from amurkg.results import SelectStream, json_rows, write_result
from amurkg.serve.worker import _FrameWriter

#: Text that looks like the structure the count reads: row and binding separators, empty objects, quotes,
#: backslashes, control characters and text beyond the Basic Multilingual Plane.
_TRICKY = st.one_of(
    st.sampled_from(["},{", "}},{", '},{"', '"},{"x":{', "{}", "},{}", "x},{"]),
    st.text(
        alphabet=st.sampled_from(["}", "{", ",", '"', "\\", ":", "[", "]", "x", "\n", "\t", "\x01", "é", "\U0001f406"]),
        max_size=12,
    ),
)
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
_TERM = st.one_of(
    st.none(),
    st.builds(lambda s: ox.NamedNode("http://example.org/" + "".join(c for c in s if c.isalnum())), _TRICKY),
    st.builds(ox.Literal, _TRICKY),
    st.builds(lambda s: ox.Literal(s, language="en"), _TRICKY),
    st.builds(
        lambda n: ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")), st.integers()
    ),
)


def _values_query(width: int, rows: list[tuple[ox.NamedNode | ox.Literal | None, ...]]) -> str:
    names = " ".join(f"?v{i}" for i in range(width))
    body = " ".join("(" + " ".join("UNDEF" if t is None else str(t) for t in row) + ")" for row in rows)
    return f"SELECT * WHERE {{ VALUES ({names}) {{ {body} }} }}"


@settings(max_examples=300, deadline=None)
@given(width=st.integers(1, 3), data=st.data())
def test_rows_are_counted_in_the_engines_json_and_in_amurkgs(width: int, data: st.DataObject) -> None:
    """The count is the parsed count, or None (then the answer is parsed): never a wrong number, and None only
    where ``{}`` occurs in the text."""
    rows = data.draw(st.lists(st.tuples(*[_TERM] * width), max_size=8))
    answer = ox.Store().query(_values_query(width, rows))
    native = answer.serialize(format=ox.QueryResultsFormat.JSON)
    kg = amurkg.load()
    ours = io.BytesIO()
    write_result(kg.query(_values_query(width, rows)), "json", ours, raw=True, compact=True)  # type: ignore[arg-type]
    for body in (native, ours.getvalue()):
        parsed = len(json.loads(body)["results"]["bindings"])
        assert parsed == len(rows)
        counted = json_rows(body)
        assert counted in (None, parsed)
        assert (counted is None) == (b"{}" in body)


def test_text_in_another_form_is_not_counted() -> None:
    """Indented JSON (another writer's) is parsed, never miscounted."""
    pretty = json.dumps({"head": {"vars": ["a"]}, "results": {"bindings": [{"a": {"type": "uri", "value": "x"}}] * 3}})
    assert json_rows(pretty.encode()) is None
    assert json_rows(b'{"head":{"vars":["a"]},"results":{"bindings":[]}}') == 0
    assert json_rows(b"not json") is None


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, 40),
    text=_TRICKY,
    cuts=st.lists(st.integers(1, 4000), max_size=12),
    limit=st.integers(0, 45),
)
def test_the_worker_stops_at_the_row_past_its_limit_however_the_text_is_cut(
    count: int, text: str, cuts: list[int], limit: int
) -> None:
    """Written in chunks cut anywhere (the engine writes about 8 kB at a time), an answer of ``count`` rows is
    stopped exactly when it has more than ``limit`` rows: as it is written from the second row past the limit
    (every boundary is counted once), else by the last check."""
    rows = [(ox.Literal(f"{i}{text}"),) for i in range(count)]  # texts that may end as a boundary begins
    body = ox.Store().query(_values_query(1, rows)).serialize(format=ox.QueryResultsFormat.JSON)
    out = _FrameWriter(None, "application/sparql-results+json", 10**9)  # type: ignore[arg-type]
    out.count_rows(limit)
    bounds = sorted({c for c in cuts if c < len(body)} | {0, len(body)})
    stopped = False
    try:
        for start, end in itertools.pairwise(bounds):
            out.write(body[start:end])
        assert out.boundaries == max(count - 1, 0)
        out.check_rows()  # the worker's last check: one row against a limit of none is not a boundary
    except LimitError:
        stopped = True
    assert stopped == (count > limit)
    if not stopped:
        assert bytes(out.buffer) == body


@pytest.mark.parametrize("name", [q.name for q in list_queries() if not q.reasoning])
def test_the_engines_json_says_what_amurkgs_rows_say(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every canned SELECT on the shipped graph: the same variables and the same rows, in the same order."""
    from amurkg import isolation

    monkeypatch.setattr(isolation, "_enabled", False)  # as in a worker of amurkg serve: sorting queries too
    kg = amurkg.load()
    canned = amurkg.get_query(name)
    checked = kg.check(canned.text, kg.bind_parameters(canned, PARAMS.get(name, {})), name)
    if checked.form != "SELECT":
        assert not kg.write_json(checked, io.BytesIO(), name)
        return
    native = io.BytesIO()
    assert kg.write_json(checked, native, name)
    ours = io.BytesIO()
    answer = kg.execute(checked, name)
    assert isinstance(answer, SelectStream)
    write_result(answer, "json", ours, raw=True, compact=True)
    assert json.loads(native.getvalue()) == json.loads(ours.getvalue())


def test_an_ask_or_a_sorting_query_under_isolation_is_left_to_execute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is written where ``execute`` must answer: an ASK, and an ORDER BY where the engine is isolated
    (pyoxigraph may abort its process while ordering)."""
    from amurkg import isolation

    monkeypatch.setattr(isolation, "_enabled", True)
    kg = amurkg.load()
    out = io.BytesIO()
    assert not kg.write_json(kg.check("ASK { ?s ?p ?o }"), out)
    assert not kg.write_json(kg.check("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"), out)
    assert out.getvalue() == b""
    assert kg.write_json(kg.check("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"), out) and json_rows(out.getvalue()) == 1
