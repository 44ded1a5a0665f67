"""``amurkg import``: check a package completely, then add it to a store in one step.

The rows are checked and mapped in one pass into N-Triples files staged in the store's folder (regular files,
so that the loader behaves the same on every machine), bulk-loaded into a fresh graph one after another
while the next is written; only when no problem was found and the graph holds every triple written does the
registry name it (see ``amurkg.store``). A package with problems changes nothing; one imported again
replaces its earlier copy.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amurkg import interrupts
from amurkg.errors import AmurkgError, KeptInterrupt
from amurkg.store import MARKER, STAGING_PREFIX, ImportRecord, Store, StoreBusyError, now
from amurkg.survey.camtrapdp import PackageError, open_package
from amurkg.survey.rdf import ImportStats, Mapper, TaxonIndex, taxon_ids, taxon_index
from amurkg.survey.tables import Problems


@dataclass
class ImportReport:
    """What an import did."""

    package: str
    identifier: str
    source: str
    replaced: bool
    stats: ImportStats = field(default_factory=ImportStats)

    def summary(self) -> list[str]:
        rows = ", ".join(f"{n:,} {table}" for table, n in self.stats.rows.items())
        lines = [
            f"{'re-imported' if self.replaced else 'imported'} {self.identifier} from {self.source}: {rows}; "
            f"{self.stats.triples:,} triples"
        ]
        if self.stats.matched:
            lines.append(
                "names matched to curated taxa: "
                + ", ".join(f"{name} ({n:,})" for name, n in sorted(self.stats.matched.items()))
            )
        if self.stats.unknown:
            lines.append(
                f"{len(self.stats.unknown)} name{'s' if len(self.stats.unknown) != 1 else ''} not in the curated "
                "graph, kept as taxa of their own: "
                + ", ".join(f"{name} ({n:,})" for name, n in sorted(self.stats.unknown.items()))
            )
        return lines + [f"warning: {w}" for w in self.stats.warnings]


#: A block of N-Triples text: the bytes (whole lines, each ending in a line break) and how many lines.
Block = tuple[bytes, int]


def blocks(lines: Iterable[str], size: int = 65536) -> Iterator[Block]:
    """``lines`` (N-Triples, without line breaks) as blocks of up to ``size`` lines."""
    iterator = iter(lines)
    while batch := list(itertools.islice(iterator, size)):
        batch.append("")
        yield "\n".join(batch).encode("utf-8"), len(batch) - 1


def _package_blocks(path: Path, taxa: TaxonIndex, limit: int, report: Callable[[Mapper, Any], None]) -> Iterator[Block]:
    """The N-Triples of a Camtrap DP package; raises ``PackageError`` (after reading it all) on problems. The
    rows are checked and mapped by worker processes (``amurkg.survey.chunks``) on a machine with cores to
    spare, with the same triples and the same messages as in one process."""
    from amurkg.survey.chunks import package_blocks, workers

    with _at_most(limit), open_package(path) as package:
        # each table's file by its path in the package: by its name alone, tables in different folders with one
        # file name were one file, their rows wrote the same lines, and the count check refused the package
        files = {name: package.paths.get(name) or Path(package.display[name]).name for name in package.tables}
        mapper = Mapper(package.identifier, files, taxa, taxon_ids(package.descriptor.get("taxonomic")))
        problems = Problems(limit)
        size = sum(package.tables[name].stat().st_size for name in ("media", "observations"))
        yield from package_blocks(package, files, mapper, problems, workers(size))
        if problems:
            raise PackageError(problems.lines(), limited=True)
        mapper.stats.warnings.extend(package.warnings)
        yield from blocks(mapper.package_lines(package.descriptor))
        report(mapper, package)


@contextlib.contextmanager
def _at_most(limit: int) -> Iterator[None]:
    """A ``PackageError`` raised in the block lists at most ``limit`` problems (``--max-problems``), then counts
    the rest, as the tables' problems are listed: the descriptor's are found before the tables are read."""
    try:
        yield
    except PackageError as exc:
        if len(exc.problems) <= limit or exc.limited:  # the tables' are counted already
            raise
        more = len(exc.problems) - limit
        raise PackageError(
            [*exc.problems[:limit], f"... and {more:,} more problem{'s' if more != 1 else ''}"]
        ) from None


def import_package(
    store_path: Path | str,
    path: Path | str,
    *,
    limit: int = 50,
    create: bool = True,
    kind: str | None = None,
    replace: bool = False,
    grid: float | None = None,
    compact: bool | None = None,
) -> ImportReport:
    """Check the package at ``path`` (a Camtrap DP folder or zip, or a Darwin Core Archive) and add it to the
    store at ``store_path`` (created when missing), replacing an earlier import of the same package. An earlier
    import of another kind (Darwin Core against Camtrap DP), or with more observations, is replaced only with
    ``replace``: otherwise ``ReplaceError`` says what would go, and nothing changes.

    Raises ``PackageError`` listing up to ``limit`` problems (each ``file:row:column``); then nothing changed.

    ``compact``: compact the store's database right after the load (True), or not (False); by default, when what
    was loaded since the last compaction reaches ``COMPACT_SHARE`` of what the store holds. What a replaced import
    drops is reclaimed by the next compaction (``compact_store`` compacts now).
    """
    from amurkg.survey.dwca import is_archive

    path = Path(path)
    archive = is_archive(path) if kind is None else kind == "dwca"
    store_path = Path(store_path)
    existed = store_path.exists()
    was_empty = existed and store_path.is_dir() and not any(store_path.iterdir())
    fresh = not (store_path / MARKER).is_file()
    try:
        report = _import(store_path, path, archive, limit, create, replace, grid, compact)
    except StoreBusyError:
        raise  # the store there is another process's, being made or written: nothing of it is this import's
    except KeptInterrupt:
        raise  # the import was registered: the store holds it, even one this import made
    except BaseException:
        if fresh and not existed:  # this import made the store: leave no trace of it
            shutil.rmtree(store_path, ignore_errors=True)
        elif fresh and was_empty:
            for child in store_path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    done = f"{report.identifier} was imported before the interrupt came, and stays in the store"
    with _kept_if_interrupted(
        f"{done}; its counts were not yet recomputed with the corrections in force: amurkg import --upgrade "
        f"--store {_text_of(store_path)} recomputes them"
    ):
        from amurkg.survey.corrections import recount_if_corrected

        recount_if_corrected(store_path, report.identifier)  # corrections in force apply to a re-import too
    with _kept_if_interrupted(f"{done}; the survey answers are computed when first asked"):
        from amurkg.survey.warm import warm

        warm(store_path)  # the survey queries' answers, kept for their first asker
    return report


@contextlib.contextmanager
def _kept_if_interrupted(message: str) -> Iterator[None]:
    """A Ctrl-C in the block, which runs after a change was committed, becomes ``KeptInterrupt(message)``: the
    user is told what stands (an interrupt that already says so goes on as it is)."""
    try:
        yield
    except KeptInterrupt:
        raise
    except KeyboardInterrupt:
        raise KeptInterrupt(message) from None


def _import(
    store_path: Path,
    path: Path,
    archive: bool,
    limit: int,
    create: bool,
    replace: bool,
    grid: float | None = None,
    compact: bool | None = None,
) -> ImportReport:
    import pyoxigraph as ox

    with Store.open(store_path, write=True, create=create, doing=f"amurkg import of {path}") as store:
        taxa = taxon_index(store.ox, default_graph=[ox.NamedNode(_curated())])
        found: dict[str, Any] = {}

        def keep(mapper: Mapper, package: Any) -> None:
            found["mapper"], found["package"] = mapper, package

        if archive:
            from amurkg.survey.dwca import archive_lines

            lines = blocks(archive_lines(path, taxa, limit, keep))
        else:
            lines = _package_blocks(path, taxa, limit, keep)
        graph = store.new_graph()
        from amurkg.survey.sensitive import Grid, protect, protect_others, read_places, store_reasons

        earlier = read_places(store)  # the store's sensitive places, read before the load (``read_places``)
        check = _CountCheck()  # its thread waits, holding nothing, until the graph is loaded
        registered = False
        replaced = None
        written = 0
        try:
            written, files = _load_staged(store, graph, lines, path)
            mapper: Mapper = found["mapper"]
            mapper.stats.triples = written
            record = ImportRecord(
                package=mapper.package,
                identifier=found["package"].identifier,
                graph=graph,
                source=_text_of(path.resolve()),
                kind="dwca" if archive else "camtrap-dp",
                imported=now(),
                triples=mapper.stats.triples,
                observations=mapper.stats.rows.get("observations", 0) + mapper.stats.rows.get("occurrences", 0),
            )
            if not replace:  # refused before anything is compacted or protected: nothing changed, nothing paid
                _keep_what_would_be_lost(store, record, path, mapper.stats.rows, named=found["package"].named)
            earlier_imports = store.imports()
            package = mapper.package
            dropped = next((r.triples for r in earlier_imports if r.package == package), 0)
            # compacted (where due) before anything reads the new graph: right after a large load every read looks
            # through each staged file's sorted files while RocksDB merges them, and the count, the places and the
            # protection's join read the whole graph (at 1,000,000 observations 23, 28 and 33 s before a compaction
            # the import pays anyway). Its share counts the store as it will be: this graph in, the one it replaces out
            held = sum(r.triples for r in earlier_imports if r.package != package) + written
            _compact_when_due(store, written, compact, held)
            try:
                check.start(store, graph, written, files, path)  # counts the graph while the protection reads it
                reasons = store_reasons(store, [graph], earlier=earlier)
                protect(  # exact locations of threatened taxa into a graph queries do not see
                    store, graph, Grid(grid) if grid is not None else None, before_writing=check.wait, reasons=reasons
                )
                # a leopard here makes the same post in an earlier package sensitive: that package is protected again
                # (not this package's earlier import, which this one replaces: it stays as it was if this one fails)
                protect_others(
                    store, reasons, besides=[graph, *(r.graph for r in store.imports() if r.package == package)]
                )
            except KeyboardInterrupt:
                check.wait(report=False)  # the store closes after the count; the interrupt stands, whatever it is
                raise
            except BaseException:
                check.wait()  # a graph that lost triples is refused, whatever the protection found
                raise
            check.wait()
            with interrupts.held():  # a Ctrl-C here is raised once the registry says which graph it named
                replaced = store.register(record)
                registered = True
            if replaced:
                store.drop(replaced)  # a drop cut short is finished by the next writer: no registry entry names it
                _owe(store, dropped)  # what it dropped is reclaimed by the next compaction
            store.ox.flush()
        except BaseException as exc:
            with contextlib.suppress(KeyboardInterrupt):  # the interrupt on its way out already says it
                check.wait(report=False)  # a count asked for is done before the graph goes; one never asked ends
            if not registered:  # once registered, the graph is the package's: a Ctrl-C after that keeps it
                store.drop(graph)  # nothing names it yet: queries never saw it
                if written:  # what it loaded, and its removal, are owed to the next compaction (counted at most
                    _owe(store, written)  # twice where a compaction was cut short: it then only comes sooner)
            elif isinstance(exc, KeyboardInterrupt) and not isinstance(exc, KeptInterrupt):
                rest = "; the import it replaces is dropped by the next command that writes the store" * bool(replaced)
                raise KeptInterrupt(
                    f"{record.identifier} was imported before the interrupt came, and stays in the store{rest}"
                ) from None
            raise
        return ImportReport(mapper.package, record.identifier, str(path), replaced is not None, mapper.stats)


#: Triples per staged file (about 45 MB). Files are loaded while the next one is written, so that checking and
#: mapping the rows (Python) and loading (pyoxigraph, which releases the GIL) overlap. Smaller files start the
#: first load sooner, leave less to load after the last row is mapped, and hold less in the loader's memory.
#: Measured on 2 cores (bench/bench_survey.py, each against the raw load in the same run), 250k against 1M
#: triples a file: at 100k observations 1.24x and 1.28x the raw load's time against 1.45x and 1.31x, peak memory
#: 0.37-0.39x the raw load's against 1.17-1.20x; at 1M observations 1.55x (1.54x before), peak 933 MiB against
#: 2,362 (0.49x the raw load's against 1.24x).
CHUNK_TRIPLES = 250_000

#: Staged files loaded at once, each by its own bulk load. One bulk load parses its file and then sorts and
#: writes it, one after the other: on 2 or 3 cores it uses about one core. Two loads at once overlap one file's
#: parsing with the other's writing, as one load of a big file does. Measured at 100k observations on 2 cores,
#: with 1M-triple files: checking, mapping and loading 30.6 s -> 24.2 s. The disk holds at most four files: two
#: loading, one waiting, one being written.
LOADERS = 2


def _load_staged(store: Store, graph: str, lines: Iterator[Block], path: Path) -> tuple[int, int]:
    """Load ``lines`` into ``graph`` through staged N-Triples files in the store's folder: a regular file,
    closed before the loader opens it, loads the same on any number of cores and on any OS (a pipe does not:
    see ``Store.load_ntriples``). ``LOADERS`` threads load files at once. A problem found half way (here or in
    any loader) stops the staging; the caller then drops the graph, which no query could see. Returns how many
    triples were written, and in how many files: the graph must then hold exactly that many (``_CountCheck``)."""
    import queue

    from amurkg.limits import release_temporary

    staged: queue.Queue[Path | None] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []
    stopped = threading.Event()  # the staging failed or was interrupted: load nothing more
    files = 0

    def load(done: threading.Event) -> None:
        try:
            while (chunk := staged.get()) is not None:
                try:
                    if not failure and not stopped.is_set():
                        store.load_ntriples(chunk, graph)
                except BaseException as exc:  # handed to the main thread, which raises it
                    failure.append(exc)
                finally:
                    chunk.unlink(missing_ok=True)
                    release_temporary(chunk)
        finally:
            done.set()

    # each loader says when it is done: after a join interrupted by Ctrl-C, Python 3.11's Thread.is_alive() says
    # False of a thread that still runs
    finished = [threading.Event() for _ in range(LOADERS)]
    loaders = [threading.Thread(target=load, args=(done,), name="amurkg-load", daemon=True) for done in finished]
    for loader in loaders:
        loader.start()
    written = 0
    source = _Lines(lines)
    unhanded: Path | None = None  # a staged file not yet handed to the loaders
    try:
        while not failure:
            unhanded, count = _stage(store.path, source, CHUNK_TRIPLES)
            if not count:
                break
            written += count
            files += 1
            staged.put(unhanded)
            unhanded = None
            if count < CHUNK_TRIPLES:
                break
    except BaseException:
        stopped.set()  # a file waiting in the queue is removed, not loaded into a graph about to be dropped
        raise
    finally:
        # nothing here may be cut short: a Ctrl-C (or SIGTERM) raised in the middle, say while an end mark waits for
        # room in the queue, skipped the wait for the loaders, and the caller dropped the graph while loads still
        # ran; what they loaded after the drop stayed in the store, seen by queries and named by no registry entry.
        # So the signals are only noted until every loader has ended; a signal noted stops the loading of the files
        # still queued, and is raised as the hold ends
        tokens = interrupts.hold_all()
        try:
            if unhanded is not None:
                unhanded.unlink(missing_ok=True)
                release_temporary(unhanded)
            for _ in loaders:  # one end mark for each loader: each takes one and stops
                while not _handed(staged, tokens, stopped):
                    pass
            for done in finished:
                while not done.wait(0.1):  # the load under way cannot be stopped
                    _stop_if_noted(tokens, stopped)
            for loader in loaders:
                loader.join()
        finally:
            interrupts.release_all(tokens)
    if failure:
        # the loader thread's traceback holds its frames, and they the database: dropped here, so that a caller
        # who keeps the exception (a notebook, a test runner) does not keep the database open once the lock is
        # released (a writer still open there compacts files away under the next reader)
        error = failure.pop().with_traceback(None)
        if isinstance(error, AmurkgError):
            raise error
        if isinstance(error, OSError | SyntaxError | ValueError):  # a full disk, a store that cannot be written
            message = f"{path}: the store refused the import ({error}); nothing changed"
            del error
            raise AmurkgError(message) from None
        raise error
    return written, files


class _CountCheck:
    """Whether the loaded graph holds the triples written, counted in a thread of its own while the protection reads
    the graph (pyoxigraph counts without the GIL); the protection writes nothing before the count is done
    (``wait``). Counting takes a core 1.3 s at 100k observations (3M triples), and grows with the graph; the
    protection's reading no longer waits for it.

    The thread is started before the load and waits, holding no store, until ``start`` asks it to count: a Ctrl-C
    can then come anywhere and ``wait`` still knows whether a count reads the store (it waits for it) or never will
    (it ends the thread). A thread whose check is gone (a Ctrl-C while it was made) ends by itself."""

    def __init__(self) -> None:
        self.requested, self.done, self.cancelled = threading.Event(), threading.Event(), threading.Event()
        self.job: tuple[Store, str] | None = None
        self.written, self.files, self.path = 0, 0, Path()
        self.outcome: list[int | BaseException] = []
        self.interrupted = False  # a Ctrl-C came while waiting: every later wait raises it again
        requested, done, cancelled, owner = self.requested, self.done, self.cancelled, weakref.ref(self)

        def count() -> None:
            # a timeout: the flag is read again even where a Ctrl-C came between setting it and the notification
            while not requested.wait(1.0):
                if owner() is None:
                    return
            if cancelled.is_set():
                return
            check = owner()
            try:
                if check is not None and check.job is not None:
                    store, graph = check.job
                    # pyoxigraph's answers are read in the thread that asked: the query is made here
                    check.outcome.append(store.count(graph))
            except BaseException as exc:  # handed to the main thread, which raises it
                if check is not None:
                    check.outcome.append(exc)
            finally:
                if check is not None:
                    check.job = None  # the thread keeps no store
                del check
                done.set()

        threading.Thread(target=count, name="amurkg-count", daemon=True).start()

    def start(self, store: Store, graph: str, written: int, files: int, path: Path) -> None:
        """Count ``graph`` of ``store`` now, which should hold the ``written`` triples staged in ``files``."""
        self.written, self.files, self.path = written, files, path
        self.job = (store, graph)
        self.requested.set()

    def wait(self, report: bool = True) -> None:
        """Wait for the count (a Ctrl-C waits for it too, then stands: the thread reads the database, which closes
        after it); with ``report``, ``AmurkgError`` where the graph does not hold what was written. A count never
        asked for is not waited for: its thread ends."""
        if self.cancelled.is_set() or not self.requested.is_set():
            self.cancelled.set()
            self.job = None
            self.requested.set()  # wakes the thread, which ends
            if self.interrupted:
                raise KeyboardInterrupt
            return
        while not self.done.is_set():
            try:
                self.done.wait()
            except KeyboardInterrupt:
                self.interrupted = True
        if self.interrupted:
            raise KeyboardInterrupt
        if not report:
            return
        (held,) = self.outcome
        if isinstance(held, BaseException):
            raise held.with_traceback(None)
        if held != self.written:
            import pyoxigraph

            files = f"{self.files} file{'s' if self.files != 1 else ''}"
            # a graph counts each triple once: a triple staged twice reads as one the loader lost. More than was
            # staged has no such reading: the loader (or amurkg's count of what it staged) is wrong
            cause = (
                "the loader lost some, or amurkg staged a triple twice"
                if held < self.written
                else "the loader added some, or amurkg miscounted what it staged"
            )
            raise AmurkgError(
                f"{self.path}: the import's graph holds {held:,} triples where {self.written:,} were staged in {files} "
                f"for pyoxigraph {pyoxigraph.__version__}'s bulk loader, on {os.cpu_count()} cores: {cause} (a bug "
                "either way: please report this line); nothing changed"
            )


class _Lines:
    """Blocks of lines, taken a given number of lines at a time (a block is cut at a line break)."""

    def __init__(self, blocks: Iterator[Block]) -> None:
        self.blocks = blocks
        self.rest: Block | None = None
        self.taken = 0

    def take(self, limit: int) -> Iterator[bytes]:
        """Up to ``limit`` lines, as pieces of bytes; ``self.taken`` says how many."""
        self.taken = 0
        while self.taken < limit:
            block = self.rest if self.rest is not None else next(self.blocks, None)
            self.rest = None
            if block is None:
                return
            data, count = block
            if self.taken + count > limit:  # cut it: the rest starts the next file
                cut = -1
                for _ in range(limit - self.taken):
                    cut = data.index(b"\n", cut + 1)
                self.rest = (data[cut + 1 :], count - (limit - self.taken))
                data, count = data[: cut + 1], limit - self.taken
            self.taken += count
            yield data


def _text_of(path: Path) -> str:
    """``path`` as text that can be stored: a name in bytes that are not UTF-8 (a folder unpacked from an old zip),
    which Python holds as lone surrogates, keeps those bytes as ``\\xe9`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _stop_if_noted(tokens: list[interrupts.Held], stopped: threading.Event) -> None:
    """Stop the loading of queued files once a Ctrl-C has been noted while held that will raise KeyboardInterrupt
    as the hold ends (Python's own handler). Ignored (SIG_IGN: under nohup, say), or held back from a handler of
    the caller's own, which may not raise, it stops nothing: the queued files are loaded, and the import goes on
    whole if no exception comes."""
    import signal

    for token in tokens:
        if token is not None and token[2] and token[1] in (signal.default_int_handler, signal.SIG_DFL):
            stopped.set()


def _handed(staged: Any, tokens: list[interrupts.Held], stopped: threading.Event) -> bool:
    """Put an end mark in the loaders' queue, waiting a moment at most for room; whether it went in."""
    import queue

    try:
        staged.put(None, timeout=0.1)
    except queue.Full:
        _stop_if_noted(tokens, stopped)
        return False
    return True


def _stage(folder: Path, lines: _Lines, limit: int) -> tuple[Path, int]:
    """Write up to ``limit`` of ``lines`` to a new file in ``folder``; the file, closed, and how many."""
    from amurkg.limits import register_temporary, release_temporary

    fd, name = tempfile.mkstemp(prefix=STAGING_PREFIX, suffix=".nt", dir=folder)
    staged = Path(name)
    register_temporary(staged)  # a stopped import (Ctrl-C, SIGTERM) removes it
    try:
        with os.fdopen(fd, "wb") as out:
            for data in lines.take(limit):
                out.write(data)
    except BaseException:
        staged.unlink(missing_ok=True)
        release_temporary(staged)
        raise
    return staged, lines.taken


_KINDS = {"camtrap-dp": "Camtrap DP package", "dwca": "Darwin Core Archive"}


class ReplaceError(AmurkgError):
    """Importing a package would replace an earlier import of it that holds more, or another kind of, data."""


def _keep_what_would_be_lost(
    store: Store, record: ImportRecord, path: Path, rows: dict[str, int] | None = None, named: bool = True
) -> None:
    """Refuse to replace an earlier import of ``record``'s package by another kind of package (a Darwin Core
    export of a Camtrap DP survey keeps only its event-level animal observations), or by fewer observations, or
    (Camtrap DP, ``rows`` the new package's rows per table) by fewer deployments or media; or, where the package
    is not ``named`` by its own metadata (it then goes by its folder's or file's name), by a package from another
    place: two surveys in folders both called ``survey`` are two packages, not one imported twice."""
    for earlier in store.imports():
        if earlier.package != record.package:
            continue
        if not named and earlier.source != record.source:
            raise ReplaceError(
                f"{path}: has no identifier of its own (no id or name in datapackage.json, or no datasetID shared "
                f"by its rows), so it goes by its name {record.identifier!r}, as does the package the store holds "
                f"from {earlier.source}: give it an id (or name) to import both, or import it again with "
                "{opt:replace} to replace that one; nothing changed"
            )
        if earlier.kind == record.kind and record.observations >= earlier.observations:
            if rows is not None and record.kind == "camtrap-dp":
                for table in ("deployments", "media"):  # a deployment gone takes its effort with it
                    held, has = _records_in(store, earlier.graph, table), rows.get(table, 0)
                    if has < held:
                        raise ReplaceError(
                            f"{path}: the store holds {earlier.identifier} already, imported {earlier.imported} with "
                            f"{held:,} {table}; this package has {has:,}, so importing it would remove {held - has:,}: "
                            "to do so, import it again with {opt:replace}; nothing changed"
                        )
            return
        kind = _KINDS.get(earlier.kind, earlier.kind)
        new = _KINDS.get(record.kind, record.kind)
        raise ReplaceError(
            f"{path}: the store holds {earlier.identifier} already, imported {earlier.imported} from a {kind} "
            f"with {earlier.observations:,} observations; this {new} has {record.observations:,}, so importing it "
            "would replace those: to do so, import it again with {opt:replace}; nothing changed"
        )


def _records_in(store: Store, graph: str, table: str) -> int:
    """How many records of a Camtrap DP ``table`` (deployments, media) the import graph ``graph`` holds."""
    import pyoxigraph as ox

    from amurkg.namespaces import AKG
    from amurkg.survey.rdf import _CLASSES

    query = f"SELECT (COUNT(?record) AS ?n) WHERE {{ ?record a <{AKG}{_CLASSES[table]}> }}"
    (solution,) = store.ox.query(query, default_graph=ox.NamedNode(graph))
    return int(solution["n"].value)


def _curated() -> str:
    from amurkg.store import CURATED_GRAPH

    return CURATED_GRAPH


def remove_package(store_path: Path | str, identifier: str) -> str:
    """Remove an imported package (by its identifier or IRI) from a store; the IRI it had."""
    from amurkg.errors import did_you_mean

    with Store.open(store_path, write=True, doing=f"amurkg import --remove {identifier}") as store:
        records = store.imports()
        for record in records:
            if identifier in (record.identifier, record.package):
                store.unregister(record.package)
                with _kept_if_interrupted(f"{record.identifier} was removed before the interrupt came"):
                    _owe(store, record.triples)  # reclaimed by the next compaction
                break
        else:
            hint = did_you_mean(identifier, [r.identifier for r in records])
            raise AmurkgError(f"{store_path}: holds no package {identifier!r}: {hint}see `amurkg import --list`")
    with _kept_if_interrupted(f"{record.identifier} was removed before the interrupt came"):
        from amurkg.survey.warm import warm

        warm(store_path)
    return record.package


#: An import compacts the store's database once the triples loaded and dropped since its last compaction reach
#: this share of the triples its imports hold. A compaction rewrites most of the database, whatever the import's
#: size: new triples sort among the old ones in three of its six indexes. Measured, four imports of 100,000
#: observations one after the other, each compacting: 4.9, 9.5, 15.7 and 24.7 s of compaction. Compacting at a
#: share keeps an import's cost growing with the import, not with the store (each compaction is paid for by
#: at least a quarter of the store's triples loaded since the last), and the triples no compaction has sorted
#: in yet to a quarter of the store.
COMPACT_SHARE = 0.25
#: The store description's count of what was loaded or dropped since the last compaction.
_OWED = "uncompacted_triples"


def _owed(store: Store) -> int:
    """The triples loaded or dropped since the store's last compaction, as its description says (0 where it says
    nothing sensible)."""
    owed = store.marker.get(_OWED)
    return owed if isinstance(owed, int) and not isinstance(owed, bool) and 0 <= owed < 1 << 62 else 0


def _owe(store: Store, changed: int) -> None:
    """Count ``changed`` triples (loaded, or dropped) against the next compaction, without compacting."""
    store.marker = {**store.marker, _OWED: _owed(store) + changed}  # written when the store closes


def _compact_when_due(store: Store, changed: int, compact: bool | None, held: int) -> None:
    """Count ``changed`` triples (loaded, or dropped) against the next compaction, and compact the store's
    database now where ``compact`` says so, or by default where what is owed reaches ``COMPACT_SHARE`` of ``held``
    (what the store's imports will hold); what is owed is recorded in the store's description."""
    owed = _owed(store) + changed
    due = owed >= COMPACT_SHARE * held if compact is None else compact
    compacted = due and _compact(store)
    store.marker = {**store.marker, _OWED: 0 if compacted else owed}  # written when the store closes


def _compact(store: Store) -> bool:
    """Compact the store's database after an import: a store that cannot (the disk full, say) keeps its data as
    it is, only slower to read, and the import stands. Whether it did."""
    try:
        store.ox.optimize()
    except OSError:
        return False
    return True


def compact_store(store_path: Path | str) -> None:
    """Compact the database of the store at ``store_path`` now (``amurkg import --compact``): what imports since
    the last compaction loaded is sorted in with the rest, and what they dropped is reclaimed."""
    with Store.open(Path(store_path), write=True, doing="amurkg import --compact") as store:
        if not _compact(store):
            raise AmurkgError(f"{store_path}: the store could not be compacted (is its disk full?); it is unchanged")
        store.marker = {**store.marker, _OWED: 0}


def list_imports(store_path: Path | str) -> list[ImportRecord]:
    with Store.open(store_path) as store:
        return store.imports()


__all__ = [
    "ImportReport",
    "PackageError",
    "ReplaceError",
    "compact_store",
    "import_package",
    "list_imports",
    "remove_package",
]


def reprotect(store_path: Path | str, grid: float | None = None) -> int:
    """Recompute which records of every import in the store are protected (the curated graph decides which
    taxa are threatened, and it may have changed) and generalise them to ``grid`` degrees (0.1 by default);
    the number of records generalised."""
    from amurkg.survey.sensitive import Grid, protect, store_reasons

    with Store.open(Path(store_path), write=True, doing="amurkg import --upgrade") as store:
        chosen = Grid(grid) if grid is not None else None
        reasons = store_reasons(store)
        count = sum(protect(store, record.graph, chosen, reasons=reasons) for record in store.imports())
        store.ox.flush()
        return count
