"""A store on a read-only folder or file system (a shared mount, a published copy): its lock file can be opened
for reading only. A reader shares the lock through that handle and queries answer; a writer is refused in one
line. Running as root ignores permission bits, so the read-only file system is simulated at ``open``."""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from amurkg.graph import KnowledgeGraph
from amurkg.store import CURATED_GRAPH, LOCK_FILE, Store, StoreError
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

    import_package(tmp_path / "store", SMALL)  # the first import reads db/ itself: hidden/ holds no exact values yet
    monkeypatch.setattr(store_module._View, "make", classmethod(make))
    monkeypatch.setattr(store_module, "_remove_view", remove)
    import_package(tmp_path / "store", SMALL)  # again: the earlier import's exact values are read through a view
    assert held and set(held) == {0}  # a view for the new graph, and one for each earlier import it re-protects
    assert not any((tmp_path / "store" / store_module.VIEWS).iterdir())


# ------------------------------------------------------------------------------------------------------------------
# views of a store whose folder the reader cannot write

EXACT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY STR(?s) STR(?p) STR(?o)"  # sorted: answered in a fork too
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def unprivileged() -> list[str]:
    """The prefix that runs a command as a user who cannot write a folder made here: none for a user who is not
    root (a folder's permission bits then apply), setpriv to nobody for root (who ignores them)."""
    import os
    import subprocess
    import sys

    if os.getuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root ignores a folder's permission bits, and setpriv is not here to run as another user")
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if subprocess.run([*prefix, sys.executable, "-c", "import amurkg"], capture_output=True).returncode != 0:
        pytest.skip("nobody cannot run this Python or import amurkg from here")
    return prefix


def test_a_reader_that_cannot_write_the_store_makes_its_views_in_a_private_folder(made: Path) -> None:
    """Run for real as a user who cannot write the store's folder (a read-only mount, a published copy, another
    user's folder): --exact-locations and --reason answer exactly as for a reader who can, the views go in a
    private folder (0700) of the temporary folder and are gone when the command ends, a dead process's view left
    there is removed, and nothing is written in the store's folder."""
    import os
    import subprocess
    import sys
    import tempfile

    prefix = unprivileged()
    top = Path(tempfile.mkdtemp(prefix="amurkg-ro-"))
    try:
        top.chmod(0o755)
        store = top / "store"
        shutil.copytree(made, store)
        shutil.rmtree(store / "views", ignore_errors=True)
        scratch = top / "tmp"  # the reader's TMPDIR, so that what it leaves there can be seen
        scratch.mkdir()
        for path in [store, *store.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        if prefix:
            os.chown(scratch, 65534, -1)
        env = {**os.environ, "TMPDIR": str(scratch)}

        def amurkg(*args: str, reader: list[str]) -> bytes:
            done = subprocess.run(
                [*reader, sys.executable, "-m", "amurkg", *args, "--store", str(store), "-f", "csv"],
                capture_output=True,
                env=env,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr.decode()
            return done.stdout

        # a dead process's view in the private folder: its lock file is not locked by anyone
        made_dead = "import os, tempfile; from amurkg.store import private_views; d = private_views() / '1-dead'; "
        made_dead += "os.mkdir(d); open(d / 'lock', 'w').close(); print(private_views())"
        base = Path(
            subprocess.run(
                [*prefix, sys.executable, "-c", made_dead], capture_output=True, env=env, check=True, text=True
            ).stdout.strip()
        )
        assert base.parent == scratch and (base / "1-dead").is_dir()

        answers = [
            amurkg("sparql", q, *opts, reader=prefix)
            for q in (EXACT, COUNT)
            for opts in (["--exact-locations"], ["--reason"], ["--exact-locations", "--reason"])
        ]
        assert not (store / "views").exists()  # nothing written in the store's folder
        assert base.is_dir() and list(base.iterdir()) == []  # views removed at close, the dead one too
        assert (base.stat().st_mode & 0o777) == 0o700 and base.stat().st_uid == (65534 if prefix else os.getuid())

        for path in [store, *store.rglob("*")]:  # a reader who can write it: views in the store's folder
            path.chmod(0o755 if path.is_dir() else 0o644)
        owner = [
            amurkg("sparql", q, *opts, reader=[])
            for q in (EXACT, COUNT)
            for opts in (["--exact-locations"], ["--reason"], ["--exact-locations", "--reason"])
        ]
        assert answers == owner
        assert len(answers[0].splitlines()) > 1000 and answers[3] != answers[4]  # whole answers; --reason adds
    finally:
        for path in [top, *top.rglob("*")]:
            with contextlib.suppress(OSError):
                path.chmod(0o700 if path.is_dir() else 0o600)
        shutil.rmtree(top, ignore_errors=True)


def test_the_private_folder_of_views_must_be_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made 0700 where it is missing; refused in one line where it is open to others or a link (someone could
    have put it there first, to read the views or swap their files)."""
    import os
    import tempfile

    from amurkg.store import private_views

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    base = private_views()
    assert base == tmp_path / f"amurkg-views-{os.getuid()}" and (base.stat().st_mode & 0o777) == 0o700
    assert private_views() == base  # found again
    base.chmod(0o755)
    with pytest.raises(StoreError, match="not a private folder") as caught:
        private_views()
    assert "\n" not in str(caught.value)
    base.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    base.symlink_to(elsewhere)
    with pytest.raises(StoreError, match="not a private folder"):
        private_views()


class _Racing:
    """pyoxigraph.Store as a reader finds it while a program outside amurkg's lock writes the database: the first
    ``failures`` read-only opens find a file that the writer's compaction removed (RocksDB's own message)."""

    real: Any = None
    failures = 0
    opens = 0

    @classmethod
    def read_only(cls, path: str) -> Any:
        cls.opens += 1
        if cls.opens <= cls.failures:
            raise RuntimeError(
                f"Corruption: Corruption: IO error: No such file or directory: While open a file for random read: "
                f"{path}/000025.sst: No such file or directory  The file {path}/MANIFEST-000053 may be corrupted."
            )
        return cls.real.read_only(path)


def _racing(monkeypatch: pytest.MonkeyPatch, failures: int) -> type[_Racing]:
    import pyoxigraph

    racing = type("Racing", (_Racing,), {"real": pyoxigraph.Store, "failures": failures, "opens": 0})
    monkeypatch.setattr(pyoxigraph, "Store", racing)
    return racing


def test_a_reader_racing_a_foreign_writer_opens_at_the_next_try(
    empty_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen in CI: a raw pyoxigraph writer, opened beside a reader, compacted away a file the reader had listed,
    and the reader's RuntimeError left its lock file open. A reader now reads the listing again."""
    racing = _racing(monkeypatch, failures=1)
    with Store.open(empty_store) as store:
        assert store.count(CURATED_GRAPH) > 0
    assert racing.opens == 3  # the visible database twice (the first try failed), then the hidden one


def test_a_reader_that_never_finds_the_files_is_told_in_one_line_and_lets_the_store_go(
    empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from amurkg.cli import app
    from amurkg.store import OPEN_TRIES

    store = Path(shutil.copytree(empty_store, tmp_path / "store"))
    racing = _racing(monkeypatch, failures=10 * OPEN_TRIES)
    with pytest.raises(StoreError, match=r"the store cannot be opened: Corruption: .* No such file"):
        Store.open(store)
    assert racing.opens == OPEN_TRIES
    result = CliRunner().invoke(app, ["sparql", "--store", str(store), "ASK {}"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and "cannot be opened" in result.stderr
    monkeypatch.undo()
    Store.open(store, write=True).close()  # the lock was let go: a writer gets the store at once


_CTRL_C_AT_THE_LOCK = """
import gc, os, pathlib, signal, sys
from amurkg.store import Store, _View

signal.signal(signal.SIGINT, signal.default_int_handler)  # a parent that ignores Ctrl-C passes that on

real = pathlib.Path.open

def opening(self, *args, **kwargs):
    handle = real(self, *args, **kwargs)
    if self.name == "lock" and self.parent.name.startswith("."):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the view's lock file is opened
    return handle

pathlib.Path.open = opening
with Store.open(sys.argv[1], write=True) as store:
    try:
        _View.make(store, [], False, False)
        print("made")
    except KeyboardInterrupt:
        print("interrupted")
gc.collect()
views = pathlib.Path(sys.argv[1]) / "views"
print(sorted(p.name for p in views.iterdir()) if views.is_dir() else [])
"""


@pytest.mark.skipif(os.name != "posix", reason="sends itself SIGINT with os.kill (on Windows that ends the process)")
def test_a_ctrl_c_as_a_views_lock_file_opens_leaves_no_file_open(tmp_path: Path) -> None:
    """A Ctrl-C that came inside the opening of a view's lock file (a CI run caught it: ResourceWarning, unclosed
    file) left the file object to the garbage collector. The open is held against Ctrl-C now: the interrupt comes
    once the file is in hand, which is closed, and no folder is left."""
    import subprocess
    import sys

    from amurkg.survey.importer import import_package

    store = tmp_path / "store"
    import_package(store, Path(__file__).parent / "data" / "camtrap-dp-example")
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", _CTRL_C_AT_THE_LOCK, str(store)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.split("\n")[:2] == ["interrupted", "[]"], (done.stdout, done.stderr[-800:])
    assert "ResourceWarning" not in done.stderr, done.stderr[-800:]
