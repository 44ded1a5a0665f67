"""Imports load every triple whatever the machine: the bulk loader only ever gets staged regular files.

pyoxigraph's ``Store.bulk_load(path=...)`` splits a file among its threads by the file's size once it sees 4
or more cores; a pipe reports size 0 and loaded nothing there, while this 2-core machine loaded it all. So
these tests (1) record what the loader is given, on every machine, and (2) make the loader see 1 to 64 cores
on this one, by answering its ``sched_getaffinity`` call (which Rust's ``available_parallelism`` reads) from
a small preloaded library, and run the README's field-data commands there.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import REPO

from amurkg.errors import AmurkgError
from amurkg.store import STAGING_PREFIX, Store, StoreError, twin
from amurkg.survey import importer
from amurkg.survey.importer import import_package

SMALL = REPO / "tests" / "data" / "survey-small"
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"

_FAKE_CPUS = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>
/* the CPUs this process may run on, as the loader asks for them: FAKE_CPUS of them */
int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set) {
    const char *text = getenv("FAKE_CPUS");
    int count = text ? atoi(text) : 16;
    (void)pid;
    memset(set, 0, size);
    for (int i = 0; i < count && (size_t)i < size * 8; i++) CPU_SET_S(i, size, set);
    return 0;
}
"""


def _graph_counts(store: Path) -> dict[str, int]:
    """Each registered import's triples as the store holds them (its graph, and the exact coordinates of
    threatened taxa moved out of it into the twin graph queries do not see), where the registry agrees."""
    with Store.open(store) as handle:
        held = {r: handle.count(r.graph) + handle.count(twin(r.graph, exact=True)) for r in handle.imports()}
    return {r.identifier: n for r, n in held.items() if n == r.triples}


def _unchanged(store: Path, before: dict[str, int], graphs: set[Any]) -> None:
    """The store holds what it held before a refused import: the same imports, each whole, and the same graphs."""
    assert _graph_counts(store) == before
    with Store.open(store) as handle:
        assert set(handle.ox.named_graphs()) == graphs


def _refused(
    store: Path, before: dict[str, int], graphs: set[Any], monkeypatch: pytest.MonkeyPatch, cause: str
) -> None:
    """Importing the example, with the test's patches in place, is refused in one line that names ``cause`` and ends
    "nothing changed"; without the patches, the store is as before."""
    with pytest.raises(AmurkgError) as caught:
        import_package(store, EXAMPLE)
    message = str(caught.value)
    assert "\n" not in message and cause in message and message.endswith("nothing changed")
    monkeypatch.undo()
    _unchanged(store, before, graphs)


def _ended(name: str) -> bool:
    """Whether no thread of that name is left, given a few seconds to end (one that has just said it is done)."""
    for _ in range(100):
        if all(t.name != name for t in threading.enumerate()):
            return True
        time.sleep(0.05)
    return False


def _interrupted_import(store: Path) -> None:
    """Import the example into ``store``, which the test's patches interrupt: KeyboardInterrupt, with SIGINT handled
    as in a terminal whatever an earlier test left (serve's tests ignore it in-process)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            import_package(store, EXAMPLE)
    finally:
        signal.signal(signal.SIGINT, previous)


def _small_store(tmp_path: Path) -> tuple[Path, dict[str, int], set[Any]]:
    """A store holding the small survey: its path, its imports' triple counts and its named graphs."""
    store = tmp_path / "store"
    import_package(store, SMALL)
    with Store.open(store) as handle:
        graphs = set(handle.ox.named_graphs())
    return store, _graph_counts(store), graphs


# ------------------------------------------------------------------ what the loader is given, on any machine


def _names(fd: str) -> str | None:
    """The file an open descriptor of this process names; None for one closed since it was listed (the other
    loader thread opens and closes its file meanwhile)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except FileNotFoundError:
        return None


def test_the_loader_only_ever_gets_closed_non_empty_regular_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call of pyoxigraph's bulk loader during an import, recorded: a path (never ``input=``), a regular
    file with data in it, in the store's folder, not open for writing by anyone (so its size is final)."""
    real = ox.Store.bulk_load
    seen: list[tuple[bool, int, Path, bool]] = []

    def recording(self: ox.Store, *args: Any, **kwargs: Any) -> None:
        assert not args and "input" not in kwargs, "the loader was given a stream, not a file"
        path = Path(str(kwargs["path"]))
        info = os.stat(path)
        # a file still open for writing would show in /proc/self/fd: none of ours is
        open_here = any(_names(fd) == os.path.realpath(path) for fd in os.listdir("/proc/self/fd"))
        seen.append((stat.S_ISREG(info.st_mode), info.st_size, path.parent, open_here))
        real(self, *args, **kwargs)

    monkeypatch.setattr(ox.Store, "bulk_load", recording)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 2000)  # 10 files, loaded while the next is written
    store = tmp_path / "store"
    report = import_package(store, EXAMPLE)
    assert len(seen) >= 5  # 19,201 triples: 10 files
    assert all(regular and size > 0 and folder == store and not open_here for regular, size, folder, open_here in seen)
    assert _graph_counts(store) == {report.identifier: report.stats.triples}
    assert not list(store.glob(STAGING_PREFIX + "*"))  # staged files are removed once loaded


def test_two_staged_files_load_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader threads overlap: the first two bulk loads wait for each other at a barrier, which breaks
    (after a minute) if the second load can only start once the first has ended."""
    real = ox.Store.bulk_load
    meet = threading.Barrier(2, timeout=60)
    calls: list[str] = []

    def meeting(self: ox.Store, **kwargs: Any) -> None:
        calls.append(str(kwargs["path"]))
        if len(calls) <= 2:
            meet.wait()
        real(self, **kwargs)

    monkeypatch.setattr(ox.Store, "bulk_load", meeting)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 2000)
    store = tmp_path / "store"
    report = import_package(store, EXAMPLE)
    assert importer.LOADERS == 2 and len(calls) == len(set(calls)) >= 5
    assert _graph_counts(store) == {report.identifier: report.stats.triples}
    assert not list(store.glob(STAGING_PREFIX + "*"))


def test_a_loader_that_fails_stops_the_import_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One loader thread's error (here, a full disk on the third file) while the other loads: one line, the
    graph dropped, the earlier import kept, no staged file and no loader thread left."""
    store, before, graphs = _small_store(tmp_path)
    real = ox.Store.bulk_load
    calls: list[int] = []

    def failing(self: ox.Store, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(self, **kwargs)

    monkeypatch.setattr(ox.Store, "bulk_load", failing)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 2000)
    _refused(store, before, graphs, monkeypatch, "No space left on device")
    assert not list(store.glob(STAGING_PREFIX + "*"))
    assert all(t.name != "amurkg-load" for t in threading.enumerate())
    assert _ended("amurkg-count")  # never asked to count, it ends


def test_every_bulk_load_goes_through_the_one_guarded_function() -> None:
    callers = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "amurkg").rglob("*.py")
        if ".bulk_load(" in path.read_text("utf-8")
    ]
    assert callers == ["amurkg/store.py"]
    assert (REPO / "amurkg" / "store.py").read_text("utf-8").count(".bulk_load(") == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_pipe_or_an_empty_file_never_reaches_the_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(ox.Store, "bulk_load", lambda self, *a, **k: calls.append(k))
    fifo = tmp_path / "fifo.nt"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.nt"
    empty.touch()
    read_fd, write_fd = os.pipe()
    try:
        with Store.open(tmp_path / "store", write=True, create=True) as store:
            for path, why in ((fifo, "not a regular file"), (Path(f"/dev/fd/{read_fd}"), "not a regular file")):
                with pytest.raises(StoreError, match=why):
                    store.load_ntriples(path, store.new_graph())
            with pytest.raises(StoreError, match="an empty file"):
                store.load_ntriples(empty, store.new_graph())
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert calls == []


def test_a_loader_that_stores_fewer_triples_than_written_is_one_line_and_no_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pipe did on 4+ cores (it loaded nothing, and the import said 'it stopped reading'): the count
    check after loading catches any such loss and says what lost how much; nothing is registered."""
    store, before, graphs = _small_store(tmp_path)
    real = ox.Store.bulk_load

    def lossy(self: ox.Store, **kwargs: Any) -> None:
        path = Path(str(kwargs["path"]))
        half = path.with_name("half.nt")
        lines = path.read_text("utf-8").splitlines(keepends=True)
        half.write_text("".join(lines[: len(lines) // 2]), "utf-8")
        real(self, **{**kwargs, "path": str(half)})
        half.unlink()

    monkeypatch.setattr(ox.Store, "bulk_load", lossy)
    cause = f"bulk loader, on {os.cpu_count()} cores: the loader lost some, or amurkg staged a triple twice"
    _refused(store, before, graphs, monkeypatch, cause)  # the half-loaded graph is gone too


def test_a_loader_that_stores_more_triples_than_written_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph holding more than was staged cannot come from a triple staged twice (a graph counts it once): the
    line names the loader or amurkg's own count, and nothing is registered."""
    store, before, graphs = _small_store(tmp_path)
    real = ox.Store.bulk_load

    def additive(self: ox.Store, **kwargs: Any) -> None:
        real(self, **kwargs)
        extra = Path(str(kwargs["path"])).with_name("extra.nt")
        extra.write_text("<urn:x:s> <urn:x:p> <urn:x:o> .\n", "utf-8")  # one triple the package has not
        real(self, **{**kwargs, "path": str(extra)})
        extra.unlink()

    monkeypatch.setattr(ox.Store, "bulk_load", additive)
    cause = f"bulk loader, on {os.cpu_count()} cores: the loader added some, or amurkg miscounted what it staged"
    _refused(store, before, graphs, monkeypatch, cause)


def test_the_count_check_runs_while_the_protection_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count after loading (in its own thread) and the protection's reading meet at a barrier: with the count
    made before the protection begins, or after it, the barrier breaks and the import fails."""
    from amurkg.survey import sensitive

    meet = threading.Barrier(2, timeout=20)
    real_count, real_protect = Store.count, sensitive.protect
    counted: list[str] = []

    def count(self: Store, graph: str) -> int:
        if threading.current_thread().name == "amurkg-count":
            counted.append(graph)
            meet.wait()
        return real_count(self, graph)

    def protect(store: Store, graph: str, *args: Any, **kwargs: Any) -> int:
        if not kwargs.get("also"):  # the new import's protection, not an earlier import's again
            meet.wait()
        return real_protect(store, graph, *args, **kwargs)

    monkeypatch.setattr(Store, "count", count)
    monkeypatch.setattr(sensitive, "protect", protect)
    report = import_package(tmp_path / "store", EXAMPLE)
    monkeypatch.undo()
    assert len(counted) == 1
    assert _graph_counts(tmp_path / "store") == {report.identifier: report.stats.triples}
    assert _ended("amurkg-count")


def test_the_protection_writes_nothing_before_the_count_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The small survey's leopard cameras are protected: their exact coordinates leave the loaded graph. The count
    waits (up to 3 s) for the protection's first removal from it before it counts: were the protection to write
    before the count is done, the count would find fewer triples than written, and the import would fail."""
    real_count, real_remove = Store.count, ox.Store.remove
    wrote = threading.Event()

    def count(self: Store, graph: str) -> int:
        if threading.current_thread().name == "amurkg-count":
            wrote.wait(3)
        return real_count(self, graph)

    def remove(self: ox.Store, quad: Any) -> None:
        real_remove(self, quad)
        wrote.set()

    monkeypatch.setattr(Store, "count", count)
    monkeypatch.setattr(ox.Store, "remove", remove)
    report = import_package(tmp_path / "store", SMALL)
    monkeypatch.undo()
    assert wrote.is_set()  # the protection did write
    assert report.stats.triples == _graph_counts(tmp_path / "store")[report.identifier]


def test_a_lost_triple_is_refused_even_when_the_protection_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protection fails (a full disk, say) on a graph that also lost triples: the count's one line is what the
    user sees, the graph is dropped, and no counting thread is left; a protection that fails on a whole graph gives
    its own error, and nothing changes either."""
    from amurkg.survey import sensitive

    store, before, graphs = _small_store(tmp_path)

    def failing(store: Store, graph: str, *args: Any, **kwargs: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sensitive, "protect", failing)
    with pytest.raises(OSError, match="No space left"):
        import_package(store, EXAMPLE)
    real_count = Store.count

    def lossy(self: Store, graph: str) -> int:  # what a loader that lost a triple leaves
        return real_count(self, graph) - (threading.current_thread().name == "amurkg-count")

    monkeypatch.setattr(Store, "count", lossy)
    _refused(store, before, graphs, monkeypatch, "bulk loader")
    assert _ended("amurkg-count")


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs a signal sent to the main thread (POSIX)")
@pytest.mark.parametrize("lossy", [False, True], ids=["counted", "lost-a-triple"])
def test_ctrl_c_while_the_count_runs_stops_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lossy: bool
) -> None:
    """A Ctrl-C that comes while the count runs (the protection reading, or waiting for the count before it
    writes) stops the import: KeyboardInterrupt (exit 130 from the command), even where the count also found a
    lost triple; the store closes only once the count is done, and nothing changes."""
    store, before, graphs = _small_store(tmp_path)
    real_count, real_close = Store.count, Store.close
    counted = threading.Event()
    counted_at_close: list[bool] = []

    def count(self: Store, graph: str) -> int:
        if threading.current_thread().name == "amurkg-count":
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            time.sleep(0.5)  # the main thread takes the interrupt while this count still runs
            held = real_count(self, graph) - lossy
            counted.set()
            return held
        return real_count(self, graph)

    def close(self: Store) -> None:
        counted_at_close.append(counted.is_set())
        real_close(self)

    monkeypatch.setattr(Store, "count", count)
    monkeypatch.setattr(Store, "close", close)
    _interrupted_import(store)
    monkeypatch.undo()
    assert counted_at_close == [True]
    _unchanged(store, before, graphs)


def test_a_staging_error_loads_no_waiting_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapping fails (here, its line source raises) while both loaders are busy and a third file waits in the
    queue: that file is removed without being loaded into the graph about to be dropped, and nothing is left."""
    release = threading.Event()
    loaded: list[Path] = []

    def slow(self: Store, path: Path, graph: str) -> None:
        loaded.append(path)
        release.wait(60)

    def lines() -> Iterator[tuple[bytes, int]]:
        for n in range(3):  # three files of 10 lines: two loading, one waiting
            yield b"".join(b"<urn:s%d> <urn:p> <urn:o%d> .\n" % (n, i) for i in range(10)), 10
        threading.Timer(1.0, release.set).start()  # the loaders go on once the error has been raised
        raise RuntimeError("a mapping error")

    monkeypatch.setattr(Store, "load_ntriples", slow)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 10)
    with Store.open(tmp_path / "store", write=True, create=True) as store:
        with pytest.raises(RuntimeError, match="a mapping error"):
            importer._load_staged(store, store.new_graph(), lines(), tmp_path)
        assert len(loaded) == 2
        assert not list(store.path.glob(STAGING_PREFIX + "*"))
    assert all(t.name != "amurkg-load" for t in threading.enumerate())
    assert _ended("amurkg-count")  # never asked to count, it ends


@pytest.mark.skipif(
    sys.platform == "win32", reason="Windows delivers no SIGTERM: Popen.send_signal(SIGTERM) there is TerminateProcess"
)
@pytest.mark.parametrize("workers", ["1", "3"])
def test_sigterm_stops_an_import_and_leaves_nothing(tmp_path: Path, workers: str) -> None:
    """SIGTERM, sent while the import stages its triples, stops it as Ctrl-C does: exit 130, no staged file and no
    loader SST file left, the earlier import kept. With the rows mapped in this process and in worker processes,
    whatever the machine's cores (CI has more than this machine: there the workers' path failed, exit by SIGINT)."""
    from amurkg.survey.generate import generate

    package = tmp_path / "package"
    generate(package, 20_000)
    store = tmp_path / "store"
    import_package(store, SMALL)
    before = _graph_counts(store)
    process = subprocess.Popen(
        [sys.executable, "-m", "amurkg", "import", str(package), "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "AMURKG_IMPORT_WORKERS": workers},
    )
    for _ in range(1200):  # up to a minute for the first staged file
        if list(store.glob(STAGING_PREFIX + "*")) or process.poll() is not None:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the import ended before it staged a file"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    assert not list(store.glob(STAGING_PREFIX + "*")) and not list((store / "db").glob("bulk-*"))
    assert _graph_counts(store) == before


def test_a_problem_found_half_way_leaves_no_staged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLE, broken)
    observations = broken / "observations.csv"
    lines = observations.read_text("utf-8").splitlines(keepends=True)
    lines[-1] = lines[-1].replace(",vehicle,", ",not-a-type,", 1)
    observations.write_text("".join(lines), "utf-8")
    store = tmp_path / "store"
    import_package(store, SMALL)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 1000)  # 6 files staged before the last row is read
    with pytest.raises(AmurkgError):
        import_package(store, broken)
    assert not list(store.glob(STAGING_PREFIX + "*"))
    assert threading.active_count() == 1 or all(t.name != "amurkg-load" for t in threading.enumerate())


# ------------------------------------------------------------------ the loader on 1 to 64 cores, on this machine


@pytest.fixture(scope="module")
def fake_cpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not sys.platform.startswith("linux") or compiler is None:
        pytest.skip("needs Linux and a C compiler to make the loader see other core counts")
    folder = tmp_path_factory.mktemp("fakecpus")
    (folder / "fakecpus.c").write_text(_FAKE_CPUS)
    built = subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(folder / "fakecpus.so"), str(folder / "fakecpus.c")],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:  # a compiler without its assembler or linker (a partial toolchain, a stub)
        said = built.stderr.strip().splitlines()
        why = next((line for line in said if "error" in line), said[-1] if said else f"exit {built.returncode}")
        pytest.skip(f"{compiler} cannot build the library that makes the loader see other core counts: {why}")
    return folder / "fakecpus.so"


def _on_cores(library: Path, cores: int) -> dict[str, str]:
    return {**os.environ, "LD_PRELOAD": str(library), "FAKE_CPUS": str(cores)}


_PIPE_AND_FILE = """
import os, sys, threading, pyoxigraph as ox
data = "".join(f"<http://e.org/{i}> <http://e.org/p> \\"{i}\\" .\\n" for i in range(20000)).encode()
store = ox.Store(sys.argv[1])
read_fd, write_fd = os.pipe()
def write():
    try:
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)
    except BrokenPipeError:
        pass
writer = threading.Thread(target=write)
writer.start()
store.bulk_load(path=f"/dev/fd/{read_fd}", format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("http://g/pipe"))
os.close(read_fd)
writer.join()
staged = sys.argv[1] + ".nt"
with open(staged, "wb") as out:
    out.write(data)
store.bulk_load(path=staged, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("http://g/file"))
for g in ("pipe", "file"):
    (row,) = store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", default_graph=ox.NamedNode("http://g/" + g))
    print(g, row["n"].value, len(os.sched_getaffinity(0)))
"""


@pytest.mark.parametrize("cores", [1, 2, 4, 16, 64])
def test_the_loader_sees_the_cores_it_is_given_and_only_a_regular_file_loads_everywhere(
    fake_cpus: Path, tmp_path: Path, cores: int
) -> None:
    """The assumption the importer rests on, checked directly: a regular file loads all 20,000 triples on
    any number of cores. The pipe shows the preloaded library works: from 4 cores on it loads nothing."""
    out = subprocess.run(
        [sys.executable, "-c", _PIPE_AND_FILE, str(tmp_path / "db")],
        env=_on_cores(fake_cpus, cores),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[1] == f"file 20000 {cores}"
    assert out[0] == (f"pipe 0 {cores}" if cores >= 4 else f"pipe 20000 {cores}")


@pytest.mark.heavy
@pytest.mark.parametrize("cores", [1, 4, 16, 64])
def test_the_readme_field_data_example_works_on_any_number_of_cores(
    fake_cpus: Path, tmp_path: Path, cores: int
) -> None:
    """`amurkg import tests/data/survey-small`, then prey-detection-rate and detection-history, as the README
    shows them, in processes whose loader sees ``cores`` cores."""
    import re

    readme = (REPO / "README.md").read_text("utf-8")
    section = readme[readme.index("## Field data") :]
    (tmp_path / "tests").symlink_to(REPO / "tests")
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None
    examples = re.split(r"^(?=\$ )", block.group(1), flags=re.M)
    ran = 0
    for example in examples:
        if not example.startswith("$ amurkg "):
            continue
        command, _, expected = example.partition("\n")
        import shlex

        argv = shlex.split(command[2:])[1:]
        result = subprocess.run(
            [sys.executable, "-m", "amurkg", *argv],
            env={**_on_cores(fake_cpus, cores), "COLUMNS": "160"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (command, result.stderr)
        shown = (result.stdout + result.stderr).strip("\n")
        assert [line.rstrip() for line in shown.splitlines()] == expected.strip("\n").splitlines(), command
        ran += 1
    assert ran >= 3
    told = re.search(r"; ([\d,]+) triples", section)  # what the README says the import wrote
    assert told is not None
    assert list(_graph_counts(tmp_path / "survey-store").values()) == [int(told.group(1).replace(",", ""))]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError])
def test_the_store_is_compacted_before_the_new_graph_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]
) -> None:
    """An import compacts the store's database where it is due right after the load, before the count, the places
    and the protection read the new graph (what the loads left is read through by every read until RocksDB merges
    it: at 1,000,000 observations those reads took 84 s before the compaction). A Ctrl-C during the compaction
    stops the import with nothing changed, as during the load; a compaction that fails (a full disk) leaves the
    import to go on, the store only slower to read."""
    store, before, graphs = _small_store(tmp_path)
    compacted: list[int] = []
    real = Store.count

    def counted(self: Store, graph: str) -> int:
        assert compacted, "the new graph was read before the compaction"
        return real(self, graph)

    def compact(self: ox.Store) -> None:
        compacted.append(len(list(self.named_graphs())))
        raise stop("compaction stopped")

    monkeypatch.setattr(ox.Store, "optimize", compact)
    monkeypatch.setattr(Store, "count", counted)
    if stop is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):
            import_package(store, EXAMPLE, compact=True)
    else:
        import_package(store, EXAMPLE, compact=True)
    monkeypatch.undo()
    assert len(compacted) == 1 and compacted[0] > len(graphs)  # called once, with the new graph loaded
    if stop is KeyboardInterrupt:
        _unchanged(store, before, graphs)
        return
    with Store.open(store) as handle:
        imports = handle.imports()
    assert len(imports) == len(before) + 1  # the new import registered, the old ones kept


def test_a_ctrl_c_while_the_loaders_are_told_to_stop_waits_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands while the staging hands the loaders their end marks (the queue full, both loaders busy)
    used to skip the wait for the loaders: the graph was dropped while loads still ran, and what they loaded after
    the drop stayed in the store, seen by every query and named by no registry entry. Now the import ends with
    KeyboardInterrupt once the loads under way are done, and the store holds exactly what it held."""
    import queue

    store, before, graphs = _small_store(tmp_path)
    with Store.open(store) as handle:
        quads = len(handle.ox)
    real_load, real_put = Store.load_ntriples, queue.Queue.put
    sent: list[bool] = []

    def slow(self: Store, path: Path, graph: str) -> None:
        time.sleep(0.5)  # both loaders busy when the end marks are handed
        real_load(self, path, graph)

    def put(self: Any, item: Any, *args: Any, **kwargs: Any) -> None:
        if item is None and not sent and threading.current_thread() is threading.main_thread():
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # as a user's Ctrl-C: raised at the next instruction of Python
        real_put(self, item, *args, **kwargs)

    monkeypatch.setattr(Store, "load_ntriples", slow)
    monkeypatch.setattr(queue.Queue, "put", put)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 300)
    _interrupted_import(store)
    monkeypatch.undo()
    assert sent
    assert all(t.name != "amurkg-load" for t in threading.enumerate())
    _unchanged(store, before, graphs)
    with Store.open(store) as handle:
        assert len(handle.ox) == quads  # nothing loaded after the drop is left behind


def test_a_ctrl_c_ignored_while_the_loaders_are_told_to_stop_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where SIGINT is ignored (nohup, a background job), a Ctrl-C noted while the loaders finish must not stop the
    queued files: nothing would raise, and the import would go on with files left out (seen as a count mismatch
    when a test before had left SIGINT ignored). The import completes whole."""
    import queue

    store = tmp_path / "store"
    real_load, real_put = Store.load_ntriples, queue.Queue.put
    sent: list[bool] = []

    def slow(self: Store, path: Path, graph: str) -> None:
        time.sleep(0.3)
        real_load(self, path, graph)

    def put(self: Any, item: Any, *args: Any, **kwargs: Any) -> None:
        if item is None and not sent and threading.current_thread() is threading.main_thread():
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        real_put(self, item, *args, **kwargs)

    monkeypatch.setattr(Store, "load_ntriples", slow)
    monkeypatch.setattr(queue.Queue, "put", put)
    monkeypatch.setattr(importer, "CHUNK_TRIPLES", 300)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        report = import_package(store, EXAMPLE)
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.undo()
    assert sent
    with Store.open(store) as handle:
        (record,) = handle.imports()
        assert record.triples == report.stats.triples
