"""Where an import's time goes: ``amurkg.survey.importer.import_package`` with its phases timed in one process.

    python bench/import_phases.py PACKAGE STORE

Phases (wall and CPU seconds of this process, its threads and its mapping workers included): checking,
mapping and loading the rows (``_load_staged``: the rows are mapped here, or in worker processes on more than
two cores, while the loader's thread loads the staged files), reading the store's sensitive places and
protecting the cameras of threatened taxa (``sensitive.read_places``, ``sensitive.protect``), compacting the
database where it is due (``importer._compact``), and answering the survey queries for their first asker
(``warm``); then the whole import and the peak memory (ru_maxrss). Generate a package of N observations with
``python -c "from amurkg.survey.generate import generate; generate('PACKAGE', N)"``. Not a comparison: for the
ratio to a raw bulk load of the same triples, run ``bench/bench_survey.py``.
"""

from __future__ import annotations

import inspect
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import amurkg.store as store  # noqa: E402
import amurkg.survey.importer as importer  # noqa: E402
import amurkg.survey.sensitive as sensitive  # noqa: E402
import amurkg.survey.warm as warm  # noqa: E402

spent: dict[str, list[float]] = {}


def cpu() -> float:
    """CPU seconds of this process and of its children that ended (the mapping workers, where there are any)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def account(wall: float, used: float) -> None:
        total = spent.setdefault(name, [0.0, 0.0, 0])
        total[0] += time.perf_counter() - wall
        total[1] += cpu() - used
        total[2] += 1

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, used = time.perf_counter(), cpu()
        try:
            return function(*args, **kwargs)
        finally:
            account(wall, used)

    def generator(*args: Any, **kwargs: Any) -> Any:  # timed while it is read
        wall, used = time.perf_counter(), cpu()
        try:
            yield from function(*args, **kwargs)
        finally:
            account(wall, used)

    return generator if inspect.isgeneratorfunction(function) else wrapper


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    # the importer looks these up when it calls them: the module attributes are what it runs
    importer._load_staged = timed("check, map and load", importer._load_staged)
    sensitive.read_places = timed("read sensitive places", sensitive.read_places)
    sensitive.protect = timed("protect the cameras", sensitive.protect)
    warm.warm = timed("answer for first askers", warm.warm)
    importer._compact = timed("compact the database", importer._compact)
    # inside the phases above: the count check after loading, and the count of what queries see at closing
    store.Store.count = timed("  count the graph", store.Store.count)
    store.Store._count_visible = timed("  count what is visible", store.Store._count_visible)
    sensitive._camera_paths = timed("  join paths to cameras", sensitive._camera_paths)
    wall, used = time.perf_counter(), cpu()
    importer.import_package(sys.argv[2], sys.argv[1])
    wall, used = time.perf_counter() - wall, cpu() - used
    for name, (w, c, calls) in spent.items():
        times = f"{calls} call{'s' if calls != 1 else ''}"
        print(f"{name:24s} wall {w:7.1f} s  CPU {c:7.1f} s  ({times}, {w / wall:.0%} of the wall)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest mapping worker
    print(f"{'the import':24s} wall {wall:7.1f} s  CPU {used:7.1f} s  peak {peak:,.0f} MiB (a worker: {workers:,.0f})")


if __name__ == "__main__":
    main()
