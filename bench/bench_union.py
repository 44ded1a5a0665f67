"""Survey queries on a store against raw pyoxigraph running the same text over the union of graphs.

    python bench/bench_union.py STORE [STORE ...] [--runs 3]

For each store (made by ``amurkg import PKG --store STORE``; bench_survey.py or
``python -m amurkg.survey.generate`` make packages), every survey canned query is run in this process

- through amurkg (``KnowledgeGraph(store=STORE).run(name)``, the answer read in full), and
- by raw pyoxigraph: ``Store.read_only(STORE/db).query(text, use_default_graph_as_union=True)`` on the very
  text amurkg hands the engine (parameters bound), every solution read,

best of ``--runs`` each, wall and CPU seconds, and the ratio (goal: within 1.5x). The store is opened once
(opening takes milliseconds; the ratio is the query's). Also prints the row counts, which must agree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES: list[tuple[str, dict[str, str]]] = [
    ("survey-effort", {}),
    ("detection-rate", {}),
    ("detection-rate-any", {}),
    ("prey-detection-rate", {}),
    ("activity-pattern", {}),
    ("activity-pattern-any", {}),
    ("co-detections", {}),
    ("co-detections-any", {}),
    ("detections-near", {"latitude": "43.1", "longitude": "131.5"}),
]


def timed(call: object, runs: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds of ``runs`` calls, and the rows of the last."""
    best_wall = best_cpu = float("inf")
    rows = 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        rows = call()  # type: ignore[operator]
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stores", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import pyoxigraph as ox

    from amurkg.catalog import get_query
    from amurkg.graph import KnowledgeGraph
    from amurkg.namespaces import PREFIXES

    for path in args.stores:
        print(f"== {path}")
        print(f"  {'query':<22} {'amurkg wall':>11} {'cpu':>7} | {'raw wall':>8} {'cpu':>7} | {'ratio':>6} {'rows':>7}")
        kg = KnowledgeGraph(store=path)
        raw = ox.Store.read_only(str(path / "db"))
        try:
            for name, params in QUERIES:
                canned = get_query(name)
                checked = kg.check(canned.text, kg.bind_parameters(canned, params), name)

                def ours(name: str = name, params: dict[str, str] = params, kg: KnowledgeGraph = kg) -> int:
                    return len(kg.run(name, params).rows)

                def theirs(text: str = checked.text, raw: ox.Store = raw) -> int:
                    answer = raw.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
                    return sum(1 for _ in answer)

                mine = timed(ours, args.runs)
                base = timed(theirs, args.runs)
                print(
                    f"  {name:<22} {mine[0]:10.3f}s {mine[1]:6.3f}s | {base[0]:7.3f}s {base[1]:6.3f}s | "
                    f"{mine[0] / base[0]:5.2f}x {mine[2]:>7}{'' if mine[2] == base[2] else f' (raw {base[2]})'}",
                    flush=True,
                )
        finally:
            kg.close()


if __name__ == "__main__":
    main()
