"""The survey analyses' read of detections, in process, beside the bare queries that feed it.

    python bench/bench_detections.py [--sizes 20000,100000] [--work DIR] [--store DIR] [--joined]

For each size a synthetic package (``amurkg.survey.generate``) is imported into a store (or ``--store`` names
one already imported), then each of these is timed once, cold, in this process:

1. bare: the single-property scans ``filters.detections`` sends (each ``SELECT ?s ?o { ?s <p> ?o }``), run by
   raw pyoxigraph on the store's visible graphs; with ``--joined``, also the one joined query it replaced;
2. ``filters.detections`` of every taxon, and of the leopard alone;
3. ``patterns.prey_activity_overlap`` end to end (the leopard against each prey; no bootstrap);
4. the web dashboard's data (``web.data.survey``) and its activity page's (``web.data.survey_activity``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The joined query ``filters.detections`` sent before it read one property per scan.
JOINED = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?obs ?deployment ?start ?taxon ?name ?type ?level ?count ?individual ?method ?gap ?recorded WHERE {
  ?obs a akg:CameraTrapObservation ; akg:deployment ?deployment ; akg:eventStart ?start ;
    akg:observationType ?type ; akg:observationLevel ?level .
  OPTIONAL { ?obs dwciri:toTaxon ?taxon OPTIONAL { ?taxon dwc:scientificName ?name } }
  OPTIONAL { ?obs dwc:individualCount ?count }
  OPTIONAL { ?obs dwc:organismID ?individual }
  OPTIONAL { ?obs akg:media/akg:captureMethod ?method }
  OPTIONAL { ?obs akg:minutesSincePrevious ?gap }
  OPTIONAL { ?obs dwc:scientificName ?recorded }
}"""


def timed(what: str, func: object) -> object:
    started = time.perf_counter()
    result = func()  # type: ignore[operator]
    print(f"  {what:<58} {time.perf_counter() - started:8.2f} s", flush=True)
    return result


def bench(store: Path, joined: bool) -> None:
    import amurkg
    from amurkg.survey import filters
    from amurkg.survey.patterns import prey_activity_overlap
    from amurkg.web import data

    with amurkg.KnowledgeGraph(store=store) as kg:
        ox_store = kg.engine.store  # type: ignore[attr-defined]
        dataset = kg.engine._dataset(False)  # type: ignore[attr-defined]

        def bare(text: str) -> int:
            return sum(1 for _ in ox_store.query(text, **dataset))

        texts = [filters._OBSERVATIONS, *filters._COLUMNS.values()]
        rows = timed("bare: the property scans on raw pyoxigraph", lambda: sum(bare(t) for t in texts))
        print(f"    ({rows:,} rows in {len(texts)} scans)")
        if joined:
            timed("bare: the joined query it replaced, on raw pyoxigraph", lambda: bare(JOINED))
        found = timed("filters.detections, every taxon", lambda: filters.detections(kg))
        print(f"    ({len(found):,} detections)")  # type: ignore[arg-type]
        timed(
            "filters.detections, the leopard",
            lambda: filters.detections(kg, filters.SurveyFilter(taxon="Amur leopard")),
        )
        timed("prey_activity_overlap (leopard and each prey, no bootstrap)", lambda: prey_activity_overlap(kg, ci=None))
        timed("dashboard data (web.data.survey)", lambda: data.survey(kg, {"interval": 30}, 10**9))
        timed(
            "activity page data (web.data.survey_activity)", lambda: data.survey_activity(kg, {"interval": 30}, 10**9)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--store", type=Path, default=None, help="a store already imported: bench it alone")
    parser.add_argument("--joined", action="store_true", help="also time the joined query (slow: minutes at 100k)")
    args = parser.parse_args()
    if args.store:
        print(f"== {args.store}")
        bench(args.store, args.joined)
        return
    from amurkg.survey.generate import generate

    work = args.work or Path(tempfile.mkdtemp(prefix="amurkg-bench-"))
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"== {size:,} observations", flush=True)
        store = work / f"store-{size}"
        if not store.exists():
            package = generate(work / f"package-{size}", size, 1)
            subprocess.run([sys.executable, "-m", "amurkg", "import", str(package), "--store", str(store)], check=True)
        bench(store, args.joined)


if __name__ == "__main__":
    main()
