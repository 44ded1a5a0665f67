"""The canned survey queries with and without record filters, on a synthetic package.

    python bench/bench_query_filters.py [--sizes 100000] [--work DIR] [--repeat 3]

For each size a synthetic package (``amurkg.survey.generate``) is imported into a store, then each survey
query is run through the Python API (``kg.run``), unfiltered and with filters (a package, a few deployments,
a taxon, a date range, observation types where the query takes them): the best of ``--repeat`` wall and CPU
times and the rows, so that what a filter costs (binding the selection, joining on it, or counting the
detections themselves where counts made at import cannot answer it) shows beside what it saves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _time(kg: Any, name: str, params: dict[str, str], repeat: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds (the engine's threads included) of ``repeat`` runs, and the rows."""
    wall, cpu, count = float("inf"), float("inf"), 0
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        count = len(kg.run(name, params).rows)
        wall = min(wall, time.perf_counter() - began)
        cpu = min(cpu, time.process_time() - began_cpu)
    return wall, cpu, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import amurkg
    from amurkg.catalog import get_query
    from amurkg.survey.generate import generate

    work = args.work or Path(tempfile.mkdtemp(prefix="amurkg-bench-filters-"))
    for size in (int(s) for s in args.sizes.split(",")):
        package = generate(work / f"package-{size}", size, 1)
        store = work / f"store-{size}"
        began = time.perf_counter()
        amurkg.import_package(store, package)
        print(f"# {size:,} observations: imported in {time.perf_counter() - began:.1f} s", flush=True)
        with amurkg.KnowledgeGraph(store=store) as kg:
            effort = kg.run("survey-effort").rows
            ids = sorted(str(r[1].value) for r in effort if r[1] is not None)
            pkg = str(effort[0][0].value).rsplit("/", 1)[-1] if effort and effort[0][0] is not None else ""
            starts = sorted(str(r[5].value)[:10] for r in effort if r[5] is not None)
            since = starts[len(starts) // 2]
            filters = {
                "package": pkg,
                "deployment": ",".join(ids[:3]),
                "taxon": "Amur leopard",
                "since": since,
                "observationType": "animal,human",
            }
            extra = {"detections-near": {"latitude": "43.1", "longitude": "131.5", "km": "100"}}
            print("query,filters,wall_s,cpu_s,rows")
            for name in (
                "survey-effort",
                "detection-rate",
                "detection-rate-any",
                "prey-detection-rate",
                "activity-pattern",
                "activity-pattern-any",
                "co-detections",
                "co-detections-any",
                "detections-near",
            ):
                taken = get_query(name).filters
                base = extra.get(name, {})
                wall, cpu, rows = _time(kg, name, base, args.repeat)
                print(f"{name},none,{wall:.3f},{cpu:.3f},{rows}", flush=True)
                for key, value in filters.items():
                    if key in taken:
                        wall, cpu, rows = _time(kg, name, {**base, key: value}, args.repeat)
                        print(f"{name},{key},{wall:.3f},{cpu:.3f},{rows}", flush=True)
                if "since" in taken:
                    every = {k: v for k, v in filters.items() if k in taken and k != "observationType"}
                    wall, cpu, rows = _time(kg, name, {**base, **every}, args.repeat)
                    print(f"{name},{'+'.join(every)},{wall:.3f},{cpu:.3f},{rows}", flush=True)


if __name__ == "__main__":
    main()
