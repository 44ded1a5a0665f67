"""The web interface's pages against the bare /sparql request that feeds them, on the shipped graph.

    python bench/bench_web.py [--sources DIR] [--repeat N]

Starts ``amurkg serve`` on 127.0.0.1 and times, over HTTP from this process (so each figure includes one
local round trip):

1. every entity's page, each asked once (no page is in the server's cache: the first visit), and the
   ``entity-facts`` query for the same entity sent to /sparql (a counter in a comment: never cached);
2. every canned query's page that runs without parameters, once each, and its query text sent to /sparql;
3. the same pages asked again (answered from the page cache);
4. with ``--observations N``: the survey dashboard on a store holding a synthetic package of N observations
   (``amurkg.survey.generate``), once for each independence interval (each a first visit), beside the bare
   /sparql request of the detection series it reads; and the activity page (curves, the leopard beside each
   prey) in clock and solar time at several intervals, each a first visit, beside the bare /sparql request of
   the detection series it reads (``amurkg.survey.series``; ``bench/bench_activity.py`` times the page
   in-process, with its CPU time, against the computation it replaced). ``--store DIR`` reuses a store
   already imported.

Reports the median, p95 and maximum in milliseconds. The brief's bound: under 100 ms for an entity page and
a query page.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import amurkg  # noqa: E402
from amurkg.catalog import get_query, list_queries  # noqa: E402
from amurkg.results import SelectResult, Term  # noqa: E402
from amurkg.sparql import bind_values  # noqa: E402

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Seconds the client waits for a page.
TIMEOUT = 900


def fetch(url: str, data: bytes | None = None) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, data=data, timeout=TIMEOUT) as resp:
        resp.read()
        assert resp.status == 200, url
    return (time.perf_counter() - start) * 1000


def summary(name: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"{name:<44} n={len(times):>4}  median {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
        f"max {times[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--observations", type=int, default=0, help="also time the survey dashboard (e.g. 100000)")
    parser.add_argument("--store", type=Path, help="time the dashboard on this imported store instead")
    parser.add_argument("--workers", type=int, default=2, help="the server's query workers for the dashboard")
    args = parser.parse_args()
    if args.observations or args.store:
        dashboard(args.observations, args.store, args.workers)
        return
    port = free_port()
    extra = ["--sources", str(args.sources)] if (args.sources / "seed").is_dir() else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "amurkg", "serve", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, 60, 0.2)
        kg = amurkg.load()
        entities = kg.query(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "SELECT DISTINCT ?e WHERE { ?e rdfs:label ?l FILTER(STRSTARTS(STR(?e), 'https://w3id.org/amurkg/id/')) }"
        )
        assert isinstance(entities, SelectResult)
        iris = [row[0].value for row in entities.rows if row[0] is not None]
        print(f"amurkg serve on the shipped graph, {len(iris)} entities; quotes: {'yes' if extra else 'no'}")
        facts = get_query("entity-facts").text
        fetch(base + "/entity?iri=" + urllib.parse.quote(iris[0], safe=""))  # every worker warm
        page, bare, again = [], [], []
        for n, iri in enumerate(iris[1:]):
            page.append(fetch(base + "/entity?iri=" + urllib.parse.quote(iri, safe="")))
            text = bind_values(facts, {"entity": Term.iri(iri)}) + f"\n# request {n}"
            bare.append(fetch(base + "/sparql", urllib.parse.urlencode({"query": text}).encode()))
        for iri in iris[1:]:
            again.append(fetch(base + "/entity?iri=" + urllib.parse.quote(iri, safe="")))
        summary("entity page, first visit", page)
        summary("  its entity-facts query on /sparql", bare)
        summary("entity page, again (page cache)", again)
        page, bare, again = [], [], []
        runnable = [q for q in list_queries() if not q.reasoning and not any(p.required for p in q.parameters)]
        for n, q in enumerate(runnable):
            page.append(fetch(base + f"/queries/{q.name}"))
            text = bind_values(q.text, kg.bind_parameters(q, {})) + f"\n# request {n}"
            bare.append(fetch(base + "/sparql", urllib.parse.urlencode({"query": text}).encode()))
        for q in runnable:
            again.append(fetch(base + f"/queries/{q.name}"))
        slowest = sorted(zip(page, bare, (q.name for q in runnable), strict=True), reverse=True)[:3]
        summary("canned query page, first visit", page)
        print("  slowest: " + ", ".join(f"{name} {p:.0f} ms (bare {b:.0f} ms)" for p, b, name in slowest))
        summary("  its query on /sparql", bare)
        summary("canned query page, again (page cache)", again)
        summary("home page", [fetch(base + "/") for _ in range(20)])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_ready(base: str, seconds: float, step: float) -> None:
    """Wait until the server at ``base`` answers SPARQL, for ``seconds`` at most, asking every ``step``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fetch(base + "/sparql?query=ASK%7B%7D")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(step)


#: The activity pages asked, each once: (scale, independence interval).
ACTIVITY = [("clock", 30), ("solar", 30), ("clock", 60), ("solar", 0), ("clock", 5), ("solar", 120)]


def activity_series_query() -> str:
    """The query of the detection series of the leopard and its prey that the activity page sends."""
    from amurkg.survey.series import series_query

    kg = amurkg.load()
    leopard = kg.resolve("amur:amur-leopard")
    prey = [r[0] for r in kg.run("prey", {"predator": leopard.value}).rows if r[0] is not None]
    return series_query(" ".join(sorted({t.n3() for t in [leopard, *prey]})))


def import_generated(folder: Path, observations: int, time_lapse: float = 0.0) -> Path:
    """A synthetic package of ``observations`` (amurkg.survey.generate, seed 1; ``time_lapse``: the share of its
    events on time-lapse images, with one each noon) imported into ``folder``/store."""
    from amurkg.survey.generate import generate

    package = generate(folder / "package", observations, 1, time_lapse=time_lapse)
    store = folder / "store"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "amurkg", "import", str(package), "--store", str(store)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    print(f"{observations:,} observations imported in {time.perf_counter() - started:.1f} s")
    return store


def dashboard(observations: int, given: Path | None = None, workers: int = 2) -> None:
    import tempfile

    from amurkg.web.data import _SERIES

    with tempfile.TemporaryDirectory() as tmp:
        if given is not None:
            store = given
            observations = observations or 10**6
            print(f"the store {store}")
        else:
            store = import_generated(Path(tmp), observations)
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amurkg",
                "serve",
                "--port",
                str(port),
                "--store",
                str(store),
                "--timeout",
                str(TIMEOUT),
                "--max-rows",
                str(10 * observations),
                "--max-answer",
                str(2**31),
                "--workers",
                str(workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, 120, 0.5)
            page, bare = [], []
            for n, interval in enumerate((30, 0, 1, 2, 5, 10, 15, 60)):
                page.append(fetch(base + f"/survey?interval={interval}"))
                text = bind_values(_SERIES, {"interval": Term.literal(str(interval), XSD_INTEGER)})
                text += f"\n# request {n}"
                bare.append(fetch(base + "/sparql", urllib.parse.urlencode({"query": text}).encode()))
            summary("survey dashboard, first visit", page)
            summary("  its detection-series query on /sparql", bare)
            summary("survey dashboard, again (page cache)", [fetch(base + "/survey?interval=30") for _ in range(5)])
            activity: list[float] = []
            series: list[float] = []
            read = activity_series_query()
            try:
                for n, (scale, i) in enumerate(ACTIVITY):
                    activity.append(fetch(base + f"/survey/activity?interval={i}&scale={scale}"))
                    text = f"{read}\n# request {n}"
                    series.append(fetch(base + "/sparql", urllib.parse.urlencode({"query": text}).encode()))
                summary("activity page, first visit", activity)
                summary("  the detection series it reads, on /sparql", series)
            except (TimeoutError, OSError) as exc:  # a store imported before the series listed their detections
                print(f"activity page: no answer within the client's {TIMEOUT} s ({exc}); {len(activity)} answered")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
