"""Throughput and latency of `amurkg serve` against the Oxigraph server on the same data, and what
asking through --endpoint costs compared with the local graph. All traffic stays on 127.0.0.1.

    python bench/bench_serve.py [--requests N]

Both servers answer the conservation-status canned query (its parameter bound) by POST; each level
of concurrency sends N requests per client, from 1, 10 and 50 client threads.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import amurkg  # noqa: E402
from amurkg.remote import push  # noqa: E402
from amurkg.results import Term  # noqa: E402
from amurkg.serialize import export_graph  # noqa: E402
from amurkg.sparql import bind_values  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def load(url: str, body: bytes, clients: int, per_client: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client() -> None:
        nonlocal errors
        for _ in range(per_client):
            start = time.perf_counter()
            request = urllib.request.Request(url, data=body, headers={"Accept": "application/sparql-results+json"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                ok = True
            except OSError:
                ok = False
            with lock:
                latencies.append(time.perf_counter() - start)
                errors += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    args = parser.parse_args()

    query = bind_values(
        amurkg.get_query("conservation-status").text, {"taxon": Term.iri("https://w3id.org/amurkg/id/amur-leopard")}
    )
    body = urllib.parse.urlencode({"query": query}).encode()
    procs = []
    try:
        serve_port, ox_port = free_port(), free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "amurkg", "serve", "--port", str(serve_port)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        procs.append(
            subprocess.Popen(
                [binary, "serve", "--bind", f"127.0.0.1:{ox_port}", "--union-default-graph"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(serve_port)
        wait_for(ox_port)
        oxigraph = f"http://127.0.0.1:{ox_port}/query"
        push(export_graph("nt"), oxigraph)
        servers = {"amurkg serve": f"http://127.0.0.1:{serve_port}/sparql", "oxigraph": oxigraph}
        for url in servers.values():  # warm up: workers loaded, caches filled
            load(url, body, 2, 10)
        print(f"query: conservation-status   requests per client: {args.requests}")
        print(f"{'server':<13} {'clients':>7} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'errors':>7}")
        for clients in (1, 10, 50):
            for name, url in servers.items():
                latencies, wall, errors = load(url, body, clients, args.requests)
                latencies.sort()
                p95 = latencies[int(0.95 * (len(latencies) - 1))]
                median = statistics.median(latencies) * 1000
                rate = len(latencies) / wall
                print(f"{name:<13} {clients:>7} {rate:>8.0f} {median:>10.2f} {p95 * 1000:>8.2f} {errors:>7}")

        local = amurkg.load()
        remote = amurkg.KnowledgeGraph.remote(oxigraph)
        for kg in (local, remote):
            kg.run("conservation-status")
        timings = {}
        for name, kg in (("local (oxigraph in process)", local), ("--endpoint (Oxigraph server)", remote)):
            runs = []
            for _ in range(50):
                start = time.perf_counter()
                kg.run("conservation-status")
                runs.append(time.perf_counter() - start)
            timings[name] = statistics.median(runs)
            print(f"{name:<30} median {timings[name] * 1000:.2f} ms per canned query")
        ratio = timings["--endpoint (Oxigraph server)"] / timings["local (oxigraph in process)"]
        print(f"--endpoint costs {ratio:.1f}x the local run")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
