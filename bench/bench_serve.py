"""`amurkg serve` against the Oxigraph server on the same data and the same queries, side by side in one run;
all on 127.0.0.1.

    python bench/bench_serve.py [--observations 20000] [--seconds 10] [--runs 3] [--connections 1,10,50]

Load comes from wrk (Debian's `wrk`, required): HTTP/1.1 keep-alive connections, POSTed forms, a different
query text on every request (a comment naming the run, the wrk thread and a counter: no text comes twice,
in one run or across runs), so that amurkg's answer cache never helps and every request reaches a query
worker; then the same text every time, where amurkg's cache answers.

1. A store: a synthetic camera-trap survey of ``--observations`` observations (``amurkg.survey.generate``)
   imported into an amurkg store; `amurkg serve --store` against `oxigraph serve` on a copy of the same
   RocksDB folder, asked `detection-rate` and `survey-effort` with the very dataset amurkg uses (the
   curated graph and the registered imports, given to Oxigraph as FROM clauses); and, as Oxigraph's best
   case, `oxigraph serve --union-default-graph` on another copy, asked amurkg's text (it then reads every
   graph of the store, hidden ones included: not the same answers on every store).
2. The shipped graph: `amurkg serve` against `oxigraph serve` holding the same triples, asked
   `conservation-status`.

For each: requests per second, p95 latency, errors (non-2xx, socket errors and timeouts), each repeated
``--runs`` times back to back on the same servers (a rate that falls from run to run means something
grows); then the proportional set size (PSS) of each server's whole process tree and amurkg's process
count. Last, the latency of `ASK {}` while 8 clients keep never-ending queries running (amurkg stops them
at its time limit; Oxigraph has none).
"""

from __future__ import annotations

import argparse
import contextlib
import os
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
from amurkg.serialize import export_graph  # noqa: E402
from amurkg.sparql import bind_values, tokens  # noqa: E402


def canned_text(name: str) -> str:
    """A canned query's text with its default parameters bound, as amurkg's own client sends it."""
    canned = amurkg.get_query(name)
    return bind_values(canned.text, amurkg.load().bind_parameters(canned, {}))


SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LUA = """
local f = io.open("%(file)s"); local q = f:read("*a"); f:close()
local n = 0
local vary = %(vary)s
local function hex(c) return string.format("%%%%%%02X", string.byte(c)) end
local function enc(s) return (s:gsub("[^%%w%%-_%%.~]", hex)) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/sparql-results+json"
local fixed = "query=" .. enc(q)
local threads = 0
local all = {}
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
  table.insert(all, thread)
end
local bad = {}
local sample = ""
function response(status, headers, body)
  if status < 200 or status > 399 then
    bad[status] = (bad[status] or 0) + 1
    local parts = {}
    for k, v in pairs(bad) do table.insert(parts, k .. "=" .. v) end
    statuses = table.concat(parts, ",")
    if sample == "" then sample = string.sub(string.gsub(body or "", "%%s+", " "), 1, 200); first = sample end
  end
end
function done(summary, latency, requests)
  for _, thread in ipairs(all) do
    local s = thread:get("statuses")
    if s then io.write("BAD STATUSES " .. s .. " FIRST " .. (thread:get("first") or "") .. "\\n") end
  end
end
request = function()
  if not vary then return wrk.format(nil, nil, nil, fixed) end
  n = n + 1
  return wrk.format(nil, nil, nil, "query=" .. enc(q .. "\\n# request %(run)s " .. id .. " " .. n))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str) -> None:
    ask = url + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    for _ in range(1200):
        try:
            with urllib.request.urlopen(ask, timeout=5) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} does not answer")


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        found.append(parent)
        with contextlib.suppress(OSError):
            stack += [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    return found


def pss_mib(pid: int) -> float:
    """Proportional set size of a process and all its descendants (shared pages counted once overall)."""
    total = 0.0
    for each in tree(pid):
        try:
            text = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        found = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        total += int(found.group(1)) / 1024 if found else 0.0
    return total


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU time used by each process of a tree."""
    found = {}
    for each in tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            data = Path(f"/proc/{each}/stat").read_bytes()
            fields = data[data.rindex(b")") + 2 :].split()
            found[each] = (int(fields[11]) + int(fields[12])) / TICKS
    return found


class CpuMeter:
    """CPU time a process tree uses while it is measured, workers that end meanwhile included: the tree is
    sampled every 0.2 s, and a process that ended counts with its last sample (a worker ended when a client
    left mid-query takes at most its last 0.2 s with it)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.before = pid, cpu_by_process(pid)
        self.last = dict(self.before)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stop.wait(0.2):
            self.last.update(cpu_by_process(self.pid))

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        self.last.update(cpu_by_process(self.pid))
        return sum(self.last.values()) - sum(self.before.values())


TICKS = os.sysconf("SC_CLK_TCK")


def wrk(url: str, connections: int, seconds: int, script: Path) -> tuple[float, float, int]:
    """Requests per second, p95 latency (ms) and failed requests of one wrk run."""
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    args += ["-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # wrk's --latency table lists 50/75/90/99; p95 lies between 90 and 99: read it from the distribution
    # line wrk prints, interpolating linearly
    marks = {int(p): _ms(v, u) for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    p95 = marks[90] + (marks[99] - marks[90]) * 5 / 9 if 90 in marks and 99 in marks else float("nan")
    failed = 0
    if errors := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        failed += int(errors.group(1))
    if sock := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        failed += sum(int(x) for x in sock.groups())
    if failed:  # say which: the statuses and the first answer of each wrk thread, the socket errors
        for line in re.findall(r"^(?:BAD STATUSES .*|\s*Socket errors: .*)$", out, re.M):
            print(f"    failed requests: {printable(line.strip()[:300])}", file=sys.stderr)
    return rate, p95, failed


def printable(text: str) -> str:
    """A server's words for the terminal: control characters (escape sequences) shown as ``?``."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", text)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def fairness(url: str, seconds: float) -> tuple[float, float, int]:
    """p50 and p95 (ms) of ASK {} while 8 clients keep never-ending queries running; ASK errors."""
    stop = time.monotonic() + seconds

    def slow_client() -> None:
        body = urllib.parse.urlencode({"query": SLOW}).encode()
        while time.monotonic() < stop:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=seconds + 30) as r:
                    r.read()
            except (OSError, urllib.error.HTTPError):
                pass

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
        except (OSError, urllib.error.HTTPError) as exc:
            errors += 1
            if errors == 1:  # say which
                said = exc.read().decode(errors="replace")[:200] if isinstance(exc, urllib.error.HTTPError) else ""
                print(printable(f"    ASK failed: {exc} {said}".rstrip()), file=sys.stderr)
        latencies.append(time.perf_counter() - start)
        time.sleep(0.02)
    latencies.sort()
    return statistics.median(latencies) * 1000, latencies[int(0.95 * (len(latencies) - 1))] * 1000, errors


class Servers:
    """amurkg serve and Oxigraph servers, started side by side; stopped (SIGTERM) on exit."""

    def __init__(self, amurkg_args: list[str], oxigraphs: dict[str, tuple[Path, list[str]]]) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: dict[str, str] = {}
        port = free_port()
        self.procs["amurkg serve"] = subprocess.Popen(
            [sys.executable, "-m", "amurkg", "serve", "--port", str(port), *amurkg_args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.urls["amurkg serve"] = f"http://127.0.0.1:{port}/sparql"
        binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        for name, (location, extra) in oxigraphs.items():
            port = free_port()
            self.procs[name] = subprocess.Popen(
                [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}", *extra],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.urls[name] = f"http://127.0.0.1:{port}/query"
        for url in self.urls.values():
            wait_for(url)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs.values():
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def compare(
    servers: Servers, queries: dict[str, dict[str, str]], args: argparse.Namespace, workdir: Path
) -> dict[str, float]:
    """Run every query on both servers (texts per server: the dataset is said the way each server needs)."""
    runs = " ".join(f"{'run ' + str(r + 1):>21}" for r in range(args.runs))
    print(f"{'server':<14} {'query':<22} {'texts':<9} {'conns':>5} {runs}")
    cells = " ".join(f"{'req/s  p95 ms  CPU ms':>21}" for _ in range(args.runs))
    print(f"{'':<14} {'':<22} {'':<9} {'':>5} {cells}")
    best: dict[str, float] = {}
    for name, texts in queries.items():
        sizes = {server: answer_bytes(url, texts[server]) for server, url in servers.urls.items()}
        first = next(iter(sizes))
        print(
            f"{'':<14} {name:<22} bytes per JSON answer: "
            + ", ".join(f"{server} {size:,} ({size / sizes[first]:.2f}x)" for server, size in sizes.items())
        )
        for vary in [kind == "distinct" for kind in args.texts]:
            for connections in args.connections:
                for server, url in servers.urls.items():
                    (workdir / "q.rq").write_text(texts[server])
                    script = workdir / f"{server.split()[0]}-{vary}.lua"
                    cells, failed = [], 0
                    pid = servers.procs[server].pid
                    for run in range(args.runs):
                        # each request's text differs from every other one's, across threads and runs alike
                        nonce = f"{name} {connections} {run} {time.time_ns()}"
                        script.write_text(LUA % {"file": workdir / "q.rq", "vary": str(vary).lower(), "run": nonce})
                        meter = CpuMeter(pid)
                        rate, p95, bad = wrk(url, connections, args.seconds, script)
                        per_request = meter.seconds() * 1000 / max(1.0, rate * args.seconds)
                        cells.append(f"{rate:>7.0f} {p95:>7.1f} {per_request:>5.2f}")
                        failed += bad
                        best[f"{server}|{name}|{vary}|{connections}|{run}"] = rate
                        best[f"{server}|{name}|{vary}|{connections}|{run}|cpu"] = per_request
                    kind = "distinct" if vary else "repeated"
                    note = f"  ({failed} failed)" if failed else ""
                    print(f"{server:<14} {name:<22} {kind:<9} {connections:>5} " + " ".join(cells) + note)
                ratios(servers, best, f"{name}|{vary}|{connections}", args.runs, name, kind, connections)
    return best


def ratios(servers: Servers, best: dict[str, float], key: str, runs: int, name: str, kind: str, conns: int) -> None:
    """amurkg's req/s and CPU per request as ratios to each Oxigraph server's, run by run."""
    ours = "amurkg serve"
    for other in servers.urls:
        if other == ours:
            continue
        cells = []
        for run in range(runs):
            rate = best[f"{ours}|{key}|{run}"] / max(best[f"{other}|{key}|{run}"], 1e-9)
            cpu = best[f"{ours}|{key}|{run}|cpu"] / max(best[f"{other}|{key}|{run}|cpu"], 1e-9)
            cells.append(f"{rate:>6.2f}x {'':>7} {cpu:>4.1f}x")
        label = f"/{other}"
        print(f"{label:<14} {name:<22} {kind:<9} {conns:>5} " + " ".join(cells))


def answer_bytes(url: str, text: str) -> int:
    """Size of one JSON answer to ``text``, as sent on the wire (no compression asked)."""
    body = urllib.parse.urlencode({"query": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read())


def memory(servers: Servers) -> None:
    print(f"{'server':<14} {'PSS MiB':>8} {'processes':>10} {'amurkg/it':>10}")
    pss = {name: pss_mib(proc.pid) for name, proc in servers.procs.items()}
    for name, proc in servers.procs.items():
        ratio = "" if name == "amurkg serve" else f"{pss['amurkg serve'] / max(pss[name], 1e-9):>9.2f}x"
        print(f"{name:<14} {pss[name]:>8.1f} {len(tree(proc.pid)):>10} {ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=20_000, help="size of the synthetic survey")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="repeated runs of each measurement")
    parser.add_argument("--connections", default="50", help="comma-separated connection counts")
    parser.add_argument("--skip-shipped", action="store_true", help="only the store")
    parser.add_argument("--skip-store", action="store_true", help="only the shipped graph")
    parser.add_argument("--queries", default="detection-rate,survey-effort", help="canned queries on the store")
    parser.add_argument("--texts", default="distinct,repeated", help="distinct and/or repeated query texts")
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    args.texts = args.texts.split(",")
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk (apt-get install wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="amurkg-bench-serve-"))
    try:
        if not args.skip_store:
            store_part(args, workdir)
        if not args.skip_shipped:
            shipped_part(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def store_part(args: argparse.Namespace, workdir: Path) -> None:
    """1. a store: amurkg serve --store against oxigraph serve on copies of its RocksDB folder."""
    from amurkg.store import Store
    from amurkg.survey.generate import generate

    package = generate(workdir / "package", args.observations)
    store = workdir / "store"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "amurkg", "import", str(package), "--store", str(store)], check=True,
                   capture_output=True)  # fmt: skip
    with Store.open(store) as handle:
        graphs = handle.visible_graphs()
        triples = handle.asserted_triples()
    print(
        f"store: {args.observations:,} observations, {triples:,} triples, {len(graphs)} visible graphs "
        f"(imported in {time.perf_counter() - started:.0f} s); {args.runs} runs of {args.seconds} s each"
    )
    copy, union = workdir / "oxigraph-db", workdir / "oxigraph-db-union"
    shutil.copytree(store / "db", copy)
    shutil.copytree(store / "db", union)
    dataset = "".join(f"FROM <{g}>\n" for g in graphs)
    queries = {}
    for name in args.queries.split(","):
        text = canned_text(name)
        where = next(t for t in tokens(text) if t.kind == "word" and t.text.upper() == "WHERE").offset
        queries[name] = {
            "amurkg serve": text,
            "oxigraph": text[:where] + dataset + text[where:],
            "oxigraph union": text,  # every graph of the store, hidden ones included: not the same answers
        }
    print("\n1. a store (amurkg serve --store; oxigraph serve on a copy of its RocksDB folder)")
    oxigraphs = {"oxigraph": (copy, []), "oxigraph union": (union, ["--union-default-graph"])}
    with Servers(["--store", str(store)], oxigraphs) as servers:
        compare(servers, queries, args, workdir)
        memory(servers)
        print("\n   ASK {} while 8 clients run never-ending queries (amurkg stops them at its 5 s limit)")
        print(f"{'server':<13} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
        for name, url in list(servers.urls.items())[:2]:
            p50, p95, errors = fairness(url, 12)
            print(f"{name:<13} {p50:>8.2f} {p95:>8.2f} {errors:>7}")


def shipped_part(args: argparse.Namespace, workdir: Path) -> None:
    """2. the shipped graph: amurkg serve against oxigraph serve holding the same triples."""
    print("\n2. the shipped graph (amurkg serve; oxigraph serve holding the same triples)")
    shipped = workdir / "oxigraph-shipped"
    loaded = subprocess.Popen(
        [shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph")), "serve",
         "--location", str(shipped), "--bind", f"127.0.0.1:{(port := free_port())}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/query")
        push(export_graph("nt"), f"http://127.0.0.1:{port}/query")
    finally:
        loaded.terminate()
        loaded.wait()
    text = canned_text("conservation-status")
    with Servers([], {"oxigraph": (shipped, ["--union-default-graph"])}) as servers:
        compare(servers, {"conservation-status": {"amurkg serve": text, "oxigraph": text}}, args, workdir)
        memory(servers)


if __name__ == "__main__":
    main()
