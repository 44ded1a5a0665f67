#!/usr/bin/env bash
# The many-core check of field data (issue 15): run on a machine with many cores, from a checkout whose
# dependencies are importable (a venv with `pip install -e .`, or PYTHONPATH set to them and the checkout).
#
#   bash bench/many_cores.sh OUTDIR [SIZES]        # e.g. bash bench/many_cores.sh /tmp/out 100000,1000000
#
# 1. the loader tests at this machine's real core count (the bug that loaded nothing from a pipe on 4+ cores,
#    the README's field-data commands, and the same triples whatever the number of import workers);
# 2. bench_survey.py --import-only: import against the raw named-graph bulk load of the same triples (and that
#    load followed by optimize(), the compaction the import does), wall,
#    CPU and peak memory, with the default worker count and with one worker (the first size only);
# 3. bench_union.py on the largest store: every survey canned query against raw pyoxigraph over the union.
# Each step has its own time limit and writes its log into OUTDIR, so a cut step still leaves what it printed.
set -u
out=${1:?usage: bash bench/many_cores.sh OUTDIR [SIZES]}
sizes=${2:-100000,1000000}
mkdir -p "$out"
py=${PYTHON:-python3}
first=${sizes%%,*}
largest=${sizes##*,}
work=$(mktemp -d)
{
  echo "cores: $(nproc) / $($py -c 'import os; print(len(os.sched_getaffinity(0)))')"
  uname -a
  $py -c 'import pyoxigraph, sys; print("python", sys.version.split()[0], "pyoxigraph", pyoxigraph.__version__)'
} 2>&1 | tee "$out/machine.txt"
timeout 100 $py -m pytest -p no:randomly -p no:cacheprovider -n0 -q \
  tests/test_import_loading.py tests/test_import_workers.py 2>&1 | tail -25 | tee "$out/tests.txt"
timeout 100 $py bench/bench_survey.py --sizes "$first" --import-only --workers auto,1 \
  --work "$work/small" --json "$out/import-small.json" 2>&1 | tee "$out/import-small.txt"
if [[ "$largest" != "$first" ]]; then
  timeout 250 $py bench/bench_survey.py --sizes "$largest" --import-only --workers auto --baselines named,optimized \
    --work "$work/large" --json "$out/import-large.json" 2>&1 | tee "$out/import-large.txt"
  store="$work/large/store-$largest"
else
  store="$work/small/store-$first"
fi
timeout 110 $py bench/bench_union.py "$store" --runs 1 2>&1 | tee "$out/union.txt"
rm -rf "$work"
