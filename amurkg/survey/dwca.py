"""Darwin Core Archives: write what a store holds (``amurkg export --format dwca``), read one (``amurkg import``).

Writing follows GBIF's camera-trap guidance as the R package camtrapdp (``write_dwc``) implements it: an
Occurrence core with one row per event-level animal observation (``occurrenceID`` = observationID,
``basisOfRecord`` MachineObservation, ``parentEventID`` = deploymentID, ``eventDate`` the event's start/end,
``samplingEffort`` the deployment's start/end, coordinates with ``geodeticDatum`` EPSG:4326), a ``meta.xml``
naming each column's term, and EML metadata. Where this writer differs from camtrapdp, and why, is listed in
``DIFFERENCES`` (the tests compare both, field by field, on the official example package).

Reading accepts any archive whose core is an Occurrence table. Rows that carry a deployment
(``parentEventID`` with a ``samplingEffort`` interval, as camera-trap archives have) become deployments and
event-level camera-trap observations again, so the survey queries answer from a re-imported archive as
from the package it was written from; other rows become plain ``dwc:Occurrence`` records.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, TextIO
from xml.etree import ElementTree

from amurkg.survey.camtrapdp import MAX_UNPACKED, PackageError, _loops, check_members, inside
from amurkg.survey.rdf import DWC, Mapper, TaxonIndex, iso, literal
from amurkg.survey.tables import (
    MAX_CELL,
    Problems,
    csv_problem,
    deployment_too_long,
    not_utf8,
    read_datetime,
    text_kind,
    text_problem,
    utf16_problem,
)

#: meta.xml and eml.xml are read whole; anything larger is not an archive's metadata
MAX_METADATA = 16_000_000

DWC_NS = "http://rs.tdwg.org/dwc/terms/"
DCT_NS = "http://purl.org/dc/terms/"
OCCURRENCE = DWC_NS + "Occurrence"
#: The Occurrence core columns written, in order, with their terms.
COLUMNS: list[tuple[str, str]] = [
    ("occurrenceID", DWC_NS),
    ("type", DCT_NS),
    ("license", DCT_NS),
    ("rightsHolder", DCT_NS),
    ("datasetID", DWC_NS),
    ("collectionCode", DWC_NS),
    ("datasetName", DWC_NS),
    ("basisOfRecord", DWC_NS),
    ("dataGeneralizations", DWC_NS),
    ("informationWithheld", DWC_NS),
    ("individualCount", DWC_NS),
    ("sex", DWC_NS),
    ("lifeStage", DWC_NS),
    ("behavior", DWC_NS),
    ("occurrenceStatus", DWC_NS),
    ("occurrenceRemarks", DWC_NS),
    ("organismID", DWC_NS),
    ("eventID", DWC_NS),
    ("parentEventID", DWC_NS),
    ("eventDate", DWC_NS),
    ("habitat", DWC_NS),
    ("samplingProtocol", DWC_NS),
    ("samplingEffort", DWC_NS),
    ("eventRemarks", DWC_NS),
    ("locationID", DWC_NS),
    ("locality", DWC_NS),
    ("minimumDepthInMeters", DWC_NS),
    ("maximumDepthInMeters", DWC_NS),
    ("minimumDistanceAboveSurfaceInMeters", DWC_NS),
    ("maximumDistanceAboveSurfaceInMeters", DWC_NS),
    ("decimalLatitude", DWC_NS),
    ("decimalLongitude", DWC_NS),
    ("geodeticDatum", DWC_NS),
    ("coordinateUncertaintyInMeters", DWC_NS),
    ("coordinatePrecision", DWC_NS),
    ("identifiedBy", DWC_NS),
    ("dateIdentified", DWC_NS),
    ("taxonID", DWC_NS),
    ("scientificName", DWC_NS),
    ("kingdom", DWC_NS),
]

#: Where the occurrences written here differ from camtrapdp's ``write_dwc`` on the same package, and why.
DIFFERENCES = {
    "eventDate": "the same instants, written with the deployment's UTC offset rather than converted to UTC, so "
    "that a re-imported archive keeps the local time (activity patterns) the package had",
    "samplingEffort": "likewise: the deployment's own UTC offset, the same instants",
    "dateIdentified": "the classification time as the package gives it (its own offset), the same instant",
    "eventRemarks": "the deployment's comments only; camtrapdp also composes English text from bait use, "
    "feature type and observation tags, which the graph keeps as data of their own",
    "identificationVerificationStatus": "not written: a rule of camtrapdp's (human and probability 1), not a "
    "fact of the package",
    "identificationRemarks": "not written: English text composed by camtrapdp from classification method and "
    "probability, both kept in the graph as data",
    "informationWithheld": "written (camtrapdp does not): says which coordinates were generalised because the "
    "camera recorded a threatened taxon, and that its locality and free text (habitat, remarks) are withheld "
    "(amurkg.survey.sensitive)",
    "multimedia": "the Audubon Core extension links each occurrence to the media of its event as camtrapdp does; "
    "a camera that recorded a threatened taxon has its media listed without accessURI (a photograph shows "
    "the place) and a media file that is not public never has one; exifData (which may hold GPS tags), file "
    "names and comments are never written",
    "resourceCreationTechnique": "the media's captureMethod as Camtrap DP writes it (activityDetection), where "
    "camtrapdp writes words (activity detection)",
    "CreateDate": "the media's timestamp with its own UTC offset, the same instant as camtrapdp's UTC",
    "accessURI": "written for a URL only: a path inside the package (serviceExpectation local, as camtrapdp says) "
    "names a file that the archive does not carry, so it is left empty where camtrapdp writes the path",
    "rights": "the package's media licence (its name, else its URL); camtrapdp writes its name only",
}

AC_NS = "http://rs.tdwg.org/ac/terms/"
MULTIMEDIA = AC_NS + "Multimedia"
#: The Audubon Core (multimedia extension) columns written after ``coreid``, with their terms.
MEDIA_COLUMNS: list[tuple[str, str]] = [
    ("identifier", DCT_NS),
    ("type", "http://purl.org/dc/elements/1.1/"),
    ("format", DCT_NS),
    ("CreateDate", "http://ns.adobe.com/xap/1.0/"),
    ("captureDevice", AC_NS),
    ("resourceCreationTechnique", AC_NS),
    ("accessURI", AC_NS),
    ("serviceExpectation", AC_NS),
    ("rights", DCT_NS),
]

_ISO_DATE = re.compile(r"\d{4}(-\d\d(-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?)?)?(/\S+)?", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)  # ASCII digits only: not fullwidth ones
_BASIS = {
    "PreservedSpecimen",
    "FossilSpecimen",
    "LivingSpecimen",
    "MaterialSample",
    "Event",
    "HumanObservation",
    "MachineObservation",
    "Taxon",
    "Occurrence",
    "MaterialCitation",
}

# ------------------------------------------------------------------ writing

_OCCURRENCES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?obs ?package ?deployment ?occurrenceID ?count ?sex ?lifeStage ?behavior ?remarks ?organismID ?eventID
       ?deploymentID ?eventStart ?eventEnd ?habitat ?deploymentStart ?deploymentEnd ?eventRemarks ?locationID ?locality
       ?depth ?height ?latitude ?longitude ?uncertainty ?identifiedBy ?dateIdentified ?taxonID ?scientificName WHERE {
  ?obs a akg:CameraTrapObservation ; akg:observationLevel "event" ; akg:observationType "animal" ;
    dwc:occurrenceID ?occurrenceID ; akg:deployment ?deployment ; akg:eventStart ?eventStart ;
    akg:eventEnd ?eventEnd ; prov:wasDerivedFrom/akg:rowNumber ?row .
  ?deployment akg:deploymentID ?deploymentID ; akg:deploymentStart ?deploymentStart ;
    akg:deploymentEnd ?deploymentEnd ; dwc:decimalLatitude ?latitude ; dwc:decimalLongitude ?longitude ;
    prov:wasDerivedFrom/dcterms:isPartOf/dcterms:isPartOf ?package .
  OPTIONAL { ?obs dwc:individualCount ?count } OPTIONAL { ?obs dwc:sex ?sex }
  OPTIONAL { ?obs dwc:lifeStage ?lifeStage } OPTIONAL { ?obs dwc:behavior ?behavior }
  OPTIONAL { ?obs dwc:occurrenceRemarks ?remarks } OPTIONAL { ?obs dwc:organismID ?organismID }
  OPTIONAL { ?obs dwc:eventID ?eventID } OPTIONAL { ?obs dwc:identifiedBy ?identifiedBy }
  OPTIONAL { ?obs dwc:dateIdentified ?dateIdentified } OPTIONAL { ?obs dwc:taxonID ?taxonID }
  OPTIONAL { ?obs dwc:scientificName ?scientificName }
  OPTIONAL { ?deployment dwc:habitat ?habitat } OPTIONAL { ?deployment dwc:eventRemarks ?eventRemarks }
  OPTIONAL { ?deployment dwc:locationID ?locationID } OPTIONAL { ?deployment dwc:locality ?locality }
  OPTIONAL { ?deployment akg:cameraDepth ?depth } OPTIONAL { ?deployment akg:cameraHeight ?height }
  OPTIONAL { ?deployment dwc:coordinateUncertaintyInMeters ?uncertainty }
}
ORDER BY ?package ?deploymentID ?eventStart ?row"""

#: The place names of the deployments (those of protected ones are withheld in their neighbours' locationIDs too).
_LOCALITIES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?deployment ?locality WHERE { ?deployment a akg:Deployment ; dwc:locality ?locality }"""

_PACKAGES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?package ?id ?title ?description ?created ?license ?rightsHolder ?collectionCode ?precision ?citation WHERE {
  ?package a akg:CameraTrapPackage .
  OPTIONAL { ?package dcterms:identifier ?id } OPTIONAL { ?package dcterms:title ?title }
  OPTIONAL { ?package dcterms:description ?description } OPTIONAL { ?package dcterms:created ?created }
  OPTIONAL { ?package dcterms:bibliographicCitation ?citation }
  OPTIONAL { SELECT ?package (MIN(?name) AS ?license) WHERE {
    ?package dcterms:license ?l . ?l akg:licenseScope "data" ; dcterms:identifier ?name } GROUP BY ?package }
  OPTIONAL { SELECT ?package (MIN(?who) AS ?rightsHolder) WHERE {
    ?package dcterms:contributor ?c . ?c akg:contributorRole "rightsHolder" ; rdfs:label ?who } GROUP BY ?package }
  OPTIONAL { SELECT ?package (MIN(?source) AS ?collectionCode) WHERE {
    ?package dcterms:source ?source } GROUP BY ?package }
  OPTIONAL { ?package dwc:coordinatePrecision ?precision }
}"""


#: The events of the occurrences, and every media file with its deployment: joined in Python
#: (``media_rows``), by time within each deployment. (One SPARQL join of each observation with each media file
#: of its camera, filtered by time, took 70-128 s at 10,000 observations and did not end at 90,000.)
_EVENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?occurrenceID ?deployment ?start ?end ?obs WHERE {
  ?obs a akg:CameraTrapObservation ; akg:observationLevel "event" ; akg:observationType "animal" ;
    dwc:occurrenceID ?occurrenceID ; akg:deployment ?deployment ; akg:eventStart ?start ; akg:eventEnd ?end .
}"""
_MEDIA = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?deployment ?package ?mediaID ?format ?timestamp ?model ?method ?path ?public ?row WHERE {
  ?media a akg:Media ; akg:deployment ?deployment ; akg:timestamp ?timestamp ; akg:mediaID ?mediaID ;
    prov:wasDerivedFrom/akg:rowNumber ?row .
  ?deployment prov:wasDerivedFrom/dcterms:isPartOf/dcterms:isPartOf ?package .
  OPTIONAL { ?media dcterms:format ?format } OPTIONAL { ?media akg:captureMethod ?method }
  OPTIONAL { ?media akg:filePath ?path } OPTIONAL { ?media akg:filePublic ?public }
  OPTIONAL { ?deployment akg:cameraModel ?model }
}"""

_MEDIA_LICENCES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
SELECT ?package (MIN(COALESCE(?name, ?path)) AS ?licence) WHERE {
  ?package a akg:CameraTrapPackage ; dcterms:license ?l . ?l akg:licenseScope "media" .
  OPTIONAL { ?l dcterms:identifier ?name } OPTIONAL { ?l schema:url ?path }
} GROUP BY ?package"""


#: Each package's occurrence, deployment and event IDs (``_renaming``).
_IDENTIFIERS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?obs ?package ?occurrenceID ?deploymentID ?eventID WHERE {
  ?obs a akg:CameraTrapObservation ; akg:observationLevel "event" ; akg:observationType "animal" ;
    dwc:occurrenceID ?occurrenceID ; akg:deployment ?deployment .
  ?deployment akg:deploymentID ?deploymentID ; prov:wasDerivedFrom/dcterms:isPartOf/dcterms:isPartOf ?package .
  OPTIONAL { ?obs dwc:eventID ?eventID }
}"""

#: The packages' names (``name`` in the descriptor), which prefix their repeated IDs as in ``survey merge``.
_PACKAGE_NAMES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?package (MIN(?name) AS ?given) WHERE { ?package a akg:CameraTrapPackage ; akg:packageName ?name }
GROUP BY ?package"""

#: package IRI -> archive column -> identifier -> the identifier written
Renaming = dict[str, dict[str, dict[str, str]]]


def _renaming(kg: Any, packages: dict[str, dict[str, str]], keep: set[str] | None = None) -> tuple[Renaming, list[str]]:
    """How to keep each record one record in an archive of several packages: an observation, deployment or
    event ID used by more than one package (every hand-made package has an O1 and a D1) is prefixed with each
    package's name, as ``amurkg survey merge`` and camtrapdp's ``merge_camtrapdp`` do; IDs used once are kept.
    Without it, two packages' O1 were two rows with one occurrenceID, and their D1 one deployment with two
    sampling efforts: an archive GBIF refuses and amurkg could not import again. Only the observations written
    count (``keep``: their IRIs; None: all). Returns the renaming and one line per kind of ID renamed."""
    from amurkg.survey.naming import prefixed, sample, slug

    given = {_value(r[0]): _value(r[1]) for r in kg.query(_PACKAGE_NAMES).rows}
    names: dict[str, str] = {}
    for number, (iri, meta) in enumerate(sorted(packages.items()), 1):
        name = base = slug(given.get(iri) or meta.get("id") or meta.get("title") or f"package{number}")
        suffix = 2
        while name in names.values():  # two packages of one name: the second is name-2
            name, suffix = f"{base}-{suffix}", suffix + 1
        names[iri] = name
    columns = {"occurrenceID": "occurrenceID", "deploymentID": "parentEventID", "eventID": "eventID"}
    used: dict[str, dict[str, set[str]]] = {column: {} for column in columns.values()}
    answer = kg.stream(_IDENTIFIERS)
    variables = answer.variables
    for row in answer.rows:
        v = dict(zip(variables, map(_value, row), strict=True))
        if keep is not None and v["obs"] not in keep:
            continue
        for variable, column in columns.items():
            if v[variable]:
                used[column].setdefault(v["package"], set()).add(v[variable])
    renaming: Renaming = {}
    lines: list[str] = []
    for column, by_package in used.items():
        owners: dict[str, int] = {}
        for ids in by_package.values():
            for value in ids:
                owners[value] = owners.get(value, 0) + 1
        shared = {value for value, count in owners.items() if count > 1}
        if not shared:
            continue
        taken = set(owners)
        for package, ids in sorted(by_package.items()):
            renaming.setdefault(package, {})[column] = prefixed(names.get(package, "package"), ids & shared, taken)
        prefixes = ", ".join(f"{names[p]}_…" for p in sorted(by_package) if p in names)
        lines.append(
            f"{column}: {len(shared)} used by more than one package ({sample(shared)}); prefixed with each "
            f"package's name ({prefixes}) so that each stays one record"
        )
    return renaming, lines


def media_rows(
    kg: Any, grid: Any, keep: set[str] | None = None, renaming: Renaming | None = None
) -> Iterator[dict[str, str]]:
    """The Audubon Core rows: each media file of an occurrence's event (same deployment, timestamp within the
    event), linked by ``coreid``, by occurrence, then time and row. For a camera that recorded a threatened taxon
    (unless ``grid`` is ``None``) no ``accessURI``: the picture shows the place. ``keep`` (observation IRIs) leaves
    out the media of every other observation (by IRI: by ID, another package's observation of the same ID kept
    its media); ``renaming`` (``_renaming``) gives the IDs written for those of several packages."""
    import bisect

    from amurkg.survey.sensitive import sensitive_deployments

    sensitive = sensitive_deployments(kg) if grid is not None else {}
    licences = {_value(r[0]): _value(r[1]) for r in kg.query(_MEDIA_LICENCES).rows}
    answer = kg.stream(_MEDIA)
    names = answer.variables
    # deployment -> its media files in time order (instant, row, values), and their instants alone for bisect
    by_deployment: dict[str, list[tuple[float, int, dict[str, str]]]] = {}
    for row in answer.rows:
        v = dict(zip(names, map(_value, row), strict=True))
        entry = (_seconds(v["timestamp"]), int(v["row"]), v)
        by_deployment.setdefault(v["deployment"], []).append(entry)
    instants: dict[str, list[float]] = {}
    for deployment, media in by_deployment.items():
        media.sort(key=lambda m: (m[0], m[1]))
        instants[deployment] = [m[0] for m in media]
    events = sorted(
        (_value(r[0]), _value(r[1]), _seconds(_value(r[2])), _seconds(_value(r[3])), _value(r[4]))
        for r in kg.stream(_EVENTS).rows
        if keep is None or _value(r[4]) in keep  # the media of an observation left out are left out
    )
    for occurrence, deployment, start, end, _ in events:
        times = instants.get(deployment, [])
        media = by_deployment.get(deployment, [])
        if renaming and media:  # the ID written for this package's occurrence
            occurrence = renaming.get(media[0][2]["package"], {}).get("occurrenceID", {}).get(occurrence, occurrence)
        for _, _, v in media[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]:
            public = v["public"] == "true"
            hidden = deployment in sensitive
            kind = v["format"].split("/", 1)[0]
            online = v["path"].lower().startswith(("https://", "http://"))
            yield {
                "coreid": occurrence,
                "identifier": v["mediaID"],
                "type": {"image": "StillImage", "video": "MovingImage", "audio": "Sound"}.get(kind, ""),
                "format": v["format"],
                "CreateDate": v["timestamp"],
                "captureDevice": v["model"],
                "resourceCreationTechnique": v["method"],
                "accessURI": v["path"] if public and not hidden and online else "",
                "serviceExpectation": "authenticate" if not public or hidden else "online" if online else "local",
                "rights": licences.get(v["package"], ""),
            }


def _seconds(text: str) -> float:
    """POSIX seconds of an xsd:dateTime as the store writes it (with its offset; UTC when it has none)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _value(term: Any) -> str:
    return "" if term is None else term.value


def _clean(text: str) -> str:
    """A value for a tab-separated file without quoting: tabs and line breaks become spaces."""
    return re.sub(r"[\t\r\n]+", " ", text)


def _number(text: str) -> str:
    """A decimal as people write it: 1.30 -> 1.3, 1.0 -> 1."""
    if not text:
        return ""
    value = float(text)
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass
class Coverage:
    """What the rows written cover, gathered as they are written, for the EML: the box of the coordinates
    as published (generalised ones where generalised), the time span and the taxa."""

    south: float = math.inf
    north: float = -math.inf
    west: float = math.inf
    east: float = -math.inf
    begin: str = ""
    end: str = ""
    taxa: set[str] = field(default_factory=set)
    generalised: set[str] = field(default_factory=set)  # deployment IRIs
    reasons: set[Any] = field(default_factory=set)
    rows: int = 0
    #: identifiers that more than one package uses, and how they were made unique (``_renaming``)
    renaming: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    renamed: list[str] = field(default_factory=list)

    def add(self, latitude: float, longitude: float, begin: str, end: str, taxon: str) -> None:
        self.rows += 1
        self.south, self.north = min(self.south, latitude), max(self.north, latitude)
        self.west, self.east = min(self.west, longitude), max(self.east, longitude)
        self.begin = min(self.begin or begin[:10], begin[:10])
        self.end = max(self.end, end[:10])
        if taxon:
            self.taxa.add(taxon)


def occurrence_rows(
    kg: Any, grid: Any = "default", coverage: Coverage | None = None, keep: set[str] | None = None
) -> tuple[list[dict[str, str]], Iterator[dict[str, str]]]:
    """The packages (for the metadata) and the Occurrence core rows of what ``kg`` holds.

    ``grid`` (an ``amurkg.survey.sensitive.Grid``, the default one unless given) generalises the coordinates
    of deployments that recorded a threatened taxon; ``None`` writes them exactly. ``coverage`` gathers what
    the rows cover as they are produced, and how IDs that several packages use were renamed (``_renaming``).
    ``keep`` (observation IRIs) leaves out every other observation."""
    from amurkg.survey.sensitive import (
        WITHHELD_DWC_COLUMNS,
        Grid,
        coordinate_texts,
        sensitive_deployments,
        withholder,
    )

    if grid == "default":
        grid = Grid()
    coverage = coverage if coverage is not None else Coverage()
    sensitive = sensitive_deployments(kg)
    # every protected camera's place name: a neighbour protected with it may name its post after it
    neighbours = sorted(
        {
            _value(r[1])
            for r in kg.query(_LOCALITIES).rows
            if r[0] is not None and r[0].value in sensitive and grid is not None and _value(r[1])
        }
    )
    packages = {
        _value(r[0]): dict(
            zip(
                [
                    "package",
                    "id",
                    "title",
                    "description",
                    "created",
                    "license",
                    "rightsHolder",
                    "collectionCode",
                    "precision",
                    "citation",
                ],
                map(_value, r),
                strict=True,
            )
        )
        for r in kg.query(_PACKAGES).rows
    }

    withholders: dict[tuple[str, str, str], withholder] = {}
    if len(packages) > 1:
        coverage.renaming, coverage.renamed = _renaming(kg, packages, keep)
    renaming = coverage.renaming

    def rows() -> Iterator[dict[str, str]]:
        answer = kg.stream(_OCCURRENCES)
        names = answer.variables
        for row in answer.rows:
            v = dict(zip(names, map(_value, row), strict=True))
            if keep is not None and v["obs"] not in keep:
                continue
            meta = packages.get(v["package"], {})
            start = datetime.fromisoformat(v["deploymentStart"].replace("Z", "+00:00"))
            offset = start.tzinfo

            def local(text: str, offset: Any = offset) -> str:
                return iso(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(offset))

            begin, end = local(v["eventStart"]), local(v["eventEnd"])
            precision = meta.get("precision", "")
            generalisation = f"coordinates rounded to {_number(precision)} degree" if precision else ""
            withheld = ""
            latitude, longitude = _number(v["latitude"]), _number(v["longitude"])
            uncertainty = v["uncertainty"]
            reasons = sensitive.get(v["deployment"])
            if reasons and grid is not None:
                lat, lon = grid.point(float(v["latitude"]), float(v["longitude"]))
                latitude, longitude = _number(repr(lat)), _number(repr(lon))
                uncertainty = str(grid.uncertainty(lat, float(uncertainty) if uncertainty else None))
                precision = grid.text()
                generalisation = grid.generalization(reasons)
                withheld = grid.withheld()
                coverage.generalised.add(v["deployment"])
                coverage.reasons.update(reasons)
            coverage.add(float(latitude), float(longitude), begin, end, v["scientificName"])
            row = {
                "occurrenceID": v["occurrenceID"],
                "type": "Image",
                "license": meta.get("license", ""),
                "rightsHolder": meta.get("rightsHolder", ""),
                "datasetID": meta.get("id", ""),
                "collectionCode": meta.get("collectionCode", ""),
                "datasetName": meta.get("title", ""),
                "basisOfRecord": "MachineObservation",
                "dataGeneralizations": generalisation,
                "informationWithheld": withheld,
                "individualCount": v["count"],
                "sex": v["sex"],
                "lifeStage": v["lifeStage"],
                "behavior": v["behavior"],
                "occurrenceStatus": "present",
                "occurrenceRemarks": v["remarks"],
                "organismID": v["organismID"],
                "eventID": v["eventID"],
                "parentEventID": v["deploymentID"],
                "eventDate": begin if begin == end else f"{begin}/{end}",
                "habitat": v["habitat"],
                "samplingProtocol": "camera trap",
                "samplingEffort": f"{iso(start)}/{local(v['deploymentEnd'])}",
                "eventRemarks": v["eventRemarks"],
                "locationID": v["locationID"],
                "locality": v["locality"],
                "minimumDepthInMeters": _number(v["depth"]),
                "maximumDepthInMeters": _number(v["depth"]),
                "minimumDistanceAboveSurfaceInMeters": _number(v["height"]),
                "maximumDistanceAboveSurfaceInMeters": _number(v["height"]),
                "decimalLatitude": latitude,
                "decimalLongitude": longitude,
                "geodeticDatum": "EPSG:4326",
                "coordinateUncertaintyInMeters": uncertainty,
                "coordinatePrecision": _number(precision),
                "identifiedBy": v["identifiedBy"],
                "dateIdentified": v["dateIdentified"],
                "taxonID": v["taxonID"],
                "scientificName": v["scientificName"],
                "kingdom": "Animalia",
            }
            for column, mapping in renaming.get(v["package"], {}).items():
                row[column] = mapping.get(row[column], row[column])
            if withheld:  # place names and free text withheld with the coordinates (Chapman 2020)
                row.update(dict.fromkeys(WITHHELD_DWC_COLUMNS, ""))
                camera = (v["locality"], v["latitude"], v["longitude"])
                if camera not in withholders:  # made once per camera, not once per row
                    places = [v["locality"], *coordinate_texts([v["latitude"], v["longitude"]]), *neighbours]
                    withholders[camera] = withholder(places)
                row["locationID"] = withholders[camera](row["locationID"])  # a post named after its place
            yield row

    return list(packages.values()), rows()


def meta_xml(core: str = "occurrence.txt", media: str | None = "multimedia.txt") -> str:
    """``meta.xml``: the Occurrence core and, unless ``media`` is ``None``, the Audubon Core extension."""
    table = (
        'encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1"'
    )
    fields = "\n".join(f'    <field index="{i}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(COLUMNS))
    extension = ""
    if media is not None:
        media_fields = "\n".join(
            f'    <field index="{i}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(MEDIA_COLUMNS, 1)
        )
        extension = (
            f'  <extension {table} rowType="{MULTIMEDIA}">\n'
            f"    <files><location>{media}</location></files>\n"
            '    <coreid index="0"/>\n'
            f"{media_fields}\n  </extension>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">\n'
        f'  <core {table} rowType="{OCCURRENCE}">\n'
        f"    <files><location>{core}</location></files>\n"
        '    <id index="0"/>\n'
        f"{fields}\n  </core>\n{extension}</archive>\n"
    )


def write_archive(kg: Any, grid: Any = "default", flt: Any = None) -> bytes:
    """A Darwin Core Archive (zip bytes) of the camera-trap observations ``kg`` holds; the coordinates of
    cameras that recorded a threatened taxon generalised to ``grid`` (``amurkg.survey.sensitive.Grid``; the
    default one unless given; ``None`` keeps them exact). With ``flt`` (an ``amurkg.survey.filters.SurveyFilter``)
    only the observations the survey analyses would read with it; without, every event-level animal
    observation, time-lapse ones too (an animal a time-lapse image shows is an occurrence all the same)."""
    return write_archive_report(kg, grid, flt)[0]


def write_archive_report(kg: Any, grid: Any = "default", flt: Any = None) -> tuple[bytes, Coverage]:
    """``write_archive``, with what the archive covers (rows written, generalised deployments and why) for
    the message that says what was generalised."""
    from amurkg.survey.sensitive import exact_view

    with exact_view(kg):  # the exact values, generalised here to the grid asked for
        keep = None
        if flt is not None:
            from amurkg.survey.filters import detections

            keep = {d.iri for d in detections(kg, flt)}
        return _write_archive(kg, grid, keep)


def summary(coverage: Coverage, grid: Any) -> str:
    """One line on what an archive holds and which camera locations it generalised."""
    rows = f"{coverage.rows} occurrence{'s' if coverage.rows != 1 else ''}"
    if grid is None or not coverage.generalised:
        return rows
    cameras = len(coverage.generalised)
    why = "; ".join(sorted(map(str, coverage.reasons)))
    plural = cameras != 1
    return (
        f"{rows}; {cameras} camera{'s' if plural else ''} generalised to the centre of {'their' if plural else 'its'} "
        f"{grid.text()} degree grid cell for {why} (dataGeneralizations); the store keeps the exact location"
        f"{'s' if plural else ''}"
    )


def _write_archive(kg: Any, grid: Any, keep: set[str] | None = None) -> tuple[bytes, Coverage]:
    from amurkg.survey.eml import eml_xml, package_people
    from amurkg.survey.sensitive import Grid

    if grid == "default":
        grid = Grid()
    coverage = Coverage()
    packages, rows = occurrence_rows(kg, grid, coverage, keep)
    if not packages:
        from amurkg.errors import AmurkgError

        raise AmurkgError(
            "there is no imported survey to export as a Darwin Core Archive: import one first "
            "(amurkg import PACKAGE --store DIR) and export with {opt:store}"
        )
    text = io.StringIO()
    names = [name for name, _ in COLUMNS]
    text.write("\t".join(names) + "\n")
    for row in rows:
        text.write("\t".join(_clean(row[name]) for name in names) + "\n")
    media = io.StringIO()
    media_names = ["coreid"] + [name for name, _ in MEDIA_COLUMNS]
    media.write("\t".join(media_names) + "\n")
    media_count = 0
    for row in media_rows(kg, grid, keep, coverage.renaming):
        media.write("\t".join(_clean(row[name]) for name in media_names) + "\n")
        media_count += 1
    people, projects = package_people(kg)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (
            ("occurrence.txt", text.getvalue()),
            ("multimedia.txt", media.getvalue()),
            ("meta.xml", meta_xml()),
            ("eml.xml", eml_xml(packages, people, projects, coverage, grid, media_count)),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # the same bytes on every run
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue(), coverage


# ------------------------------------------------------------------ reading


def is_archive(path: Path) -> bool:
    """Whether ``path`` is a Darwin Core Archive (a folder or zip with ``meta.xml``) rather than a Camtrap DP
    package (with ``datapackage.json``)."""
    path = Path(path)
    if path.is_dir():
        return (path / "meta.xml").is_file() and not (path / "datapackage.json").is_file()
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = {PurePosixPath(n).name for n in zf.namelist() if n.count("/") <= 1}
        except zipfile.BadZipFile:
            return False
        return "meta.xml" in names and "datapackage.json" not in names
    return path.name == "meta.xml"


@dataclass
class Core:
    """The core table of an archive as ``meta.xml`` describes it."""

    open_text: Callable[[], TextIO]  # the data file, decoded as it is read: opened once per pass
    display: str
    delimiter: str
    quote: str
    skip: int
    id_index: int | None
    fields: dict[str, tuple[int | None, str]]  # term local name -> (column index, default)
    title: str


_ESCAPED = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}


def _unescape(text: str) -> str:
    return re.sub(r"\\[tnr\\]", lambda m: _ESCAPED[m.group(0)], text)


def _members(path: Path) -> tuple[Callable[[str], IO[bytes] | None], str]:
    """Open archive members by name (from a zip or a folder), and how errors name the archive."""
    if path.is_dir():
        root = path

        def open_dir(name: str) -> IO[bytes] | None:
            target = root / PurePosixPath(name)
            if target.is_symlink() and _loops(target):
                raise PackageError([f"{root}/{name}: a link in a loop of links: it leads to no file"])
            if (target.exists() or target.is_symlink()) and not inside(root, target):
                raise PackageError(
                    [f"{root}/{name}: a link to a file outside the archive: refused; copy the file into the archive"]
                )
            return target.open("rb") if target.is_file() else None

        return open_dir, f"{path}/"
    if path.name == "meta.xml":
        return _members(path.parent)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise PackageError([f"{path}: not a readable zip: {exc}"]) from None
    try:
        check_members(path, zf.infolist())
        if sum(m.file_size for m in zf.infolist()) > MAX_UNPACKED:
            raise PackageError([f"{path}: the zip would unpack to more than {MAX_UNPACKED:,} bytes: refused"])
    except PackageError:
        zf.close()
        raise
    names = {m.filename: m for m in zf.infolist()}
    prefix = ""
    if "meta.xml" not in names:
        inner = [n for n in names if n.count("/") == 1 and n.endswith("/meta.xml")]
        prefix = inner[0][: -len("meta.xml")] if len(inner) == 1 else ""

    def open_zip(name: str) -> IO[bytes] | None:
        member = names.get(prefix + name)
        if member is None:
            return None
        if member.file_size > 200 * max(member.compress_size, 1) + 10_000_000:
            raise PackageError([f"{path}!{name}: unpacks to {member.file_size:,} bytes: refused as a zip bomb"])
        return io.BufferedReader(_ZipRead(zf.open(member), f"{path}!{name}"))  # checked against its CRC as read

    return open_zip, f"{path}!"


class _ZipRead(io.RawIOBase):
    """A zip member read as it is unpacked, whose damaged data (a bad CRC, a broken deflate, bzip2 or LZMA stream, a
    cut file) is one problem naming the member, not the decompressor's exception."""

    def __init__(self, stream: IO[bytes], where: str) -> None:
        self.stream, self.where = stream, where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import lzma
        import zlib

        try:
            data = self.stream.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:  # the disk, not the zip
                raise
            said = " ".join(str(exc).split())[:100]
            raise PackageError([f"{self.where}: the zip's data is damaged ({said}): zip the archive again"]) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


def _read_small(open_member: Callable[[str], IO[bytes] | None], name: str) -> bytes | None:
    """The whole of a small member (meta.xml, eml.xml): at most MAX_METADATA bytes are read."""
    stream = open_member(name)
    if stream is None:
        return None
    with stream:
        data = stream.read(MAX_METADATA + 1)
    if len(data) > MAX_METADATA:
        raise PackageError(
            [
                f"{name}: larger than {MAX_METADATA:,} bytes: not the metadata of an archive; "
                "an archive's meta.xml and eml.xml are small"
            ]
        )
    return data


def _check_utf8(stream: IO[bytes], display: str, chunk_size: int = 1 << 20) -> None:
    """Read a data file through once, chunk by chunk: the first byte that is not UTF-8 is an error at its
    line and (byte) column. Nothing is kept, so a file of any size costs one chunk of memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes of the file before this chunk
    line, line_start = 1, 0  # the line at ``offset``, and where it starts
    with stream:
        while True:
            chunk = stream.read(chunk_size)
            pending = decoder.getstate()[0]  # the start of a character cut by the last chunk: never a newline
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data, data_start = pending + chunk, offset - len(pending)
                newline = data.rfind(b"\n", 0, exc.start)
                at_line = line + data.count(b"\n", 0, exc.start)
                start = data_start + newline + 1 if newline >= 0 else line_start
                column = data_start + exc.start - start + 1
                hint = not_utf8(data[exc.start], data[max(0, exc.start - 2000) : exc.start + 2000])
                raise PackageError([f"{display}:{at_line}:{column}: {hint}"]) from None
            if not chunk:
                return
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                line += chunk.count(b"\n")
                line_start = offset + newline + 1
            offset += len(chunk)


def read_core(path: Path) -> Core:
    """Read and check ``meta.xml`` and the core data file of an archive."""
    open_member, base = _members(Path(path))
    raw = _read_small(open_member, "meta.xml")
    if raw is None:
        raise PackageError([f"{base}meta.xml: missing: a Darwin Core Archive describes its files in meta.xml"])
    root = _xml(f"{base}meta.xml", raw)
    ns = "{http://rs.tdwg.org/dwc/text/}"
    core = root.find(f"{ns}core")
    if core is None:
        core = root.find("core")
        ns = ""
    if core is None:
        raise PackageError([f"{base}meta.xml: no <core> element"])
    row_type = core.get("rowType", "")
    if row_type != OCCURRENCE:
        raise PackageError([f"{base}meta.xml: the core is {row_type!r}: amurkg reads Occurrence cores ({OCCURRENCE})"])
    location = core.find(f"{ns}files/{ns}location")
    if location is None or not (location.text or "").strip():
        raise PackageError([f"{base}meta.xml: the core names no data file (<files><location>)"])
    name = (location.text or "").strip()
    if (why := text_problem("id", name)) is not None:  # it names the file in every message: printable only
        raise PackageError([f"{base}meta.xml: the core's data file name {why}"])
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", name):
        raise PackageError([f"{base}meta.xml: the data file {name!r} is not inside the archive"])
    encoding = core.get("encoding", "UTF-8")
    if encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise PackageError([f"{base}meta.xml: encoding {encoding!r}: amurkg reads UTF-8 archives; re-save as UTF-8"])
    first = open_member(name)
    if first is None:
        raise PackageError([f"{base}{name}: named in meta.xml but not in the archive"])
    with open_member(name) as head:  # type: ignore[union-attr]  # it was there a moment ago
        if (utf16 := utf16_problem(head.read(4096), f"{base}{name}")) is not None:
            first.close()
            raise PackageError([f"{utf16[0]}: {utf16[1]}"])
    _check_utf8(first, f"{base}{name}")

    def open_text() -> TextIO:
        stream = open_member(name)
        assert stream is not None  # it was there a moment ago
        return io.TextIOWrapper(stream, encoding="utf-8", newline="")

    fields: dict[str, tuple[int | None, str]] = {}
    terms: dict[str, str] = {}  # local name -> the term as meta.xml gives it
    for f in core.findall(f"{ns}field"):
        term = f.get("term", "")
        if (why := text_problem("id", term)) is not None:  # its name is in messages about its column
            raise PackageError([f"{base}meta.xml: a field's term {why}"])
        local = term.rsplit("/", 1)[-1]
        index = f.get("index")
        if index is not None and not re.fullmatch("[0-9]{1,6}", index):  # str.isdigit() takes '²', int() does not
            raise PackageError([f"{base}meta.xml: field {term!r} has index {index!r}: not a column number"])
        if local in fields:  # read by its name: two columns of one term, and only one would be read
            raise PackageError(
                [
                    f"{base}meta.xml: "
                    + (
                        f"{term!r} is declared twice"
                        if terms[local] == term
                        else f"{terms[local]!r} and {term!r} are both declared"
                    )
                    + ": amurkg reads a term from one column; remove one of the two fields"
                ]
            )
        terms[local] = term
        fields[local] = (int(index) if index is not None else None, f.get("default", ""))
    if wrong := _default_problems(fields, terms):
        raise PackageError([f"{base}meta.xml: {line}" for line in wrong])
    id_el = core.find(f"{ns}id")
    id_at = id_el.get("index", "") if id_el is not None else ""
    if id_el is not None and id_at and not re.fullmatch("[0-9]{1,6}", id_at):
        raise PackageError([f"{base}meta.xml: <id> has index {id_at[:20]!r}: not a column number"])
    id_index = int(id_at) if id_el is not None and id_at else None
    title = ""
    eml_name = root.get("metadata", "eml.xml") or "eml.xml"
    if (why := text_problem("id", eml_name)) is not None:
        raise PackageError([f"{base}meta.xml: the metadata file name {why}"])
    eml_pure = PurePosixPath(eml_name)
    if eml_pure.is_absolute() or ".." in eml_pure.parts or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", eml_name):
        raise PackageError([f"{base}meta.xml: the metadata file {eml_name[:80]!r} is not inside the archive"])
    eml = _read_small(open_member, eml_name)
    if eml is not None:  # read through the same hardened path: a DOCTYPE is refused, not skipped
        found = _xml(f"{base}{eml_name}", eml).find(".//dataset/title")
        title = " ".join((found.text or "").split()) if found is not None else ""
        if (why := text_problem("free", title)) is not None:  # as a datapackage.json title: shown and stored
            raise PackageError([f"{base}{eml_name}: the dataset's title {why}"])
    skip = core.get("ignoreHeaderLines", "0").strip()
    if not re.fullmatch("[0-9]{1,4}", skip) or int(skip) > 1000:
        raise PackageError(
            [
                f"{base}meta.xml: ignoreHeaderLines={skip[:20]!r} is not a number of header lines (0 to 1000): give "
                "1 for a file with a header row, 0 for one without"
            ]
        )
    delimiter, quote = _unescape(core.get("fieldsTerminatedBy", ",")), _unescape(core.get("fieldsEnclosedBy", '"'))
    for attribute, value, empty in (("fieldsTerminatedBy", delimiter, True), ("fieldsEnclosedBy", quote, True)):
        if len(value) > 1 or (not value and not empty) or value in ("\n", "\r", "\0"):
            raise PackageError(
                [
                    f"{base}meta.xml: {attribute}={value[:20]!r} is not one character: amurkg reads files whose "
                    "fields are split (and quoted) by one character, as the Darwin Core text guide has them"
                ]
            )
    if delimiter and delimiter == quote:
        raise PackageError(
            [f"{base}meta.xml: fieldsTerminatedBy and fieldsEnclosedBy are both {quote!r}: make them different"]
        )
    return Core(
        open_text,
        f"{base}{name}",
        delimiter,
        quote,
        int(skip),
        id_index,
        fields,
        title,
    )


def _xml(where: str, data: bytes) -> ElementTree.Element:
    """A metadata document read by amurkg's one XML path (any encoding, DOCTYPEs refused): one problem line."""
    from amurkg.errors import DataFileError
    from amurkg.xmlsafe import parse

    try:
        return parse(where, data)
    except DataFileError as exc:
        raise PackageError([str(exc)]) from None


def _impossible_day(text: str) -> str | None:
    """The first date of an ISO 8601 date or interval that no calendar has (2020-02-30, 2020-13-01), or None."""
    from datetime import date

    for part in text.split("/"):
        found = re.match(r"(\d{4})(?:-(\d\d)(?:-(\d\d))?)?", part, re.ASCII)
        if found is None:
            continue
        try:
            date(int(found[1]), int(found[2] or 1), int(found[3] or 1))
        except ValueError:
            return found[0]
    return None


def _instant(text: str) -> datetime:
    return read_datetime(text)


def _interval(text: str) -> tuple[datetime, datetime]:
    first, sep, second = text.partition("/")
    start = _instant(first)
    end = _instant(second) if sep else start
    if end < start:
        raise ValueError("ends before it starts")
    return start, end


def archive_lines(path: Path, taxa: TaxonIndex, limit: int, report: Callable[[Mapper, Any], None]) -> Iterator[str]:
    """N-Triples of an archive; raises ``PackageError`` (after reading it all) on problems.

    The core file is read twice, never held: a first pass checks every row and collects the deployments
    (one per camera, few), a second maps the rows. Memory grows with the number of occurrence IDs (kept to
    find duplicates), not with the size of the file."""
    core = read_core(Path(path))
    problems = Problems(limit)
    dataset_ids: set[str] = set()
    first: dict[str, Any] = {}
    deployments: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, r in _rows(core, problems):
        first = first or r
        if r.get("datasetID") and len(dataset_ids) < 2:  # one shared datasetID names the package
            dataset_ids.add(r["datasetID"])
        parent, effort = r.get("parentEventID"), r.get("samplingEffort")
        if not (parent and effort):
            continue
        index = core.fields.get("samplingEffort", (None, ""))[0]
        where = (
            f"{core.display}:{number}:{index + 1} (samplingEffort)"
            if index is not None
            else f"{core.display}:{number} (samplingEffort, which has no column)"
        )
        try:
            start, end = _interval(effort)
            if "/" not in effort:
                raise ValueError("it is one time: a deployment's samplingEffort is its start/end")
        except ValueError as exc:
            problems.once(  # every occurrence of the deployment repeats it: said once
                ("samplingEffort", effort),
                where,
                f"{effort[:60]!r} is not a start/end interval of dates with offsets: {exc}",
            )
            continue
        if (why := deployment_too_long(start, end)) is not None:
            problems.once(("samplingEffort", effort), where, why)
            continue
        values = {
            "deploymentID": parent,
            "deploymentStart": start,
            "deploymentEnd": end,
            "latitude": r.get("_lat"),
            "longitude": r.get("_lon"),
        }
        for name, column in (
            ("locationID", "locationID"),
            ("locationName", "locality"),
            ("habitat", "habitat"),
            ("deploymentComments", "eventRemarks"),
        ):
            if r.get(column):
                values[name] = r[column]
        if r.get("_uncertainty") is not None:
            values["coordinateUncertainty"] = r["_uncertainty"]
        for name, column in (
            ("cameraHeight", "minimumDistanceAboveSurfaceInMeters"),
            ("cameraDepth", "minimumDepthInMeters"),
        ):
            if r.get(column):
                with contextlib.suppress(ValueError):
                    values[name] = float(r[column])
        if values["latitude"] is None or values["longitude"] is None:
            continue
        earlier = deployments.get(parent)
        if earlier is not None and (earlier[1]["deploymentStart"], earlier[1]["deploymentEnd"]) != (start, end):
            problems.once(
                ("samplingEffort differs", parent, effort),
                where,
                f"{effort[:60]!r} is not the samplingEffort of parentEventID {parent[:60]!r} on row {earlier[0]}: "
                "every row of a deployment gives the same; correct this one or that one",
            )
        deployments.setdefault(parent, (number, values))
    if problems:
        raise PackageError(problems.lines(), limited=True)
    identifier = next(iter(dataset_ids)) if len(dataset_ids) == 1 else Path(path).stem
    mapper = Mapper(identifier, {"deployments": "occurrence.txt", "observations": "occurrence.txt"}, taxa)
    for number, values in deployments.values():
        yield from mapper.row("deployments", number, values)
    for number, r in _rows(core, Problems(limit)):  # the same rows again, already checked
        parent = r.get("parentEventID")
        if parent in deployments and r.get("_event") is not None:
            start, end = r["_event"]
            values = {
                "observationID": r["occurrenceID"],
                "deploymentID": parent,
                "eventStart": start,
                "eventEnd": end,
                "observationLevel": "event",
                "observationType": "animal",
            }
            for name, column in (
                ("eventID", "eventID"),
                ("scientificName", "scientificName"),
                ("sex", "sex"),
                ("lifeStage", "lifeStage"),
                ("behavior", "behavior"),
                ("individualID", "organismID"),
                ("classifiedBy", "identifiedBy"),
                ("observationComments", "occurrenceRemarks"),
            ):
                if r.get(column):
                    values[name] = r[column]
            if r.get("_count") is not None:
                values["count"] = r["_count"]
            if r.get("_identified") is not None:
                values["classificationTimestamp"] = r["_identified"]
            if r.get("taxonID") and r.get("scientificName"):
                mapper.taxon_ids[TaxonIndex.normal(r["scientificName"])] = r["taxonID"]
            yield from mapper.row("observations", number, values)
        else:
            yield from _plain_occurrence(mapper, core, number, r)
    descriptor: dict[str, Any] = {
        "id": identifier,
        "title": (core.title or first.get("datasetName", "")) if first else "",
    }
    yield from mapper.package_lines({k: v for k, v in descriptor.items() if v})
    if first.get("license"):
        node = f"<{mapper.package}/license/1>"
        yield f"<{mapper.package}> <{DCT_NS}license> {node} ."
        yield f"{node} <{DCT_NS}identifier> {literal(first['license'])} ."
        yield f'{node} <https://w3id.org/amurkg/ontology#licenseScope> "data" .'
    if first.get("rightsHolder"):
        node = f"<{mapper.package}/contributor/1>"
        yield f"<{mapper.package}> <{DCT_NS}contributor> {node} ."
        yield f"{node} <http://www.w3.org/2000/01/rdf-schema#label> {literal(first['rightsHolder'])} ."
        yield f'{node} <https://w3id.org/amurkg/ontology#contributorRole> "rightsHolder" .'
    if first.get("collectionCode"):
        yield f"<{mapper.package}> <{DCT_NS}source> {literal(first['collectionCode'])} ."
    precision = first.get("coordinatePrecision", "")
    if re.fullmatch(r"\d+(\.\d+)?([eE][+-]?\d+)?", precision, re.ASCII):
        yield f"<{mapper.package}> <{DWC}coordinatePrecision> {literal(float(precision))} ."
    report(mapper, _Archive(identifier, named=len(dataset_ids) == 1))


@dataclass
class _Archive:
    identifier: str
    named: bool = True  # by one datasetID shared by every row; else by the archive's file name


def _plain_occurrence(mapper: Mapper, core: Core, number: int, r: dict[str, Any]) -> Iterator[str]:
    """An occurrence that is not from a camera deployment: the Darwin Core terms it has."""
    mapper.stats.rows["occurrences"] += 1
    subject = f"<{mapper.package}/occurrence/{_key(r['occurrenceID'])}>"
    row = f"<{mapper.files['observations']}#row={number}>"
    yield f"{subject} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{OCCURRENCE}> ."
    yield f"{subject} <http://www.w3.org/ns/prov#wasDerivedFrom> {row} ."
    yield f"{row} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/amurkg/ontology#TableRow> ."
    yield f"{row} <{DCT_NS}isPartOf> <{mapper.files['observations']}> ."
    yield f'{row} <https://w3id.org/amurkg/ontology#rowNumber> "{number}"^^<http://www.w3.org/2001/XMLSchema#integer> .'
    for column in ("occurrenceID", "eventDate", "scientificName", "basisOfRecord", "eventID", "locality", "recordedBy"):
        if r.get(column):
            yield f"{subject} <{DWC}{column}> {literal(r[column])} ."
    if r.get("_count") is not None:
        yield f"{subject} <{DWC}individualCount> {literal(r['_count'])} ."
    if r.get("_lat") is not None and r.get("_lon") is not None:
        yield f"{subject} <{DWC}decimalLatitude> {literal(r['_lat'])} ."
        yield f"{subject} <{DWC}decimalLongitude> {literal(r['_lon'])} ."
    if r.get("scientificName"):
        from amurkg.survey.rdf import unknown_taxon

        taxon = mapper.taxa.match(r["scientificName"])
        if taxon is None:
            mapper.stats.unknown[r["scientificName"]] += 1
            taxon = unknown_taxon(mapper.package, r["scientificName"])
        else:
            mapper.stats.matched[r["scientificName"]] += 1
        yield f"{subject} <http://rs.tdwg.org/dwc/iri/toTaxon> <{taxon}> ."


def _key(text: str) -> str:
    from amurkg.survey.rdf import key

    return key(text)


def _rows(core: Core, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """Checked rows of the core: ``(row number, values)``; derived typed values under ``_`` names."""
    csv.field_size_limit(MAX_CELL)
    options: dict[str, Any] = {"delimiter": core.delimiter or ","}
    if core.quote:
        options["quotechar"] = core.quote
    else:
        options["quoting"] = csv.QUOTE_NONE
    columns = {name: index for name, (index, _) in core.fields.items() if index is not None}
    defaults = {name: default for name, (index, default) in core.fields.items() if default}
    id_index = core.id_index if core.id_index is not None else columns.get("occurrenceID")
    if id_index is None:
        problems.add(f"{core.display}:1", "no occurrenceID column (meta.xml names no <id> or occurrenceID field)")
        return
    columns.setdefault("occurrenceID", id_index)
    seen: dict[str, int] = {}
    with core.open_text() as stream:
        yield from _checked_rows(
            core, csv.reader(stream, strict=True, **options), columns, defaults, id_index, seen, problems
        )


def _checked_rows(
    core: Core,
    reader: Iterator[list[str]],
    columns: dict[str, int],
    defaults: dict[str, str],
    id_index: int,
    seen: dict[str, int],
    problems: Problems,
) -> Iterator[tuple[int, dict[str, Any]]]:
    number = 0
    terms = {index: name for name, index in columns.items()}
    terms.setdefault(id_index, "id")
    needed = max(terms) + 1  # the columns meta.xml declares
    width: int | None = None  # the first row's: every row has as many
    records = 0  # the rows after the header lines
    try:
        for number, cells in enumerate(reader, 1):
            if not cells or cells == [""]:
                continue
            if number < core.skip:  # lines before the header (a title): their width is not the rows'
                continue
            where = f"{core.display}:{number}"
            if width is None:
                width = len(cells)
                if width < needed:
                    absent = [f"{i + 1} ({terms[i]})" for i in sorted(terms) if i >= width]
                    problems.add(
                        where,
                        f"the file has {width} column{'s' if width != 1 else ''} but meta.xml declares column"
                        f"{'s' if len(absent) > 1 else ''} {', '.join(absent[:5])}"
                        f"{' and more' if len(absent) > 5 else ''}: fix the field indexes in meta.xml, or its "
                        "fieldsTerminatedBy if the file is delimited otherwise",
                    )
                    return
            elif len(cells) != width:
                problems.add(
                    where,
                    f"{len(cells)} field{'s' if len(cells) != 1 else ''} where the first row has {width}"
                    f"{' (meta.xml declares ' + str(needed) + ')' if len(cells) < needed else ''}: a value holds "
                    "the delimiter or a line break, or fields are missing; fix this row",
                )
                continue
            if number <= core.skip:  # the header line: it gave the width
                continue
            records += 1
            values: dict[str, Any] = dict(defaults)
            for name, index in columns.items():
                if index < len(cells) and cells[index] != "":
                    values[name] = cells[index]
            ident = cells[id_index] if id_index < len(cells) else ""
            if not ident:
                problems.add(f"{where}:{id_index + 1} (occurrenceID)", "a value is required here")
                continue
            values["occurrenceID"] = ident
            if ident in seen:
                problems.add(
                    f"{where}:{id_index + 1} (occurrenceID)", f"{ident[:60]!r} is a duplicate of row {seen[ident]}"
                )
                continue
            seen[ident] = number
            if _checked(values, columns, where, problems):
                yield number, values
    except csv.Error as exc:
        problems.add(f"{core.display}:{number + 1}", f"not valid delimited text: {csv_problem(exc)}")
        return
    if not records and not problems:
        skipped = f" after the {core.skip:,} line{'s' if core.skip != 1 else ''} ignoreHeaderLines skips" * bool(
            core.skip
        )
        problems.add(f"{core.display}:{number + 1}", f"no occurrence rows{skipped}: there is nothing to import")


def _default_problems(fields: dict[str, tuple[int | None, str]], terms: dict[str, str]) -> list[str]:
    """What meta.xml declares that every row would be refused for, said once in meta.xml rather than once per row
    (a reviewer found a latitude default of 999 blamed on each row): a default of a field without a column,
    which stands in every row, run through the row checks alone (with the row's context: a parentEventID
    declared makes eventDate an interval with UTC offsets, and samplingEffort the deployment's start/end; without
    one, samplingEffort is free text); and one coordinate given by a default without the other. A default of a
    field with a column stands in only for its empty cells, which the rows' checks place; an empty column of one
    coordinate gives no row a lone coordinate."""
    found: list[str] = []
    deployments = "parentEventID" in fields
    constant = {name: text for name, (index, text) in fields.items() if index is None and text}
    for given, other in (("decimalLatitude", "decimalLongitude"), ("decimalLongitude", "decimalLatitude")):
        if given in constant and other not in fields:
            found.append(
                f"gives {terms[given]!r} a default but declares no {other}: a place needs both; declare the other "
                "one too, or neither"
            )
    for name, text in constant.items():
        values = {**({"parentEventID": "a deployment"} if deployments else {}), name: text}
        if name in ("decimalLatitude", "decimalLongitude"):  # checked as a pair: the other one stands in
            values = {"decimalLatitude": "0", "decimalLongitude": "0", name: text}
        probe = Problems(5)
        _checked(values, {}, "", probe)
        if name == "samplingEffort" and deployments:  # read with the deployments, not by the row checks
            try:
                if "/" not in text:
                    raise ValueError("it is one time: a deployment's samplingEffort is its start/end")
                start, end = _interval(text)
                if (why := deployment_too_long(start, end)) is not None:
                    raise ValueError(why)
            except ValueError as exc:
                probe.add("", f"{text[:60]!r} is not a deployment's start/end interval of dates with offsets: {exc}")
        for line in probe.kept:
            message = line.split(": ", 1)[1] if ": " in line else line
            if message.startswith(repr(text[:60])):  # the value is in the sentence below
                message = message[len(repr(text[:60])) :].lstrip()
            found.append(f"the default {text[:60]!r} of {terms.get(name, name)!r} {message}: correct or remove it")
    return found


def _at(where: str, columns: dict[str, int], name: str) -> str:
    """The place of a value of row ``where``: its column, or the row alone for a term meta.xml gives no column
    (its value is then the field's default, if it has one)."""
    column = columns.get(name)
    return f"{where}:{column + 1} ({name})" if column is not None else f"{where} ({name}, which has no column)"


def _checked(values: dict[str, Any], columns: dict[str, int], where: str, problems: Problems) -> bool:
    ok = True
    for name, text in list(values.items()):  # control characters first: a value holding one is not read on
        if not text.isprintable() and (why := text_problem(text_kind(name), text)) is not None:
            problems.add(_at(where, columns, name), why)
            values.pop(name)
            ok = False
    if not ok:
        return False

    def bad(name: str, message: str) -> None:
        nonlocal ok
        shown = "no value" if values.get(name) is None else repr(str(values.get(name))[:60])
        problems.add(_at(where, columns, name), f"{shown} {message}")
        ok = False

    wrong = False  # a coordinate already reported: the other one is not then "missing"
    for name, low, high, key in (("decimalLatitude", -90, 90, "_lat"), ("decimalLongitude", -180, 180, "_lon")):
        if (text := values.get(name)) is not None:
            try:
                number = float(text)
                if not _DECIMAL.fullmatch(text) or not low <= number <= high:
                    raise ValueError
                values[key] = number
            except ValueError:
                bad(name, f"is not a number from {low} to {high}")
                wrong = True
    if not wrong and (values.get("_lat") is None) != (values.get("_lon") is None):
        missing = "decimalLatitude" if values.get("_lat") is None else "decimalLongitude"
        if missing in columns or values.get(missing) is not None:
            bad(missing, "is missing while the other coordinate is given")
        else:  # meta.xml declares only one of the two: every row with a place repeats it, said once
            problems.once(
                ("no column", missing),
                _at(where, columns, missing),
                f"meta.xml declares no {missing} while this row gives the other coordinate: a place needs both; "
                f"declare {missing} in meta.xml, or leave out the other",
            )
            ok = False
    if (text := values.get("individualCount")) is not None:
        if re.fullmatch(r"\d{1,18}", text, re.ASCII):  # below 2^63, as every integer amurkg stores
            values["_count"] = int(text)
        else:
            bad("individualCount", "is not a whole number of individuals (0 or more, below 10^18)")
    if (text := values.get("coordinateUncertaintyInMeters")) is not None:
        try:
            values["_uncertainty"] = int(text) if re.fullmatch(r"\d+", text, re.ASCII) else float(text)
            if values["_uncertainty"] <= 0:
                raise ValueError
        except ValueError:
            bad("coordinateUncertaintyInMeters", "is not a positive number of metres")
    if (text := values.get("basisOfRecord")) is not None and text not in _BASIS:
        bad("basisOfRecord", f"is not one of GBIF's bases of record ({', '.join(sorted(_BASIS))})")
    if (text := values.get("eventDate")) is not None and values.get("parentEventID"):
        try:
            values["_event"] = _interval(text)
        except ValueError as exc:
            bad("eventDate", f"is not a date-time or start/end interval with UTC offsets: {exc}")
        else:
            try:  # an unreadable samplingEffort is reported once, by the reader of deployments
                text = values.get("samplingEffort") or ""
                effort = _interval(text) if "/" in text else None  # one time is no effort: reported as such
            except ValueError:
                effort = None
            if effort is not None and not (effort[0] <= values["_event"][0] and values["_event"][1] <= effort[1]):
                problems.once(  # a deployment's effort mistyped puts each of its rows outside: said once
                    ("eventDate outside", values["parentEventID"], values["samplingEffort"]),
                    _at(where, columns, "eventDate"),
                    f"{str(values['eventDate'])[:60]!r} is outside the samplingEffort "
                    f"{values['samplingEffort'][:60]!r} of its deployment: correct the date, or the deployment's "
                    "samplingEffort",
                )
                ok = False
    elif (text := values.get("eventDate")) is not None and not _ISO_DATE.fullmatch(text):
        bad("eventDate", "is not an ISO 8601 date, date-time or interval")
    elif text is not None and (day := _impossible_day(text)) is not None:
        bad("eventDate", f"is not a real date: {day} is not a day of the calendar (its month or its day)")
    if (text := values.get("dateIdentified")) is not None:
        try:
            values["_identified"] = _instant(text)
        except ValueError:
            values.pop("_identified", None)
    return ok
