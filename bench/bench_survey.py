"""Field data at scale: amurkg against raw pyoxigraph on the same triples, side by side in one run.

    python bench/bench_survey.py [--sizes 10000,100000,1000000] [--work DIR] [--no-push]

For each size, a synthetic Camtrap DP package (amurkg.survey.generate: Primorsky Krai and Jilin cameras,
the leopard, its prey and other species) is generated, then, each in a fresh process whose wall time and
peak memory (ru_maxrss) are measured:

1. import:  `amurkg import PKG --store S`  against  raw `Store(path).bulk_load()` of the very triples the
            import wrote (dumped from the store afterwards), into an empty store's default graph, and into
            a named graph (what amurkg does, so that an import is all or nothing and replaceable);
2. queries: `amurkg query detection-rate --store S`, and `amurkg query prey --store S` against today's
            `amurkg query prey` (the shipped graph in memory);
3. export:  `amurkg export --store S -f nt`  against  raw `Store.read_only(path).dump()` of the same store;
4. --data:  `amurkg query prey --data F.nt` (a file of about 1M triples, no store)  against raw
            `Store().load(path=F.nt)` plus the shipped graph;
5. push:    `amurkg push --store S` to a real Oxigraph server (the `oxigraph` binary): time and memory.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AMURKG = [sys.executable, "-m", "amurkg"]
#: Every survey canned query, with the parameters it needs (each must answer in under a second at 1M).
SURVEY_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("survey-effort", {}),
    ("detection-rate", {}),
    ("detection-rate-any", {}),
    ("prey-detection-rate", {}),
    ("activity-pattern", {}),
    ("co-detections", {}),
    ("detections-near", {"latitude": "43.1", "longitude": "131.5"}),
]


#: CPU seconds (user + system) of the last process measured, and of its children
last_cpu = [0.0]


def measure(command: list[str], limit: float | None = None, **kwargs: object) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one process (and only it: os.wait4 reads its own rusage); its CPU
    seconds go to ``last_cpu``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    timer = threading.Timer(limit, proc.kill) if limit else None
    if timer:
        timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if timer:
        timer.cancel()
        if elapsed >= limit:  # type: ignore[operator]
            return math.inf, usage.ru_maxrss / 1024
    last_cpu[0] = usage.ru_utime + usage.ru_stime
    if status != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"failed: {' '.join(command)}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


def best(command: list[str], runs: int = 3, limit: float | None = None) -> tuple[float, float]:
    results = []
    for _ in range(runs):
        results.append(measure(command, limit))
        if math.isinf(results[-1][0]):  # past the limit once is enough
            break
    return min(r[0] for r in results), max(r[1] for r in results)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def row(what: str, ours: tuple[float, float], base: tuple[float, float] | None, target: str = "") -> None:
    text = f"  {what:<44} {ours[0]:8.2f} s {ours[1]:8.0f} MiB"
    if base is not None:
        text += f"   | baseline {base[0]:8.2f} s {base[1]:8.0f} MiB | ratio {ours[0] / base[0]:5.2f}x time, "
        text += f"{ours[1] / base[1]:5.2f}x memory"
    print(text + (f"   (target {target})" if target else ""), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-push", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="amurkg-bench-"))
    from amurkg.survey.generate import generate

    prey_memory = best([*AMURKG, "query", "prey"])
    print(f"today's start-up, amurkg query prey (shipped graph in memory): {prey_memory[0]:.2f} s")
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"\n== {size:,} observations", flush=True)
        package = work / f"package-{size}"
        store = work / f"store-{size}"
        shutil.rmtree(store, ignore_errors=True)
        started = time.perf_counter()
        if not (package / "datapackage.json").exists():
            generate(package, size)
        print(f"  generated the package in {time.perf_counter() - started:.1f} s", flush=True)

        imported = measure([*AMURKG, "import", str(package), "--store", str(store)])
        imported_cpu = last_cpu[0]
        triples = work / f"import-{size}.nt"
        measure(
            python(
                "import pyoxigraph as ox\nfrom amurkg.store import Store\n"
                f"h = Store.open({str(store)!r})\n(r,) = h.imports()\n"
                f"h.ox.dump(open({str(triples)!r}, 'wb'), format=ox.RdfFormat.N_TRIPLES, "
                "from_graph=ox.NamedNode(r.graph))"
            )
        )
        lines = sum(1 for _ in triples.open("rb"))
        raw_store = work / f"raw-{size}"
        shutil.rmtree(raw_store, ignore_errors=True)
        raw = measure(
            python(
                f"import pyoxigraph as ox\nox.Store({str(raw_store)!r}).bulk_load(path={str(triples)!r}, "
                "format=ox.RdfFormat.N_TRIPLES)"
            )
        )
        raw_cpu = last_cpu[0]
        row(f"import ({lines:,} triples)", imported, raw, "<= 1.3x time, < 2 GiB")
        print(
            f"  {'  CPU time, import vs raw bulk load':<44} {imported_cpu:8.2f} s CPU | baseline {raw_cpu:8.2f} s CPU"
            f" | ratio {imported_cpu / raw_cpu:5.2f}x CPU (on {os.cpu_count()} cores)",
            flush=True,
        )
        shutil.rmtree(raw_store, ignore_errors=True)
        # what amurkg must do to make an import all-or-nothing and replaceable: a named graph, which Oxigraph
        # indexes six ways instead of the default graph's three
        named = measure(
            python(
                f"import pyoxigraph as ox\nox.Store({str(raw_store)!r}).bulk_load(path={str(triples)!r}, "
                "format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode('https://example.org/import'))"
            )
        )
        row("import (vs raw bulk load into a named graph)", imported, named)
        shutil.rmtree(raw_store, ignore_errors=True)

        for name, params in SURVEY_QUERIES:
            pairs = [f"{k}={v}" for k, v in params.items()]
            command = [*AMURKG, "query", name, *(a for pair in pairs for a in ("--param", pair)), "--store", str(store)]
            row(f"query {name} --store", best(command, limit=60), None, "< 1 s (with the start-up); inf: > 60 s")
        row(
            "query prey --store (vs prey in memory)",
            best([*AMURKG, "query", "prey", "--store", str(store)]),
            prey_memory,
            "<= 1.3x",
        )

        out = work / f"export-{size}.nt"
        exported = measure([*AMURKG, "export", "--store", str(store), "-f", "nt", "-o", str(out)])
        dumped = measure(
            python(
                f"import pyoxigraph as ox\nox.Store.read_only({str(store / 'db')!r}).dump("
                f"open({str(work / 'raw.nq')!r}, 'wb'), format=ox.RdfFormat.N_QUADS)"
            )
        )
        row("export --store -f nt (vs raw dump)", exported, dumped, "<= 1.5x")
        out.unlink(missing_ok=True)
        (work / "raw.nq").unlink(missing_ok=True)

        if size == 100_000 or (size == max(int(s) for s in args.sizes.split(",")) and size < 100_000):
            # about 1M triples as a plain file, without a store
            head = work / "data-1m.nt"
            with triples.open("rb") as src, head.open("wb") as dst:
                for number, line in enumerate(src):
                    if number >= 1_000_000:
                        break
                    dst.write(line)
            with_data = measure([*AMURKG, "query", "prey", "--data", str(head)])
            raw_data = measure(
                python(
                    "import pyoxigraph as ox\nfrom amurkg.resources import shipped_turtle\n"
                    "from amurkg.resources import shipped_files\ns = ox.Store()\n"
                    "s.load(shipped_turtle(shipped_files()), format=ox.RdfFormat.TURTLE)\n"
                    f"s.load(path={str(head)!r}, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode('file:///x'))\n"
                    "list(s.query('SELECT * { ?s ?p ?o } LIMIT 1'))"
                )
            )
            row("query prey --data (1M triples, no store)", with_data, raw_data, "<= 1.3x time and memory")

        if not args.no_push:
            binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
            if Path(binary).exists():
                port = free_port()
                location = work / f"server-{size}"
                server = subprocess.Popen(
                    [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    time.sleep(1.5)
                    pushed = measure(
                        [
                            *AMURKG,
                            "push",
                            "--store",
                            str(store),
                            "--endpoint",
                            f"http://127.0.0.1:{port}/query",
                            "--timeout",
                            "600",
                        ]
                    )
                    row("push --store to an Oxigraph server", pushed, None, "bounded memory")
                finally:
                    server.terminate()
                    server.wait()
                    shutil.rmtree(location, ignore_errors=True)
        triples.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
