"""SHACL validation: `amurkg validate` against pySHACL run the plain way (the reference implementation, and
what amurkg did before), on the same data, side by side in one run.

    python bench/bench_validate.py [--sizes 10000,100000]

For the shipped graph alone and with generated --data of each size (occurrence records in places, the same
generator as bench_reason.py: records that break the shapes many times over, so every constraint runs on
many focus nodes), each step in a fresh process whose wall time and peak memory (ru_maxrss) are measured:

- amurkg:   `amurkg validate [-d F.nt]` with an empty cache (the report on the shipped graph alone is also
            timed from the cache);
- baseline: rdflib reads the shipped graph and the file, `pyshacl.validate(data, shacl_graph=shapes,
            inference="none", advanced=True)`, as pySHACL's documentation shows it.

Both report the same findings (tests/test_validate.py checks the results graphs are isomorphic); the ratio is
baseline / amurkg, so above 1 means amurkg is faster.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BASELINE = """
import sys, warnings
import pyshacl, rdflib
from amurkg.resources import shapes_file, shipped_files
data = rdflib.Graph()
for path in shipped_files():
    data.parse(path, format="turtle")
for path in sys.argv[1:]:
    data.parse(path, format="nt")
shapes = rdflib.Graph().parse(shapes_file(), format="turtle")
warnings.simplefilter("ignore")
conforms, results, text = pyshacl.validate(
    data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
)
print(len(list(results.subjects(rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/shacl#ValidationResult")))))
"""


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: the data has violations
        raise SystemExit(f"{command} failed")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="triples of --data, comma-separated")
    args = parser.parse_args()
    from bench_reason import generated

    print(f"{'data':>14}  {'amurkg':>16}  {'pySHACL plain':>16}  {'ratio':>6}")
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, AMURKG_CACHE_DIR=os.path.join(work, "cache"))
        amurkg = [sys.executable, "-m", "amurkg", "validate"]
        baseline = [sys.executable, "-c", BASELINE]
        cold = measure(amurkg, env)
        warm = measure(amurkg, env)
        base = measure(baseline)
        print(
            f"{'shipped only':>14}  {cold[0]:6.2f} s {cold[1]:5.0f} MiB  {base[0]:6.2f} s {base[1]:5.0f} MiB"
            f"  {base[0] / cold[0]:5.1f}x"
        )
        print(f"{'(kept report)':>14}  {warm[0]:6.2f} s {warm[1]:5.0f} MiB  {'':>16}  {base[0] / warm[0]:5.1f}x")
        previous: tuple[int, float] | None = None
        for size in (int(s) for s in args.sizes.split(",")):
            data = Path(work) / f"data-{size}.nt"
            data.write_bytes(generated(size))
            ours = measure([*amurkg, "-d", str(data)], env)
            base = measure([*baseline, str(data)])
            print(
                f"{size:>14,}  {ours[0]:6.2f} s {ours[1]:5.0f} MiB  {base[0]:6.2f} s {base[1]:5.0f} MiB"
                f"  {base[0] / ours[0]:5.1f}x"
            )
            if previous:
                per = (ours[0] - previous[1]) / (size - previous[0]) * 1e6
                print(f"{'':>14}  growth: {per:.1f} µs per added triple")
            previous = (size, ours[0])


if __name__ == "__main__":
    main()
