"""A store on a read-only folder or file system (a shared mount, a published copy): its lock file can be opened
for reading only. A reader shares the lock through that handle and queries answer; a writer is refused in one
line. Running as root ignores permission bits, so the read-only file system is simulated at ``open``."""

from __future__ import annotations

import errno
import pathlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from amurkg.graph import KnowledgeGraph
from amurkg.store import LOCK_FILE, Store, StoreError
from amurkg.survey.importer import import_package

SMALL = Path(__file__).resolve().parent / "data" / "survey-small"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("ro") / "store"
    import_package(store, SMALL)
    return store


def read_only_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pathlib.Path.open

    def refuse(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self.name == LOCK_FILE and any(c in mode for c in "wa+x"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, mode, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)


def test_a_reader_of_a_read_only_store_answers(made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    shutil.copytree(made, store)
    read_only_lock(monkeypatch)
    kg = KnowledgeGraph([], store=store)
    try:
        assert kg.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1").rows
    finally:
        kg.close()


def test_a_writer_of_a_read_only_store_is_refused_in_one_line(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    shutil.copytree(made, store)
    read_only_lock(monkeypatch)
    with pytest.raises(StoreError, match="lock file cannot be opened") as caught:
        Store.open(store, write=True)
    assert "\n" not in str(caught.value)


def test_a_view_being_made_is_never_taken_for_a_dead_one(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another reader opening the store between the moment a view's lock file exists and the moment it is
    locked must not remove that view (it would make the query fail, or leave an unlocked view)."""
    import fcntl

    from amurkg import store as store_module

    folder = tmp_path / "store"
    shutil.copytree(made, folder)
    real = fcntl.flock
    seen: list[int] = []

    def late(handle: Any, flags: int) -> None:
        name = getattr(handle, "name", "")
        if not seen and isinstance(name, str) and name.endswith("/lock") and f"/{store_module.VIEWS}/" in name:
            seen.append(1)
            store_module._remove_dead_views(folder, everything=False)  # another opener, right now
        real(handle, flags)

    monkeypatch.setattr(fcntl, "flock", late)
    reader = Store.open(folder)
    try:
        reader.exact_locations = True
        target, _ = reader.reader()
        assert seen and next(iter(target.quads_for_pattern(None, None, None, None)), None) is not None
        mine = reader._views[(True, False)].folder
        assert mine.is_dir() and (mine / "lock").is_file()
        del target  # the view's database is closed when nothing refers to it
    finally:
        reader.close()
    assert not mine.exists()


def test_the_scratch_view_of_an_import_is_closed_before_it_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """protect() reads exact coordinates through a scratch view: if anything still refers to the view's database
    when its folder is removed, RocksDB keeps writing there and a copy holding the exact coordinates stays in
    views/ (seen after about 1 import in 6), which no reader removes (its lock file is gone)."""
    import sys

    from amurkg import store as store_module

    made: list[Any] = []
    held: list[int] = []
    real_make, real_remove = store_module._View.make.__func__, store_module._remove_view  # type: ignore[attr-defined]

    def make(cls: Any, *args: Any, **kwargs: Any) -> Any:
        view = real_make(cls, *args, **kwargs)
        made.append(view.ox)
        return view

    def remove(folder: Path, lock: Any, pid: int) -> None:
        database = made.pop()
        held.append(sys.getrefcount(database) - 2)  # references besides ours and getrefcount's argument
        del database  # ours too: a reference the test kept would leave the database open (and writing) as well
        real_remove(folder, lock, pid)

    monkeypatch.setattr(store_module._View, "make", classmethod(make))
    monkeypatch.setattr(store_module, "_remove_view", remove)
    import_package(tmp_path / "store", SMALL)
    assert held == [0]
    assert not any((tmp_path / "store" / store_module.VIEWS).iterdir())
