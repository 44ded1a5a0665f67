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
