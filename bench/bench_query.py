"""End-to-end timing of `amurkg query` against two baselines, measured in one run.

    python bench/bench_query.py [--runs N] [--query NAME]

(a) a bare Typer command that prints a line: the floor any Typer CLI pays;
(b) a naive script: Typer + rdflib parsing the same Turtle and running the same query.
Runs are interleaved so drift in machine load hits all three alike. Prints the median and p90
wall time and the peak memory of each, then the ratios against the targets:
amurkg <= 1.3x the bare command, and >= 2.5x faster than the naive script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``cmd``; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        detail = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{detail}")
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--query", default="conservation-status")
    args = parser.parse_args()

    query_file = ROOT / "queries" / f"{args.query}.rq"
    if not query_file.is_file():
        raise SystemExit(f"no query file {query_file}")
    commands = {
        "amurkg query": [sys.executable, "-m", "amurkg", "query", args.query, "--format", "tsv"],
        "bare typer": [sys.executable, str(HERE / "bare_typer.py")],
        "naive rdflib": [sys.executable, str(HERE / "naive_rdflib.py"), str(query_file)],
    }
    # An installed wheel carries byte-code; compile the checkout the same way, even where
    # PYTHONDONTWRITEBYTECODE is set (compileall writes regardless).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "amurkg")], check=True)
    for cmd in commands.values():  # warm the file cache
        measure(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, int] = {}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            seconds, rss = measure(cmd)
            times[name].append(seconds)
            peaks[name] = max(peaks.get(name, 0), rss)

    print(f"query: {args.query}   runs: {args.runs}   python: {sys.version.split()[0]}")
    print(f"{'command':<14} {'median ms':>10} {'p90 ms':>8} {'peak MiB':>9}")
    medians = {}
    for name, values in times.items():
        values.sort()
        medians[name] = statistics.median(values)
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(f"{name:<14} {medians[name] * 1000:>10.1f} {p90 * 1000:>8.1f} {peaks[name] / 1024:>9.1f}")
    vs_bare = medians["amurkg query"] / medians["bare typer"]
    vs_naive = medians["naive rdflib"] / medians["amurkg query"]
    print(f"amurkg / bare typer   = {vs_bare:.2f}x   (target <= 1.30x) {'ok' if vs_bare <= 1.3 else 'MISSED'}")
    print(f"naive / amurkg        = {vs_naive:.2f}x   (target >= 2.50x) {'ok' if vs_naive >= 2.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
