"""Field data at scale: amurkg against raw pyoxigraph on the same triples, side by side in one run.

    python bench/bench_survey.py [--sizes 10000,100000,1000000] [--work DIR] [--no-push]
                                 [--workers auto,1,2] [--import-only] [--json FILE]

For each size, a synthetic Camtrap DP package (amurkg.survey.generate: Primorsky Krai and Jilin cameras,
the leopard, its prey and other species) is generated, then, each in a fresh process whose wall time and
peak memory (ru_maxrss) are measured:

1. import:  `amurkg import PKG --store S`, once per ``--workers`` value (``auto``: as a user runs it; a number:
            AMURKG_IMPORT_WORKERS forced), against raw `Store(path).bulk_load()` of the very triples the
            import wrote (dumped from the store afterwards), into a named graph (THE baseline of the ratio:
            the load amurkg itself does, so that an import is all or nothing and replaceable), into an
            empty store's default graph, and into a named graph with ``lenient=True`` (no IRI or language-tag
            checks: what reading its own staged files leniently would save the import, which reads them
            strictly), and into a named graph followed by ``Store.optimize()`` (the compaction an import does
            where it is due, its first always: a store as quick to query as the import leaves it), and, asked for
            with ``--baselines rows,rows-optimized``, the same two loads of the same triples in the order the
            rows give them (the dump is sorted by subject, which makes its compaction quicker); wall time,
            CPU time (the process and its workers), peak RSS of the process (ru_maxrss) and of its whole
            process tree (sampled: the workers add theirs);
2. queries: `amurkg query detection-rate --store S`, and `amurkg query prey --store S` against today's
            `amurkg query prey` (the shipped graph in memory);
3. export:  `amurkg export --store S -f nt`  against  raw `Store.read_only(path).dump()` of the same store;
4. --data:  `amurkg query prey --data F.nt` (a file of about 1M triples, no store)  against raw
            `Store().load(path=F.nt)` plus the shipped graph;
5. push:    `amurkg push --store S` to a real Oxigraph server (the `oxigraph` binary): time and memory.

``--import-only`` stops after 1 (what the 16-core check needs); ``--json FILE`` writes the import figures (and
the machine: cores, load average) as JSON. Needs only the repository and its wheel dependencies, no network.
"""

from __future__ import annotations

import argparse
import json
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


#: CPU seconds (user + system) of the last process measured, and of its children (Linux's wait4 counts the
#: children it waited for: an import's workers)
last_cpu = [0.0]
#: Peak resident MiB of the last process measured and its descendants together (sampled every 20 ms; Linux)
last_tree = [0.0]


def _tree_rss(pid: int) -> float:
    """Resident MiB of ``pid`` and its descendants, from /proc (0 where there is no /proc)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm", "rb") as handle:
                total += int(handle.read().split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def measure(command: list[str], limit: float | None = None, **kwargs: object) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one process (and only it: os.wait4 reads its own rusage); its CPU
    seconds go to ``last_cpu``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    timer = threading.Timer(limit, proc.kill) if limit else None
    if timer:
        timer.start()
    peak = [0.0]
    running = threading.Event()

    def sample() -> None:
        while not running.wait(0.02):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    running.set()
    sampler.join()
    last_tree[0] = max(peak[0], usage.ru_maxrss / 1024)
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
    parser.add_argument(
        "--workers", default="auto", help="comma-separated: auto (the default count) or numbers (forced)"
    )
    parser.add_argument("--import-only", action="store_true", help="only the import against the raw bulk load")
    parser.add_argument(
        "--baselines",
        default="named,default,lenient,optimized",
        help="comma-separated raw loads to run besides the import (named, the ratio's baseline, always runs)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the import figures to this JSON file")
    args = parser.parse_args()
    summary: dict[str, object] = {
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "baseline": "pyoxigraph Store.bulk_load of the same N-Triples into a named graph of an empty store",
        "sizes": [],
    }
    work = args.work or Path(tempfile.mkdtemp(prefix="amurkg-bench-"))
    from amurkg.survey.generate import generate

    if not args.import_only:
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

        import pyoxigraph

        import amurkg

        runs = []
        for workers in args.workers.split(","):
            shutil.rmtree(store, ignore_errors=True)
            env = {k: v for k, v in os.environ.items() if k != "AMURKG_IMPORT_WORKERS"}
            if workers != "auto":
                env["AMURKG_IMPORT_WORKERS"] = workers
            imported = measure([*AMURKG, "import", str(package), "--store", str(store)], env=env)
            runs.append((workers, imported, last_cpu[0], last_tree[0]))
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
        if {"rows", "rows-optimized"} & set(args.baselines.split(",")):
            # the same triples in the order the rows give them, as a user's own mapping would write them (the dump
            # above is sorted by subject, so the files one load writes hardly overlap and merge quickly)
            in_rows = work / f"import-{size}-rows.nt"
            measure(
                python(
                    "import pyoxigraph as ox\nfrom pathlib import Path\nfrom amurkg.store import Store\n"
                    "from amurkg.survey.importer import _curated, _package_blocks\n"
                    "from amurkg.survey.rdf import taxon_index\n"
                    f"with Store.open({str(store)!r}) as h:\n"
                    "    taxa = taxon_index(h.ox, default_graph=[ox.NamedNode(_curated())])\n"
                    f"with open({str(in_rows)!r}, 'wb') as out:\n"
                    f"    for data, _ in _package_blocks(Path({str(package)!r}), taxa, 50, lambda m, p: None):\n"
                    "        out.write(data)"
                )
            )
            in_order = sum(1 for _ in in_rows.open("rb"))
            # the import's graph lost to hidden/ the exact places its protection moved there: a few lines more here
            print(f"  the rows' order: {in_order:,} triples (the import's graph holds {lines:,} once protected)")
        raw_store = work / f"raw-{size}"
        baselines = {}
        named_graph = ", to_graph=ox.NamedNode('https://example.org/import')"
        wanted = {"named", *args.baselines.split(",")}
        for graph, target, then in (
            ("named", named_graph, ""),
            ("default", "", ""),
            ("lenient", named_graph + ", lenient=True", ""),
            # what the import leaves: a store compacted, as quick to query as it will be (see COMPACT_SHARE)
            ("optimized", named_graph, "\ns.optimize()"),
            # the same, in the rows' order
            ("rows", named_graph, ""),
            ("rows-optimized", named_graph, "\ns.optimize()"),
        ):
            if graph not in wanted:
                continue
            shutil.rmtree(raw_store, ignore_errors=True)
            source = work / f"import-{size}-rows.nt" if graph.startswith("rows") else triples
            figures = measure(
                python(
                    f"import pyoxigraph as ox\ns = ox.Store({str(raw_store)!r})\ns.bulk_load(path={str(source)!r}, "
                    f"format=ox.RdfFormat.N_TRIPLES{target}){then}"
                )
            )
            baselines[graph] = (figures, last_cpu[0], last_tree[0])
            shutil.rmtree(raw_store, ignore_errors=True)
        named, named_cpu, named_tree = baselines["named"]
        keys = {
            "named": "raw_named_graph",
            "default": "raw_default_graph",
            "lenient": "raw_named_graph_lenient",
            "optimized": "raw_named_graph_optimized",
            "rows": "raw_named_graph_rows_order",
            "rows-optimized": "raw_named_graph_rows_order_optimized",
        }
        entry: dict[str, object] = {"observations": size, "triples": lines, "imports": []}
        for graph, (figures, cpu, _) in baselines.items():
            entry[keys[graph]] = {"wall_s": figures[0], "cpu_s": cpu, "rss_mib": figures[1]}
        for workers, imported, cpu, tree in runs:
            what = f"import, workers {workers} ({lines:,} triples)"
            row(what, imported, named, "<= 1.3x time, <= 1.5x memory of the raw named-graph load")
            print(
                f"  {'  CPU (self + workers), tree peak RSS':<44} {cpu:8.2f} s {tree:8.0f} MiB   | baseline "
                f"{named_cpu:8.2f} s {named_tree:8.0f} MiB | ratio {cpu / named_cpu:5.2f}x CPU, "
                f"{tree / named_tree:5.2f}x tree memory",
                flush=True,
            )
            figures_of_import = {
                "workers": workers,
                "wall_s": imported[0],
                "cpu_s": cpu,
                "rss_mib": imported[1],
                "tree_rss_mib": tree,
                "ratio_wall": imported[0] / named[0],
                "ratio_cpu": cpu / named_cpu,
                "ratio_rss": imported[1] / named[1],
                "ratio_tree_rss": tree / named_tree,
            }
            if "optimized" in baselines:
                # the same import against the raw load followed by a compaction, which the import does (its first
                # always): the part of the ratio above that is the compaction, not amurkg
                optimized, optimized_cpu, _ = baselines["optimized"]
                row("  against a raw load, then optimize()", imported, optimized)
                ratio = cpu / optimized_cpu
                print(f"  {'    CPU':<44} {cpu:8.2f} s | baseline {optimized_cpu:8.2f} s | ratio {ratio:5.2f}x CPU")
                figures_of_import.update(ratio_wall_optimized=imported[0] / optimized[0], ratio_cpu_optimized=ratio)
            for name, what in (
                ("rows", "  against a raw load in the rows' order"),
                ("rows-optimized", "  against that, then optimize()"),
            ):
                if name in baselines:
                    base, base_cpu, _ = baselines[name]
                    row(what, imported, base)
                    ratio = cpu / base_cpu
                    print(f"  {'    CPU':<44} {cpu:8.2f} s | baseline {base_cpu:8.2f} s | ratio {ratio:5.2f}x CPU")
                    figures_of_import.update(
                        {
                            f"ratio_wall_{name.replace('-', '_')}": imported[0] / base[0],
                            f"ratio_cpu_{name.replace('-', '_')}": ratio,
                        }
                    )
            entry["imports"].append(figures_of_import)  # type: ignore[attr-defined]
        if "default" in baselines:
            row("raw bulk load into the default graph (vs named)", baselines["default"][0], named)
        if "lenient" in baselines:
            # what a lenient read of its own staged files would save the import (it reads them strictly)
            lenient, lenient_cpu, _ = baselines["lenient"]
            row("raw lenient load into a named graph (vs named)", lenient, named)
            print(f"  {'  its CPU':<44} {lenient_cpu:8.2f} s | baseline {named_cpu:8.2f} s", flush=True)
        summary["sizes"].append(entry)  # type: ignore[attr-defined]
        summary.update(amurkg=amurkg.__version__, pyoxigraph=pyoxigraph.__version__)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
        if args.import_only:
            triples.unlink(missing_ok=True)
            continue

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
