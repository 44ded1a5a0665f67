"""The survey dashboard's activity page (``/survey/activity``), computed in-process, against the computation it
replaced, on one store, in one run.

    python bench/bench_activity.py [--observations 100000] [--time-lapse 0.1] [--store DIR] [--repeat 3]

Generates a synthetic package of N observations (``amurkg.survey.generate``; with ``--time-lapse``, that share of
its events recorded on time-lapse images and a time-lapse image each noon, as cameras that also take set-up
checks record) and imports it (or reuses ``--store``), then times ``amurkg.web.data.survey_activity`` (what a
query worker of ``amurkg serve`` runs for the page and its JSON twin) for clock and solar time at a few
independence intervals:

- **page**: as served now: the independent detections of the leopard, its prey and the chosen taxon from the
  detection series the import computed (``amurkg.survey.series``), solar times from one sunrise and sunset per
  camera-day (``amurkg.survey.sun``); the median of ``--repeat`` runs;
- **old**: the same page computed as before (THE baseline of the ratio): every observation's properties read
  by ``detections_of``, and each detection's solar time from ``astral`` one at a time; once, and its JSON must
  equal the page's;
- **every observation**: the page with the detections read by ``detections_of`` (the series refused), solar
  times as now: what a store with time-lapse images got before the series listed them apart; its JSON must
  equal the page's;
- **command** and **command, every obs.**: ``amurkg survey activity``'s work (``activity_curve`` of the leopard)
  from the series, and with the detections read by ``detections_of``;
- **read**: the bare query of the series the page reads (the floor of what the page can cost).

Each with its wall time and its CPU time (``time.process_time``: every thread of the process, pyoxigraph's
included). The imports (NumPy, SciPy, astral) are paid before the first figure, as ``amurkg serve`` pays them
once before it forks its workers. The brief: well under a second at 100,000 observations.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [("clock", 30), ("solar", 30), ("clock", 0), ("solar", 60)]


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of ``run()``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def old_way(kg: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The page computed as before the series listed their detections: ``detections_of`` over every observation,
    and ``solar_time`` (astral) and ``day_fraction`` one detection at a time."""
    import numpy as np

    from amurkg.survey import patterns, series
    from amurkg.survey.filters import Detection
    from amurkg.web.data import survey_activity

    def one_at_a_time(starts: Any, which: Any, places: Any, scale: str) -> tuple[Any, int]:
        found = [Detection("o", places[i], float(s), None, None, "animal") for s, i in zip(starts, which, strict=True)]
        if scale == "clock":
            return np.array([d.day_fraction() for d in found]), 0
        values = [patterns.solar_time(d) for d in found]
        kept = [min(t, math.nextafter(1.0, 0.0)) for t in values if t is not None]
        return np.array(kept), len(values) - len(kept)

    fast, times = series.independent_series, patterns.run_times
    series.independent_series = lambda *a: None  # type: ignore[assignment]
    patterns.run_times = one_at_a_time  # type: ignore[assignment]
    try:
        return survey_activity(kg, dict(args), 10**9)
    finally:
        series.independent_series, patterns.run_times = fast, times  # type: ignore[assignment]


def every_observation(run: Callable[[], Any]) -> Any:
    """``run()`` with the series refused: the detections read from every observation (``detections_of``), as a
    store with time-lapse images was read before the series listed them apart."""
    from amurkg.survey import series

    fast = series.independent_series
    series.independent_series = lambda *a: None  # type: ignore[assignment]
    try:
        return run()
    finally:
        series.independent_series = fast  # type: ignore[assignment]


def command(kg: Any, scale: str, interval: int) -> Any:
    """What ``amurkg survey activity --taxon 'Amur leopard'`` computes: the curve, as CSV."""
    from amurkg.survey.filters import SurveyFilter
    from amurkg.survey.patterns import activity_curve

    return activity_curve(kg, SurveyFilter(taxon="Amur leopard"), scale, interval, 97).to_csv()


def bare_read(kg: Any) -> int:
    """The series query the page sends, alone: its rows."""
    from amurkg.survey.series import series_query

    leopard = kg.resolve("amur:amur-leopard")
    prey = [r[0] for r in kg.run("prey", {"predator": leopard.value}).rows if r[0] is not None]
    values = " ".join(sorted({t.n3() for t in [leopard, *prey]}))
    return len(kg.query(series_query(values), where="bench").rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument(
        "--time-lapse", type=float, default=0.0, help="the share of generated events on time-lapse images (0 to 1)"
    )
    parser.add_argument("--store", type=Path, help="an imported store to read instead of a generated one")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            from bench_web import import_generated

            store = import_generated(Path(tmp), args.observations, args.time_lapse)
        run(store, args.repeat)


def run(store: Path, repeat: int) -> None:
    import amurkg.survey.activity
    import amurkg.survey.patterns  # noqa: F401  (imported before the figures, as serve's zygote does)
    from amurkg.graph import KnowledgeGraph
    from amurkg.survey.series import independent_series
    from amurkg.web.data import survey_activity

    with KnowledgeGraph(store=store) as kg:
        survey_activity(kg, {"interval": 30, "scale": "solar"}, 10**9)  # SciPy's lazy modules, the first query
        lapse = kg.query('ASK { ?m <https://w3id.org/amurkg/ontology#captureMethod> "timeLapse" }').value
        marked = kg.query("SELECT (COUNT(*) AS ?n) { ?o <https://w3id.org/amurkg/ontology#timeLapse> true }").rows
        from amurkg.survey.filters import SurveyFilter

        taken = independent_series(kg, SurveyFilter(), ["Amur leopard"], 30) is not None
        print(
            f"time-lapse images: {'yes' if lapse else 'no'}, {marked[0][0].value} observations marked time-lapse; "
            f"the page reads {'the series' if taken else 'every observation'}"
        )
        print(f"{'':<22}{'wall s':>9}{'CPU s':>9}")
        for scale, interval in CASES:
            args = {"interval": interval, "scale": scale}
            runs = [timed(lambda a=args: survey_activity(kg, dict(a), 10**9)) for _ in range(repeat)]
            wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            old_wall, old_cpu, old = timed(lambda a=args: old_way(kg, a))
            all_wall, all_cpu, read_all = timed(lambda a=args: every_observation(lambda: survey_activity(kg, a, 10**9)))
            cmd_wall, cmd_cpu, curve = timed(lambda s=scale, i=interval: command(kg, s, i))
            slow_wall, slow_cpu, slow_curve = timed(
                lambda s=scale, i=interval: every_observation(lambda: command(kg, s, i))
            )
            read_wall, read_cpu, rows = timed(lambda: bare_read(kg))
            page = json.dumps(runs[0][2], sort_keys=True)
            same = page == json.dumps(old, sort_keys=True)
            same_all = page == json.dumps(read_all, sort_keys=True)
            print(f"{scale} time, interval {interval} min:")
            print(f"  {'page':<20}{wall:9.3f}{cpu:9.3f}   ({len(runs[0][2]['overlaps'])} overlaps)")
            print(f"  {'old (baseline)':<20}{old_wall:9.3f}{old_cpu:9.3f}   same JSON: {'yes' if same else 'NO'}")
            print(
                f"  {'every observation':<20}{all_wall:9.3f}{all_cpu:9.3f}   same JSON: {'yes' if same_all else 'NO'}"
            )
            print(f"  {'command':<20}{cmd_wall:9.3f}{cmd_cpu:9.3f}")
            print(
                f"  {'command, every obs.':<20}{slow_wall:9.3f}{slow_cpu:9.3f}"
                f"   same CSV: {'yes' if curve == slow_curve else 'NO'}"
            )
            print(f"  {'read of the series':<20}{read_wall:9.3f}{read_cpu:9.3f}   ({rows} series)")
            print(f"  old / page: {old_wall / wall:.0f}x wall, {old_cpu / cpu:.0f}x CPU")
            print(f"  every observation / page: {all_wall / wall:.0f}x wall, {all_cpu / cpu:.0f}x CPU")


if __name__ == "__main__":
    main()
