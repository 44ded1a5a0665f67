"""Camera-trap records as RDF: Darwin Core and GeoSPARQL terms where they exist, ``akg:`` for Camtrap DP's own.

Written as N-Triples lines, straight from the checked rows, so that a million observations stream into the
store's bulk loader without an RDF library in between. Every record keeps where it came from: the record
``prov:wasDerivedFrom`` its row (``<file>#row=N``, RFC 7111's fragment for CSV rows; the header is row 1),
the row ``dcterms:isPartOf`` its file, the file ``dcterms:isPartOf`` the package, as text spans are part of
their source document. See ``ontology/survey.ttl`` for the classes and properties.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from amurkg.codedigest import of_module
from amurkg.namespaces import AKG, PREFIXES, SURVEY

#: this module's source as it was loaded (``amurkg.codedigest``)
SOURCE_DIGEST = of_module(__name__)

RDF_TYPE = f"<{PREFIXES['rdf']}type>"
DWC = PREFIXES["dwc"]
DWCIRI = PREFIXES["dwciri"]
DCT = PREFIXES["dcterms"]
XSD = PREFIXES["xsd"]
GEO = PREFIXES["geo"]
PROV = PREFIXES["prov"]
RDFS = PREFIXES["rdfs"]
SCHEMA = PREFIXES["schema"]

#: Intervals (minutes) at which independent detections are precomputed per deployment and taxon: the ones
#: camera-trap studies use (camtrapR's default is 30 or 60 minutes; 1440 is one a day).
STANDARD_INTERVALS = (0, 1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440)
#: Windows (days) at which predator and prey co-detections are precomputed per deployment (co-detections).
STANDARD_WINDOWS = (0, 1, 2, 3, 5, 7, 10, 14, 30)
#: The capture method of Camtrap DP's time-lapse images, whose observations the survey analyses leave out.
TIME_LAPSE = "timeLapse"

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def literal(value: Any, datatype: str | None = None) -> str:
    """An N-Triples literal; strings are escaped, other values take their XSD datatype."""
    if type(value) is str:  # the most common, first (a million rows call this tens of millions of times)
        if "\\" in value or '"' in value or "\n" in value or "\r" in value:
            value = value.translate(_ESCAPES)
        return f'"{value}"^^<{datatype}>' if datatype else f'"{value}"'
    if isinstance(value, bool):
        return f'"{"true" if value else "false"}"^^<{XSD}boolean>'
    if isinstance(value, int):
        return f'"{value}"^^<{XSD}integer>'
    if isinstance(value, float):
        return f'"{_decimal(value)}"^^<{XSD}decimal>'
    if isinstance(value, datetime):
        return f'"{iso(value)}"^^<{XSD}dateTime>'
    text = str(value).translate(_ESCAPES)
    if datatype:
        return f'"{text}"^^<{datatype}>'
    return f'"{text}"'


def _decimal(value: float) -> str:
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.15f}".rstrip("0")
    if "." not in text:
        text += ".0"
    return text


def iso(value: datetime) -> str:
    """``xsd:dateTime`` text: seconds, and the offset as ``Z`` or ``+hh:mm``."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


#: Characters ``quote(value, safe="")`` keeps as they are: an ID made only of them is its own IRI segment.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*", re.ASCII)


def key(value: str) -> str:
    """An identifier as one IRI path segment (percent-encoded, so any ID is safe in an IRI)."""
    if _UNRESERVED.fullmatch(value):
        return value
    return quote(value, safe="")


@dataclass
class TaxonIndex:
    """Scientific names (and synonyms) of the curated taxa, for matching names in field data."""

    names: dict[str, str] = field(default_factory=dict)  # normalised name -> taxon IRI
    accepted: dict[str, str] = field(default_factory=dict)  # taxon IRI -> its own dwc:scientificName
    #: predator IRI -> the taxa it preys on (the curated graph's obo:RO_0002439), for co-detections
    preys: dict[str, list[str]] = field(default_factory=dict)
    #: taxon IRI -> its child taxa (akg:parentTaxon), so that a predator or prey counts the taxa below it
    children: dict[str, set[str]] = field(default_factory=dict)

    def below(self, taxon: str) -> set[str]:
        """The taxon and every taxon below it (``akg:parentTaxon*``)."""
        found, todo = {taxon}, [taxon]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    #: normalised vernacular name -> the one taxon it names (None where it names several): a common name in a
    #: scientific-name column ("Amur leopard") is still that taxon, whose cameras may need protecting
    vernacular: dict[str, str | None] = field(default_factory=dict)

    @staticmethod
    def normal(name: str) -> str:
        text = " ".join(name.split()).casefold()
        return text if text.isascii() else unicodedata.normalize("NFC", text)

    def match(self, name: str) -> str | None:
        """The curated taxon ``name`` names: its scientific name or a synonym (case and spacing aside), the same
        followed by an authorship ("Panthera pardus orientalis (Schlegel, 1857)", as GBIF writes names), or, failing
        those, a vernacular name that names one taxon only; a species' name followed by an unknown epithet is that
        species. A name left unmatched gets a taxon of its package's own
        (``unknown_taxon``), which nothing protects: so a leopard must never be missed for how its name is written."""
        found = self.names.get(self.normal(name))
        if found is not None:
            return found
        words = name.split()
        for cut in range(len(words) - 1, 0, -1):  # the longest known name, then an authorship or a lower epithet
            # an epithet not known below a species ("Panthera pardus japonensis") is of that species (the
            # observation keeps its name as written); below a genus it is not ("Panthera tigris" is no "Panthera")
            if (_authorship(words[cut]) or cut >= 2) and (found := self.names.get(" ".join(words[:cut]).casefold())):
                return found
        return self.vernacular.get(self.normal(name))


#: lower-case words that begin an author's name (de Blainville, von Linné, d'Orbigny)
_PARTICLES = frozenset({"d'", "da", "de", "del", "der", "di", "du", "la", "le", "van", "von"})


def _authorship(word: str) -> bool:
    """Whether ``word``, following a scientific name, begins its authorship: a bracket, a capital (an author's
    name or initial), a year, or a name's particle. A lower-case word is an epithet instead."""
    first = word[:1]
    return first in "([" or first.isupper() or first.isdigit() or word.casefold() in _PARTICLES or word.startswith("d'")


def unknown_taxon(package: str, name: str) -> str:
    """The IRI a name without a curated taxon gets in a package. Each package has its own, so that packages
    share no triples (a store's graphs stay disjoint, and removing one package cannot take another's taxa);
    ``dwc:scientificName`` relates them across packages."""
    return f"{package}/taxon/{key(' '.join(name.split()))}"


@dataclass
class ImportStats:
    rows: Counter[str] = field(default_factory=Counter)
    matched: Counter[str] = field(default_factory=Counter)  # scientific name -> observations, curated taxa
    unknown: Counter[str] = field(default_factory=Counter)  # scientific name -> observations, no curated taxon
    triples: int = 0
    warnings: list[str] = field(default_factory=list)  # kept although doubtful, counted (package readers)


# column -> (predicate IRI, how the value is written); a column not listed is not mapped
_Writer = Callable[[Any], str]
_STR: _Writer = literal
_DEPLOYMENT: dict[str, tuple[str, _Writer]] = {
    "deploymentID": (f"{AKG}deploymentID", _STR),
    "locationID": (f"{DWC}locationID", _STR),
    "locationName": (f"{DWC}locality", _STR),
    "latitude": (f"{DWC}decimalLatitude", literal),
    "longitude": (f"{DWC}decimalLongitude", literal),
    "coordinateUncertainty": (f"{DWC}coordinateUncertaintyInMeters", literal),
    "deploymentStart": (f"{AKG}deploymentStart", literal),
    "deploymentEnd": (f"{AKG}deploymentEnd", literal),
    "setupBy": (f"{AKG}setupBy", _STR),
    "cameraID": (f"{AKG}cameraID", _STR),
    "cameraModel": (f"{AKG}cameraModel", _STR),
    "cameraDelay": (f"{AKG}cameraDelay", literal),
    "cameraHeight": (f"{AKG}cameraHeight", literal),
    "cameraDepth": (f"{AKG}cameraDepth", literal),
    "cameraTilt": (f"{AKG}cameraTilt", literal),
    "cameraHeading": (f"{AKG}cameraHeading", literal),
    "detectionDistance": (f"{AKG}detectionDistance", literal),
    "timestampIssues": (f"{AKG}timestampIssues", literal),
    "baitUse": (f"{AKG}baitUse", literal),
    "featureType": (f"{AKG}featureType", _STR),
    "habitat": (f"{DWC}habitat", _STR),
    "deploymentGroups": (f"{AKG}deploymentGroups", _STR),
    "deploymentTags": (f"{AKG}deploymentTags", _STR),
    "deploymentComments": (f"{DWC}eventRemarks", _STR),
}
_MEDIA: dict[str, tuple[str, _Writer]] = {
    "mediaID": (f"{AKG}mediaID", _STR),
    "captureMethod": (f"{AKG}captureMethod", _STR),
    "timestamp": (f"{AKG}timestamp", literal),
    "filePath": (f"{AKG}filePath", _STR),
    "filePublic": (f"{AKG}filePublic", literal),
    "fileName": (f"{AKG}fileName", _STR),
    "fileMediatype": (f"{DCT}format", _STR),
    "exifData": (f"{AKG}exifData", _STR),
    "favorite": (f"{AKG}favorite", literal),
    "mediaComments": (f"{RDFS}comment", _STR),
}
_OBSERVATION: dict[str, tuple[str, _Writer]] = {
    "observationID": (f"{DWC}occurrenceID", _STR),
    "eventID": (f"{DWC}eventID", _STR),
    "eventStart": (f"{AKG}eventStart", literal),
    "eventEnd": (f"{AKG}eventEnd", literal),
    "observationLevel": (f"{AKG}observationLevel", _STR),
    "observationType": (f"{AKG}observationType", _STR),
    "cameraSetupType": (f"{AKG}cameraSetupType", _STR),
    "scientificName": (f"{DWC}scientificName", _STR),
    "count": (f"{DWC}individualCount", literal),
    "lifeStage": (f"{DWC}lifeStage", _STR),
    "sex": (f"{DWC}sex", _STR),
    "behavior": (f"{DWC}behavior", _STR),
    "individualID": (f"{DWC}organismID", _STR),
    "individualPositionRadius": (f"{AKG}individualPositionRadius", literal),
    "individualPositionAngle": (f"{AKG}individualPositionAngle", literal),
    "individualSpeed": (f"{AKG}individualSpeed", literal),
    "bboxX": (f"{AKG}bboxX", literal),
    "bboxY": (f"{AKG}bboxY", literal),
    "bboxWidth": (f"{AKG}bboxWidth", literal),
    "bboxHeight": (f"{AKG}bboxHeight", literal),
    "classificationMethod": (f"{AKG}classificationMethod", _STR),
    "classifiedBy": (f"{DWC}identifiedBy", _STR),
    "classificationTimestamp": (f"{DWC}dateIdentified", literal),
    "classificationProbability": (f"{AKG}classificationProbability", literal),
    "observationTags": (f"{AKG}observationTags", _STR),
    "observationComments": (f"{DWC}occurrenceRemarks", _STR),
}
_CLASSES = {"deployments": "Deployment", "media": "Media", "observations": "CameraTrapObservation"}
_ID = {"deployments": "deploymentID", "media": "mediaID", "observations": "observationID"}
_COLUMNS = {"deployments": _DEPLOYMENT, "media": _MEDIA, "observations": _OBSERVATION}


def _lists(node: str, starts: list[float], gaps: list[float]) -> Iterator[str]:
    """A series' ``akg:detectionStarts`` and ``akg:detectionGaps``: POSIX seconds, and minutes (``inf`` for the
    first detection of the taxon at the deployment), separated by spaces."""
    gap_text = " ".join("inf" if gap == math.inf else _decimal(float(gap)) for gap in gaps)
    yield f"{node} <{AKG}detectionStarts> {literal(' '.join(map(repr, starts)))} ."
    yield f"{node} <{AKG}detectionGaps> {literal(gap_text)} ."


def package_iri(identifier: str) -> str:
    return f"{SURVEY}{key(identifier)}"


class Mapper:
    """Turns one package's rows into N-Triples lines."""

    def __init__(
        self, identifier: str, files: dict[str, str], taxa: TaxonIndex, taxon_ids: dict[str, str] | None = None
    ) -> None:
        self.package = package_iri(identifier)
        #: normalised scientific name -> the taxonID the package's taxonomic list gives it
        self.taxon_ids = taxon_ids or {}
        self.files = {name: f"{self.package}/file/{key(rel)}" for name, rel in files.items()}
        self.taxa = taxa
        #: deployments are read from rows of the observations' file (a Darwin Core occurrence core)
        self._shared_rows = "deployments" in files and files["deployments"] == files.get("observations")
        self.stats = ImportStats()
        self.offsets: dict[str, Any] = {}  # deploymentID -> UTC offset of its start, for local hours
        # event-level animal observations: (deployment, taxon, start as POSIX seconds, observation ID, local hour,
        # start as recorded)
        self.detections: list[tuple[str, str, float, str, int, datetime]] = []
        self.effort: dict[str, float] = {}  # deploymentID -> camera-days
        # what marks the observations of time-lapse images (``time_lapse_lines``): each media's deployment,
        # timestamp (POSIX seconds) and whether it is a time-lapse image; the mediaIDs of time-lapse images; each
        # event-level observation's deployment, start, ID and mediaID
        self.media: list[tuple[str, float, bool]] = []
        self.time_lapse_media: set[str] = set()
        self.events: list[tuple[str, float, str, str | None]] = []
        #: whether to keep ``events``: only for a package with time-lapse images (its media table says so)
        self.keep_events = False
        #: the observationIDs of the event-level observations the survey commands leave out as time-lapse
        self.time_lapse: set[str] = set()
        self.observed: dict[str, str] = {}  # taxon IRI -> a scientific name observations gave it
        self._prefix = {
            name: f"{self.package}/{name.rstrip('s') if name != 'media' else 'media'}/" for name in _COLUMNS
        }
        self._deployments: dict[str, str] = {}  # deploymentID -> its IRI, in N-Triples
        # predicates and columns, as ready-made text, in column order
        self._columns = {
            name: [(column, f"<{predicate}>", writer) for column, (predicate, writer) in mapping.items()]
            for name, mapping in _COLUMNS.items()
        }

    def record_iri(self, table: str, identifier: str) -> str:
        return f"{self._prefix[table]}{key(identifier)}"

    def deployment_iri(self, identifier: str) -> str:
        """``record_iri`` of a deployment: each is named by many rows, so made once."""
        iri = self._deployments.get(identifier)
        if iri is None:
            iri = self._deployments[identifier] = f"<{self.record_iri('deployments', identifier)}>"
        return iri

    def files_lines(self) -> Iterator[str]:
        tables: dict[str, list[str]] = {}
        for name, iri in self.files.items():
            tables.setdefault(iri, []).append(name)
        for iri, names in tables.items():
            # one file may hold several kinds of record (a Darwin Core occurrence core holds deployments too)
            table = names[0] if len(names) == 1 else "occurrence"
            yield f"<{iri}> {RDF_TYPE} <{AKG}DataFile> ."
            yield f"<{iri}> <{DCT}isPartOf> <{self.package}> ."
            yield f"<{iri}> <{AKG}tableName> {literal(table)} ."

    def row(self, table: str, number: int, values: dict[str, Any]) -> list[str]:
        """The lines of one record."""
        self.stats.rows[table] += 1
        if (name := values.get("scientificName")) is not None and not name.isascii():
            # one name however its accents are encoded (RDF 1.1: lexical forms SHOULD be in Unicode NFC): an
            # unmatched name in two forms was two taxa of its own, counted apart
            values["scientificName"] = unicodedata.normalize("NFC", name)
        subject = f"<{self.record_iri(table, values[_ID[table]])}>"
        row = f"<{self.files[table]}#row={number}>"
        lines = [f"{subject} {RDF_TYPE} <{AKG}{_CLASSES[table]}> .", f"{subject} <{PROV}wasDerivedFrom> {row} ."]
        if not (table == "deployments" and self._shared_rows):
            # a Darwin Core occurrence row that gives a deployment is described once, with its occurrence:
            # the lines written are the triples stored, which the importer checks one for one
            lines.append(f"{row} {RDF_TYPE} <{AKG}TableRow> .")
            lines.append(f"{row} <{DCT}isPartOf> <{self.files[table]}> .")
            lines.append(f'{row} <{AKG}rowNumber> "{number}"^^<{XSD}integer> .')
        for column, predicate, writer in self._columns[table]:
            value = values.get(column)
            if value is not None:
                lines.append(f"{subject} {predicate} {writer(value)} .")
        if table == "deployments":
            start = values["deploymentStart"]
            self.offsets[values["deploymentID"]] = start.utcoffset()
            geometry = f"<{self.package}/geometry/{key(values['deploymentID'])}>"
            point = f"POINT({_decimal(values['longitude'])} {_decimal(values['latitude'])})"
            wkt = f"<http://www.opengis.net/def/crs/OGC/1.3/CRS84> {point}"
            lines.append(f"{subject} <{GEO}hasGeometry> {geometry} .")
            lines.append(f"{geometry} {RDF_TYPE} <{GEO}Geometry> .")
            lines.append(f"{geometry} <{GEO}asWKT> {literal(wkt, GEO + 'wktLiteral')} .")
            days = (values["deploymentEnd"] - start).total_seconds() / 86400
            lines.append(f"{subject} <{AKG}cameraDays> {literal(round(days, 6))} .")
            self.effort[values["deploymentID"]] = round(days, 6)
        else:
            lines.append(f"{subject} <{AKG}deployment> {self.deployment_iri(values['deploymentID'])} .")
        if table == "media" and values.get("timestamp") is not None:
            lapse = values.get("captureMethod") == TIME_LAPSE
            self.media.append((sys.intern(values["deploymentID"]), values["timestamp"].timestamp(), lapse))
            if lapse:
                self.time_lapse_media.add(values["mediaID"])
        if table == "observations":
            if (media := values.get("mediaID")) is not None:
                lines.append(f"{subject} <{AKG}media> <{self.record_iri('media', media)}> .")
            if self.keep_events and values.get("observationLevel") == "event":
                deployment = sys.intern(values["deploymentID"])
                self.events.append((deployment, values["eventStart"].timestamp(), values["observationID"], media))
            offset = self.offsets.get(values["deploymentID"])
            local = values["eventStart"].astimezone(_tz(offset)) if offset is not None else values["eventStart"]
            lines.append(f"{subject} <{AKG}localHour> {literal(local.hour)} .")
            if (name := values.get("scientificName")) is not None:
                taxon = self.taxa.match(name)
                if taxon is None:
                    self.stats.unknown[name] += 1
                    taxon = unknown_taxon(self.package, name)
                else:
                    self.stats.matched[name] += 1
                lines.append(f"{subject} <{DWCIRI}toTaxon> <{taxon}> .")
                if (taxon_id := self.taxon_ids.get(TaxonIndex.normal(name))) is not None:
                    lines.append(f"{subject} <{DWC}taxonID> {literal(taxon_id)} .")
                self.observed.setdefault(taxon, " ".join(name.split()))
                if values["observationLevel"] == "event" and values["observationType"] == "animal":
                    # the deployment's ID interned and the observation's own ID rather than its IRI: at a
                    # million observations this list is the importer's largest
                    deployment = sys.intern(values["deploymentID"])
                    self.detections.append(
                        (
                            deployment,
                            taxon,
                            values["eventStart"].timestamp(),
                            values["observationID"],
                            local.hour,
                            values["eventStart"],
                        )
                    )
            if values["observationType"] == "animal":
                lines.append(f'{subject} <{DWC}basisOfRecord> "MachineObservation" .')
        self.stats.triples += len(lines)
        return lines

    def time_lapse_lines(self) -> Iterator[str]:
        """``akg:timeLapse true`` on each event-level observation that the survey commands leave out as
        time-lapse by default (``amurkg.survey.filters.detections``): its media is a time-lapse image, or, without
        media of its own, every media of its deployment taken within a second of its start is one. The canned
        queries read the mark (``-p timeLapse=``), and the counts computed here leave those observations out.
        A clock correction moves a deployment's media and observations alike, so the mark stays true."""
        if not self.time_lapse_media:
            self.events.clear()
            self.media.clear()
            return
        by_deployment: dict[str, list[tuple[float, bool]]] = {}
        for deployment, timestamp, lapse in self.media:
            by_deployment.setdefault(deployment, []).append((timestamp, lapse))
        for items in by_deployment.values():
            items.sort()
        for deployment, start, observation, media in self.events:
            if media is not None:
                out = media in self.time_lapse_media
            else:
                items = by_deployment.get(deployment, [])
                at, near = bisect.bisect_left(items, (start - 1.0, False)), []
                while at < len(items) and items[at][0] <= start + 1.0:  # the media within a second
                    near.append(items[at][1])
                    at += 1
                out = bool(near) and all(near)
            if out:
                self.time_lapse.add(observation)
                yield f"<{self.record_iri('observations', observation)}> <{AKG}timeLapse> {literal(True)} ."
        self.events.clear()
        self.media.clear()

    def gap_lines(self) -> Iterator[str]:
        """What independence needs, computed once here rather than by a self-join over millions of rows:

        - ``akg:minutesSincePrevious`` of each event-level detection: the minutes since the start of the
          previous one of the same taxon at the same deployment (none for the first), so that independence at
          any interval is one filter (``detection-rate-any``);
        - an ``akg:DetectionSeries`` per deployment and taxon with its independent detections at each of the
          ``STANDARD_INTERVALS``, which ``detection-rate`` reads without touching the observations;
        - an ``akg:TimeLapseSeries`` per deployment and taxon with time-lapse detections: their starts and gaps,
          which the series leave out (``_time_lapse_series_lines``);
        - an ``akg:HourlyDetectionCount`` per taxon, hour of local time and standard interval (the package's
          independent detections of the taxon that started in that hour), which ``activity-pattern`` reads;
        - an ``akg:CoDetectionCount`` per deployment, predator, prey and standard window (``co-detections``).
        """
        self.detections.sort()
        lapse = self.time_lapse
        # the gaps of the current series' counted detections: a time-lapse one has a gap (the previous detection
        # of a series may be one) but is not counted, as the survey analyses read them
        series: list[float] = []
        starts: list[float] = []  # the starts of the current series (POSIX seconds, as the analyses read them)
        # the gaps and starts of its time-lapse detections, listed apart (``_time_lapse_series_lines``)
        lapse_gaps: list[float] = []
        lapse_starts: list[float] = []
        # (taxon, hour) -> detections by how many standard intervals their gap exceeds
        hourly: dict[tuple[str, int], list[int]] = {}
        span: list[datetime] = []  # the starts of the current series' first and last counted detections
        for index, (deployment, taxon, start, observation, hour, recorded) in enumerate(self.detections):
            subject = f"<{self.record_iri('observations', observation)}>"
            if index and self.detections[index - 1][:2] == (deployment, taxon):
                minutes = round((start - self.detections[index - 1][2]) / 60, 4)
                gap = minutes
                yield f"{subject} <{AKG}minutesSincePrevious> {literal(float(minutes))} ."
            else:
                series, starts, span, lapse_gaps, lapse_starts = [], [], [], [], []
                gap = math.inf  # the first detection of a series is independent at any interval
            if observation in lapse:
                lapse_gaps.append(gap)
                lapse_starts.append(start)
            else:
                series.append(gap)
                starts.append(start)  # POSIX seconds, as the analyses read them
                span = [span[0] if span else recorded, recorded]
                tally = hourly.setdefault((taxon, hour), [0] * (len(STANDARD_INTERVALS) + 1))
                tally[bisect.bisect_left(STANDARD_INTERVALS, gap)] += 1  # independent where gap > interval
            last = index + 1 == len(self.detections) or self.detections[index + 1][:2] != (deployment, taxon)
            if last and series:
                yield from self._series_lines(
                    deployment, taxon, series, (span[0], span[1]), starts, time_lapse=len(lapse_gaps)
                )
            if last and lapse_gaps:
                yield from self._time_lapse_series_lines(deployment, taxon, lapse_gaps, lapse_starts)
        if lapse:
            self.detections = [d for d in self.detections if d[3] not in lapse]
        yield from self._co_detection_lines()
        self.detections.clear()
        for (taxon, hour), tally in sorted(hourly.items()):
            yield from self._hourly_lines(taxon, hour, tally)

    def _co_detection_lines(self) -> Iterator[str]:
        """What ``co-detections`` counts, at each of the ``STANDARD_WINDOWS``, per deployment, predator (a
        subject of the curated graph's "preys on") and prey: the detections of the predator (or a taxon below
        it) with a detection of the prey (or a taxon below it) at most the window away at the same deployment,
        the prey's detections with a predator's that near, and the first start of such a predator detection.
        Each detection is paired with its nearest one of the other side once; the windows then only compare
        that distance. Reads ``self.detections`` sorted."""
        if not self.taxa.preys:
            return
        below = {taxon: self.taxa.below(taxon) for pair in self.taxa.preys.items() for taxon in (pair[0], *pair[1])}
        spans = [window * 86400 for window in STANDARD_WINDOWS]
        for deployment, rows in itertools.groupby(self.detections, key=lambda row: row[0]):
            by_taxon: dict[str, list[tuple[float, str, datetime]]] = {}
            for _, taxon, start, observation, _, recorded in rows:
                by_taxon.setdefault(taxon, []).append((start, observation, recorded))
            for predator, preys in sorted(self.taxa.preys.items()):
                hunters = sorted(d for taxon in below[predator] & by_taxon.keys() for d in by_taxon[taxon])
                if not hunters:
                    continue
                hunter_times = [d[0] for d in hunters]
                for prey in sorted(set(preys)):
                    hunted = sorted(d[0] for taxon in below[prey] & by_taxon.keys() for d in by_taxon[taxon])
                    if not hunted:
                        continue
                    to_prey = [_nearest(hunted, t) for t in hunter_times]  # in time order
                    to_predator = sorted(_nearest(hunter_times, t) for t in hunted)
                    ordered = sorted(to_prey)
                    for window, span in zip(STANDARD_WINDOWS, spans, strict=True):
                        paired = bisect.bisect_right(ordered, span)
                        if not paired:
                            continue
                        first = next(hunters[i][2] for i, gap in enumerate(to_prey) if gap <= span)
                        yield from self._co_detection_count(
                            deployment,
                            predator,
                            prey,
                            window,
                            (paired, bisect.bisect_right(to_predator, span), first),
                        )

    def _co_detection_count(
        self, deployment: str, predator: str, prey: str, window: int, counts: tuple[int, int, datetime]
    ) -> Iterator[str]:
        digest = hashlib.sha1(f"{predator} {prey}".encode()).hexdigest()[:12]
        node = f"<{self.package}/codetection/{key(deployment)}/{digest}/{window}>"
        yield f"{node} {RDF_TYPE} <{AKG}CoDetectionCount> ."
        yield f"{node} <{AKG}deployment> <{self.record_iri('deployments', deployment)}> ."
        yield f"{node} <{AKG}deploymentID> {literal(deployment)} ."
        yield f"{node} <{AKG}predator> <{predator}> ."
        yield f"{node} <{AKG}prey> <{prey}> ."
        yield f"{node} <{AKG}window> {literal(window)} ."
        yield f"{node} <{AKG}predatorDetections> {literal(counts[0])} ."
        yield f"{node} <{AKG}preyDetections> {literal(counts[1])} ."
        yield f"{node} <{AKG}firstDetection> {literal(counts[2])} ."

    def _hourly_lines(self, taxon: str, hour: int, tally: list[int]) -> Iterator[str]:
        digest = hashlib.sha1(taxon.encode()).hexdigest()[:12]
        independent = sum(tally)  # at interval i: the detections whose gap exceeds more than i intervals
        for i, interval in enumerate(STANDARD_INTERVALS):
            independent -= tally[i]
            if independent:
                node = f"<{self.package}/activity/{digest}/{hour}/{interval}>"
                yield f"{node} {RDF_TYPE} <{AKG}HourlyDetectionCount> ."
                yield f"{node} <{DWCIRI}toTaxon> <{taxon}> ."
                yield f"{node} <{AKG}hourOfDay> {literal(hour)} ."
                yield f"{node} <{AKG}interval> {literal(interval)} ."
                yield f"{node} <{AKG}detections> {literal(independent)} ."

    def _series_lines(
        self,
        deployment: str,
        taxon: str,
        gaps: list[float],
        span: tuple[datetime, datetime],
        starts: list[float] | None = None,
        time_lapse: int = 0,
    ) -> Iterator[str]:
        """A detection series and its counts. Each count also carries what a detection-rate row shows (the
        deployment's ID and camera-days, the taxon's scientific name): the query then reads one node per
        row, a few neighbouring keys on disk, instead of joining across the deployment and the taxon.

        The series also lists its detections, in time order: their starts (``akg:detectionStarts``, POSIX
        seconds) and the minutes since the previous one (``akg:detectionGaps``, ``inf`` for the first, else the
        text of its ``akg:minutesSincePrevious``), as text: the activity page reads the leopard's and its prey's
        independent detections at any interval from a few hundred series instead of every observation's
        properties (``amurkg.survey.series``). ``akg:timeLapseDetections`` says how many time-lapse detections of
        the taxon at the deployment the series leaves out (listed by ``_time_lapse_series_lines``), 0 included:
        its presence tells the activity page that the lists were computed with the time-lapse marks of this
        amurkg (``amurkg.survey.series``)."""
        digest = hashlib.sha1(taxon.encode()).hexdigest()[:12]
        node = f"<{self.package}/series/{key(deployment)}/{digest}>"
        dep = f"<{self.record_iri('deployments', deployment)}>"
        yield f"{node} {RDF_TYPE} <{AKG}DetectionSeries> ."
        yield f"{node} <{AKG}deployment> {dep} ."
        yield f"{node} <{DWCIRI}toTaxon> <{taxon}> ."
        # every detection of the series, and its first and last start as recorded (detections-near reads these)
        yield f"{node} <{AKG}detectionCount> {literal(len(gaps))} ."
        yield f"{node} <{AKG}firstDetection> {literal(span[0])} ."
        yield f"{node} <{AKG}lastDetection> {literal(span[1])} ."
        if starts is not None:
            yield from _lists(node, starts, gaps)
            yield f"{node} <{AKG}timeLapseDetections> {literal(time_lapse)} ."
        shown = [
            f"<{AKG}deployment> {dep}",
            f"<{DWCIRI}toTaxon> <{taxon}>",
            f"<{AKG}deploymentID> {literal(deployment)}",
            f"<{DWC}scientificName> {literal(self.taxa.accepted.get(taxon) or self.observed.get(taxon, ''))}",
        ]
        if deployment in self.effort:
            shown.append(f"<{AKG}cameraDays> {literal(self.effort[deployment])}")
        for interval in STANDARD_INTERVALS:
            count = sum(1 for gap in gaps if gap > interval)
            at = f"<{self.package}/series/{key(deployment)}/{digest}/{interval}>"
            yield f"{node} <{AKG}independentDetections> {at} ."
            yield f"{at} <{AKG}interval> {literal(interval)} ."
            yield f"{at} <{AKG}detections> {literal(count)} ."
            for pair in shown:
                yield f"{at} {pair} ."

    def _time_lapse_series_lines(
        self, deployment: str, taxon: str, gaps: list[float], starts: list[float]
    ) -> Iterator[str]:
        """The time-lapse detections of a taxon at a deployment, which its detection series leaves out (as every
        count computed at import does): their starts and the minutes since the previous detection of the taxon
        there, time-lapse or not (their ``akg:minutesSincePrevious``), in the form of the series' lists. The
        activity page reads them where time-lapse images are counted too (``timeLapse include``); a node apart,
        not a detection series, so that the detection rates, which read every series, do not change."""
        digest = hashlib.sha1(taxon.encode()).hexdigest()[:12]
        node = f"<{self.package}/time-lapse/{key(deployment)}/{digest}>"
        yield f"{node} {RDF_TYPE} <{AKG}TimeLapseSeries> ."
        yield f"{node} <{AKG}deployment> <{self.record_iri('deployments', deployment)}> ."
        yield f"{node} <{DWCIRI}toTaxon> <{taxon}> ."
        yield from _lists(node, starts, gaps)

    def package_lines(self, descriptor: dict[str, Any]) -> Iterator[str]:
        """The package's own metadata, each triple once (a descriptor may list a keyword, a source or a capture
        method twice, and the importer checks that the store holds one triple for every line written); then what
        is computed from the rows (one line each by construction, streamed: at 1M observations, a million), the
        data files, and the taxa its observations named that the curated graph lacks."""
        yield from dict.fromkeys(self._descriptor_lines(descriptor))
        yield from self.time_lapse_lines()
        yield from self.gap_lines()
        yield from self.files_lines()
        yield from self.taxon_lines(descriptor.get("taxonomic") or [])

    def _descriptor_lines(self, descriptor: dict[str, Any]) -> Iterator[str]:
        pkg = f"<{self.package}>"
        yield f"{pkg} {RDF_TYPE} <{AKG}CameraTrapPackage> ."
        yield from _text_fields(pkg, descriptor, _PACKAGE)
        if isinstance(created := descriptor.get("created"), str):
            yield f"{pkg} <{DCT}created> {_when(created)} ."
        precision = descriptor.get("coordinatePrecision")
        if isinstance(precision, int | float) and not isinstance(precision, bool) and math.isfinite(precision):
            yield f"{pkg} <{DWC}coordinatePrecision> {literal(float(precision))} ."
        for source in descriptor.get("sources") or []:
            if isinstance(source, dict) and isinstance(source.get("title"), str):
                yield f"{pkg} <{DCT}source> {literal(source['title'])} ."
        if isinstance(descriptor.get("profile"), str):
            yield f"{pkg} <{DCT}conformsTo> <{_safe_iri(descriptor['profile'])}> ."
        for keyword in descriptor.get("keywords") or []:
            if isinstance(keyword, str):
                yield f"{pkg} <{SCHEMA}keywords> {literal(keyword)} ."
        project = descriptor.get("project") or {}
        if isinstance(project, dict):
            node = f"<{self.package}/project>"
            yield f"{pkg} <{AKG}project> {node} ."
            yield f"{node} {RDF_TYPE} <{AKG}SurveyProject> ."
            yield from _text_fields(node, project, _PROJECT)
            for name in ("captureMethod", "observationLevel"):
                for value in project.get(name) or []:
                    if isinstance(value, str):
                        yield f"{node} <{AKG}{name}> {literal(value)} ."
            if isinstance(project.get("individualAnimals"), bool):
                yield f"{node} <{AKG}individualAnimals> {literal(project['individualAnimals'])} ."
        for index, person in enumerate(descriptor.get("contributors") or [], 1):
            if not isinstance(person, dict):
                continue
            node = f"<{self.package}/contributor/{index}>"
            yield f"{pkg} <{DCT}contributor> {node} ."
            yield f"{node} {RDF_TYPE} <{PROV}Agent> ."
            yield from _text_fields(node, person, _CONTRIBUTOR)
        for index, licence in enumerate(descriptor.get("licenses") or [], 1):
            if not isinstance(licence, dict):
                continue
            node = f"<{self.package}/license/{index}>"
            yield f"{pkg} <{DCT}license> {node} ."
            yield f"{node} {RDF_TYPE} <{DCT}LicenseDocument> ."
            yield from _text_fields(node, licence, _LICENCE)
        temporal = descriptor.get("temporal") or {}
        if isinstance(temporal, dict):
            for name in ("start", "end"):
                if isinstance(temporal.get(name), str):
                    yield f"{pkg} <{AKG}temporal{name.title()}> {_when(temporal[name])} ."

    def taxon_lines(self, taxonomic: Iterable[Any]) -> Iterator[str]:
        listed = {
            TaxonIndex.normal(t["scientificName"]): t
            for t in taxonomic
            if isinstance(t, dict) and isinstance(t.get("scientificName"), str)
        }
        for name in sorted(self.stats.unknown):
            node = f"<{unknown_taxon(self.package, name)}>"
            yield f"{node} {RDF_TYPE} <{DWC}Taxon> ."
            yield f"{node} <{DWC}scientificName> {literal(' '.join(name.split()))} ."
            entry = listed.get(TaxonIndex.normal(name), {})
            if isinstance(entry.get("taxonRank"), str):
                yield f"{node} <{DWC}taxonRank> {literal(entry['taxonRank'])} ."
            if isinstance(entry.get("taxonID"), str):
                yield f"{node} <{DWC}taxonID> {literal(entry['taxonID'])} ."
            names = entry.get("vernacularNames")
            if isinstance(names, dict):
                for language, text in sorted(names.items()):
                    if isinstance(text, str) and _LANG.fullmatch(str(language)):
                        tag = _ISO639.get(language, language)
                        yield f'{node} <{DWC}vernacularName> "{text.translate(_ESCAPES)}"@{tag} .'
                        if tag == "en":
                            yield f'{node} <{RDFS}label> "{text.translate(_ESCAPES)}"@en .'


_PACKAGE = (
    ("id", f"{DCT}identifier"),
    ("title", f"{DCT}title"),
    ("description", f"{DCT}description"),
    ("version", f"{DCT}hasVersion"),
    ("bibliographicCitation", f"{DCT}bibliographicCitation"),
    ("name", f"{AKG}packageName"),
)
_PROJECT = (
    ("title", f"{DCT}title"),
    ("id", f"{DCT}identifier"),
    ("acronym", f"{AKG}acronym"),
    ("description", f"{DCT}description"),
    ("samplingDesign", f"{AKG}samplingDesign"),
    ("path", f"{SCHEMA}url"),
)
_CONTRIBUTOR = (
    ("title", f"{RDFS}label"),
    ("role", f"{AKG}contributorRole"),
    ("organization", f"{SCHEMA}affiliation"),
    ("path", f"{SCHEMA}url"),
)
_LICENCE = (
    ("name", f"{DCT}identifier"),
    ("path", f"{SCHEMA}url"),
    ("title", f"{DCT}title"),
    ("scope", f"{AKG}licenseScope"),
)


def _text_fields(node: str, record: dict[str, Any], fields: Iterable[tuple[str, str]]) -> Iterator[str]:
    """The lines giving ``node`` the text values of ``record`` (a JSON object of the descriptor) that
    ``fields`` maps to predicates; values that are not strings are left out."""
    for name, predicate in fields:
        if isinstance(record.get(name), str):
            yield f"{node} <{predicate}> {literal(record[name])} ."


def taxon_ids(taxonomic: Any) -> dict[str, str]:
    """Normalised scientific name -> taxonID, from a package's taxonomic list."""
    found = {}
    for entry in taxonomic if isinstance(taxonomic, list) else []:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("scientificName"), str)
            and isinstance(entry.get("taxonID"), str)
        ):
            found[TaxonIndex.normal(entry["scientificName"])] = entry["taxonID"]
    return found


_LANG = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*")
#: Camtrap DP names vernacular-name languages by ISO 639-3 code; RDF language tags (BCP 47) use the
#: two-letter ISO 639-1 code where one exists.
_ISO639 = {
    "eng": "en",
    "nld": "nl",
    "fra": "fr",
    "deu": "de",
    "rus": "ru",
    "zho": "zh",
    "kor": "ko",
    "jpn": "ja",
    "spa": "es",
    "ita": "it",
    "por": "pt",
    "pol": "pl",
}


def _when(text: str) -> str:
    """A date or date-time literal of the right type, or a plain string when it is neither."""
    try:
        if len(text) == 10:
            datetime.strptime(text, "%Y-%m-%d")
            return literal(text, XSD + "date")
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return literal(iso(value) if value.tzinfo is not None else value.isoformat(), XSD + "dateTime")
    except ValueError:
        return literal(text)


def _safe_iri(text: str) -> str:
    return quote(text, safe=":/?#[]@!$&'()*+,;=%-._~")


def _nearest(times: list[float], t: float) -> float:
    """How far ``t`` is from the nearest of ``times`` (sorted, not empty)."""
    i = bisect.bisect_left(times, t)
    return min(abs(times[j] - t) for j in (i - 1, i) if 0 <= j < len(times))


@functools.cache
def _tz(offset: Any) -> Any:
    from datetime import timezone

    return timezone(offset)


_TAXON_NAMES = """
SELECT ?taxon ?name ?sci WHERE {
  ?taxon dwc:scientificName ?sci .
  { ?taxon dwc:scientificName ?name } UNION { ?taxon skos:altLabel ?name FILTER(LANG(?name) = "") }
}"""
_VERNACULAR = "SELECT ?taxon ?name WHERE { ?taxon dwc:scientificName ?sci ; dwc:vernacularName ?name }"
_PREYS_ON = "SELECT ?predator ?prey WHERE { ?predator obo:RO_0002439 ?prey }"
_PARENTS = "SELECT ?child ?parent WHERE { ?child akg:parentTaxon ?parent }"


def taxon_index(ox_store: Any, **dataset: Any) -> TaxonIndex:
    """Scientific names and synonyms (language-less ``skos:altLabel``) of the curated taxa."""
    from pyoxigraph import NamedNode

    from amurkg.namespaces import PREFIXES

    index = TaxonIndex()
    for solution in ox_store.query(_TAXON_NAMES, prefixes=PREFIXES, **dataset):
        index.names.setdefault(TaxonIndex.normal(solution["name"].value), solution["taxon"].value)
        index.accepted.setdefault(solution["taxon"].value, solution["sci"].value)
    for solution in ox_store.query(_VERNACULAR, prefixes=PREFIXES, **dataset):
        name, taxon = TaxonIndex.normal(solution["name"].value), solution["taxon"].value
        index.vernacular[name] = taxon if index.vernacular.get(name, taxon) == taxon else None
    # what co-detections precomputes from: who preys on whom, and the taxa below each
    for solution in ox_store.query(_PREYS_ON, prefixes=PREFIXES, **dataset):
        if isinstance(solution["predator"], NamedNode) and isinstance(solution["prey"], NamedNode):
            index.preys.setdefault(solution["predator"].value, []).append(solution["prey"].value)
    for solution in ox_store.query(_PARENTS, prefixes=PREFIXES, **dataset):
        index.children.setdefault(solution["parent"].value, set()).add(solution["child"].value)
    return index
