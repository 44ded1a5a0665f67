"""`amurkg serve` against the Oxigraph server on the same data, side by side in one run; all on 127.0.0.1.

    python bench/bench_serve.py [--seconds S]

1. Throughput and latency with wrk (Debian's `wrk`; without it, a Python client that is itself the
   bottleneck) at 1, 10 and 50 connections, for the conservation-status canned query: the same query
   every time (amurkg answers repeats from its cache) and a different query text every time (a comment
   with a counter: every request reaches a query worker).
2. Memory: proportional set size (PSS) of each server's whole process tree, after the runs.
3. What asking through --endpoint costs compared with the local graph.
4. Fairness: the latency of `ASK {}` while 8 clients keep slow queries running (a cartesian product that
   only a time limit stops), with every limit of amurkg serve in force.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
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

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
VARY = """
local f = io.open("%(file)s"); local q = f:read("*a"); f:close()
local n = 0
local function hex(c) return string.format("%%%%%%02X", string.byte(c)) end
local function enc(s) return (s:gsub("[^%%w%%-_%%.~]", hex)) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/sparql-results+json"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, "query=" .. enc(q .. "\\n# request " .. n .. " " .. math.random(1e9)))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str) -> None:
    ask = url + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    for _ in range(600):
        try:
            with urllib.request.urlopen(ask, timeout=5) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} does not answer")


def pss_mib(pid: int) -> float:
    """Proportional set size of a process and all its descendants (shared pages counted once overall)."""
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    total = 0.0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            total += int(re.search(r"^Pss:\s+(\d+) kB", handle.read(), re.M).group(1)) / 1024  # type: ignore[union-attr]
    except (OSError, AttributeError):
        pass
    return total + sum(pss_mib(int(child)) for child in children)


def wrk(url: str, connections: int, seconds: int, script: str | None, accept_get: bool) -> tuple[float, float, int]:
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        args += ["-s", script]
    else:
        args += ["-H", "Accept: application/sparql-results+json"]
    out = subprocess.run([*args, url], capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    if sock_errors:
        failed += sum(int(x) for x in sock_errors.groups())
    return rate, p99_ms, failed


def python_load(url: str, body: bytes, clients: int, per_client: int) -> tuple[float, float, int]:
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
    latencies.sort()
    return len(latencies) / (time.perf_counter() - started), latencies[int(0.99 * (len(latencies) - 1))] * 1000, errors


def fairness(url: str, seconds: float) -> tuple[float, float, int, int]:
    """p50 and p95 (ms) of ASK {} while 8 clients keep slow queries running; ASK errors; slow answers."""
    stop = time.monotonic() + seconds
    slow_answers = 0
    lock = threading.Lock()

    def slow_client() -> None:
        nonlocal slow_answers
        body = urllib.parse.urlencode({"query": SLOW}).encode()
        while time.monotonic() < stop:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=seconds + 30) as r:
                    r.read()
            except (OSError, urllib.error.HTTPError):
                pass
            with lock:
                slow_answers += 1

    threads = [threading.Thread(target=slow_client, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1)  # let the slow queries start
    latencies: list[float] = []
    errors = 0
    n = 0
    while time.monotonic() < stop:
        n += 1
        body = urllib.parse.urlencode({"query": f"ASK {{}} # {n}"}).encode()
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as r:
                r.read()
        except (OSError, urllib.error.HTTPError):
            errors += 1
        latencies.append(time.perf_counter() - start)
        time.sleep(0.02)
    latencies.sort()
    return (
        statistics.median(latencies) * 1000,
        latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        errors,
        slow_answers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    args = parser.parse_args()
    has_wrk = shutil.which("wrk") is not None

    query = bind_values(
        amurkg.get_query("conservation-status").text, {"taxon": Term.iri("https://w3id.org/amurkg/id/amur-leopard")}
    )
    workdir = Path(tempfile.mkdtemp(prefix="amurkg-bench-"))
    (workdir / "query.rq").write_text(query)
    script = workdir / "vary.lua"
    script.write_text(VARY % {"file": workdir / "query.rq"})
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        serve_port, ox_port = free_port(), free_port()
        procs["amurkg serve"] = subprocess.Popen(
            [sys.executable, "-m", "amurkg", "serve", "--port", str(serve_port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        procs["oxigraph"] = subprocess.Popen(
            [
                binary,
                "serve",
                "--location",
                str(workdir / "store"),
                "--bind",
                f"127.0.0.1:{ox_port}",
                "--union-default-graph",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        urls = {
            "amurkg serve": f"http://127.0.0.1:{serve_port}/sparql",
            "oxigraph": f"http://127.0.0.1:{ox_port}/query",
        }
        for url in urls.values():
            wait_for(url)
        push(export_graph("nt"), urls["oxigraph"])

        print(f"1. throughput, conservation-status, {'wrk' if has_wrk else 'Python client'}, {args.seconds} s per run")
        print(f"{'server':<13} {'queries':<10} {'conns':>5} {'req/s':>8} {'p99 ms':>8} {'errors':>7}")
        body = urllib.parse.urlencode({"query": query}).encode()
        get_url = {name: f"{url}?{urllib.parse.urlencode({'query': query})}" for name, url in urls.items()}
        rates: dict[tuple[str, str, int], float] = {}
        for connections in (1, 10, 50):
            for kind in ("repeated", "distinct"):
                for name, url in urls.items():
                    if has_wrk:
                        target = get_url[name] if kind == "repeated" else url
                        rate, p99, failed = wrk(
                            target, connections, args.seconds, str(script) if kind == "distinct" else None, True
                        )
                    else:
                        rate, p99, failed = python_load(url, body, connections, 20)
                    rates[(name, kind, connections)] = rate
                    print(f"{name:<13} {kind:<10} {connections:>5} {rate:>8.0f} {p99:>8.2f} {failed:>7}")
        for kind in ("repeated", "distinct"):
            ratio = rates[("amurkg serve", kind, 50)] / rates[("oxigraph", kind, 50)]
            print(f"amurkg / oxigraph at 50 connections, {kind} queries: {ratio:.2f}")

        print("\n2. memory (PSS of the whole process tree, MiB), after the throughput runs")
        for name, proc in procs.items():
            print(f"{name:<13} {pss_mib(proc.pid):>8.1f}")

        local = amurkg.load()
        remote = amurkg.KnowledgeGraph.remote(urls["amurkg serve"])
        for kg in (local, remote):
            kg.run("conservation-status")
        timings = {}
        print("\n3. one canned query, in process and through --endpoint (amurkg serve), distinct texts")
        for name, kg in (("local", local), ("--endpoint", remote)):
            runs = []
            for n in range(50):
                start = time.perf_counter()
                kg.query(query + f"\n# {n}")
                runs.append(time.perf_counter() - start)
            timings[name] = statistics.median(runs)
            print(f"{name:<13} median {timings[name] * 1000:.2f} ms")
        print(f"--endpoint costs {timings['--endpoint'] / timings['local']:.1f}x the local run")

        # last, as the Oxigraph server has no time limit: its slow queries run on until it is stopped
        print("\n4. ASK {} while 8 clients run a slow query (amurkg: stopped at its 5 s limit; oxigraph: no limit)")
        print(f"{'server':<13} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'slow answers':>13}")
        for name, url in urls.items():
            p50, p95, errors, slow = fairness(url, 12)
            print(f"{name:<13} {p50:>8.2f} {p95:>8.2f} {errors:>7} {slow:>13}")
    finally:
        for proc in procs.values():
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
