"""Answers to the *-any survey queries from the detection series a store holds, instead of every observation.

``detection-rate-any``, ``activity-pattern-any`` and ``co-detections-any`` (and ``from-detections/detection-rate``
and ``from-detections/activity-pattern``, the texts ``detection-rate`` and ``activity-pattern`` run given a date
range) read each event-level detection's taxon, start, gap and time-lapse mark: about five million property
values at a million observations, 35 to 150 seconds on two cores. The importer already lists, per deployment
and taxon, the starts of the detections it counted and the minutes since the previous one (``akg:DetectionSeries`` with
``akg:detectionStarts`` and ``akg:detectionGaps``, the time-lapse detections apart in an
``akg:TimeLapseSeries``), with the taxa and times as the corrections in force make them (a correction recounts
them: ``amurkg.survey.corrections.recount``). Those lists hold exactly what the queries count, so the answer is
computed from them, row for row what the query text gives:

- a detection counts when its gap exceeds ``?interval`` (the first of its taxon at its deployment has none:
  ``inf``) and it started in the date range, when one is given;
- ``detection-rate-any``'s camera-days come from the engine, by ``queries/from-series/camera-days.rq``: the
  query's own deployment block, word for word (a test keeps them so); its RAI is rounded as SPARQL's ``ROUND``
  rounds (half up), computed exactly;
- ``activity-pattern-any``'s hour is the hour of the start in the UTC offset the deployment's start was recorded
  with, as the importer and the corrections compute ``akg:localHour``;
- ``co-detections-any`` pairs each deployment's predator and prey starts within the window by binary search;
  its ``?first`` is read back from the predator's own detections (the series keep instants, not offsets).

``answer`` returns None wherever the lists cannot say it, and the engine runs the query text as before: another
observation type than animal, a store whose series do not all carry their lists and time-lapse counts (imported
by an older amurkg: ``amurkg import --upgrade`` adds them), values the ordering or arithmetic would treat
differently (a language-tagged name, a camera-days value that is not an ``xsd:decimal``, rows that tie in the
query's order), or numpy missing (the ``survey`` extra). Only the standard library, numpy and lower amurkg
modules are imported here (``amurkg.graph`` calls it).

``detections-near`` (its counted text) is answered the same way: the engine finds the deployments near the
point (``queries/from-series/near-deployments.rq``, the query's own block), and each series' count, first and
last detection are grouped here.

For a default reader of a store (a ``Shelf``), what these read of the store is kept until it changes
(``amurkg.answers``, with the same stamp as kept answers): every series' lists, parsed, as NumPy arrays
(``_snapshot``), and the answers of the smaller queries asked here (``_query``: names ``PART``...). An import or
a correction keeps them at once (``prime``), so that a first ask with a new date range or point reads them
instead of the engine's lookups over every series.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from amurkg.namespaces import PREFIXES
from amurkg.resources import queries_dir
from amurkg.results import Row, SelectStream, Term
from amurkg.sparql import Binding

_XSD = PREFIXES["xsd"]
_AKG = "https://w3id.org/amurkg/ontology#"
_SERIES = Term.iri(_AKG + "DetectionSeries")
_TIME_LAPSE_SERIES = Term.iri(_AKG + "TimeLapseSeries")
#: The queries answered here, by the name of the text the engine would run (``canned.text_for``).
KEYS = frozenset(
    {
        "detection-rate-any",
        "from-detections/detection-rate",
        "activity-pattern-any",
        "from-detections/activity-pattern",
        "co-detections-any",
        "detections-near",
    }
)

#: Whether every series carries its lists, and each detection series its count of time-lapse detections (all
#: written together by ``Mapper._series_lines`` and ``_time_lapse_series_lines``).
_COMPLETE = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?series ?lapse ?gaps ?starts ?noted WHERE {
  { SELECT (COUNT(*) AS ?series) WHERE { ?s a akg:DetectionSeries } }
  { SELECT (COUNT(*) AS ?lapse) WHERE { ?s a akg:TimeLapseSeries } }
  { SELECT (COUNT(*) AS ?gaps) WHERE { ?s akg:detectionGaps ?g } }
  { SELECT (COUNT(*) AS ?starts) WHERE { ?s akg:detectionStarts ?t } }
  { SELECT (COUNT(*) AS ?noted) WHERE { ?s akg:timeLapseDetections ?n } }
}"""
#: The lists of the series of the kinds asked for (``?kind``), at the deployments and of the taxa the filters
#: keep (``?deployment``, ``?taxon``, bound by the caller where a filter is given). No OPTIONAL: every series has
#: its lists (``_COMPLETE``), and an OPTIONAL costs the engine a hundred times more here.
_LISTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?deployment ?taxon ?gaps%s WHERE {
  ?series a ?kind ; akg:detectionGaps ?gaps ; akg:deployment ?deployment ; dwciri:toTaxon ?taxon%s .
}"""
_NAMES = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?taxon ?scientificName WHERE { ?taxon dwc:scientificName ?scientificName }"""
_STARTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?deployment ?start WHERE { ?deployment akg:deploymentStart ?start }"""


@cache
def _camera_days_text() -> str:
    return (queries_dir() / "from-series" / "camera-days.rq").read_text(encoding="utf-8")


@cache
def _near_text() -> str:
    return (queries_dir() / "from-series" / "near-deployments.rq").read_text(encoding="utf-8")


class Shelf(NamedTuple):
    """Where the store a reader reads keeps what is computed from it (``amurkg.answers``), and whether the reader
    still holds the store's shared lock: given only to a default reader (no exact coordinates, no reasoning)."""

    path: Path
    locked: Callable[[], bool]


def answer(kg: Any, key: str, bindings: Mapping[str, Binding], shelf: Shelf | None = None) -> SelectStream | None:
    """The answer of query ``key`` (one of ``KEYS``) with ``bindings`` from the detection series of ``kg``'s
    store, or None where the series cannot give the query's answer (see the module's docstring). With a
    ``shelf``, the series' lists are read from what the store keeps (``_snapshot``) and kept there the first
    time, as are the answers of the engine's smaller queries here (``_query``)."""
    if key not in KEYS:
        return None
    try:
        import numpy  # noqa: F401
    except ImportError:  # without the survey extra, the engine answers from the text
        return None
    if key == "co-detections-any":
        return _co_detections(kg, bindings, shelf)
    if key == "detections-near":
        return _near(kg, bindings, shelf)
    kinds = _kinds(bindings) if "observationType" in bindings else None  # counted: bound to animal by default
    interval = _interval(bindings)
    if kinds is None or interval is None or not _complete(kg):
        return None
    window = _window(bindings)
    if window is None:
        return None
    dated = window != (None, None)
    if key in ("detection-rate-any", "from-detections/detection-rate"):
        shown = key == "from-detections/detection-rate"  # detection-rate's columns: the count node, not the IRIs
        return _detection_rate(kg, bindings, kinds, interval, window, dated, shown, shelf)
    return _activity(kg, bindings, kinds, interval, window, shelf)


def _kinds(bindings: Mapping[str, Binding]) -> tuple[Term, ...] | None:
    """The kinds of series the filters count, or None where the series do not list those detections."""
    if "observationType" in bindings and bindings["observationType"] != (Term.literal("animal"),):
        return None
    lapse = bindings.get("timeLapse")
    if lapse == Term.literal("include"):
        return (_SERIES, _TIME_LAPSE_SERIES)
    return (_SERIES,) if lapse == Term.literal("exclude") else None


def _interval(bindings: Mapping[str, Binding]) -> float | None:
    term = bindings.get("interval")
    if not isinstance(term, Term) or term.datatype != _XSD + "integer":
        return None
    try:
        value = int(term.value)
    except ValueError:
        return None
    return float(value) if abs(value) <= 2**53 else None  # exactly a float, as the gaps are compared


#: Instants are compared in whole microseconds, as the engine compares xsd:dateTime values; the series' floats
#: hold every microsecond exactly (to under half of one, even after a clock correction's addition) only within
#: 2**32 seconds of 1970 (years 1834 to 2106): a start outside is the engine's to judge.
_EXACT = 2.0**32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Window = tuple["int | None", "int | None"]


def _window(bindings: Mapping[str, Binding]) -> Window | None:
    """The date range as POSIX microseconds, [since, until) (None: unbounded); None where a bound is not an
    instant read here."""
    out: list[int | None] = []
    for name in ("since", "until"):
        term = bindings.get(name)
        if term is None:
            out.append(None)
            continue
        if not isinstance(term, Term) or term.datatype != _XSD + "dateTime":
            return None
        micros = _instant(term.value)
        if micros is None:
            return None
        out.append(micros)
    return out[0], out[1]


def _instant(text: str) -> int | None:
    """An xsd:dateTime with its offset as POSIX microseconds, exactly; None where Python cannot read it so."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _micros(seconds: Any) -> Any:
    """POSIX seconds as whole microseconds (the series' floats are within half of one of them), or None where one
    lies outside the range where they are (``_EXACT``)."""
    import numpy as np

    values = np.asarray(seconds, dtype=np.float64)
    if values.size and not bool(np.all(np.abs(values) < _EXACT)):
        return None
    return np.rint(values * 1e6).astype(np.int64)


def _complete(kg: Any) -> bool:
    rows = kg.query(_COMPLETE, where="detection series").rows
    if len(rows) != 1 or any(term is None for term in rows[0]):
        return False
    series, lapse, gaps, starts, noted = (int(term.value) for term in rows[0])
    return gaps == starts == series + lapse and noted == series


#: One series' lists at a deployment, of a taxon: the gaps (minutes, ``inf`` for the first) and the starts (POSIX
#: microseconds; None where they were not asked for).
Lists = tuple[Term, Term, Any, Any]


def _lists(
    kg: Any, bindings: Mapping[str, Binding], kinds: tuple[Term, ...], starts: bool, shelf: Shelf | None
) -> list[Lists] | None:
    """The lists of the series of ``kinds`` at the deployments and of the taxa the bindings keep, or None where a
    list is not read here (a start not exact, lists that disagree in length, a gap that is no number)."""
    kept = _snapshot(kg, shelf)
    if kept is not None:
        return kept.select(kinds, bindings, starts)
    import numpy as np

    text = _LISTS % ((" ?starts", " ; akg:detectionStarts ?starts") if starts else ("", ""))
    given: dict[str, Binding] = {"kind": kinds}
    for name in ("taxon", "deployment"):
        if name in bindings:
            given[name] = bindings[name]
    out: list[Lists] = []
    for deployment, taxon, gaps, *moments in kg.query(text, given, where="detection series").rows:
        try:
            since = np.array(gaps.value.split(), dtype=np.float64)
            at = _micros(moments[0].value.split()) if starts else None
        except ValueError:
            return None
        if starts and (at is None or at.size != since.size):
            return None
        out.append((deployment, taxon, since, at))
    return out


def _counted(since: Any, moments: Any, interval: float, window: Window) -> Any:
    """The starts (POSIX microseconds) of the series' detections that count, or their number where no start is
    read."""
    import numpy as np

    kept = since > interval
    if moments is None:
        return int(np.count_nonzero(kept))
    lo, hi = window
    if lo is not None:
        kept &= moments >= lo
    if hi is not None:
        kept &= moments < hi
    return moments[kept]


# ------------------------------------------------------------------------------- the lists, kept by the store

#: Every series' lists, with the series: what ``_snapshot`` keeps (kinds bound to both).
_ALL_LISTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?series ?kind ?deployment ?taxon ?gaps ?starts WHERE {
  ?series a ?kind ; akg:detectionGaps ?gaps ; akg:deployment ?deployment ; dwciri:toTaxon ?taxon ;
    akg:detectionStarts ?starts .
}"""
_KIND_TERMS = (_SERIES, _TIME_LAPSE_SERIES)
#: What the kept lists are named by (with this amurkg's code, as every kept answer: ``answers.key``).
_SNAPSHOT = "amurkg.quick: the lists of every detection series, v1"
_SNAPSHOT_ARRAYS = {
    "kind": "|i1",
    "deployment": "<i4",
    "taxon": "<i4",
    "exact": "|i1",
    "bounds": "<i8",
    "gaps": "<f8",
    "starts": "<i8",
}


class _Snapshot(NamedTuple):
    """The lists of every series, parsed: series ``i`` is of kind ``kind[i]`` (an index of ``_KIND_TERMS``), at
    ``deployments[deployment[i]]``, of ``taxa[taxon[i]]``, with its gaps and starts at ``bounds[i]:bounds[i + 1]``
    of the flat ``gaps`` and ``starts``; ``exact[i]`` is 0 where its starts were not read exactly (zeros then)."""

    deployments: list[Term]
    taxa: list[Term]
    arrays: dict[str, Any]

    def select(self, kinds: tuple[Term, ...], bindings: Mapping[str, Binding], starts: bool) -> list[Lists] | None:
        import numpy as np

        a = self.arrays
        keep = np.isin(a["kind"], [_KIND_TERMS.index(kind) for kind in kinds])
        for name, terms in (("taxon", self.taxa), ("deployment", self.deployments)):
            if name in bindings:
                given = bindings[name]
                wanted = {given} if isinstance(given, Term) else set(given)
                keep &= np.isin(a[name], [i for i, term in enumerate(terms) if term in wanted])
        chosen = np.flatnonzero(keep)
        if starts and not bool(np.all(a["exact"][chosen])):
            return None
        bounds, gaps, moments = a["bounds"], a["gaps"], a["starts"]
        return [
            (
                self.deployments[a["deployment"][i]],
                self.taxa[a["taxon"][i]],
                gaps[bounds[i] : bounds[i + 1]],
                moments[bounds[i] : bounds[i + 1]] if starts else None,
            )
            for i in chosen.tolist()
        ]


def _snapshot(kg: Any, shelf: Shelf | None) -> _Snapshot | None:
    """The lists of every series of the store, as kept since it last changed, else read now and kept; None
    without a shelf, or where they are not all read here (the caller reads the lists it needs from the engine)."""
    if shelf is None:
        return None
    from amurkg import answers

    name = answers.key(_SNAPSHOT)
    found = answers.read_arrays(shelf.path, name)
    if found is not None:
        return _checked_snapshot(*found)
    at = answers.stamp(shelf.path)
    built = _built_snapshot(kg)
    if built is not None:
        value = {"deployments": [t.value for t in built.deployments], "taxa": [t.value for t in built.taxa]}
        answers.keep_arrays(shelf.path, name, at, value, built.arrays, shelf.locked)
    return built


def _built_snapshot(kg: Any) -> _Snapshot | None:
    """Every series' lists from the engine, or None where every series does not have exactly one of each (the
    counts ``_COMPLETE`` reads, and each series in exactly one row), a deployment or taxon is not an IRI, or a
    gap is no number."""
    import numpy as np

    counts = kg.query(_COMPLETE, where="detection series").rows
    if len(counts) != 1 or any(term is None for term in counts[0]):
        return None
    series_n, lapse_n, _, _, _ = (int(term.value) for term in counts[0])
    rows = kg.query(_ALL_LISTS, {"kind": _KIND_TERMS}, where="detection series").rows
    if len(rows) != series_n + lapse_n or len({row[0] for row in rows}) != len(rows):
        return None
    places: dict[Term, int] = {}
    taxa: dict[Term, int] = {}
    kind, deployment, taxon, exact, bounds = [], [], [], [], [0]
    gaps: list[Any] = []
    starts: list[Any] = []
    for _, of, at, who, since, moments in rows:
        if at is None or who is None or at.kind != "uri" or who.kind != "uri" or since is None or moments is None:
            return None
        try:
            parsed = np.array(since.value.split(), dtype=np.float64)
            instants = _micros(moments.value.split())
        except ValueError:
            return None
        fine = instants is not None and instants.size == parsed.size
        kind.append(_KIND_TERMS.index(of))
        deployment.append(places.setdefault(at, len(places)))
        taxon.append(taxa.setdefault(who, len(taxa)))
        exact.append(int(fine))
        gaps.append(parsed)
        starts.append(instants if fine else np.zeros(parsed.size, dtype=np.int64))
        bounds.append(bounds[-1] + parsed.size)
    arrays = {
        "kind": np.array(kind, dtype=np.int8),
        "deployment": np.array(deployment, dtype=np.int32),
        "taxon": np.array(taxon, dtype=np.int32),
        "exact": np.array(exact, dtype=np.int8),
        "bounds": np.array(bounds, dtype=np.int64),
        "gaps": np.concatenate(gaps) if gaps else np.zeros(0, dtype=np.float64),
        "starts": np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64),
    }
    return _Snapshot(list(places), list(taxa), arrays)


def _checked_snapshot(value: Any, arrays: dict[str, Any]) -> _Snapshot | None:
    """Kept lists, checked as untrusted (every index in range, every length consistent), or None."""
    import numpy as np

    from amurkg.answers import iri

    if not isinstance(value, dict) or set(value) != {"deployments", "taxa"} or set(arrays) != set(_SNAPSHOT_ARRAYS):
        return None
    names = []
    for label in ("deployments", "taxa"):
        listed = value[label]
        if not isinstance(listed, list) or not all(iri(v) for v in listed):
            return None
        names.append([Term.iri(v) for v in listed])
    if any(arrays[k].dtype.str != dtype for k, dtype in _SNAPSHOT_ARRAYS.items()):
        return None
    n = arrays["kind"].size
    bounds = arrays["bounds"]
    if (
        any(arrays[k].size != n for k in ("deployment", "taxon", "exact"))
        or bounds.size != n + 1
        or bounds[0] != 0
        or bounds[-1] != arrays["gaps"].size
        or arrays["starts"].size != arrays["gaps"].size
        or bool(np.any(np.diff(bounds) < 0))
        or not bool(np.all((arrays["kind"] >= 0) & (arrays["kind"] < len(_KIND_TERMS))))
        or not bool(np.all((arrays["exact"] == 0) | (arrays["exact"] == 1)))
        or not bool(np.all((arrays["deployment"] >= 0) & (arrays["deployment"] < len(names[0]))))
        or not bool(np.all((arrays["taxon"] >= 0) & (arrays["taxon"] < len(names[1]))))
    ):
        return None
    return _Snapshot(names[0], names[1], arrays)


#: The start of the names of the answers kept of the engine's queries here (parts of a canned query's answer).
PART = "part-"


def _query(kg: Any, shelf: Shelf | None, text: str, given: Mapping[str, Binding], where: str) -> list[Any]:
    """The rows of one of the engine's queries here: with a shelf, as kept since the store last changed, else
    computed and kept (``amurkg.answers``)."""
    if shelf is None:
        rows: list[Any] = kg.query(text, given, where=where).rows
        return rows
    from amurkg import answers
    from amurkg.results import materialize

    checked = kg.check(text, given, where)
    name = PART + answers.key(checked.text)
    kept = answers.read(shelf.path, name)
    if kept is None:
        kept = answers.keep(shelf.path, name, kg.execute(checked, where), shelf.locked)
    found: list[Any] = materialize(kept, where, None).rows  # type: ignore[union-attr]
    return found


def _names(kg: Any, taxa: set[Term], shelf: Shelf | None) -> dict[Term, list[Term]] | None:
    """The scientific names of ``taxa``, each a simple literal (as the ordering reads them), or None."""
    names: dict[Term, list[Term]] = {}
    if not taxa:
        return names
    for taxon, name in _query(kg, shelf, _NAMES, {"taxon": tuple(sorted(taxa))}, "taxon names"):
        if taxon is None or name is None or name.kind != "literal" or name.datatype or name.lang:
            return None
        names.setdefault(taxon, []).append(name)
    return names


def _detection_rate(
    kg: Any,
    bindings: Mapping[str, Binding],
    kinds: tuple[Term, ...],
    interval: float,
    window: Window,
    dated: bool,
    shown: bool,
    shelf: Shelf | None,
) -> SelectStream | None:
    counts: Counter[tuple[Term, Term]] = Counter()
    found = _lists(kg, bindings, kinds, dated, shelf)
    if found is None:
        return None
    for deployment, taxon, gaps, starts in found:
        n = _counted(gaps, starts, interval, window)
        counts[(deployment, taxon)] += n if isinstance(n, int) else int(n.size)
    days_bound = {k: bindings[k] for k in ("since", "until", "deployment") if k in bindings}
    days: Counter[tuple[Term, Term, Term | None]] = Counter(
        (row[0], row[1], row[2])
        for row in _query(kg, shelf, _camera_days_text(), days_bound, "queries/from-series/camera-days.rq")
        if row[0] is not None and row[1] is not None
    )
    by_deployment: dict[Term, list[tuple[Term, Term | None, int]]] = {}
    for (deployment, identifier, camera_days), times in days.items():
        if identifier.kind != "literal" or identifier.datatype or identifier.lang:
            return None
        if camera_days is not None and camera_days.datatype != _XSD + "decimal":
            return None
        by_deployment.setdefault(deployment, []).append((identifier, camera_days, times))
    names = _names(kg, {taxon for (_, taxon), n in counts.items() if n}, shelf)
    if names is None:
        return None
    rows: list[Row] = []
    for (deployment, taxon), n in counts.items():
        if not n:
            continue
        for identifier, camera_days, times in by_deployment.get(deployment, ()):
            for name in names.get(taxon, ()):
                total = n * times
                try:
                    rai = _rai(total, camera_days)
                except _EngineDecidesError:
                    return None
                rows.append((identifier, name, _integer(total), camera_days, rai, taxon, deployment))
    if shown:
        return _with_count_nodes(kg, bindings, rows, shelf)
    rows.sort(key=lambda row: (row[0].value, row[1].value, row[6].value))  # type: ignore[union-attr]
    if _ties(rows, (0, 1, 6)):
        return None
    return SelectStream(
        ["deploymentID", "scientificName", "detections", "cameraDays", "rai", "taxon", "deployment"], iter(rows)
    )


def _ties(rows: list[Row], order: tuple[int, ...]) -> bool:
    """Whether two rows, sorted, agree on every column the query orders by: which comes first is the engine's
    choice (two taxa of one name at one deployment, after a taxon correction), so it answers."""
    keys = [tuple(row[i] for i in order) for row in rows]
    return any(a == b for a, b in pairwise(keys))


_COUNT_NODES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?count ?deployment ?taxon WHERE { ?count akg:interval ?interval ; akg:deployment ?deployment ;
  dwciri:toTaxon ?taxon }"""


def _with_count_nodes(
    kg: Any, bindings: Mapping[str, Binding], rows: list[Row], shelf: Shelf | None
) -> SelectStream | None:
    """detection-rate's rows from detection-rate-any's: the node of the series' count at the interval (none where
    there is no such series), ordered by deploymentID, name and that node (unbound first, as the engine orders);
    None where two rows would tie (the engine's order between them is its own)."""
    nodes: dict[tuple[Term, Term], list[Term]] = {}
    for count, deployment, taxon in _query(kg, shelf, _COUNT_NODES, {"interval": bindings["interval"]}, "counts"):
        if count is not None and deployment is not None and taxon is not None:
            nodes.setdefault((deployment, taxon), []).append(count)
    out: list[Row] = []
    for identifier, name, total, camera_days, rai, taxon, deployment in rows:
        found: list[Term | None] = list(nodes.get((deployment, taxon), ())) or [None]  # type: ignore[arg-type]
        for count in found:
            out.append((identifier, name, total, camera_days, rai, count))
    keys = [(row[0].value, row[1].value, "" if row[5] is None else row[5].value) for row in out]  # type: ignore[union-attr]
    if len(set(keys)) != len(keys) or any(row[5] is not None and row[5].kind != "uri" for row in out):
        return None
    out.sort(key=lambda row: (row[0].value, row[1].value, row[5] is not None, "" if row[5] is None else row[5].value))  # type: ignore[union-attr]
    return SelectStream(["deploymentID", "scientificName", "detections", "cameraDays", "rai", "count"], iter(out))


def _integer(n: int) -> Term:
    return Term.literal(str(n), _XSD + "integer")


class _EngineDecidesError(Exception):
    """A value computed here would not be certain to be the engine's: let the engine answer."""


_DECIMAL = re.compile(r"\s*(\+)?(\d*)(?:\.(\d*))?\s*")


def _rai(n: int, camera_days: Term | None) -> Term | None:
    """``ROUND(n * 100000 / cameraDays) / 1000`` as the engine computes it on decimals, in integers: None where it
    is an error (no camera-days, or none); ``_EngineDecidesError`` where it is not computed here (a negative or
    unreadable span)."""
    if camera_days is None:
        return None
    found = _DECIMAL.fullmatch(camera_days.value)
    if found is None or not (found[2] or found[3]):
        raise _EngineDecidesError
    fraction = found[3] or ""
    days = int((found[2] or "0") + fraction)  # cameraDays = days / 10**len(fraction)
    if days == 0:
        return None
    # floor(n * 100000 / cameraDays + 1/2), as ROUND rounds halves up
    rounded = (2 * n * 100000 * 10 ** len(fraction) + days) // (2 * days)
    whole, thousandths = divmod(rounded, 1000)
    return Term.literal(f"{whole}.{thousandths:03d}".rstrip("0").rstrip("."), _XSD + "decimal")


def _offsets(kg: Any, deployments: set[Term], shelf: Shelf | None) -> dict[Term, int] | None:
    """The UTC offset (microseconds) each deployment's start was recorded with, or None where one has none or
    two."""
    out: dict[Term, int] = {}
    if not deployments:
        return out
    for deployment, start in _query(kg, shelf, _STARTS, {"deployment": tuple(sorted(deployments))}, "deployments"):
        if deployment is None or start is None or deployment in out:
            return None
        try:
            offset = datetime.fromisoformat(start.value).utcoffset()
        except ValueError:
            return None
        if offset is None:
            return None
        out[deployment] = offset // timedelta(microseconds=1)
    return out if len(out) == len(deployments) else None


def _activity(
    kg: Any,
    bindings: Mapping[str, Binding],
    kinds: tuple[Term, ...],
    interval: float,
    window: Window,
    shelf: Shelf | None,
) -> SelectStream | None:
    import numpy as np

    found = []
    lists = _lists(kg, bindings, kinds, True, shelf)
    if lists is None:
        return None
    for deployment, taxon, gaps, starts in lists:
        moments = _counted(gaps, starts, interval, window)
        if moments.size:
            found.append((deployment, taxon, moments))
    offsets = _offsets(kg, {deployment for deployment, _, _ in found}, shelf)
    names = _names(kg, {taxon for _, taxon, _ in found}, shelf)
    if offsets is None or names is None:
        return None
    hours: dict[Term, Any] = {}
    for deployment, taxon, moments in found:
        hour = np.mod(np.floor_divide(moments + offsets[deployment], 3_600_000_000), 24)  # in integers: exact
        tally = np.bincount(hour, minlength=24)
        hours[taxon] = tally if taxon not in hours else hours[taxon] + tally
    rows: list[Row] = []
    for taxon, tally in hours.items():
        for name in names.get(taxon, ()):
            for hour in np.flatnonzero(tally):
                rows.append((name, _integer(int(hour)), _integer(int(tally[hour])), taxon))
    rows.sort(key=lambda row: (row[0].value, int(row[1].value), row[3].value))  # type: ignore[union-attr]
    return SelectStream(["scientificName", "hour", "detections", "taxon"], iter(rows))


def prime(kg: Any, shelf: Shelf, interval: Binding) -> None:
    """Keep what a first ask with new parameters reads of the store: the lists of every series, what
    detections-near reads of each, and the count nodes at ``interval`` (detection-rate's default, for a date
    range); for an import or a correction to call once it changed the store (``amurkg.survey.warm``)."""
    _snapshot(kg, shelf)
    _query(kg, shelf, _SERIES_FACTS, {}, "detection series")
    _query(kg, shelf, _COUNT_NODES, {"interval": interval}, "counts")


# ----------------------------------------------------------------------------------------- detections-near

#: What detections-near reads of each detection series (kept by the store: ``_query``).
_SERIES_FACTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?deployment ?taxon ?n ?start ?end WHERE {
  ?series a akg:DetectionSeries ; akg:deployment ?deployment ; dwciri:toTaxon ?taxon ; akg:detectionCount ?n ;
    akg:firstDetection ?start ; akg:lastDetection ?end .
}"""
#: The bindings the series answer detections-near for (others, a location or a package: the text answers; the
#: text that counts is run only for animals, time-lapse images left out, and binds neither: ``run_stream``).
_NEAR_BOUND = frozenset({"latitude", "longitude", "km", "taxon", "deployment"})


def _near(kg: Any, bindings: Mapping[str, Binding], shelf: Shelf | None) -> SelectStream | None:
    """detections-near from the deployments near the point (the engine: ``from-series/near-deployments.rq``) and
    the series' counts, first and last detections (kept by the store), grouped and ordered as the text does;
    None where the text's aggregates or order would not be certain here."""
    from amurkg import sorting

    if shelf is None or not set(bindings) <= _NEAR_BOUND:
        return None  # without a shelf the series facts cost what the text costs
    place = {k: bindings[k] for k in ("latitude", "longitude", "km", "deployment") if k in bindings}
    near = _query(kg, shelf, _near_text(), place, "queries/from-series/near-deployments.rq")
    if not near:
        return SelectStream(_NEAR_COLUMNS, iter([]))
    taxa_given = bindings.get("taxon")
    wanted = None if taxa_given is None else ({taxa_given} if isinstance(taxa_given, Term) else set(taxa_given))
    places = {row[0] for row in near}
    facts: dict[Term, list[tuple[Term, int, tuple[int, Term], tuple[int, Term]]]] = {}
    for deployment, taxon, n, start, end in _query(kg, shelf, _SERIES_FACTS, {}, "detection series"):
        if deployment not in places or (wanted is not None and taxon not in wanted):
            continue
        count, first, last = _integer_value(n), _moment(start), _moment(end)
        if taxon is None or count is None or first is None or last is None:
            return None
        facts.setdefault(deployment, []).append((taxon, count, first, last))
    names = _names(kg, {taxon for found in facts.values() for taxon, *_ in found}, shelf)
    if names is None:
        return None
    groups: dict[tuple[Term, Term, Term, Term, Term], list[Any]] = {}
    for deployment, identifier, distance in near:
        for taxon, count, first, last in facts.get(deployment, ()):
            for name in names.get(taxon, ()):
                group = groups.setdefault((deployment, identifier, taxon, name, distance), [0, [], []])
                group[0] += count
                group[1].append(first)
                group[2].append(last)
    rows: list[Row] = []
    for (deployment, identifier, taxon, name, distance), (total, firsts, lasts) in groups.items():
        earliest, latest = _extreme(firsts, min), _extreme(lasts, max)
        if earliest is None or latest is None:
            return None
        rows.append((identifier, name, distance, _integer(total), earliest, latest, taxon, deployment))
    keys = (("distanceKm", False), ("deploymentID", False), ("scientificName", False), ("deployment", False))
    ordered = sorting.order(_NEAR_COLUMNS, rows, keys)
    return None if ordered is None else SelectStream(_NEAR_COLUMNS, iter(ordered))


_NEAR_COLUMNS = ["deploymentID", "scientificName", "distanceKm", "detections", "first", "last", "taxon", "deployment"]


def _integer_value(term: Term | None) -> int | None:
    """An xsd:integer's value, as SUM adds it; None for anything else (the engine's to add)."""
    if term is None or term.kind != "literal" or term.datatype != _XSD + "integer":
        return None
    try:
        return int(term.value)
    except ValueError:
        return None


def _moment(term: Term | None) -> tuple[int, Term] | None:
    """A date-time with its offset, as (POSIX microseconds, the term); None for anything else."""
    if term is None or term.kind != "literal" or term.datatype != _XSD + "dateTime":
        return None
    micros = _instant(term.value)
    return None if micros is None else (micros, term)


def _extreme(moments: list[tuple[int, Term]], pick: Callable[..., Any]) -> Term | None:
    """The term MIN or MAX gives of ``moments``; None where two terms of the same instant tie for it (which the
    engine gives is its own choice)."""
    best = pick(micros for micros, _ in moments)
    terms = {term for micros, term in moments if micros == best}
    return terms.pop() if len(terms) == 1 else None


# ------------------------------------------------------------------------------------------- co-detections

_PREDATOR_TAXA = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
SELECT DISTINCT ?taxon WHERE { ?predator obo:RO_0002439 [] . ?taxon akg:parentTaxon* ?predator }"""
_PREY_TAXA = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?prey ?preyName ?taxon WHERE { ?predator obo:RO_0002439 ?prey . ?prey rdfs:label ?preyName .
  ?taxon akg:parentTaxon* ?prey }"""
#: The predator's detections that started at some instants, each as a term written in some offset (``?start``
#: bound to them): ``?first`` is one of these terms, as written, and the series keep the instant, not the offset.
_PREDATOR_AT = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?obs ?deployment ?start ?imported WHERE {
  ?obs akg:%s ?start .
  # LATERAL: from each of those few observations; a plain join starts from every event (174 s at 1M, not 0.7)
  LATERAL { ?obs akg:deployment ?deployment ; akg:observationLevel "event" ; akg:observationType "animal" ;
    dwciri:toTaxon ?imported }
}"""
#: The corrections of some observations (no OPTIONAL beside the lookups above: it costs the engine a full scan).
_CORRECTED = """
SELECT ?obs ?what ?value WHERE { ?obs ?what ?value }"""
_CORRECTIONS = (Term.iri(_AKG + "correctedTaxon"), Term.iri(_AKG + "correctedStart"))
_WHICH = (Term.iri(_AKG + "eventStart"), Term.iri(_AKG + "correctedStart"))
_IDS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?deployment ?deploymentID WHERE { ?deployment akg:deploymentID ?deploymentID }"""
#: The widest window computed here, in days (the engine's durations are bounded; wider windows are its to judge).
_MAX_WINDOW = 100_000


def _co_detections(kg: Any, bindings: Mapping[str, Binding], shelf: Shelf | None) -> SelectStream | None:
    import numpy as np

    kinds = _kinds(bindings)  # animals only: the query takes no observation type
    predator, window_term = bindings.get("predator"), bindings.get("window")
    if kinds is None or not isinstance(predator, Term) or not isinstance(window_term, Term):
        return None
    if window_term.datatype != _XSD + "integer" or not window_term.value.isdigit():
        return None  # a negative or odd window: the engine decides what its duration means
    window = int(window_term.value)
    bounds = _window(bindings)
    if window > _MAX_WINDOW or bounds is None or not _complete(kg):
        return None
    variables = ["deploymentID", "preyName", "predatorDetections", "preyDetections", "first", "prey", "deployment"]
    own = {"predator": predator}
    predators = {row[0] for row in _query(kg, shelf, _PREDATOR_TAXA, own, "predator taxa") if row[0] is not None}
    prey_of: dict[Term, set[Term]] = {}
    labels: dict[Term, list[Term]] = {}
    for prey, name, taxon in _query(kg, shelf, _PREY_TAXA, own, "prey taxa"):
        if prey is None or name is None or taxon is None or name.kind != "literal" or name.datatype:
            return None
        prey_of.setdefault(prey, set()).add(taxon)
        if name not in labels.setdefault(prey, []):
            labels[prey].append(name)
    if not predators or not prey_of:
        return SelectStream(variables, iter([]))
    if len({name.lang for names in labels.values() for name in names}) != 1:
        return None  # names of several languages (or none and some): the engine orders them
    lo_us, hi_us = bounds
    wanted = {"taxon": tuple(sorted(predators | set().union(*prey_of.values())))}
    if "deployment" in bindings:
        wanted["deployment"] = bindings["deployment"]
    found: dict[Term, dict[Term, list[Any]]] = {}  # deployment -> taxon -> starts (microseconds)
    lists = _lists(kg, wanted, kinds, True, shelf)
    if lists is None:
        return None
    for deployment, taxon, _, moments in lists:
        if lo_us is not None:
            moments = moments[moments >= lo_us]
        if hi_us is not None:
            moments = moments[moments < hi_us]
        found.setdefault(deployment, {}).setdefault(taxon, []).append(moments)
    span = window * 86_400_000_000
    pairs: list[tuple[Term, Term, int, int, int]] = []  # deployment, prey, predator and prey detections, first
    at: dict[tuple[Term, int], int] = {}  # (deployment, first) -> the predator's detections that started then
    for deployment, by_taxon in found.items():
        mine = [m for t in predators for m in by_taxon.get(t, ())]
        if not mine:
            continue
        hunter = np.sort(np.concatenate(mine))
        for prey, taxa in prey_of.items():
            theirs = [m for t in taxa for m in by_taxon.get(t, ())]
            if not theirs:
                continue
            hunted = np.sort(np.concatenate(theirs))
            # each side's detections with one of the other side within the window (both ends included)
            near = np.searchsorted(hunted, hunter + span, "right") > np.searchsorted(hunted, hunter - span, "left")
            if not near.any():
                continue
            met = np.searchsorted(hunter, hunted + span, "right") > np.searchsorted(hunter, hunted - span, "left")
            first = int(hunter[near].min())
            pairs.append((deployment, prey, int(near.sum()), int(met.sum()), first))
            at[(deployment, first)] = int(np.count_nonzero(hunter == first))
    if not pairs:
        return SelectStream(variables, iter([]))
    firsts = _first_terms(kg, predators, at, shelf)
    ids: dict[Term, list[Term]] = {}
    deployments = tuple(sorted({deployment for deployment, *_ in pairs}))
    for deployment, identifier in _query(kg, shelf, _IDS, {"deployment": deployments}, "deployments"):
        if deployment is None or identifier is None or identifier.datatype or identifier.lang:
            return None
        ids.setdefault(deployment, []).append(identifier)
    if firsts is None:
        return None
    rows: list[Row] = []
    for deployment, prey, hunters, prey_count, first in pairs:
        for identifier in ids.get(deployment, ()):
            for name in labels[prey]:
                rows.append(
                    (
                        identifier,
                        name,
                        _integer(hunters),
                        _integer(prey_count),
                        firsts[(deployment, first)],
                        prey,
                        deployment,
                    )
                )
    rows.sort(key=lambda row: (row[0].value, row[1].value, row[6].value))  # type: ignore[union-attr]
    if _ties(rows, (0, 1, 6)):
        return None
    return SelectStream(variables, iter(rows))


def _first_terms(
    kg: Any, predators: set[Term], wanted: dict[tuple[Term, int], int], shelf: Shelf | None
) -> dict[tuple[Term, int], Term] | None:
    """The term of each (deployment, instant in microseconds) among the predator's detection starts, ``wanted``
    giving how many of the predator's detections there started then. Each instant is looked up as written in UTC
    and in the offset of its deployment's start (the forms an import writes); None where that finds another
    number of detections (written in a third offset), or one instant written two ways (MIN's pick would be the
    engine's), and the query text answers."""
    deployments = tuple(sorted({d for d, _ in wanted}))
    zones = _offsets(kg, set(deployments), shelf)
    if zones is None:
        return None
    forms: set[Term] = set()  # the terms the instants would be written as (the engine matches them by value)
    for deployment, micros in wanted:
        moment = _EPOCH + timedelta(microseconds=micros)
        for offset in {0, zones[deployment]}:
            text = moment.astimezone(timezone(timedelta(microseconds=offset))).isoformat()
            forms.add(Term.literal(text.replace("+00:00", "Z"), _XSD + "dateTime"))
    # the deployment is checked here: a second VALUES block would be joined as a cross product with the first
    given = {"start": tuple(sorted(forms))}
    seen: dict[tuple[Term, int], dict[Term, Term]] = {}  # (deployment, instant) -> observation -> its term
    rows = [
        (*row, which)
        for which in _WHICH  # one query each: a variable predicate would be a scan of every triple
        for row in _query(kg, shelf, _PREDATOR_AT % which.value[len(_AKG) :], given, "predator detections")
        if None not in row
    ]
    fixed: dict[tuple[Term, Term], Term] = {}  # (observation, correctedTaxon or correctedStart) -> its value
    if rows:
        asked = {"obs": tuple(sorted({row[0] for row in rows})), "what": _CORRECTIONS}
        for obs, what, value in _query(kg, shelf, _CORRECTED, asked, "corrections"):
            fixed[(obs, what)] = value
    for obs, deployment, start, imported, which in rows:
        key = (deployment, _instant(start.value))  # as the engine writes it back: its canonical form
        moved = (obs, _CORRECTIONS[1]) in fixed
        if key not in wanted or moved is (which == _WHICH[0]):
            continue  # not its start as the corrections make it
        if fixed.get((obs, _CORRECTIONS[0]), imported) not in predators:
            continue  # not the predator's, as the corrections make its taxon
        seen.setdefault(key, {})[obs] = start
    out: dict[tuple[Term, int], Term] = {}
    for key, count in wanted.items():
        terms = seen.get(key, {})
        written = set(terms.values())
        if len(terms) != count or len(written) != 1:
            return None
        out[key] = written.pop()
    return out


__all__ = ["KEYS", "Shelf", "answer", "prime"]
