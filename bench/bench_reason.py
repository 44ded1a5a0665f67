"""What OWL RL reasoning costs: load time, triples added, and a query, with and without it.

    python bench/bench_reason.py [--runs N]

Each figure is the median of N fresh loads in this process, per engine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import amurkg


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    query = amurkg.get_query("countries-of-places").text
    print(f"runs: {args.runs}")
    print(f"{'engine':<9} {'reason':<6} {'load ms':>9} {'triples':>8} {'query ms':>9} {'rows':>5}")
    for engine in ("oxigraph", "rdflib"):
        for reason in (False, True):
            loads, queries = [], []
            for _ in range(args.runs):
                seconds, kg = timed(lambda e=engine, r=reason: amurkg.load(engine=e, reason=r))
                loads.append(seconds)
                seconds, result = timed(lambda kg=kg: kg.query(query))
                queries.append(seconds)
            print(
                f"{engine:<9} {'yes' if reason else 'no':<6} {statistics.median(loads) * 1000:>9.1f} {len(kg):>8} "
                f"{statistics.median(queries) * 1000:>9.2f} {len(result.rows):>5}"  # type: ignore[union-attr]
            )


if __name__ == "__main__":
    main()
