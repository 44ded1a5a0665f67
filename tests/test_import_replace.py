"""Nothing lost: an import replaces an earlier import of its package only when nothing would go that the user
did not ask to lose, and a store in use says who is using it."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from amurkg.cli import app
from amurkg.store import LOCK_FILE, Store, StoreError

SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _listed(store: Path) -> list[tuple[str, str, int, int]]:
    with Store.open(store) as handle:
        return [(r.identifier, r.kind, r.observations, handle.count(r.graph)) for r in handle.imports()]


@pytest.fixture(scope="module")
def example_and_its_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("exchange")
    store = folder / "store"
    assert run("import", str(EXAMPLE), "--store", str(store)).exit_code == 0
    archive = folder / "export.zip"
    assert run("export", "--store", str(store), "-f", "dwca", "-o", str(archive)).exit_code == 0
    return store, archive


def test_the_stores_own_darwin_core_export_does_not_replace_the_survey_unasked(
    example_and_its_archive: tuple[Path, Path], tmp_path: Path
) -> None:
    """The issue's case: 549 Camtrap DP observations silently became the archive's event-level 29."""
    original, archive = example_and_its_archive
    store = tmp_path / "store"
    shutil.copytree(original, store)
    before = _listed(store)
    assert [(identifier, kind) for identifier, kind, _, _ in before] == [(before[0][0], "camtrap-dp")]
    refused = run("import", str(archive), "--store", str(store))
    assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    message = refused.stderr
    assert f"holds {before[0][0]} already" in message and "from a Camtrap DP package" in message
    assert f"with {before[0][2]:,} observations" in message and "this Darwin Core Archive has" in message
    assert "--replace" in message and "nothing changed" in message
    assert _listed(store) == before

    replaced = run("import", str(archive), "--store", str(store), "--replace")
    assert replaced.exit_code == 0, replaced.stderr
    ((identifier, kind, observations, _),) = _listed(store)
    assert (identifier, kind) == (before[0][0], "dwca") and observations < before[0][2]


def _with_observations(tmp_path: Path, keep: int) -> Path:
    """survey-small with only its first ``keep`` observations."""
    package = tmp_path / f"small-{keep}"
    if package.exists():
        return package
    shutil.copytree(SMALL, package)
    observations = package / "observations.csv"
    lines = observations.read_text("utf-8").splitlines(keepends=True)
    observations.write_text("".join(lines[: 1 + keep]), "utf-8")
    return package


def test_fewer_observations_need_replace_more_do_not(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("import", str(_with_observations(tmp_path, 8)), "--store", str(store)).exit_code == 0
    before = _listed(store)
    fewer = run("import", str(_with_observations(tmp_path, 5)), "--store", str(store))
    assert fewer.exit_code == 2 and "with 8 observations" in fewer.stderr and "has 5" in fewer.stderr
    assert len(fewer.stderr.strip().splitlines()) == 1 and _listed(store) == before
    same = run("import", str(_with_observations(tmp_path, 8)), "--store", str(store))
    assert same.exit_code == 0, same.stderr  # the same package again: nothing lost
    more = run("import", str(SMALL), "--store", str(store))
    assert more.exit_code == 0, more.stderr
    assert [n for _, _, n, _ in _listed(store)] == [11]
    assert run("import", str(_with_observations(tmp_path, 5)), "--store", str(store), "--replace").exit_code == 0
    assert [n for _, _, n, _ in _listed(store)] == [5]


def test_the_python_api_refuses_the_same_way(tmp_path: Path) -> None:
    from amurkg.survey.importer import ReplaceError, import_package

    store = tmp_path / "store"
    import_package(store, SMALL)
    with pytest.raises(ReplaceError, match=r"replace=True"):
        import_package(store, _with_observations(tmp_path, 3))
    assert import_package(store, _with_observations(tmp_path, 3), replace=True).replaced


# ------------------------------------------------------------------ who holds the store

_HOLD = """
import sys, time
from amurkg.store import Store
from amurkg.survey import importer
real = Store.load_ntriples
def load(self, path, graph):
    print("loading", flush=True)
    time.sleep(600)  # holds the store, half way through the import, until killed
Store.load_ntriples = load
importer.import_package(sys.argv[1], sys.argv[2])
"""


def test_a_second_import_is_told_which_import_holds_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    first = subprocess.Popen([sys.executable, "-c", _HOLD, str(store), str(EXAMPLE)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "loading"
        second = run("import", str(SMALL), "--store", str(store))
        assert second.exit_code == 2 and len(second.stderr.strip().splitlines()) == 1, second.stderr
        assert f"being written by another process: amurkg import of {EXAMPLE} (pid {first.pid}, since " in second.stderr
        assert "being read" not in second.stderr
        query = run("query", "survey-effort", "--store", str(store))
        assert query.exit_code == 2 and f"amurkg import of {EXAMPLE} (pid {first.pid}" in query.stderr
    finally:
        first.kill()
        first.wait()
        if first.stdout:
            first.stdout.close()
    # readers only: a writer is told the store is being read, and by which process
    with Store.open(store, doing="a notebook"):
        busy = run("import", str(SMALL), "--store", str(store))
    assert busy.exit_code == 2, busy.stderr
    assert f"being read by another process: a notebook (pid {os.getpid()}, since " in busy.stderr
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0  # and nobody holds it once they end


_READ = """
import sys, time
from amurkg.store import Store
with Store.open(sys.argv[1], doing=sys.argv[2]):
    print("reading", flush=True)
    time.sleep(600)
"""


def test_a_writer_refused_by_readers_is_told_which_processes_read(tmp_path: Path) -> None:
    """Found by a reviewer: a writer kept waiting by readers was told only "read by another process (a query or
    amurkg serve)". Each reader now notes its process in the store, locked while it reads: the writer names the
    live ones (the three reading longest, then a count), never a reader that died (killed: its note stays,
    unlocked, and the next writer removes it)."""
    import signal

    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    readers = []
    try:
        for n in range(5):
            reader = subprocess.Popen(
                [sys.executable, "-c", _READ, str(store), f"reader {n}"], stdout=subprocess.PIPE, text=True
            )
            readers.append(reader)
            assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        readers[0].send_signal(signal.SIGKILL)  # dies holding its note: the note stays, its lock goes
        readers[0].wait()
        busy = run("import", str(SMALL), "--store", str(store))
        assert busy.exit_code == 2 and len(busy.stderr.strip().splitlines()) == 1, busy.stderr
        assert "being read by 4 other processes: " in busy.stderr and " and 1 more: try again" in busy.stderr
        named = re.findall(r"reader (\d) \(pid (\d+), since ", busy.stderr)
        assert len(named) == 3 and all(int(pid) == readers[int(n)].pid for n, pid in named), busy.stderr
        assert "reader 0" not in busy.stderr
        assert len(list((store / "readers").iterdir())) == 5  # the dead one's note too
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()
            if reader.stdout:
                reader.stdout.close()
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    assert list((store / "readers").iterdir()) == []  # the writer removed what dead readers left
    with Store.open(store):
        assert len(list((store / "readers").iterdir())) == 1
    assert list((store / "readers").iterdir()) == []  # a reader removes its own note as it ends


def test_every_command_releases_the_store_when_it_ends_not_when_collected(tmp_path: Path) -> None:
    """A command run in-process (a test, a notebook, a script calling the app) lets go of the store's lock when it
    ends, whatever it left for the garbage collector: drawing an overlap left a reference cycle holding the store,
    and the README's next import was refused as "being read by another process" whenever no collection had run
    in between (the README test failed under load). With collection off, each command, then an import."""
    import gc

    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    commands = [
        ["query", "prey-detection-rate", "--store", str(store)],
        ["survey", "effort", "--store", str(store)],
        [
            "survey",
            "plot",
            "overlap",
            "--store",
            str(store),
            "--taxon",
            "Amur leopard",
            "--taxon",
            "wild boar",
            "--interval",
            "0",
            "-o",
            str(tmp_path / "overlap.svg"),
        ],
        ["export", "--store", str(store), "-o", str(tmp_path / "survey.zip")],
        ["query", "no-such-query", "--store", str(store)],  # one that fails: released all the same
    ]
    gc.disable()
    try:
        for command in commands:
            run(*command)
            with (store / LOCK_FILE).open("a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if anything still holds it
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        gc.enable()
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=6000))
def test_whatever_the_lock_file_says_the_refusal_is_one_printable_line(tmp_path: Path, content: bytes) -> None:
    """Another program (or an older amurkg) may have written anything in the lock file while holding it."""
    store = tmp_path / "store"
    if not store.exists():
        assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    with (store / LOCK_FILE).open("r+b") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder.truncate()
        holder.write(content)
        holder.flush()
        with pytest.raises(StoreError) as refused:
            Store.open(store)
        fcntl.flock(holder, fcntl.LOCK_UN)
    message = str(refused.value)
    assert message.isprintable() and "being written by another process" in message and len(message) < 1000


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names there are Unicode, never arbitrary bytes")
def test_a_package_folder_whose_name_is_not_utf8_imports(tmp_path: Path) -> None:
    """Found by a reviewer: a folder named in Latin-1 bytes (unpacked from an old zip) passed every check, then
    the registry could not store its path (a lone surrogate) and the import crashed with a traceback."""
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    shutil.copytree(SMALL, folder)
    store = tmp_path / "store"
    result = subprocess.run(
        [sys.executable, "-m", "amurkg", "import", os.fsencode(folder), "--store", str(store)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    with Store.open(store) as handle:
        (record,) = handle.imports()
    assert record.source.endswith("caf\\xe9")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "amurkg", *args], capture_output=True, text=True)


def test_a_store_path_that_cannot_be_a_folder_is_one_line(tmp_path: Path) -> None:
    """Found by a reviewer: a dangling link as the store, or a store under a regular file, crashed the import with
    a traceback (FileExistsError, NotADirectoryError)."""
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "afile").write_text("x")
    for store, said in ((tmp_path / "dangling", "a link to nothing"), (tmp_path / "afile" / "sub", "cannot make")):
        result = _cli("import", str(SMALL), "--store", str(store))
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "nowhere").exists() and (tmp_path / "afile").read_text() == "x"


def test_a_store_whose_making_was_killed_is_made_again(tmp_path: Path) -> None:
    """Found by a reviewer: a first import killed (SIGKILL) while it made the store left the lock, db/ and hidden/
    without a description, and every later import was refused ("exists and is not an amurkg store"). The
    description now says "creating" until the curated graph is in; the next import makes the store again, and a
    query says what happened."""
    store = tmp_path / "store"
    code = (
        "import os\nfrom amurkg.store import Store\nStore._load_curated = lambda self: os._exit(9)\n"
        f"Store.open({str(store)!r}, write=True, create=True)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9  # killed half way through the making
    assert (store / "db").is_dir()
    query = _cli("query", "conservation-status", "--store", str(store))
    assert query.returncode == 2 and "making did not finish" in query.stderr
    result = _cli("import", str(SMALL), "--store", str(store))
    assert result.returncode == 0, result.stderr
    with Store.open(store) as handle:
        assert [r.identifier for r in handle.imports()] == ["amurkg-test-survey-2023"]


def test_an_import_refused_while_another_makes_the_store_leaves_it_alone(tmp_path: Path) -> None:
    """Found by a reviewer: a second first import into the same new folder was told "exists and is not an amurkg
    store", and, refused while the folder did not exist yet, removed the folder the first was making. Now it is
    told who makes it, and removes nothing."""
    from amurkg.store import MARKER, StoreBusyError, _lock, _unlock
    from amurkg.survey.importer import import_package

    store = tmp_path / "store"
    store.mkdir()
    lock = _lock(store, True, "amurkg import of the first package")  # the first import, making the store
    (store / MARKER).write_text('{"format": 2, "creating": true}\n')
    (store / "db").mkdir()
    try:
        with pytest.raises(StoreBusyError, match="amurkg import of the first package"):
            import_package(store, SMALL)
        assert (store / "db").is_dir() and (store / MARKER).is_file()
    finally:
        _unlock(lock, True)
    import_package(store, SMALL)  # the first gone (killed), the next makes the store again
    with Store.open(store) as handle:
        assert len(handle.imports()) == 1


def test_an_import_refused_before_the_folder_is_made_removes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second import found no folder, then lost the race for the lock: the folder is the first's."""
    import amurkg.store as store_module
    from amurkg.store import StoreBusyError
    from amurkg.survey.importer import import_package

    store = tmp_path / "store"
    held: list[object] = []
    real = store_module._lock

    def first_takes_it(path: Path, exclusive: bool, doing: str = "") -> object:
        if not held:  # the first import takes the lock just before this one
            held.append(real(path, True, "amurkg import of the first package"))
        return real(path, exclusive, doing)

    monkeypatch.setattr(store_module, "_lock", first_takes_it)
    with pytest.raises(StoreBusyError, match="first package"):
        import_package(store, SMALL)
    assert store.is_dir() and (store / LOCK_FILE).is_file()
    store_module._unlock(held[0], True)


@pytest.mark.parametrize("table", ["deployments", "media"])
def test_a_package_with_fewer_deployments_or_media_needs_replace(tmp_path: Path, table: str) -> None:
    """Found by a reviewer: survey-small with deployment D2 deleted (its observations moved to D1: as many
    observations as before) replaced the import silently, and D2 and its effort went. Fewer deployments, or fewer
    media, now need --replace, as fewer observations do."""
    from amurkg.survey.importer import ReplaceError, import_package

    store = tmp_path / "store"
    import_package(store, SMALL)
    fewer = tmp_path / "fewer"
    shutil.copytree(SMALL, fewer)
    if table == "deployments":
        lines = (fewer / "deployments.csv").read_text().splitlines()
        (fewer / "deployments.csv").write_text("\n".join(line for line in lines if not line.startswith("D2,")) + "\n")
        for name in ("media.csv", "observations.csv"):
            (fewer / name).write_text((fewer / name).read_text().replace(",D2,", ",D1,"))
    else:
        lines = (fewer / "media.csv").read_text().splitlines()
        dropped = lines[-1].split(",")[0]
        (fewer / "media.csv").write_text("\n".join(lines[:-1]) + "\n")
        (fewer / "observations.csv").write_text((fewer / "observations.csv").read_text().replace(f",{dropped},", ",,"))
    with pytest.raises(ReplaceError, match=f"{table}; this package has"):
        import_package(store, fewer)
    with Store.open(store) as handle:
        (record,) = handle.imports()
    import_package(store, fewer, replace=True)
    with Store.open(store) as handle:
        (after,) = handle.imports()
    assert after.graph != record.graph


@pytest.mark.parametrize("kind", ["camtrap-dp", "dwca"])
def test_two_packages_that_go_by_the_same_folder_name_are_not_one(tmp_path: Path, kind: str) -> None:
    """Found by a reviewer: a package with no identifier of its own goes by its folder's (or archive's) name, and
    a second survey in another folder of the same name replaced the first with exit 0. It now needs --replace,
    and says why; the same package imported again from where it was is still a re-import."""
    import json

    from test_hostile_packages import write_archive
    from test_survey import _state

    def make(folder: Path) -> Path:
        if kind == "dwca":
            return write_archive(folder, n=4)
        shutil.copytree(SMALL, folder)
        descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
        descriptor.pop("id", None)
        descriptor.pop("name", None)
        (folder / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
        return folder

    first, second = make(tmp_path / "a" / "survey"), make(tmp_path / "b" / "survey")
    store = tmp_path / "store"
    assert run("import", str(first), "--store", str(store)).exit_code == 0
    before = _state(store)
    refused = run("import", str(second), "--store", str(store))
    assert refused.exit_code == 2, refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"amurkg: error: {second}: has no identifier of its own (no id or name in datapackage.json, or no datasetID "
        f"shared by its rows), so it goes by its name 'survey', as does the package the store holds from {first}: "
        "give it an id (or name) to import both, or import it again with --replace to replace that one; nothing "
        "changed"
    ]
    assert _state(store) == before
    again = run("import", str(first), "--store", str(store))  # the same package, from the same place
    assert again.exit_code == 0 and "re-imported survey" in again.stderr, again.stderr
    replaced = run("import", str(second), "--store", str(store), "--replace")
    assert replaced.exit_code == 0 and "re-imported survey" in replaced.stderr, replaced.stderr
    with Store.open(store) as handle:
        assert [r.source for r in handle.imports()] == [str(second)]
