"""When an import compacts the store's database: a compaction rewrites most of the database whatever the
import's size, so an import compacts only once the triples loaded (or dropped) since the last compaction reach
a quarter of what the store holds. The compactions of any sequence of imports then rewrite at most four times
the triples those imports loaded: an import's cost grows with the import, not with the store. ``--compact``
and ``--no-compact`` choose for themselves; ``amurkg import --compact --store DIR`` compacts now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from places import package_at
from typer.testing import CliRunner

from amurkg.cli import app
from amurkg.store import MARKER, Store
from amurkg.survey import importer
from amurkg.survey.importer import COMPACT_SHARE, import_package, remove_package

SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"


def _renamed(folder: Path, name: str) -> Path:
    """survey-small as a package of its own, named ``name``."""
    package = package_at(folder / name, {"D1": (43.1, 131.5), "D2": (43.2, 131.6)}, {"D1"})
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["id"] = descriptor["name"] = name
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return package


@pytest.fixture
def compactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """For each compaction of a store's database (``optimize`` of db/), how many quads it held."""
    held: list[int] = []
    real = ox.Store.optimize

    def counted(self: ox.Store) -> None:
        held.append(len(self))
        real(self)

    monkeypatch.setattr(ox.Store, "optimize", counted)
    return held


def _owed(store: Path) -> Any:
    return json.loads((store / MARKER).read_text(encoding="utf-8")).get("uncompacted_triples")


def _held(store: Path) -> int:
    with Store.open(store) as handle:
        return sum(r.triples for r in handle.imports())


def test_imports_compact_once_a_quarter_of_the_store_is_new(tmp_path: Path, compactions: list[int]) -> None:
    store = tmp_path / "store"
    import_package(store, EXAMPLE)  # the whole store is new
    assert len(compactions) == 1 and _owed(store) == 0
    loaded, decided = _held(store), []
    for i in range(12):
        owed, before = _owed(store), len(compactions)
        report = import_package(store, _renamed(tmp_path, f"small-{i}"))
        loaded += report.stats.triples
        due = owed + report.stats.triples >= COMPACT_SHARE * _held(store)
        decided.append(due)
        assert len(compactions) == before + due
        assert _owed(store) == (0 if due else owed + report.stats.triples)
    assert True in decided and False in decided  # both ways, in this sequence
    # what the compactions rewrote (the whole database each time, curated graph included, which no import
    # loaded) against what the imports loaded: bounded by 1 / COMPACT_SHARE, plus the curated graph each time
    with Store.open(store) as handle:
        curated = len(handle.ox) - sum(r.triples for r in handle.imports())
    rewritten = sum(held - curated for held in compactions)
    assert rewritten <= loaded / COMPACT_SHARE * 1.1  # the generalised twins add a little to what was loaded


def test_a_replaced_or_removed_package_counts_what_it_dropped(tmp_path: Path, compactions: list[int]) -> None:
    store = tmp_path / "store"
    import_package(store, EXAMPLE)
    small = import_package(store, SMALL).stats.triples
    assert _owed(store) == small  # a small share of the store: not compacted
    assert len(compactions) == 1
    import_package(store, SMALL)  # replaced: what it loads and what it drops
    assert _owed(store) == 3 * small
    remove_package(store, "amurkg-test-survey-2023")
    assert _owed(store) == 4 * small and len(compactions) == 1


def test_compact_and_no_compact_choose_and_compact_alone_compacts_now(tmp_path: Path, compactions: list[int]) -> None:
    store = tmp_path / "store"
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(EXAMPLE), "--store", str(store), "--no-compact"])
    assert result.exit_code == 0, result.output
    assert not compactions and _owed(store) == _held(store)
    first, second = _renamed(tmp_path, "first"), _renamed(tmp_path, "second")
    result = runner.invoke(app, ["import", str(first), str(second), "--store", str(store), "--compact"])
    assert result.exit_code == 0, result.output
    assert len(compactions) == 1 and _owed(store) == 0  # once, after both
    assert "compacted" in result.output
    with Store.open(store) as handle:
        assert len(handle.imports()) == 3
    result = runner.invoke(app, ["import", "--compact", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert len(compactions) == 2 and _owed(store) == 0
    result = runner.invoke(app, ["import", "--no-compact", "--store", str(store)])
    assert result.exit_code == 2 and "--compact" in result.output


def test_compact_on_a_missing_store_is_refused_without_making_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", "--compact", "--store", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert not (tmp_path / "none").exists()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(1 << 62)  # the first count read as nothing owed
@example((1 << 62) - 1)  # the largest read as owed: due
@given(
    st.one_of(
        st.text(max_size=5),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.integers(), max_size=2),
        st.none(),
    )
)
def test_a_hostile_count_in_the_store_description_is_read_as_nothing_owed(
    tmp_path_factory: pytest.TempPathFactory, value: Any
) -> None:
    """A store description edited by hand (or by another program): a count that is not a whole number of
    triples, or one too large to add to (2**62 or more), is read as nothing owed, a huge one below that as due;
    the import stands either way."""
    store = tmp_path_factory.mktemp("hostile") / "store"
    import_package(store, EXAMPLE)
    marker = json.loads((store / MARKER).read_text(encoding="utf-8"))
    (store / MARKER).write_text(json.dumps({**marker, "uncompacted_triples": value}), encoding="utf-8")
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62
    with pytest.MonkeyPatch.context() as patch:
        called: list[bool] = []
        real = importer._compact

        def spy(handle: Any) -> bool:
            called.append(True)
            return real(handle)

        patch.setattr(importer, "_compact", spy)
        report = import_package(store, SMALL)
    due = (value if valid else 0) + report.stats.triples >= COMPACT_SHARE * _held(store)
    assert called == ([True] if due else [])
    assert _owed(store) == (0 if due else (value if valid else 0) + report.stats.triples)


def test_a_count_too_large_to_write_back_is_read_as_nothing_owed(tmp_path: Path) -> None:
    """The largest whole number Python's json reads (4,300 digits) could not be written back once a package was
    added to it: the import, or the removal, would end in a traceback with the store's description unwritten."""
    store = tmp_path / "store"
    import_package(store, EXAMPLE)
    marker = (store / MARKER).read_text(encoding="utf-8")
    (store / MARKER).write_text(marker.replace('"uncompacted_triples": 0', '"uncompacted_triples": ' + "9" * 4000))
    result = CliRunner().invoke(app, ["import", str(SMALL), "--store", str(store), "--no-compact"])
    assert result.exit_code == 0, result.output
    assert _owed(store) == _held(store) - _held_without(store, "amurkg-test-survey-2023")


def _held_without(store: Path, identifier: str) -> int:
    with Store.open(store) as handle:
        return sum(r.triples for r in handle.imports() if r.identifier != identifier)


@pytest.mark.parametrize(
    "options", [["--compact", "--grid", "0.5"], ["--compact", "--replace"], ["--list", "--grid", "1"]]
)
def test_options_for_imported_packages_are_refused_without_one(tmp_path: Path, options: list[str]) -> None:
    store = tmp_path / "store"
    import_package(store, SMALL)
    result = CliRunner().invoke(app, ["import", *options, "--store", str(store)])
    assert result.exit_code == 2
    assert ("--grid" if "--grid" in options else "--replace") in result.output


def test_a_ctrl_c_once_the_import_is_registered_keeps_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C while the replaced import's graph is dropped: the new import is registered, so its graph stays
    (before, it was dropped too, and the package was listed with nothing in it)."""
    store = tmp_path / "store"
    import_package(store, SMALL)
    real = Store.drop

    def interrupted(self: Store, graph: str) -> None:
        real(self, graph)
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "drop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_package(store, SMALL)
    monkeypatch.undo()
    with Store.open(store) as handle:
        (record,) = handle.imports()
        assert handle.count(record.graph) > 0
