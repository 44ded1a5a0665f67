"""OWL RL reasoning: amurkg's reasoner against owlrl (the reference implementation, what amurkg used before),
side by side in one run, and what a canned query that needs reasoning costs next to a plain one.

    python bench/bench_reason.py [--runs N] [--triples N]

1. The closure of the shipped graph: owlrl, and amurkg's reasoner (with its derivations).
2. The closure with --data: generated occurrence records, places and taxa links (owlrl only at the smaller
   size: at the larger one it takes minutes).
3. End to end, from the shell: `amurkg query prey-ungulates` (declares reasoning) against `amurkg query prey`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from amurkg.engines import _shipped_bytes  # noqa: E402
from amurkg.reasoner import close, derivation_quads  # noqa: E402
from amurkg.resources import shipped_files  # noqa: E402


def median_time(action, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def amurkg_closure(turtle: bytes, extra: bytes = b"") -> int:
    store = ox.Store()
    store.load(turtle, format=ox.RdfFormat.TURTLE)
    if extra:
        store.load(extra, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("file:///data.nt"))
    closure = close(store)
    store.extend(list(derivation_quads(closure)))
    return len(closure.triples)


def owlrl_closure(turtle: bytes, extra: bytes = b"") -> int:
    import owlrl
    import rdflib

    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    if extra:
        graph.parse(data=extra, format="nt")
    before = len(graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        owlrl.DeductiveClosure(
            owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False, datatype_axioms=False
        ).expand(graph)
    return len(graph) - before


def generated(triples: int) -> bytes:
    """Occurrence records (type, taxon link, place) and a chain of places contained in each other."""
    akg = "https://w3id.org/amurkg/ontology#"
    amur = "https://w3id.org/amurkg/id/"
    lines = []
    places = [f"<https://example.org/place/{i}>" for i in range(200)]
    for i, place in enumerate(places):
        lines.append(f"{place} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{akg}Region> .")
        parent = places[i // 2] if i else f"<{amur}primorsky>"
        lines.append(f"{place} <https://schema.org/containedInPlace> {parent} .")
    taxa = ["wild-boar", "siberian-roe-deer", "manchurian-sika-deer", "amur-leopard"]
    n = 0
    while len(lines) < triples:
        occ = f"<https://example.org/occ/{n}>"
        lines.append(
            f"{occ} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://rs.tdwg.org/dwc/terms/Occurrence> ."
        )
        lines.append(f"{occ} <http://rs.tdwg.org/dwc/iri/toTaxon> <{amur}{taxa[n % 4]}> .")
        lines.append(f"{occ} <{akg}inPlace> {places[n % len(places)]} .")
        n += 1
    return ("\n".join(lines[:triples]) + "\n").encode()


def cli_median(args: list[str], runs: int) -> float:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "amurkg", *args, "-f", "tsv"], check=True, capture_output=True)

    run()
    return median_time(run, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--triples", type=int, default=100_000, help="size of the generated --data")
    args = parser.parse_args()
    turtle = _shipped_bytes(shipped_files())

    print("1. closure of the shipped graph")
    ours = median_time(lambda: amurkg_closure(turtle), args.runs)
    reference = median_time(lambda: owlrl_closure(turtle), max(1, args.runs // 2))
    print(f"   owlrl            {reference * 1000:9.1f} ms   ({owlrl_closure(turtle)} triples added)")
    print(f"   amurkg reasoner  {ours * 1000:9.1f} ms   ({amurkg_closure(turtle)} entailments, with derivations)")
    print(f"   owlrl / amurkg = {reference / ours:.0f}x")

    print("2. closure with generated --data")
    small = args.triples // 10
    data_small, data_large = generated(small), generated(args.triples)
    t_owl = median_time(lambda: owlrl_closure(turtle, data_small), 1)
    t_small = median_time(lambda: amurkg_closure(turtle, data_small), args.runs)
    t_large = median_time(lambda: amurkg_closure(turtle, data_large), max(1, args.runs // 2))
    print(f"   {small:>9,} triples: owlrl {t_owl:7.2f} s   amurkg {t_small:6.2f} s   ({t_owl / t_small:.0f}x)")
    print(
        f"   {args.triples:>9,} triples: amurkg {t_large:6.2f} s   ({amurkg_closure(turtle, data_large):,} entailments)"
    )

    print("3. end to end: a canned query that needs reasoning, and a plain one")
    with tempfile.TemporaryDirectory():
        plain = cli_median(["query", "prey"], args.runs * 2)
        reasoned = cli_median(["query", "prey-ungulates"], args.runs * 2)
    print(f"   amurkg query prey             median {plain * 1000:7.1f} ms")
    print(f"   amurkg query prey-ungulates   median {reasoned * 1000:7.1f} ms")
    print(f"   reasoning / plain = {reasoned / plain:.2f}x   (target <= 1.30x)")


if __name__ == "__main__":
    main()
