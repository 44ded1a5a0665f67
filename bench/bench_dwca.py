"""Darwin Core Archive export at scale: `amurkg export -f dwca` against reading the same rows raw, in one run.

    python bench/bench_dwca.py [--sizes 20000,100000] [--work DIR]

For each size a synthetic Camtrap DP package (amurkg.survey.generate) is imported, then, each in a fresh process
(wall time, CPU time and peak memory measured as bench_survey does):

1. export:   `amurkg export --store S -f dwca -o X.zip` (occurrences, Audubon media, EML, generalisation);
2. baseline: raw pyoxigraph over the same store: the occurrence query and a scan of every media file with its
             deployment and timestamp, read to the end (what the archive must at least read).

The Audubon media rows used to come from one SPARQL join of each observation with each media file of its camera
filtered by time: 131 s of CPU at 20,000 observations (1.9 s now, the same rows), and no end at 90,000.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_survey import AMURKG, last_cpu, measure, python, row

RAW = """
import sys
from amurkg.survey.dwca import _OCCURRENCES, _MEDIA
from amurkg.survey.sensitive import exact_view
from amurkg.graph import KnowledgeGraph
with KnowledgeGraph(store=sys.argv[1]) as kg, exact_view(kg):
    for text in (_OCCURRENCES, _MEDIA):
        sum(1 for _ in kg.stream(text).rows)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="amurkg-bench-dwca-"))
    from amurkg.survey.generate import generate

    for size in (int(s) for s in args.sizes.split(",")):
        print(f"== {size:,} observations")
        folder = work / f"n{size}"
        shutil.rmtree(folder, ignore_errors=True)
        package = generate(folder / "package", size)
        store = folder / "store"
        measure([*AMURKG, "import", str(package), "--store", str(store)])
        ours = measure([*AMURKG, "export", "--store", str(store), "-f", "dwca", "-o", str(folder / "x.zip")])
        ours_cpu = last_cpu[0]
        base = measure([*python(RAW), str(store)])
        base_cpu = last_cpu[0]
        row("export -f dwca vs raw read of its rows", ours, base)
        print(f"    CPU {ours_cpu:8.2f} s | baseline {base_cpu:8.2f} s | ratio {ours_cpu / base_cpu:5.2f}x CPU")


if __name__ == "__main__":
    main()
