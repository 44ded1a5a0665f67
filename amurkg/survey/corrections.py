"""Corrections to imported field data, kept beside it with their provenance, and reversible.

- **Camera clocks** (``shift_time``, after camtrapdp's ``shift_time``): a deployment's camera was set to the
  wrong time; every time of that deployment (its start and end, its observations) moves by an offset.
- **Taxa** (``update_taxon``, after camtrapdp's ``update_taxon``): a scientific name recorded in a package
  means another taxon; its observations count as that taxon.

A correction is a record in the store's corrections graph (``graph/corrections``): what it corrects, who
made it, when and why (``prov:wasAttributedTo``, ``prov:generatedAtTime``, ``rdfs:comment``). The imported
records are never changed, so ``undo`` only marks a correction as withdrawn (``prov:invalidatedAtTime``, with
who and why), keeping the history. Every analysis of ``amurkg.survey`` (filters, effort, histories, activity,
overlap, counts of individuals) applies the corrections in force, and recording or withdrawing a correction
recomputes, with the importer's own ``Mapper``, the counts the import computed for the canned queries
(``detection-rate``, ``activity-pattern``), and writes beside each imported value a correction changes its
corrected value (``akg:correctedTaxon``, ``akg:correctedStart``, ``akg:correctedLocalHour``, ``akg:correctedEnd``),
which the queries that read observations (``*-any``, ``survey-effort``) prefer: every canned survey query answers
as if the package had been imported corrected.

``name_matches`` is the name-matching report of a package, in GBIF's terms: each recorded name with its
match type (``exact``, ``synonym``, ``higherrank``: only a higher taxon of the curated graph has the name's
genus, ``none``) and the correction in force, if any.
"""

from __future__ import annotations

import getpass
import itertools
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from amurkg.errors import ParameterError
from amurkg.namespaces import AKG, GRAPH_BASE, PREFIXES, SURVEY

# the readers of the corrections in force live below filters and sensitive, which apply them
from amurkg.survey.ledger import CORRECTION_BASE as CORRECTION_BASE
from amurkg.survey.ledger import Correction as Correction
from amurkg.survey.ledger import clock_shifts as clock_shifts
from amurkg.survey.ledger import corrections as corrections
from amurkg.survey.ledger import package_of
from amurkg.survey.ledger import taxon_updates as taxon_updates

CORRECTIONS_GRAPH = GRAPH_BASE + "corrections"
_PROV = PREFIXES["prov"]
_RDFS = PREFIXES["rdfs"]
_XSD = PREFIXES["xsd"]
_DWCIRI = PREFIXES["dwciri"]
_SKOS = PREFIXES["skos"]
_MAX_OFFSET = 366 * 86400.0


def _printable(text: str, what: str) -> str:
    """``text`` with its spaces collapsed, or ParameterError when it holds a control or format character (it
    would reach terminals and spreadsheets as it is)."""
    import unicodedata

    for index, char in enumerate(text, 1):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") and char not in " \t\n\r":
            raise ParameterError(
                f"{what} holds U+{ord(char):04X} (a control character) at character {index}: remove it"
            )
    return " ".join(text.split())


def _who(by: str | None) -> str:
    if by is not None:
        text = _printable(str(by), "who made the correction (--by / by=)")
        if not text or len(text) > 200:
            raise ParameterError("who made the correction (--by / by=) must be 1 to 200 characters")
        return text
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name on this system
        return "unknown"


def _why(reason: str) -> str:
    text = _printable(str(reason), "why (--why / reason=)")
    if not text or len(text) > 2000:
        raise ParameterError("say why (--why / reason=): 1 to 2000 characters")
    return text


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_offset(text: str) -> float:
    """An offset as seconds: ``[+-]HH:MM[:SS]``, or ISO 8601 ``[-]PnDTnHnMnS`` shortened (``+1h``, ``-30m``,
    ``2d``), or a number of seconds."""
    raw = str(text).strip()
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    try:
        if ":" in body:
            parts = [float(p) for p in body.split(":")]
            if len(parts) not in (2, 3) or any(p < 0 or not math.isfinite(p) for p in parts):
                raise ValueError
            seconds = parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) == 3 else 0)
        elif body and body[-1] in "dhms" and body[:-1]:
            seconds = float(body[:-1]) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[body[-1]]
        else:
            seconds = float(body)
    except ValueError:
        raise ParameterError(
            f"offset {text!r} is not a time offset: use +HH:MM[:SS], 1h, -30m, 2d or seconds"
        ) from None
    seconds *= sign
    if not math.isfinite(seconds) or seconds == 0 or abs(seconds) > _MAX_OFFSET:
        raise ParameterError(f"offset {text!r}: give a non-zero offset of at most 366 days")
    if abs(seconds * 1e6 - round(seconds * 1e6)) > 1e-3:
        # times are kept to the microsecond (xsd:dateTime as written, Python's datetime): a finer offset would move
        # the analyses' times but not the corrected ones written beside the records
        raise ParameterError(f"offset {text!r}: give it to the microsecond at most (6 decimals of a second)")
    return seconds


def _insert(store: Path | str, quads: list[Any]) -> None:
    from amurkg.store import Store

    with Store.open(store, write=True) as handle:
        handle.ox.extend(quads)
        handle.ox.flush()


def _recount_or_withdraw(store: Path | str, quads: list[Any], packages: list[str] | None) -> None:
    """Recount the import-time counts after recording ``quads``; if that fails, remove them again, so that the
    store holds neither the correction nor counts that disagree with it."""
    recount(store, packages, withdraw=quads)


def _deployments_of(store: Path | str, identifiers: list[str], package: str | None) -> list[tuple[str, str]]:
    from amurkg.graph import KnowledgeGraph

    query = """PREFIX akg: <https://w3id.org/amurkg/ontology#>
    SELECT ?d ?id WHERE { ?d a akg:Deployment ; akg:deploymentID ?id }"""
    with KnowledgeGraph(store=store) as opened:
        kg: Any = opened
        rows = [(r[0].value, r[1].value) for r in kg.query(query).rows if r[0] is not None and r[1] is not None]
    found = []
    for identifier in identifiers:
        matches = [(iri, package_of(iri)) for iri, i in rows if i == identifier]
        if package is not None:
            matches = [m for m in matches if m[1] == package]
        if not matches:
            raise ParameterError(f"no deployment {identifier!r} in the store: see amurkg survey effort for its IDs")
        if len(matches) > 1:
            raise ParameterError(
                f"deployment {identifier!r} is in {len(matches)} packages: say which (--package / package=)"
            )
        found.append(matches[0])
    return found


def _provenance(node: Any, label: str, by: str, at: str, why: str) -> list[Any]:
    import pyoxigraph as ox

    graph = ox.NamedNode(CORRECTIONS_GRAPH)
    return [
        ox.Quad(node, ox.NamedNode(_RDFS + "label"), ox.Literal(label), graph),
        ox.Quad(node, ox.NamedNode(_PROV + "wasAttributedTo"), ox.Literal(by), graph),
        ox.Quad(
            node,
            ox.NamedNode(_PROV + "generatedAtTime"),
            ox.Literal(at, datatype=ox.NamedNode(_XSD + "dateTime")),
            graph,
        ),
        ox.Quad(node, ox.NamedNode(_RDFS + "comment"), ox.Literal(why), graph),
    ]


def shift_time(
    store: Path | str,
    deployments: list[str],
    offset: float | timedelta | str,
    reason: str,
    by: str | None = None,
    package: str | None = None,
) -> list[Correction]:
    """Record that the cameras of ``deployments`` (deploymentIDs) ran ``offset`` slow: their times move by
    ``offset`` (seconds, a ``timedelta`` or text such as ``+01:00``, ``-30m``) in every analysis."""
    import pyoxigraph as ox

    seconds = offset.total_seconds() if isinstance(offset, timedelta) else parse_offset(str(offset))
    if isinstance(offset, timedelta) and (seconds == 0 or abs(seconds) > _MAX_OFFSET):
        raise ParameterError("give a non-zero offset of at most 366 days")
    why, who, at = _why(reason), _who(by), _now()
    if not deployments:
        raise ParameterError("name the deployments to correct (--deployment / deployments=)")
    targets = _deployments_of(store, list(deployments), package)
    graph = ox.NamedNode(CORRECTIONS_GRAPH)
    quads, out = [], []
    for iri, pkg in targets:
        identifier = str(uuid.uuid4())
        node = ox.NamedNode(CORRECTION_BASE + identifier)
        quads += [
            ox.Quad(node, ox.NamedNode(PREFIXES["rdf"] + "type"), ox.NamedNode(AKG + "ClockCorrection"), graph),
            ox.Quad(node, ox.NamedNode(AKG + "correctedDeployment"), ox.NamedNode(iri), graph),
            ox.Quad(
                node,
                ox.NamedNode(AKG + "clockOffset"),
                ox.Literal(repr(float(seconds)), datatype=ox.NamedNode(_XSD + "decimal")),
                graph,
            ),
            *_provenance(node, f"clock correction of {iri.rsplit('/', 1)[-1]}", who, at, why),
        ]
        out.append(Correction(identifier, "clock", iri, repr(float(seconds)), pkg, who, at, why))
    _insert(store, quads)
    _recount_or_withdraw(store, quads, sorted({pkg for _, pkg in targets}))
    return out


def update_taxon(
    store: Path | str,
    name: str,
    taxon: str,
    reason: str,
    by: str | None = None,
    package: str | None = None,
) -> Correction:
    """Record that observations whose recorded scientific name is ``name`` (in ``package``, or in every package)
    are of ``taxon`` (a name, label or IRI the graph knows)."""
    import pyoxigraph as ox

    from amurkg.graph import KnowledgeGraph
    from amurkg.survey.rdf import TaxonIndex, package_iri

    recorded = _printable(str(name), "the recorded scientific name (--name / name=)")
    if not recorded or len(recorded) > 500:
        raise ParameterError("the recorded scientific name (--name / name=) must be 1 to 500 characters")
    why, who, at = _why(reason), _who(by), _now()

    query = """PREFIX akg: <https://w3id.org/amurkg/ontology#>
    SELECT DISTINCT ?d WHERE { ?d a akg:Deployment }"""
    with KnowledgeGraph(store=store) as opened:
        kg: Any = opened
        target = kg.resolve(taxon, "taxon").value
        packages = {package_of(r[0].value) for r in kg.query(query).rows if r[0] is not None}
        if package is not None and package not in packages:
            raise ParameterError(f"no package {package!r} in the store: amurkg import --list shows them")
        recorded_names = {TaxonIndex.normal(m.name) for m in name_matches(kg, package)}
    if TaxonIndex.normal(recorded) not in recorded_names:
        within = f" of package {package!r}" if package is not None else ""
        raise ParameterError(
            f"no observation{within} records the scientific name {recorded[:80]!r}: a correction names a name as "
            "recorded; amurkg survey names lists them"
        )
    identifier = str(uuid.uuid4())
    node = ox.NamedNode(CORRECTION_BASE + identifier)
    graph = ox.NamedNode(CORRECTIONS_GRAPH)
    quads = [
        ox.Quad(node, ox.NamedNode(PREFIXES["rdf"] + "type"), ox.NamedNode(AKG + "TaxonCorrection"), graph),
        ox.Quad(node, ox.NamedNode(AKG + "correctedName"), ox.Literal(TaxonIndex.normal(recorded)), graph),
        ox.Quad(node, ox.NamedNode(_DWCIRI + "toTaxon"), ox.NamedNode(target), graph),
        *_provenance(node, f"taxon correction of {recorded}", who, at, why),
    ]
    if package is not None:
        quads.append(ox.Quad(node, ox.NamedNode(AKG + "correctedPackage"), ox.NamedNode(package_iri(package)), graph))
    from amurkg.store import Store
    from amurkg.survey.sensitive import protect_others, store_reasons

    with Store.open(store, write=True) as handle:
        # a name corrected to a threatened taxon makes its cameras sensitive: their exact coordinates leave the
        # graphs queries see, as the import does for a name recorded as such (the graphs it changes nothing in
        # are left as they are). They leave first, and the correction is written once every graph is protected:
        # written first, a command killed half way left the graphs it had not reached exact, with the correction
        # that makes them sensitive in force (killed before, graphs protected for a correction never written
        # are protected again by the next import or correction, their record no longer matching the store)
        protect_others(handle, store_reasons(handle, pending=quads))
        handle.ox.extend(quads)
        handle.ox.flush()
    _recount_or_withdraw(store, quads, None if package is None else [package])
    return Correction(identifier, "taxon", TaxonIndex.normal(recorded), target, package or "", who, at, why)


def undo(store: Path | str, correction: str, reason: str, by: str | None = None) -> Correction:
    """Withdraw a correction (by its id): it stays recorded, marked withdrawn with who, when and why."""
    import pyoxigraph as ox

    from amurkg.graph import KnowledgeGraph

    why, who, at = _why(reason), _who(by), _now()
    with KnowledgeGraph(store=store) as kg:
        known = {c.id: c for c in corrections(kg)}
    key = str(correction).strip().removeprefix(CORRECTION_BASE)
    if key not in known:
        raise ParameterError(f"no correction {correction!r} in the store: amurkg survey corrections lists them")
    if not known[key].active:
        raise ParameterError(f"correction {key} was already withdrawn on {known[key].undone_at}")
    node = ox.NamedNode(CORRECTION_BASE + key)
    graph = ox.NamedNode(CORRECTIONS_GRAPH)
    withdrawal = [
        ox.Quad(
            node,
            ox.NamedNode(_PROV + "invalidatedAtTime"),
            ox.Literal(at, datatype=ox.NamedNode(_XSD + "dateTime")),
            graph,
        ),
        ox.Quad(node, ox.NamedNode(_SKOS + "changeNote"), ox.Literal(f"withdrawn by {who}: {why}"), graph),
    ]
    _insert(store, withdrawal)
    _recount_or_withdraw(store, withdrawal, [known[key].package] if known[key].package else None)
    old = known[key]
    return Correction(
        old.id,
        old.kind,
        old.target,
        old.value,
        old.package,
        old.by,
        old.at,
        old.reason,
        at,
        f"withdrawn by {who}: {why}",
    )


@dataclass(frozen=True)
class NameMatch:
    package: str
    name: str
    observations: int
    match_type: str  # exact, synonym, higherrank, none
    taxon: str  # the taxon the import gave it
    matched_name: str  # the curated name it matched (or its higher taxon for higherrank)
    corrected_to: str = ""


_NAMES = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?deployment ?name ?taxon (COUNT(?obs) AS ?n) WHERE {
  ?obs a akg:CameraTrapObservation ; dwc:scientificName ?name ; dwciri:toTaxon ?taxon ; akg:deployment ?deployment .
} GROUP BY ?deployment ?name ?taxon"""
_CURATED_NAMES = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?taxon ?name ?rank WHERE { ?taxon dwc:scientificName ?name . OPTIONAL { ?taxon dwc:taxonRank ?rank }
  FILTER(STRSTARTS(STR(?taxon), "https://w3id.org/amurkg/id/")) }"""


def name_matches(kg: Any, package: str | None = None) -> list[NameMatch]:
    """The name-matching report of the imported packages (or one): each recorded scientific name, how many
    observations carry it, how it matched the curated taxa, and the taxon correction in force."""
    from amurkg.survey.rdf import TaxonIndex

    if package is not None:  # a package the store does not hold is a typo, not an empty report
        from amurkg.survey.filters import SurveyFilter, deployments

        deployments(kg, SurveyFilter(packages=(package,)))
    curated: dict[str, tuple[str, str]] = {}
    for taxon, name, rank in kg.query(_CURATED_NAMES, where="curated names").rows:
        if taxon is not None and name is not None:
            curated.setdefault(TaxonIndex.normal(name.value), (taxon.value, rank.value if rank is not None else ""))
    accepted = {iri: n for n, (iri, _) in curated.items()}
    updates = taxon_updates(kg)
    totals: dict[tuple[str, str, str], int] = {}
    for deployment, name, taxon, n in kg.query(_NAMES, where="recorded names").rows:
        if deployment is None or name is None or taxon is None or n is None:
            continue
        pkg = package_of(deployment.value)
        if package is not None and pkg != package:
            continue
        key = (pkg, name.value, taxon.value)
        totals[key] = totals.get(key, 0) + int(n.value)
    out = []
    for (pkg, name, taxon), count in sorted(totals.items()):
        normal = TaxonIndex.normal(name)
        if taxon.startswith(SURVEY):
            genus = normal.split(" ")[0]
            higher = curated.get(genus)
            kind, matched = ("higherrank", higher[0]) if higher and " " in normal else ("none", "")
        else:
            kind = "exact" if accepted.get(taxon) == normal else "synonym"
            matched = taxon
        corrected = updates.get((pkg, normal)) or updates.get(("", normal)) or ""
        out.append(NameMatch(pkg, name, count, kind, taxon, matched, corrected))
    return out


_EVENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?obs ?id ?dep ?deployment ?start ?taxon ?name WHERE {
  ?obs akg:observationLevel "event" ; akg:observationType "animal" ; dwc:occurrenceID ?id ;
       akg:deployment ?dep ; akg:eventStart ?start ; dwciri:toTaxon ?taxon ; dwc:scientificName ?name .
  ?dep akg:deploymentID ?deployment .
}"""
#: Event-level observations of other types (people, vehicles, blanks, unsure ones): no counts are made of them
#: at import, but a clock correction moves their times as it moves the animals' (the canned queries read them
#: with -p observationType=).
_OTHER_EVENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?obs ?dep ?start WHERE {
  ?obs akg:observationLevel "event" ; akg:observationType ?type ; akg:deployment ?dep ; akg:eventStart ?start .
  FILTER(?type != "animal")
}"""
_DEPLOYMENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?dep ?deployment ?start ?end ?days WHERE {
  ?dep a akg:Deployment ; akg:deploymentID ?deployment ; akg:deploymentStart ?start .
  OPTIONAL { ?dep akg:deploymentEnd ?end }
  OPTIONAL { ?dep akg:cameraDays ?days }
}"""
#: What marks the observations of time-lapse images (``Mapper.time_lapse_lines``), read back from an import: each
#: media's deployment, timestamp and capture method (none: not a time-lapse image), and each event-level
#: observation's deployment, start and media. Read only where the import holds a time-lapse image.
_HAS_TIME_LAPSE = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
ASK { ?media akg:captureMethod "timeLapse" }"""
_MEDIA = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?media ?deployment ?timestamp ?method WHERE {
  ?media a akg:Media ; akg:deployment ?dep ; akg:timestamp ?timestamp .
  ?dep akg:deploymentID ?deployment .
  OPTIONAL { ?media akg:captureMethod ?method }
}"""
_ALL_EVENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?id ?deployment ?start ?media WHERE {
  ?obs akg:observationLevel "event" ; dwc:occurrenceID ?id ; akg:deployment ?dep ; akg:eventStart ?start .
  ?dep akg:deploymentID ?deployment .
  OPTIONAL { ?obs akg:media ?media }
}"""
#: What a recount writes beside the imported values where a correction changes them, so that the queries that
#: read observations (detection-rate-any, activity-pattern-any, co-detections-any) and survey-effort count as
#: if the package had been recorded corrected: ``COALESCE(?corrected, ?imported)``.
CORRECTED = ("correctedTaxon", "correctedLocalHour", "correctedStart", "correctedEnd")


def _derived(ox_store: Any, graph: str) -> set[Any]:
    """The quads of an import graph that the importer computes from its detections (``Mapper.gap_lines``)."""
    import pyoxigraph as ox

    g = ox.NamedNode(graph)
    rdf_type = ox.NamedNode(PREFIXES["rdf"] + "type")
    out: set[Any] = set(ox_store.quads_for_pattern(None, ox.NamedNode(AKG + "minutesSincePrevious"), None, g))
    for name in (*CORRECTED, "timeLapse"):
        out.update(ox_store.quads_for_pattern(None, ox.NamedNode(AKG + name), None, g))
    for kind in ("DetectionSeries", "TimeLapseSeries", "HourlyDetectionCount", "CoDetectionCount"):
        for node in [q.subject for q in ox_store.quads_for_pattern(None, rdf_type, ox.NamedNode(AKG + kind), g)]:
            for quad in ox_store.quads_for_pattern(node, None, None, g):
                out.add(quad)
                if quad.predicate.value == AKG + "independentDetections":
                    out.update(ox_store.quads_for_pattern(quad.object, None, None, g))
    return out


def _recounted(
    ox_store: Any, record: Any, shifts: dict[str, float], updates: dict[tuple[str, str], str], remark: bool = False
) -> set[Any]:
    """The derived quads of one import as the importer would write them had the package been recorded with the
    corrections in force: the importer's own ``Mapper`` counts the corrected detections."""
    import pyoxigraph as ox

    from amurkg.store import CURATED_GRAPH
    from amurkg.survey.rdf import Mapper, TaxonIndex, literal, taxon_index

    g = ox.NamedNode(record.graph)
    mapper = Mapper(record.identifier, {}, taxon_index(ox_store, default_graph=[ox.NamedNode(CURATED_GRAPH)]))
    corrected: list[str] = []  # the corrected values beside the imported ones (CORRECTED)
    deployment_ids: dict[str, str] = {}  # deployment IRI -> deploymentID
    for row in ox_store.query(_DEPLOYMENTS, default_graph=[g]):
        deployment_ids[row["dep"].value] = row["deployment"].value
        start = datetime.fromisoformat(row["start"].value.replace("Z", "+00:00"))
        mapper.offsets[row["deployment"].value] = start.utcoffset()
        if row["days"] is not None:
            mapper.effort[row["deployment"].value] = float(row["days"].value)
        moved = timedelta(seconds=shifts.get(row["dep"].value, 0.0))
        if moved:
            corrected.append(f"{row['dep']} <{AKG}correctedStart> {literal(start + moved)} .")
            if row["end"] is not None:
                end = datetime.fromisoformat(row["end"].value.replace("Z", "+00:00"))
                corrected.append(f"{row['dep']} <{AKG}correctedEnd> {literal(end + moved)} .")
    # the observations of time-lapse images (Mapper.time_lapse_lines): not counted, as then
    marks, marked = _time_lapse_marks(ox_store, g, mapper, remark)
    for row in ox_store.query(_EVENTS, default_graph=[g]):
        if row["obs"] in marked:
            mapper.time_lapse.add(row["id"].value)
        deployment, name = row["deployment"].value, row["name"].value
        start = datetime.fromisoformat(row["start"].value.replace("Z", "+00:00"))
        shift = shifts.get(row["dep"].value, 0.0)
        moment = start.timestamp() + shift  # as the analyses shift it (amurkg.survey.filters), to the last bit
        start += timedelta(seconds=shift)
        offset = mapper.offsets.get(deployment)
        local = start.astimezone(UTC if offset is None else _zone(offset))
        normal = TaxonIndex.normal(name)
        package = package_of(row["dep"].value)
        taxon = updates.get((package, normal)) or updates.get(("", normal)) or row["taxon"].value
        mapper.observed.setdefault(taxon, " ".join(name.split()))
        mapper.detections.append((deployment, taxon, moment, row["id"].value, local.hour, start))
        subject = str(row["obs"])  # N-Triples, written by pyoxigraph
        if taxon != row["taxon"].value:
            corrected.append(f"{subject} <{AKG}correctedTaxon> <{taxon}> .")
        if shift:
            corrected.append(f"{subject} <{AKG}correctedStart> {literal(start)} .")
            corrected.append(f"{subject} <{AKG}correctedLocalHour> {literal(local.hour)} .")
    for row in ox_store.query(_OTHER_EVENTS, default_graph=[g]):
        shift = shifts.get(row["dep"].value, 0.0)
        if shift:
            start = datetime.fromisoformat(row["start"].value.replace("Z", "+00:00")) + timedelta(seconds=shift)
            offset = mapper.offsets.get(deployment_ids.get(row["dep"].value, ""))
            local = start.astimezone(UTC if offset is None else _zone(offset))
            corrected.append(f"{row['obs']} <{AKG}correctedStart> {literal(start)} .")
            corrected.append(f"{row['obs']} <{AKG}correctedLocalHour> {literal(local.hour)} .")
    lines = itertools.chain(marks, mapper.gap_lines(), corrected)
    triples = ox.parse("\n".join(lines), format=ox.RdfFormat.N_TRIPLES)
    return {ox.Quad(t.subject, t.predicate, t.object, g) for t in triples}


def _time_lapse_marks(ox_store: Any, g: Any, mapper: Any, remark: bool) -> tuple[list[str], set[Any]]:
    """The ``akg:timeLapse`` lines of the import graph ``g``, and the observations they mark (or, where marked
    again, an empty set, ``mapper.time_lapse`` holding their IDs). No correction changes them (a clock correction
    moves a deployment's media and observations alike), so the marks the import holds are kept as they are,
    unless ``remark`` (``import --upgrade``) or the import has time-lapse images and no mark (made by an amurkg
    before the marks): then they are made again from its media and observations, as ``Mapper.time_lapse_lines``
    makes them (3.8 s of CPU on 100,000 observations, so not on every correction). Media are named by their
    IRIs here, on both sides of the comparison, where the importer uses their mediaIDs."""
    import pyoxigraph as ox

    from amurkg.survey.rdf import TIME_LAPSE, literal

    if not ox_store.query(_HAS_TIME_LAPSE, default_graph=[g]):
        return [], set()
    marked = {q.subject for q in ox_store.quads_for_pattern(None, ox.NamedNode(AKG + "timeLapse"), None, g)}
    if marked and not remark:
        return [f"{s} <{AKG}timeLapse> {literal(True)} ." for s in marked], marked
    for row in ox_store.query(_MEDIA, default_graph=[g]):
        lapse = row["method"] is not None and row["method"].value == TIME_LAPSE
        moment = datetime.fromisoformat(row["timestamp"].value.replace("Z", "+00:00")).timestamp()
        mapper.media.append((row["deployment"].value, moment, lapse))
        if lapse:
            mapper.time_lapse_media.add(row["media"].value)
    for row in ox_store.query(_ALL_EVENTS, default_graph=[g]):
        start = datetime.fromisoformat(row["start"].value.replace("Z", "+00:00")).timestamp()
        media = row["media"].value if row["media"] is not None else None
        mapper.events.append((row["deployment"].value, start, row["id"].value, media))
    return list(mapper.time_lapse_lines()), set()


def _zone(offset: timedelta) -> Any:
    from datetime import timezone

    return timezone(offset)


def recount(
    store: Path | str, packages: list[str] | None = None, withdraw: list[Any] | None = None, remark: bool = False
) -> int:
    """Recompute the counts the import computed (detection series, hourly activity counts, gaps between
    detections) of ``packages`` (identifiers; every package when ``None``) with the corrections in force, in one
    transaction: the canned ``detection-rate`` and ``activity-pattern`` queries then answer as if the package
    had been imported with corrected times and taxa. Returns the number of quads changed. On failure the quads
    ``withdraw`` (a correction just recorded) are removed again before the error goes on. ``remark``: mark the
    observations of time-lapse images again from the media (``amurkg import --upgrade``), not only where an
    import has none (``_time_lapse_marks``)."""
    from amurkg.graph import KnowledgeGraph
    from amurkg.store import Store

    with KnowledgeGraph(store=store) as opened:
        kg: Any = opened
        shifts, updates = clock_shifts(kg), taxon_updates(kg)
    with Store.open(store, write=True, doing="amurkg survey recount") as handle:
        try:
            changed = _recount_in(handle, packages, shifts, updates, remark)
        except BaseException:
            for quad in withdraw or []:
                handle.ox.remove(quad)
            handle.ox.flush()
            raise
    from amurkg.survey.warm import warm

    warm(store)  # the survey queries' answers as the counts are now, kept for their first asker
    return changed


def _recount_in(
    handle: Any,
    packages: list[str] | None,
    shifts: dict[str, float],
    updates: dict[tuple[str, str], str],
    remark: bool = False,
) -> int:
    """The work of ``recount`` on an open writer."""
    removed: set[Any] = set()
    added: set[Any] = set()
    for record in handle.imports():
        if packages is not None and record.identifier not in packages:
            continue
        old = _derived(handle.ox, record.graph)
        new = _recounted(handle.ox, record, shifts, updates, remark)
        removed |= old - new
        added |= new - old
    if removed or added:
        # one SPARQL update is one transaction: a failure leaves every count as it was. The terms are
        # written by pyoxigraph itself (str of a term is its N-Triples form), no outside text is pasted
        parts = []
        if removed:
            parts.append("DELETE DATA { " + " ".join(_quad_text(q) for q in removed) + " }")
        if added:
            parts.append("INSERT DATA { " + " ".join(_quad_text(q) for q in added) + " }")
        handle.ox.update(" ;\n".join(parts))
        handle.ox.flush()
    return len(removed) + len(added)


def recount_if_corrected(store: Path | str, package: str) -> None:
    """After (re-)importing ``package``: recount its import-time counts if corrections in force concern it."""
    from amurkg.graph import KnowledgeGraph

    with KnowledgeGraph(store=store) as opened:
        kg: Any = opened
        concerned = any(c.active and c.package in ("", package) for c in corrections(kg))
    if concerned:
        recount(store, [package])


def _quad_text(quad: Any) -> str:
    return f"GRAPH {quad.graph_name} {{ {quad.subject} {quad.predicate} {quad.object} }}"
