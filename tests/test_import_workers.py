"""Imports map rows in worker processes: the same triples and the same messages whatever their number.

The rows of a Camtrap DP package are checked and mapped in chunks (``amurkg.survey.chunks``), by worker
processes started with ``spawn`` (as on macOS and Windows) or in-process. What may not change with the number
of workers: the triples stored, every ``file:row:column`` message and their order (the first problem in file
order is the first reported), and what is left on disk when an import fails.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amurkg.errors import AmurkgError
from amurkg.store import STAGING_PREFIX, Store
from amurkg.survey import chunks, importer
from amurkg.survey.camtrapdp import PackageError, open_package
from amurkg.survey.importer import import_package
from amurkg.survey.rdf import TaxonIndex
from amurkg.survey.tables import Problems

EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _import_quads(store: Path) -> set[str]:
    """The quads of the store's import graphs (the import's own graph and its twins), as N-Quads text with the
    graphs' random names made equal."""
    with Store.open(store) as handle:
        return {
            _UUID.sub("G", str(quad))
            for quad in handle.ox.quads_for_pattern(None, None, None, None)
            if _UUID.search(str(quad.graph_name))
        }


def test_the_stored_triples_are_the_same_with_1_2_and_4_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 97)  # many chunks, handed out of step with the tables' ends
    found = {}
    for count in (1, 2, 4):
        monkeypatch.setenv(chunks.WORKERS_ENV, str(count))
        report = import_package(tmp_path / f"store-{count}", EXAMPLE)
        found[count] = (_import_quads(tmp_path / f"store-{count}"), report.summary(), report.stats.triples)
    assert found[1][0] and len(found[1][0]) >= found[1][2]
    assert found[1] == found[2] == found[4]


def test_workers_are_spawned_and_their_number_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    executor = chunks._executor(2)
    try:
        assert executor._mp_context.get_start_method() == "spawn"  # never fork-only state, on any OS
    finally:
        executor.shutdown()
    assert isinstance(chunks._executor(1), chunks._InProcess)
    monkeypatch.delenv(chunks.WORKERS_ENV, raising=False)
    assert 1 <= chunks.workers(10**9) <= min(chunks.MAX_WORKERS, chunks.available_cores())
    assert chunks.workers(1000) == 1  # a small package is not worth starting processes for
    monkeypatch.setenv(chunks.WORKERS_ENV, "3")
    assert chunks.workers(1000) == 3
    for bad in ("0", "-1", "two", "65", "1.5"):
        monkeypatch.setenv(chunks.WORKERS_ENV, bad)
        with pytest.raises(AmurkgError, match=chunks.WORKERS_ENV):
            chunks.workers(10**9)


@settings(max_examples=200)
@given(st.text(min_size=1, max_size=8).filter(lambda t: "\0" not in t))
def test_any_workers_value_is_a_count_or_one_line(value: str) -> None:
    """Whatever AMURKG_IMPORT_WORKERS holds (superscript or other Unicode digits included): a count of 1 to 64
    written in ASCII digits, or the one-line error, never a traceback."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(chunks.WORKERS_ENV, value)
        try:
            count = chunks.workers(10**9)
        except AmurkgError as exc:
            assert "\n" not in str(exc)
        else:
            if value.strip():
                assert value.strip().isascii() and count == int(value.strip()) and 1 <= count <= 64
            else:  # only blanks: as if unset
                assert 1 <= count <= min(chunks.MAX_WORKERS, chunks.available_cores())


def _rewrite(folder: Path, table: str, change: dict[int, dict[str, str]]) -> None:
    """Set cells of ``table`` (row numbers as messages count them: the header is row 1)."""
    path = folder / f"{table}.csv"
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    for number, cells in change.items():
        for column, value in cells.items():
            rows[number - 1][rows[0].index(column)] = value
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), "utf-8")


def _sequential_problems(folder: Path, limit: int = 50) -> list[str]:
    """The problems as the one-process reader (``CameraTrapPackage.rows``, also behind ``amurkg validate``)
    reports them."""
    problems = Problems(limit)
    with open_package(folder) as package:
        for _ in package.rows(problems):
            pass
    return problems.lines()


def _import_problems(folder: Path, limit: int = 50) -> list[str]:
    """The problems the import reports (its rows mapped in chunks), without a store."""
    try:
        for _ in importer._package_blocks(folder, TaxonIndex(), limit, lambda *_: None):
            pass
    except PackageError as error:
        return error.problems
    return []


def test_the_first_problem_in_file_order_is_reported_first_whatever_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Problems late in one chunk and in later chunks, of the cells (found by a worker) and of the keys
    (found by the reading process), come out in file order, the same with any number of workers."""
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLE, broken)
    _rewrite(
        broken,
        "observations",
        {
            95: {"count": "many"},  # late in the first chunk of 97 rows (row 1 is the header)
            96: {"observationID": "705e6036"},  # a duplicate of row 2's ID: the reading process finds it
            250: {"observationType": "not-a-type"},  # a later chunk
            251: {"eventEnd": "2000-01-01T00:00:00Z"},  # before its start: the time check
        },
    )
    _rewrite(broken, "media", {300: {"timestamp": "yesterday"}})
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 97)
    expected = _sequential_problems(broken)
    assert len(expected) == 5 and expected[0].startswith(f"{broken / 'media.csv'}:300:")
    assert [line.split(":")[1] for line in expected[1:]] == ["95", "96", "250", "251"]
    for count in (1, 2, 4):
        monkeypatch.setenv(chunks.WORKERS_ENV, str(count))
        assert _import_problems(broken) == expected
        store = tmp_path / f"store-{count}"
        with pytest.raises(PackageError):
            import_package(store, broken)
        assert not store.exists()  # the store this import would have made: no trace of it
    monkeypatch.setenv(chunks.WORKERS_ENV, "2")
    assert _import_problems(broken, limit=2) == [*expected[:2], "... and 3 more problems"]


_CELLS = {  # column -> values that are wrong there, each for its own reason
    "count": ["many", "-1", "1.5"],
    "observationType": ["not-a-type", "Animal"],
    "eventStart": ["yesterday", "2020-13-01T00:00:00Z", "1999-01-01T00:00:00Z"],
    "observationID": ["705e6036", "", "a\x00b"],
    "deploymentID": ["nowhere", ""],
    "mediaID": ["no-such-media"],
    "scientificName": ["Panthera\u202epardus"],
    "classificationProbability": ["2", "x"],
}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.lists(
        st.tuples(st.integers(2, 550), st.sampled_from(sorted(_CELLS)), st.integers(0, 3)), min_size=1, max_size=6
    ),
    chunk=st.integers(1, 60),
    limit=st.integers(1, 8),
)
def test_any_broken_rows_give_the_messages_of_the_one_process_reader(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    changes: list[tuple[int, str, int]],
    chunk: int,
    limit: int,
) -> None:
    """Whatever cells are broken, wherever the chunks end, and whatever the limit on messages: the import
    reports the problems, in the order and words, that reading the package in one process does."""
    broken = tmp_path_factory.mktemp("broken") / "package"
    shutil.copytree(EXAMPLE, broken)
    edits: dict[int, dict[str, str]] = {}
    for number, column, which in changes:
        edits.setdefault(number, {})[column] = _CELLS[column][which % len(_CELLS[column])]
    _rewrite(broken, "observations", edits)
    monkeypatch.setattr(chunks, "CHUNK_ROWS", chunk)
    monkeypatch.setenv(chunks.WORKERS_ENV, "1")  # in-process: the same function the workers run
    expected = _sequential_problems(broken, limit)
    assert _import_problems(broken, limit) == expected


def test_a_worker_that_dies_is_one_line_and_leaves_no_staged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    import_package(store, REPO / "tests" / "data" / "survey-small")
    before = _import_quads(store)
    monkeypatch.setenv(chunks.WORKERS_ENV, "2")
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 50)
    monkeypatch.setattr(chunks, "map_chunk", _die)  # what the workers run: pickled by name, so found there
    with pytest.raises(AmurkgError) as caught:
        import_package(store, EXAMPLE)
    assert "\n" not in str(caught.value) and chunks.WORKERS_ENV in str(caught.value)
    assert not list(store.glob(STAGING_PREFIX + "*"))
    assert _import_quads(store) == before


def _die(*_: object) -> None:
    import os

    os._exit(3)
