"""The rows of a Camtrap DP package checked and mapped to N-Triples in chunks, in worker processes.

One process reads the CSV files (``csv``, in C) and makes, in file order, every check that needs the rows
before a row (keys, unique values, foreign keys: ``TableKeys``). The rest, which is most of the work (typed
values, constraints and control characters of each cell: ``RowCheck``; the time checks against the
deployments; the N-Triples of each row: ``Mapper.row``), needs nothing but the row and what was read before
the table (the deployments), so chunks of rows go to worker processes and come back as N-Triples text, the
problems each row had in column order, and the few values the ordered checks need. The reading process adds
the problems and the lines in the order of the chunks, so the messages, their order, and the triples are
the same whatever the number of workers: one (no other process), or many.

Workers are started with ``spawn`` on every system (what macOS and Windows use by default), so they share
nothing with the reading process but what each chunk carries; they write no file, so a stopped import leaves
nothing of theirs behind, and they ignore SIGINT (the reading process, or its supervisor, stops the import).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from amurkg.errors import AmurkgError
from amurkg.survey.rdf import Mapper, TaxonIndex
from amurkg.survey.tables import Finding, Item, Problems, Row, RowCheck

#: Rows per chunk: big enough that handing a chunk to a worker costs little against mapping it.
CHUNK_ROWS = 2000
#: Most workers an import starts (the reading process and the loader use cores too).
MAX_WORKERS = 8
#: Below this many data rows (bytes of media and observations, about 150 per row) a package is mapped
#: in-process: starting workers would cost more than they save.
SMALL_PACKAGE_BYTES = 3_000_000
#: Forces the number of workers (1: no other process); see ``workers``.
WORKERS_ENV = "AMURKG_IMPORT_WORKERS"


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (Linux, inside containers), else what the OS says."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13: the affinity where the OS has one
    if counter is not None:
        return max(1, counter() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def workers(size: int | None = None) -> int:
    """How many worker processes map an import's rows: ``AMURKG_IMPORT_WORKERS`` when set (a whole number,
    1 to 64), else one per available core but one, at most ``MAX_WORKERS``; 1 (in-process) for a package
    whose tables hold fewer than ``SMALL_PACKAGE_BYTES``."""
    forced = os.environ.get(WORKERS_ENV, "").strip()
    if forced:
        if not (forced.isascii() and forced.isdigit()) or not 1 <= int(forced) <= 64:
            raise AmurkgError(f"{WORKERS_ENV}={forced[:20]!r}: give a whole number of worker processes, 1 to 64")
        return int(forced)
    if size is not None and size < SMALL_PACKAGE_BYTES:
        return 1
    return max(1, min(MAX_WORKERS, available_cores() - 1))


@dataclass
class Context:
    """What a worker needs besides the rows: the same for every chunk of a table."""

    table: str
    checker: RowCheck
    needed: tuple[str, ...]  # the columns the ordered checks read (``TableKeys.needed``)
    identifier: str
    files: dict[str, str]
    taxa: TaxonIndex
    taxon_ids: dict[str, str]
    offsets: dict[str, Any]  # deploymentID -> UTC offset of its start
    deployments: dict[str, Any]  # deploymentID -> (start, end, timestampIssues): the time checks
    keep_events: bool = False  # the package has time-lapse images: hand back the events to mark (Mapper.events)


@dataclass
class Done:
    """A chunk, checked and mapped."""

    #: per row, in file order: (number, problems of its cells, refused primary key, the ``needed`` values,
    #: what the time check found) or, for a row the reader refused, (number, its problem)
    rows: list[tuple[Any, ...]]
    data: bytes = b""  # the N-Triples of the chunk's rows, when none had a problem of its own
    lines: int = 0
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # rows, matched, unknown
    detections: list[tuple[Any, ...]] = field(default_factory=list)
    observed: dict[str, str] = field(default_factory=dict)
    # what marks the observations of time-lapse images (``Mapper.time_lapse_lines``)
    media: list[tuple[str, float, bool]] = field(default_factory=list)
    time_lapse_media: set[str] = field(default_factory=set)
    events: list[tuple[str, float, str, str | None]] = field(default_factory=list)
    outside: int = 0  # rows outside their deployment's interval kept (the deployment says timestampIssues)


def map_chunk(context: Context, chunk: list[Item]) -> Done:
    """Check and map one chunk of rows (in a worker, or in-process: the same function either way)."""
    from amurkg.survey.camtrapdp import _Times

    times = _Times()
    times.deployments = context.deployments
    check = times.checker(context.table)
    checker, needed = context.checker, context.needed
    rows: list[tuple[Any, ...]] = []
    good: list[tuple[int, Row]] = []
    clean = True
    for number, cells in chunk:
        if isinstance(cells, tuple):
            rows.append((number, cells))
            clean = False
            continue
        row, found, refused = checker.cells(number, cells)
        between = check(row) if not found else None
        rows.append((number, found, refused, tuple(row.get(name) for name in needed), between))
        if found or between is not None:
            clean = False
        elif clean:
            good.append((number, row))
    done = Done(rows, outside=sum(times.outside.values()))
    if clean:  # a chunk with a problem is not mapped: the import will fail
        mapper = Mapper(context.identifier, context.files, context.taxa, context.taxon_ids)
        mapper.offsets = context.offsets
        mapper.keep_events = context.keep_events
        lines: list[str] = []
        for number, row in good:
            lines += mapper.row(context.table, number, row)
        if lines:
            lines.append("")
        done.data = "\n".join(lines).encode("utf-8")
        done.lines = mapper.stats.triples
        done.counts = {"rows": mapper.stats.rows, "matched": mapper.stats.matched, "unknown": mapper.stats.unknown}
        done.detections, done.observed = mapper.detections, mapper.observed
        done.media, done.time_lapse_media, done.events = mapper.media, mapper.time_lapse_media, mapper.events
    return done


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the reading process decides what a Ctrl-C stops


class _InProcess:
    """An executor that runs each chunk at once, here: one worker without another process."""

    def submit(self, fn: Callable[..., Done], *args: Any) -> Future[Done]:
        future: Future[Done] = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _executor(count: int) -> Any:
    if count <= 1:
        return _InProcess()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts)


def table_blocks(
    executor: Any,
    window: int,
    context: Context,
    items: Iterable[Item],
    settle: Callable[[int, Row, bool, str | None, Problems, Any], bool],
    problems: Problems,
    mapper: Mapper,
    outside: dict[str, int],
) -> Iterator[tuple[bytes, int]]:
    """Hand the rows of one table to ``executor`` chunk by chunk (at most ``window`` chunks under way, so
    memory stays bounded), and settle what comes back in file order: ordered checks, problems, and the
    chunk's N-Triples as ``(bytes, lines)`` while no problem has been found."""
    pending: deque[Future[Done]] = deque()
    rows = iter(items)
    chunks = iter(lambda: list(itertools.islice(rows, CHUNK_ROWS)), [])
    needed = context.needed

    def settle_one(done: Done) -> Iterator[tuple[bytes, int]]:
        for entry in done.rows:
            if len(entry) == 2:
                problems.add(*entry[1])
                continue
            number, found, refused, values, between = entry
            for where, message in found:
                problems.add(where, message)
            settle(number, dict(zip(needed, values, strict=True)), not found, refused, problems, _found(between))
        outside[context.table] += done.outside
        if problems:
            return
        for name, counter in done.counts.items():
            getattr(mapper.stats, name).update(counter)
        mapper.stats.triples += done.lines
        mapper.detections += done.detections
        mapper.media += done.media
        mapper.time_lapse_media |= done.time_lapse_media
        mapper.events += done.events
        for taxon, name in done.observed.items():
            mapper.observed.setdefault(taxon, name)
        if done.lines:
            yield done.data, done.lines

    for chunk in chunks:
        pending.append(executor.submit(map_chunk, context, chunk))
        while len(pending) >= window:
            yield from settle_one(_result(pending.popleft()))
    while pending:
        yield from settle_one(_result(pending.popleft()))


def _found(problem: Finding | None) -> Callable[[Row], Finding | None]:
    """A between-columns check that a worker already made: its finding."""
    return lambda _: problem


def _result(future: Future[Done]) -> Done:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise AmurkgError(
            "a worker process mapping the rows ended abruptly (out of memory?): nothing changed; import again "
            f"with fewer workers, e.g. {WORKERS_ENV}=1"
        ) from None


def package_blocks(
    package: Any, files: dict[str, str], mapper: Mapper, problems: Problems, count: int
) -> Iterator[tuple[bytes, int]]:
    """The N-Triples of the rows of a Camtrap DP package (``CameraTrapPackage``) as ``(bytes, lines)``
    blocks, mapped by ``count`` workers (``mapper`` was made with ``files``); its problems go into
    ``problems``, as ``package.rows`` adds them."""
    from amurkg.survey.camtrapdp import TABLES, _Times, no_deployments, table_schema
    from amurkg.survey.tables import checked_rows, forget_if_cut, open_table

    keys: dict[str, set[str]] = {}
    times = _Times()
    executor = _executor(count)
    try:
        for name in TABLES:
            opened = open_table(package.tables[name], package.display[name], table_schema(name), problems, keys)
            if opened is None:
                continue
            checker, table_keys, items = opened
            try:
                if name == "deployments":  # few rows, and what the other tables are checked and mapped against
                    for number, row in checked_rows(checker, table_keys, items, problems, times.checker(name)):
                        lines = mapper.row(name, number, row) if not problems else []
                        if lines:
                            lines.append("")
                            yield "\n".join(lines).encode("utf-8"), len(lines) - 1
                    forget_if_cut(items, name, keys)
                    no_deployments(keys, package.display[name], problems)
                    continue
                context = Context(
                    name,
                    checker,
                    table_keys.needed,
                    package.identifier,
                    files,
                    mapper.taxa,
                    mapper.taxon_ids,
                    mapper.offsets,
                    times.deployments,
                    bool(mapper.time_lapse_media),  # the media, read before the observations, had some
                )
                yield from table_blocks(
                    executor, 2 * max(count, 1), context, items, table_keys.settle, problems, mapper, times.outside
                )
                forget_if_cut(items, name, keys)
                if name == "media" and not mapper.time_lapse_media:
                    mapper.media.clear()  # no time-lapse image: no observation to mark
            finally:
                items.close()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    package.warnings.extend(times.warnings(package.display))
