"""Answers of canned queries kept beside a store (amurkg.answers): the same answer as the engine's, gone when the
store changes, never read from a file this amurkg did not write as it wrote it, never kept for a reader of
exact coordinates, and nothing kept where the folder cannot be written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg import answers
from amurkg.results import SelectStream, Term
from amurkg.store import StoreError
from amurkg.survey import corrections as corr
from amurkg.survey.generate import generate
from amurkg.survey.importer import list_imports

EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
SURVEY = ["survey-effort", "detection-rate", "detection-rate-any", "prey-detection-rate", "activity-pattern"]
SURVEY += ["activity-pattern-any", "co-detections", "co-detections-any"]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    amurkg.import_package(path, generate(tmp_path / "generated", 300, seed=3))
    return path


def engine_rows(store: Path, name: str, params: dict[str, str] | None = None) -> Any:
    """The answer computed, nothing read back or kept."""
    saved = os.environ.get("AMURKG_NO_ANSWER_CACHE")
    os.environ["AMURKG_NO_ANSWER_CACHE"] = "1"
    try:
        with amurkg.KnowledgeGraph(store=store) as kg:
            return kg.run(name, params).rows
    finally:
        if saved is None:
            del os.environ["AMURKG_NO_ANSWER_CACHE"]
        else:
            os.environ["AMURKG_NO_ANSWER_CACHE"] = saved


def kept_files(store: Path) -> list[Path]:
    folder = store / answers.FOLDER
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def computed(kg: Any, name: str, params: dict[str, str] | None = None) -> tuple[Any, bool]:
    """kg.run's rows, and whether they were computed (False: read back as kept)."""
    found = []
    real = answers.read

    def spy(*args: Any) -> Any:
        out = real(*args)
        found.append(out is not None)
        return out

    from unittest import mock

    with mock.patch.object(answers, "read", spy):
        rows = kg.run(name, params).rows
    return rows, not any(found)


def test_an_import_keeps_the_survey_queries_answers_and_they_are_the_engines(store: Path) -> None:
    assert len(kept_files(store)) == len(SURVEY)  # precomputed at import, at their defaults
    with amurkg.KnowledgeGraph(store=store) as kg:
        for name in SURVEY:
            rows, asked = computed(kg, name)
            assert not asked, name  # read back: the engine was not asked
            assert rows == engine_rows(store, name), name
            assert rows, name


def test_other_parameters_are_computed_once_then_read_back(store: Path) -> None:
    params = {"interval": "60", "taxon": "Panthera pardus orientalis"}
    with amurkg.KnowledgeGraph(store=store) as kg:
        first, asked_first = computed(kg, "detection-rate", params)
        again, asked_again = computed(kg, "detection-rate", params)
    assert asked_first and not asked_again
    assert first == again == engine_rows(store, "detection-rate", params)
    assert len(kept_files(store)) == len(SURVEY) + 1


def test_a_change_to_the_store_removes_what_was_kept(store: Path, tmp_path: Path) -> None:
    before = engine_rows(store, "survey-effort")
    amurkg.import_package(store, EXAMPLE)
    after = amurkg.KnowledgeGraph(store=store)
    try:
        rows, _ = computed(after, "survey-effort")
    finally:
        after.close()
    assert rows == engine_rows(store, "survey-effort") and len(rows) > len(before)
    # a correction: the counts change, and so does what is kept
    deployment = before[0][1].value
    shifted_before = engine_rows(store, "activity-pattern-any")
    corr.shift_time(
        store, [deployment], "+07:00", "clock on another zone", by="t", package="synthetic-amur-survey-300-3"
    )
    with amurkg.KnowledgeGraph(store=store) as kg:
        rows, _ = computed(kg, "activity-pattern-any")
    assert rows == engine_rows(store, "activity-pattern-any") != shifted_before


def test_a_writer_that_cannot_remove_them_does_not_change_the_store(store: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(store / answers.FOLDER, elsewhere)
    (store / answers.FOLDER).symlink_to(elsewhere, target_is_directory=True)  # rmtree refuses a link
    with pytest.raises(StoreError, match="cannot be written"):
        amurkg.import_package(store, EXAMPLE)
    assert [r.identifier for r in list_imports(store)] == ["synthetic-amur-survey-300-3"]


def test_a_reader_of_exact_locations_neither_reads_nor_keeps(store: Path) -> None:
    for path in kept_files(store):
        path.unlink()
    with amurkg.KnowledgeGraph(store=store) as kg:
        kg.engine.handle.exact_locations = True  # as `amurkg query --exact-locations` opts in
        _, asked = computed(kg, "survey-effort")
        _, asked_again = computed(kg, "survey-effort")
    assert asked and asked_again and kept_files(store) == []


def test_nothing_is_kept_where_the_folder_cannot_be_made(store: Path) -> None:
    shutil.rmtree(store / answers.FOLDER)
    (store / answers.FOLDER).write_text("not a folder")  # what a read-only folder does to a writer, even to root
    with amurkg.KnowledgeGraph(store=store) as kg:
        rows, computed_first = computed(kg, "survey-effort")
        again, computed_again = computed(kg, "survey-effort")
    assert computed_first and computed_again
    assert rows == again == engine_rows(store, "survey-effort")
    assert (store / answers.FOLDER).read_text() == "not a folder"


def test_keeping_can_be_turned_off(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMURKG_NO_ANSWER_CACHE", "1")
    with amurkg.KnowledgeGraph(store=store) as kg:
        _, asked = computed(kg, "survey-effort")
        _, asked_again = computed(kg, "detection-rate", {"interval": "5"})
    assert asked and asked_again and len(kept_files(store)) == len(SURVEY)


# ------------------------------------------------------------------ the files, read as untrusted

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
TERMS = st.one_of(
    st.none(),
    st.builds(Term.iri, st.text(max_size=30)),
    st.builds(lambda v: Term("bnode", v), st.text(min_size=1, max_size=10)),
    st.builds(Term.literal, st.text(max_size=30), st.sampled_from([None, "http://www.w3.org/2001/XMLSchema#integer"])),
    st.builds(
        lambda v, lang: Term.literal(v, lang=lang), st.text(max_size=30), st.sampled_from(["en", "ru", "zh-hans"])
    ),
)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(0, 4), data=st.data())
def test_what_is_kept_reads_back_term_for_term(tmp_path_factory: pytest.TempPathFactory, width: int, data: Any) -> None:
    folder = tmp_path_factory.mktemp("kept")
    variables = [f"v{i}" for i in range(width)]
    rows = data.draw(st.lists(st.tuples(*[TERMS] * width), max_size=20))
    answer = answers.keep(folder, "k", SelectStream(variables, iter(rows)), lambda: True)
    assert list(answer.rows) == rows  # the asker reads it as computed
    back = answers.read(folder, "k")
    assert back is not None and back.variables == variables and list(back.rows) == rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
        st.just(b"[" * 100_000),
        st.just(b'{"variables": ["a"], "variables": ["b"], "rows": []}'),
        st.just(b'{"variables": ["a"], "rows": [[["l", "x", "http://d", "en"]]]}'),
        st.just(b'{"variables": ["a"], "rows": [[["u", 1]]]}'),
        st.just(b'{"variables": ["a", "b"], "rows": [[null]]}'),
    )
)
def test_a_file_it_did_not_write_is_a_miss_and_the_engine_answers(store: Path, content: bytes) -> None:
    name = "survey-effort"
    [path] = [p for p in kept_files(store) if _is_answer_of(p, engine_rows(store, name))]
    path.write_bytes(content)
    with amurkg.KnowledgeGraph(store=store) as kg:
        rows, asked = computed(kg, name)
    assert asked and rows == engine_rows(store, name)


def _is_answer_of(path: Path, rows: Any) -> bool:
    found = answers.read(path.parent.parent, path.stem)
    return found is not None and list(found.rows) == rows


def test_at_most_so_many_answers_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answers, "MAX_ENTRIES", 3)
    for i in range(5):
        list(answers.keep(tmp_path, f"k{i}", SelectStream(["a"], iter([(Term.literal(str(i)),)])), lambda: True).rows)
        os.utime(tmp_path / answers.FOLDER / f"k{i}.json", ns=(i * 10**9, i * 10**9))
    assert sorted(p.stem for p in kept_files(tmp_path)) == ["k2", "k3", "k4"]


def test_an_answer_read_only_in_part_is_not_kept(tmp_path: Path) -> None:
    rows = iter([(Term.literal("1"),), (Term.literal("2"),)])
    answer = answers.keep(tmp_path, "k", SelectStream(["a"], rows), lambda: True)
    next(answer.rows)
    assert answers.read(tmp_path, "k") is None


def test_an_answer_read_to_its_end_after_the_store_closed_is_not_kept(store: Path) -> None:
    kg = amurkg.KnowledgeGraph(store=store)
    answer = kg.run_stream("detection-rate", {"interval": "120"})
    kg.close()  # a writer may change the store now, before the rows are read
    assert isinstance(answer, SelectStream) and list(answer.rows)
    assert len(kept_files(store)) == len(SURVEY)


def test_a_query_that_may_answer_otherwise_on_the_same_data_is_not_kept() -> None:
    assert not answers.keepable("SELECT (NOW() AS ?t) {}")
    assert not answers.keepable("SELECT ?x { BIND(rand ( ) AS ?x) }")
    assert not answers.keepable("SELECT ?x { BIND(STRUUID() AS ?x) }")
    assert answers.keepable("SELECT ?known { ?s <http://x/knows> ?known }")  # a word, not a call
