"""Imports one after another into one store: does an import cost what its package costs, or what the store holds?

    python bench/bench_successive.py [--imports 5] [--size 100000] [--work DIR]

Generates ``--imports`` packages of ``--size`` observations each (amurkg.survey.generate, a seed each, so each
has its own cameras and leopards), and imports them one after the other into a store, each import in a process of
its own (``python -m amurkg import``), twice, alternating:

* ``now``: as amurkg imports (the store's other packages protected again only where the new one changes which of
  their cameras are sensitive; the database compacted once what was loaded since the last compaction reaches a
  quarter of the store);
* ``before``: as amurkg imported until 2026-12-07 (every other package protected again, each reading the whole
  store; the database compacted after every import), the baseline in the same run. Only the reading of the new
  package's own places is as now (before the load for the store's, after it for the package's: until then the
  whole store was read after the load, through a view whose checkpoint waited for RocksDB's merging).

For each import: wall and CPU seconds (the process and its threads), and whether it compacted; then the last
import's cost against the first's (1.0x: an import costs the same whatever the store holds).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Run in the child: the import as it was before (``before``), or as it is.
_CHILD = """
import sys
from amurkg.survey import importer, sensitive

if sys.argv[3] == "before":
    def every_graph_again(store, reasons, besides=()):
        others = [r.graph for r in store.imports() if r.graph not in besides]
        for graph in others:
            sensitive.protect(store, graph, also=list(besides))
        return len(others)

    sensitive.protect_others = every_graph_again
compacted = []
real = importer._compact
def counted(store):
    compacted.append(1)
    return real(store)
importer._compact = counted
importer.import_package(sys.argv[1], sys.argv[2], compact=True if sys.argv[3] == "before" else None)
print("compacted" if compacted else "not compacted")
"""


def run(store: Path, package: Path, how: str) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(store), str(package), how],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imports", type=int, default=5)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    from amurkg.survey.generate import generate

    work = args.work or Path(tempfile.mkdtemp(prefix="amurkg-successive-"))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {args.imports} imports of {args.size:,}")
    packages = []
    for i in range(args.imports):
        package = work / f"package-{i}"
        if not package.exists():
            generate(package, args.size, seed=i + 1)
            descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
            descriptor["id"] = descriptor["name"] = f"successive-{i}"
            (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
        packages.append(package)
    spent: dict[str, list[tuple[float, float, str]]] = {"now": [], "before": []}
    for how in spent:
        shutil.rmtree(work / f"store-{how}", ignore_errors=True)
    for i, package in enumerate(packages):
        for how in ("now", "before") if i % 2 == 0 else ("before", "now"):  # alternated: a busy spell hits both
            spent[how].append(run(work / f"store-{how}", package, how))
        (nw, nc, ns), (bw, bc, bs) = spent["now"][-1], spent["before"][-1]
        print(
            f"  import {i + 1}: now {nw:6.1f} s wall {nc:6.1f} s CPU ({ns:13s}) | before {bw:6.1f} s wall "
            f"{bc:6.1f} s CPU ({bs}) | ratio {nw / bw:.2f}x wall, {nc / bc:.2f}x CPU",
            flush=True,
        )
    for how, runs in spent.items():
        (first_wall, first_cpu, _), (last_wall, last_cpu, _) = runs[0], runs[-1]
        total_wall, total_cpu = sum(r[0] for r in runs), sum(r[1] for r in runs)
        print(
            f"{how:6s}: last import / first {last_wall / first_wall:.2f}x wall, {last_cpu / first_cpu:.2f}x CPU; "
            f"all {len(runs)} imports {total_wall:.0f} s wall, {total_cpu:.0f} s CPU"
        )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
