"""Survey queries on a store against raw pyoxigraph running the same text over the union of graphs.

    python bench/bench_union.py STORE [STORE ...] [--runs 3] [--only NAME ...]

For each store (made by ``amurkg import PKG --store STORE``; bench_survey.py or
``python -m amurkg.survey.generate`` make packages), every survey canned query is run in this process

- through amurkg (``KnowledgeGraph(store=STORE).run(name)``, the answer read in full), and
- by raw pyoxigraph: ``Store.read_only(STORE/db).query(text, use_default_graph_as_union=True)`` on the very
  text amurkg hands the engine (parameters bound), every solution read,

best of ``--runs`` each, wall and CPU seconds, and the ratio (goal: within 1.5x). The store is opened once
(opening takes milliseconds; the ratio is the query's). Also prints the row counts, which must agree.

amurkg is timed twice: ``computed``, every answer computed (``AMURKG_NO_ANSWER_CACHE=1``: the fast paths of
``amurkg.quick`` or the engine, nothing kept), and ``kept``, the first ask after the import, in a store opened
anew (as a command opens it), with what an import keeps (``amurkg.answers``): the survey queries' answers at
their defaults, and the parts a first ask with other parameters reads (every series' lists, what
detections-near reads of each, the count nodes), so that a date range or another point is computed from them.
``kept`` removes what the store keeps and lets ``amurkg.survey.warm`` keep it again first, as an import does,
and prints how long that took.
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
    ("detections-near", {"latitude": "43.15", "longitude": "130.65"}),
    ("detections-near", {"latitude": "43.25", "longitude": "130.85", "km": "10"}),
    ("detection-rate", {"since": "2021-03-01T00:00:00Z"}),
    ("detection-rate", {"since": "2023-05-01T00:00:00Z", "until": "2023-06-01T00:00:00Z"}),
    ("activity-pattern", {"since": "2021-03-01T00:00:00Z"}),
    ("activity-pattern", {"since": "2023-05-01T00:00:00Z", "until": "2023-06-01T00:00:00Z"}),
    ("co-detections-any", {"since": "2023-05-01T00:00:00Z"}),
]


def label_of(name: str, params: dict[str, str]) -> str:
    """The query's name, and what its parameters ask, shortly."""
    if "since" in params:
        return name + (" range" if "until" in params else " since")
    if "latitude" in params:
        return f"{name} {params['latitude']},{params['longitude']}"
    return name


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
    parser.add_argument("--only", action="append", default=[], help="time only the queries of this name (repeatable)")
    args = parser.parse_args()
    import os
    import shutil

    import pyoxigraph as ox

    from amurkg import answers
    from amurkg.catalog import get_query
    from amurkg.graph import KnowledgeGraph
    from amurkg.namespaces import PREFIXES
    from amurkg.survey.warm import warm

    for store in args.stores:
        print(f"== {store}")
        shutil.rmtree(store / answers.FOLDER, ignore_errors=True)
        wall, cpu = time.perf_counter(), time.process_time()
        kept = warm(store)
        print(
            f"  kept at import: {len(kept)} answers in {time.perf_counter() - wall:.2f}s "
            f"({time.process_time() - cpu:.2f}s CPU in this process)"
        )
        print(
            f"  {'query':<34} {'kept':>7} | {'computed':>8} {'cpu':>7} | {'raw wall':>8} {'cpu':>7} | "
            f"{'ratio':>6} {'rows':>7}"
        )
        kg = KnowledgeGraph(store=store)
        raw = ox.Store.read_only(str(store / "db"))
        try:
            for name, params in QUERIES:
                if args.only and name not in args.only:
                    continue
                label = label_of(name, params)
                canned = get_query(name)
                # the text amurkg hands the engine: with a date range, the one that counts detections
                text, path = canned.text_for(params)
                bindings = kg.bind_parameters(canned, params)
                if path == canned.path and canned.detailed is not None:
                    bindings.pop("observationType", None)
                    bindings.pop("timeLapse", None)
                checked = kg.check(text, bindings, name)

                def ours(name: str = name, params: dict[str, str] = params, kg: KnowledgeGraph = kg) -> int:
                    return len(kg.run(name, params).rows)

                def theirs(text: str = checked.text, raw: ox.Store = raw) -> int:
                    answer = raw.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
                    return sum(1 for _ in answer)

                def fresh(name: str = name, params: dict[str, str] = params, store: Path = store) -> int:
                    with KnowledgeGraph(store=store) as opened:  # as a command does: the store opened anew
                        return len(opened.run(name, params).rows)

                first = timed(fresh, 1)  # the first ask: kept at import, or read from the parts kept at import
                os.environ["AMURKG_NO_ANSWER_CACHE"] = "1"
                try:
                    mine = timed(ours, args.runs)
                finally:
                    del os.environ["AMURKG_NO_ANSWER_CACHE"]
                base = timed(theirs, args.runs)
                print(
                    f"  {label:<34} {first[0]:6.3f}s | {mine[0]:7.3f}s {mine[1]:6.3f}s | {base[0]:7.3f}s "
                    f"{base[1]:6.3f}s | {mine[0] / base[0]:5.2f}x {mine[2]:>7}"
                    f"{'' if mine[2] == base[2] == first[2] else f' (raw {base[2]}, kept {first[2]})'}",
                    flush=True,
                )
        finally:
            kg.close()


if __name__ == "__main__":
    main()
