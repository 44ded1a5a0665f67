"""Locations of threatened animals: which records are sensitive, and how their coordinates are generalised.

A camera's coordinates together with a detection of a Critically Endangered cat are what a poacher needs.
Following GBIF's guidance on generalising sensitive species data (Chapman 2020, *Current Best Practices for
Generalizing Sensitive Species Occurrence Data*, GBIF Secretariat, https://doi.org/10.15468/doc-5jp4-5g10),
every export that leaves a store replaces such coordinates by the centre of the grid cell that holds them
(0.1 degree by default, about 11 km north-south), widens ``coordinateUncertaintyInMeters`` to cover the
whole cell, and says what it did in Darwin Core's ``dataGeneralizations`` and ``informationWithheld`` and in
the EML. The store keeps the exact values.

Which taxa are sensitive is the curated graph's decision, not this module's: a taxon is sensitive when the
graph holds a conservation status assessment (``akg:assessedTaxon``) in one of IUCN's *threatened*
categories (CR, EN, VU) for it, for a taxon it belongs to (a subspecies of a threatened species), or for a
taxon that belongs to it (a record named only to species, in the range of a threatened subspecies, may be
that subspecies). A *deployment* is sensitive when any of its observations is of a sensitive taxon: its
location is generalised for every record it made, since a camera's place and a leopard's detection at it
are the same secret. So is any place that would give it away (``sensitive_places``): the same ``locationID``
in the same package, or a point closer than 0.1 degree both ways (the post set again next season, in any
package), and a recorded name that a taxon correction says is a sensitive taxon.

What else a protected camera's records say about the place is withheld with its coordinates (Chapman 2020 withholds
the locality text of generalised records, and free text is where field teams write it): the place name, habitat,
remarks, tags and groups of the deployment, the comments and EXIF data of its media (EXIF may hold the GPS position)
and the comments and tags of its observations; and where its ``locationID`` or a media path repeats the place name
or the coordinates as recorded ("post 43.10001_131.50001"), that part of it. They stay in the store, in the hidden
exact graph.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from amurkg.codedigest import of_module
from amurkg.namespaces import PREFIXES

#: this module's source as it was loaded (``amurkg.codedigest``)
SOURCE_DIGEST = of_module(__name__)

#: IUCN Red List categories that the IUCN calls threatened.
THREATENED = ("CR", "EN", "VU")
#: Default grid, in degrees (Chapman 2020 lists 0.1 degree among the standard generalisations).
DEFAULT_GRID = 0.1
#: The finest grid: Chapman (2020) generalises to 0.01, 0.1 or 1 degree; finer would pass an exact place off as
#: generalised, without the warning --exact-locations gives.
MIN_GRID = 0.01
#: The warning shown when exact locations are asked for.
EXACT_WARNING = (
    "exact coordinates of threatened taxa are being written (--exact-locations): do not publish this output; "
    "camera locations of threatened animals are what poachers look for"
)

_PREFIXES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX iucnrl: <https://w3id.org/amurkg/iucn/redlist/>
"""

#: ?taxon is a threatened taxon (?category CR, EN or VU), or lies above or below one that is.
_THREATENED = (
    "VALUES ?category { iucnrl:CR iucnrl:EN iucnrl:VU }",
    "?assessment akg:assessedTaxon ?assessed ; akg:redListCategory ?category .",
    "{ ?taxon akg:parentTaxon* ?assessed } UNION { ?assessed akg:parentTaxon+ ?taxon }",
)


def _threatened_query(select: str, *patterns: str, first: tuple[str, ...] = ()) -> str:
    """A SELECT DISTINCT of ``select``: the threatened categories, ``first``, the threatened taxa, ``patterns``."""
    body = "".join(f"  {line}\n" for line in (_THREATENED[0], *first, *_THREATENED[1:], *patterns))
    return f"{_PREFIXES}SELECT DISTINCT {select} WHERE {{\n{body}}}"


_SENSITIVE_TAXA = _threatened_query("?taxon ?category")

#: Deployments with a record of a sensitive taxon, with the taxa and categories that make them so.
SENSITIVE_DEPLOYMENTS = _threatened_query(
    "?deployment ?taxon ?name ?category",
    "?obs dwciri:toTaxon ?taxon ; akg:deployment ?deployment .",
    "OPTIONAL { ?taxon dwc:scientificName ?name }",
)

#: Occurrences that are not from a deployment (a plain Darwin Core archive) of a sensitive taxon.
SENSITIVE_OCCURRENCES = _threatened_query(
    "?occurrence ?taxon ?name ?category",
    "?occurrence a dwc:Occurrence ; dwciri:toTaxon ?taxon ; dwc:decimalLatitude ?lat .",
    "FILTER NOT EXISTS { ?occurrence akg:deployment ?d }",
    "OPTIONAL { ?taxon dwc:scientificName ?name }",
)


#: Taxon corrections (``amurkg survey update-taxon``) that name a sensitive taxon, withdrawn ones included: a
#: camera once said to have recorded a threatened animal stays generalised (the safe way to be wrong).
_SENSITIVE_CORRECTIONS = _threatened_query(
    "?recorded ?package ?taxon ?name ?category",
    "OPTIONAL { ?taxon dwc:scientificName ?name }",
    first=(
        "?correction a akg:TaxonCorrection ; akg:correctedName ?recorded ; dwciri:toTaxon ?taxon .",
        "OPTIONAL { ?correction akg:correctedPackage ?package }",
    ),
)

#: The scientific names recorded at each deployment.
_DEPLOYMENT_NAMES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT DISTINCT ?subject ?recorded WHERE { ?obs dwc:scientificName ?recorded ; akg:deployment ?subject }"""

#: The scientific names of occurrences with coordinates outside any deployment.
_OCCURRENCE_NAMES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT DISTINCT ?subject ?recorded WHERE {
  ?subject a dwc:Occurrence ; dwc:scientificName ?recorded ; dwc:decimalLatitude ?lat .
  FILTER NOT EXISTS { ?subject akg:deployment ?d }
}"""


def corrected_reasons(rows: Any, deployments: bool = True) -> dict[str, set[Reason]]:
    """Deployments (or, with ``deployments`` false, occurrences outside one) whose recorded scientific name a
    taxon correction says is a sensitive taxon, matched as the corrections match names. ``rows(text)`` answers
    a SELECT as lists of terms."""
    from amurkg.survey.rdf import TaxonIndex

    wanted: dict[str, list[tuple[str, Reason]]] = {}
    for recorded, package, taxon, name, category in rows(_SENSITIVE_CORRECTIONS):
        label = name.value if name is not None else taxon.value
        prefix = package.value + "/" if package is not None else ""
        wanted.setdefault(recorded.value, []).append((prefix, Reason(label, category_code(category.value))))
    found: dict[str, set[Reason]] = {}
    if not wanted:
        return found
    for subject, recorded in rows(_DEPLOYMENT_NAMES if deployments else _OCCURRENCE_NAMES):
        for prefix, reason in wanted.get(TaxonIndex.normal(recorded.value), []):
            if subject.value.startswith(prefix):
                found.setdefault(subject.value, set()).add(reason)
    return found


def category_code(iri: str) -> str:
    """``CR`` for ``iucnrl:CR``."""
    return iri.removeprefix(PREFIXES["iucnrl"])


@dataclass(frozen=True)
class Reason:
    """Why a record is sensitive: a taxon it names and that taxon's (or its relative's) category."""

    name: str
    category: str

    def __str__(self) -> str:
        return f"{self.name} (IUCN {self.category})"


def _rows(kg: Any, text: str) -> Iterable[list[Any]]:
    """Rows of a SELECT from a KnowledgeGraph (``.query(...).rows``) or a pyoxigraph store/solutions."""
    answer = kg.query(text)
    rows = getattr(answer, "rows", None)
    if rows is not None:
        return [list(r) for r in rows]
    return [[s[i] for i in range(len(answer.variables))] for s in answer]


def sensitive_taxa(kg: Any) -> dict[str, str]:
    """Taxon IRI -> IUCN category code, for every taxon the curated graph makes sensitive."""
    found: dict[str, str] = {}
    for taxon, category in _rows(kg, _SENSITIVE_TAXA):
        code = category_code(category.value)
        # the strictest category wins when a taxon is related to several assessments
        if taxon.value not in found or THREATENED.index(code) < THREATENED.index(found[taxon.value]):
            found[taxon.value] = code
    return found


#: Every place a record was made: deployments, and occurrences outside any deployment.
_PLACES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?subject ?lat ?lon ?location ?kind WHERE {
  { ?subject a akg:Deployment BIND("deployment" AS ?kind) }
  UNION
  { ?subject a dwc:Occurrence FILTER NOT EXISTS { ?subject akg:deployment ?d } BIND("occurrence" AS ?kind) }
  ?subject dwc:decimalLatitude ?lat ; dwc:decimalLongitude ?lon .
  OPTIONAL { ?subject dwc:locationID ?location }
}"""


def _direct(rows: Any) -> dict[str, set[Reason]]:
    """Deployments and occurrences that record a sensitive taxon, as recorded or as corrected."""
    found: dict[str, set[Reason]] = {}
    for query in (SENSITIVE_DEPLOYMENTS, SENSITIVE_OCCURRENCES):
        for subject, taxon, name, category in rows(query):
            label = name.value if name is not None else taxon.value
            found.setdefault(subject.value, set()).add(Reason(label, category_code(category.value)))
    for deployments in (True, False):
        for subject, why in corrected_reasons(rows, deployments).items():
            found.setdefault(subject, set()).update(why)
    return found


def sensitive_places(rows: Any, degrees: float = DEFAULT_GRID) -> tuple[dict[str, set[Reason]], dict[str, set[Reason]]]:
    """(deployments, occurrences outside a deployment) whose location is sensitive, with why.

    A record of a sensitive taxon makes its place sensitive, and with it every other place that would give it
    away: another deployment or occurrence with the same ``locationID`` in the same package (a camera set again
    at the same post next season), or closer than ``degrees`` in latitude and in longitude (the same point, or
    the same post with a new GPS fix). ``rows(text)`` answers a SELECT as lists of terms."""
    from amurkg.survey.ledger import package_of

    found = _direct(rows)
    places: list[tuple[str, float, float, str | None, str]] = []
    for subject, lat, lon, location, kind in rows(_PLACES):
        try:
            places.append(
                (subject.value, float(lat.value), float(lon.value), getattr(location, "value", None), kind.value)
            )
        except ValueError:
            continue
    kinds = {p[0]: p[4] for p in places}
    by_location: dict[tuple[str, str], set[Reason]] = {}
    cells: dict[tuple[int, int], list[tuple[float, float, set[Reason]]]] = {}
    for subject, lat, lon, location, _ in places:
        why = found.get(subject)
        if why is None or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        if location is not None:
            by_location.setdefault((package_of(subject), location), set()).update(why)
        cells.setdefault((math.floor(lat / degrees), math.floor(lon / degrees)), []).append((lat, lon, why))
    out = {k: set(v) for k, v in found.items()}
    for subject, lat, lon, location, _ in places:
        if subject in found or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        why = set(by_location.get((package_of(subject), location), set())) if location is not None else set()
        row, column = math.floor(lat / degrees), math.floor(lon / degrees)
        for i in (row - 1, row, row + 1):
            for j in (column - 1, column, column + 1):
                for other_lat, other_lon, reasons in cells.get((i, j), []):
                    if abs(other_lat - lat) < degrees and abs(other_lon - lon) < degrees:
                        why |= reasons
        if why:
            out[subject] = why
    deployments = {k: v for k, v in out.items() if kinds.get(k, "deployment") == "deployment"}
    occurrences = {k: v for k, v in out.items() if kinds.get(k) == "occurrence"}
    return deployments, occurrences


def sensitive_deployments(kg: Any) -> dict[str, set[Reason]]:
    """Deployment IRI -> why its location is sensitive (``sensitive_places``)."""
    return sensitive_places(lambda text: _rows(kg, text))[0]


def sensitive_occurrences(kg: Any) -> dict[str, set[Reason]]:
    """Occurrence IRI (outside any deployment) -> why its location is sensitive (``sensitive_places``)."""
    return sensitive_places(lambda text: _rows(kg, text))[1]


def _decimals(grid: float) -> int:
    """Decimal places that write a multiple of half the grid exactly (0.1 -> 2: 45.05)."""
    text = f"{grid / 2:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@dataclass(frozen=True)
class Grid:
    """A grid of ``degrees`` (0.01 <= degrees <= 10) that coordinates are generalised to: each point becomes the
    centre of its cell."""

    degrees: float = DEFAULT_GRID

    def __post_init__(self) -> None:
        if not (isinstance(self.degrees, int | float) and math.isfinite(self.degrees) and 0 < self.degrees <= 10):
            from amurkg.errors import ParameterError

            raise ParameterError(
                f"--grid {self.degrees!r}: the grid is a number of degrees above 0 and at most 10 (e.g. 0.1)"
            )
        if self.degrees < MIN_GRID:
            from amurkg.errors import ParameterError

            raise ParameterError(
                f"--grid {self.degrees!r}: below {MIN_GRID} degree (about 1 km) a generalised location gives the "
                "camera away; give 0.01 to 10 degrees (e.g. 0.1), or --exact-locations for exact ones"
            )

    def _centre(self, value: float, low: float, high: float) -> float:
        cells = math.floor(round(value / self.degrees, 9))
        centre = (cells + 0.5) * self.degrees
        centre = min(max(centre, low + self.degrees / 2), high - self.degrees / 2)  # 90 is in the last cell
        return round(centre, _decimals(self.degrees))

    def point(self, latitude: float, longitude: float) -> tuple[float, float]:
        """The centre of the cell that holds (latitude, longitude)."""
        return self._centre(latitude, -90, 90), self._centre(longitude, -180, 180)

    def uncertainty(self, latitude: float, original: float | None = None) -> int:
        """Metres from a cell's centre to its farthest corner (haversine on the WGS84 mean radius), plus the
        point's own uncertainty: what ``coordinateUncertaintyInMeters`` must say after generalising."""
        radius = 6_371_009.0
        half = self.degrees / 2
        phi = math.radians(latitude)
        far = 0.0
        for dlat in (-half, half):
            phi2 = math.radians(max(-90.0, min(90.0, latitude + dlat)))
            dphi, dlam = phi2 - phi, math.radians(half)
            a = math.sin(dphi / 2) ** 2 + math.cos(phi) * math.cos(phi2) * math.sin(dlam / 2) ** 2
            far = max(far, 2 * radius * math.asin(min(1.0, math.sqrt(a))))
        return math.ceil(far + (original or 0))

    def text(self) -> str:
        """``0.1`` for 0.1 degree."""
        return f"{self.degrees:g}"

    def generalization(self, reasons: Iterable[Reason]) -> str:
        """The ``dataGeneralizations`` text of a record generalised for ``reasons``."""
        named = "; ".join(sorted(map(str, reasons)))
        return (
            f"coordinates generalised to the centre of a {self.text()} degree grid cell, as the camera location "
            f"recorded a threatened taxon: {named}"
        )

    def withheld(self) -> str:
        """The ``informationWithheld`` text of a generalised record."""
        return (
            f"exact coordinates and locality text withheld (coordinates generalised to {self.text()} degree), as "
            "is free text that may describe the place (habitat, remarks, comments, tags, groups, EXIF data) and "
            "the place name or coordinates where a location identifier or media path repeats them: threatened "
            "taxon; they are kept by the data holder and available on request"
        )


@contextlib.contextmanager
def exact_view(kg: Any) -> Iterator[None]:
    """Within this block, a store-backed ``kg`` sees the exact coordinates (for exporters, which generalise
    them to the grid asked for, and for the local opt-in); any other graph is unchanged."""
    handle = getattr(getattr(kg, "engine", None), "handle", None)
    if handle is None or not hasattr(handle, "exact_locations"):
        yield
        return
    before = handle.exact_locations
    handle.exact_locations = True
    try:
        yield
    finally:
        handle.exact_locations = before


_DWC = PREFIXES["dwc"]
_GEO = PREFIXES["geo"]
_XSD = PREFIXES["xsd"]
_AKG = PREFIXES["akg"]
#: Free text that names or describes a place (a camera's ``locationName`` is ``dwc:locality``): withheld with the
#: exact coordinates of a generalised record, as Chapman (2020) advises, since "ridge trail above the salt lick"
#: finds the camera as well as its coordinates do.
LOCALITY_TERMS = (_DWC + "locality", _DWC + "verbatimLocality", _DWC + "locationRemarks")
#: The other free text of a generalised record itself (a deployment, or an occurrence outside one): its habitat,
#: remarks, tags and groups ("salt lick below the ridge", "grid:Kedrovaya Pad north") describe or name the place
#: too. Withheld the same way: kept in the exact graph, back with --exact-locations or when no longer protected.
RECORD_TEXT_TERMS = (
    _DWC + "habitat",
    _DWC + "eventRemarks",
    _DWC + "occurrenceRemarks",
    _AKG + "deploymentTags",
    _AKG + "deploymentGroups",
)
#: Free text of the media and observations a protected camera made: comments and tags, and a media file's EXIF
#: data, which may hold the camera's GPS position. (``behavior`` stays: it describes the animal, not the place.)
LINKED_TEXT_TERMS = (
    PREFIXES["rdfs"] + "comment",
    _AKG + "exifData",
    _DWC + "occurrenceRemarks",
    _AKG + "observationTags",
)
#: What leaves the visible graph of a protected record besides its coordinates.
WITHHELD_TERMS = (*LOCALITY_TERMS, *RECORD_TEXT_TERMS)
_MOVED = {
    _DWC + "decimalLatitude",
    _DWC + "decimalLongitude",
    _DWC + "coordinateUncertaintyInMeters",
    *WITHHELD_TERMS,
}
#: The Camtrap DP columns that hold locality text (``locationName``) and media paths that may repeat it.
LOCALITY_COLUMNS = ("locationName",)
MEDIA_PATH_COLUMNS = ("filePath", "fileName")
#: The Camtrap DP columns of free text that exports of a protected camera write empty, per table (the
#: deployments' locality text is ``LOCALITY_COLUMNS``).
WITHHELD_COLUMNS = {
    "deployments": ("habitat", "deploymentGroups", "deploymentTags", "deploymentComments"),
    "media": ("exifData", "mediaComments"),
    "observations": ("observationTags", "observationComments"),
}
#: The Darwin Core occurrence columns that exports of a protected camera write empty.
WITHHELD_DWC_COLUMNS = ("locality", "habitat", "eventRemarks", "occurrenceRemarks")
_CRS84 = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


def withhold_paths(text: str, places: Iterable[str]) -> str:
    """``text`` (a media file's path or name, or a ``locationID``) with every locality text of ``places`` in it
    replaced by ``withheld``: a camera's place name often names its folder of images, or its post.

    A place name is found whatever the case and whatever separates its words (``Ridge Trail``, ``ridge-trail``,
    ``RidgeTrail``); a coordinate of ``places`` (a number, as ``coordinate_texts`` gives it), or one near it
    (another camera's fix of the same post), wherever ``text`` writes it finer than a tenth of a degree, in
    whatever form: other decimals (``43.1235`` for ``43.123456``, ``43.100010``), a decimal comma (``43,10001``),
    no sign (``43.10001S`` for ``-43.10001``), no separator (``4310001``) or degrees and minutes (``43°06'``). A
    field team writes a GPS fix as its device shows it, not as the latitude column holds it.

    For many texts of one camera, make the work once: ``withholder(places)(text)`` gives the same."""
    return withholder(places)(text)


class withholder:  # noqa: N801 (used as a function: withholder(places)(text))
    """``withhold_paths`` for one list of ``places``, made once for the many paths of a camera (its media are
    many). The place names are every protected camera's, the same for each camera of an import: their patterns
    are made once per import (``_names``), not once per camera, and a text is tried only against the names whose
    first word it holds. Before, each camera compiled every name's patterns again and tried each path against
    every name: at 300,000 observations, 185,000 pattern compilations and 37 s of an import."""

    __slots__ = ("_firsts", "_names", "_numbers")

    def __init__(self, places: Iterable[str]) -> None:
        names: set[str] = set()
        numbers: list[str] = []
        for place in {p.strip() for p in places if p and len(p.strip()) >= 3}:
            try:
                if math.isfinite(float(place)):
                    numbers.append(place)
                continue
            except ValueError:
                names.add(place)
        self._names, self._firsts = _names(tuple(sorted(names)))
        self._numbers = [_Coordinate(n) for n in sorted(numbers, key=lambda n: (-len(n), n))]

    def __call__(self, text: str) -> str:
        if self._names:
            folded = text.casefold()
            found = [i for first, indices in self._firsts if first in folded for i in indices]
            for i in sorted(found):  # longest name first, as when every name is tried
                for pattern in self._names[i]:
                    text = pattern.sub("withheld", text)
        if self._numbers and _DIGIT.search(text):  # a text without a digit writes no coordinate
            # most texts (a media file's numbered name) hold no writing any coordinate could take: one look at the
            # text for all of them, rather than each coordinate's four substitutions, which find nothing
            runs = _RUN.findall(text)
            if _DMS.search(text) or _DECIMAL.search(text) or any(n.written_in(text, runs) for n in self._numbers):
                for number in self._numbers:
                    text = number.withhold(text)
        return text


@functools.lru_cache(maxsize=64)
def _names(
    names: tuple[str, ...],
) -> tuple[list[tuple[re.Pattern[str], ...]], list[tuple[str, list[int]]]]:
    """The patterns that find each place name of ``names``, longest first, and for each first word (case-folded)
    the positions of the names that start with it: a name is in a text only if its first word is."""
    patterns: list[tuple[re.Pattern[str], ...]] = []
    firsts: dict[str, list[int]] = {}
    for place in sorted(names, key=lambda p: (-len(p), p)):
        words = re.findall(r"[^\W_]+", place)
        found = [re.compile(re.escape(place), re.IGNORECASE)]
        if sum(len(w) for w in words) >= 3:
            found.insert(0, re.compile(r"[\W_]*".join(map(re.escape, words)), re.IGNORECASE))
        firsts.setdefault(words[0].casefold() if words else place.casefold(), []).append(len(patterns))
        patterns.append(tuple(found))
    return patterns, list(firsts.items())


#: How far (degrees) from a protected camera's own coordinate a number in its identifier or media path is taken for a
#: coordinate of the same place: another camera at the same post (``sensitive_places``: the same ``locationID``) may
#: name the post after its own, slightly different, GPS fix.
_SAME_PLACE = 1.0


#: A coordinate in degrees and minutes (and seconds): a minute is 1.8 km
_DMS = re.compile(r"(\d{1,3})\s*[°º]\s*(\d{1,2}(?:[.,]\d+)?)\s*['′’](?:\s*(\d{1,2}(?:[.,]\d+)?)\s*(?:[\"″”]|''))?")
_DIGIT = re.compile(r"\d")
#: A run of digits long enough to write whole degrees and four decimals without a separator (``_Coordinate``)
_RUN = re.compile(r"(?<!\d)\d{5,}")
#: A decimal number, dot or comma (``_Coordinate`` looks at those of two decimals or more: 0.01 degree is 1.1 km)
_DECIMAL = re.compile(r"(?<![\d.,])(\d{1,3})[.,](\d+)(?!\d)")


class _Coordinate:
    """Withholds every writing, finer than 0.1 degree, of a coordinate within ``_SAME_PLACE`` of ``recorded``
    (``-43.10001``) from a text (``withhold_paths``); its patterns are made once, for the many texts of a camera."""

    __slots__ = ("_degrees", "_joined", "_recorded", "_text", "_value")

    def __init__(self, recorded: str) -> None:
        self._value = abs(float(recorded))
        self._degrees = str(math.floor(self._value))
        # the digits without their separator (4310001): the whole degrees, then four decimals or more
        self._joined = re.compile(rf"(?<!\d){self._degrees}\d{{4,}}")
        self._text = recorded
        self._recorded = re.compile(re.escape(recorded))  # as recorded, whatever its decimals

    def written_in(self, text: str, runs: list[str]) -> bool:
        """Whether ``text``, whose runs of five digits or more are ``runs`` (``_RUN``), holds this coordinate as
        recorded or without its separator: what ``withhold`` looks for besides the decimals and the degrees and
        minutes that any coordinate's look finds (``_DECIMAL``, ``_DMS``)."""
        return self._text in text or any(len(r) >= len(self._degrees) + 4 and r.startswith(self._degrees) for r in runs)

    def _near(self, written: float, match: re.Match[str]) -> str:
        return "withheld" if abs(written - self._value) <= _SAME_PLACE else match.group(0)

    def _dms(self, match: re.Match[str]) -> str:
        degrees, minutes, seconds = (float(g.replace(",", ".")) if g else 0.0 for g in match.groups())
        return self._near(degrees + minutes / 60 + seconds / 3600, match)

    def _decimal(self, match: re.Match[str]) -> str:
        if len(match.group(2)) < 2:
            return match.group(0)
        return self._near(float(f"{match.group(1)}.{match.group(2)}"), match)

    def withhold(self, text: str) -> str:
        text = _DMS.sub(self._dms, text)
        text = _DECIMAL.sub(self._decimal, text)
        text = self._joined.sub("withheld", text)
        return self._recorded.sub("withheld", text)


def coordinate_texts(values: Iterable[str]) -> list[str]:
    """The exact coordinates as recorded (``43.12345``), to withhold where a media path repeats them (a folder
    named after the camera's GPS fix); whole degrees are left alone (``43`` is in many a file number, and says no
    more than a 1 degree grid)."""
    return [v.strip() for v in values if "." in v and len(v.strip()) >= 3]


def _media_paths() -> tuple[Any, ...]:
    import pyoxigraph as ox

    return (ox.NamedNode(_AKG + "filePath"), ox.NamedNode(_AKG + "fileName"))


def _withholds(camera: Any, text: str, withholds: dict[str, withholder], known: dict[str, bool]) -> bool:
    """Whether ``camera`` (the object of a record's ``akg:deployment``) is a protected camera that withholds some
    of ``text``; ``known`` keeps the answers for one text."""
    import pyoxigraph as ox

    if not isinstance(camera, ox.NamedNode) or camera.value not in withholds:
        return False  # a link to a text or a triple names no camera
    if camera.value not in known:
        known[camera.value] = withholds[camera.value](text) != text
    return known[camera.value]


def _camera_paths(store: Any, source: Any, withholds: dict[str, withholder]) -> Iterator[tuple[Any, Any]]:
    """(media, path quad) for each media path (``akg:filePath``, ``akg:fileName``) of the graph ``source`` of the
    pyoxigraph ``store`` that a protected camera of its media (``withholds``: what each camera's paths must not show)
    would not show as it is.

    The paths are joined to their cameras in the engine, in one pass over the graph's paths and links; only the
    media of a path that changes are looked up. Before, each record linked to a protected camera (its media,
    observations and series) was looked up for its two paths: at 1,000,000 observations, 3.4 million lookups and
    97 s of the import's 118 s of protection."""
    import pyoxigraph as ox

    link = ox.NamedNode(_AKG + "deployment")
    paths = _media_paths()
    # both path properties in one subquery, which the engine reads once and joins in memory, the links read in
    # one pass against it: at 1,000,000 observations 9.7 s, where a query per path property over a subquery of
    # the links (1.7M: media, observations, series) took 17.2 s, and a join pattern 42 s. Each term of a solution
    # is read from the database: the path property is not asked for (a third term per row cost ~8 s), so a path
    # that changes is looked up under each property
    either = " UNION ".join(f"{{ ?media <{p.value}> ?value }}" for p in paths)
    query = f"""SELECT ?camera ?value WHERE {{
  ?media <{link.value}> ?camera FILTER(isIRI(?camera))
  {{ SELECT ?media ?value WHERE {{ {either} }} }} }}"""
    resolved: set[Any] = set()
    for solution in store.query(query, default_graph=source):
        camera, value = solution[0], solution[1]
        withhold = withholds.get(camera.value)
        if withhold is None or value in resolved or withhold(value.value) == value.value:
            continue
        # every media of this path is looked at once, whatever its cameras: a path that many cameras share (a
        # folder named after a neighbour's place) costs its media, not cameras x media
        resolved.add(value)
        known = {camera.value: True}  # per camera: whether it withholds some of this path
        for path in paths:
            for quad in store.quads_for_pattern(None, path, value, source):
                links = store.quads_for_pattern(quad.subject, link, None, source)
                if any(_withholds(c.object, value.value, withholds, known) for c in links):
                    yield quad.subject, quad


#: Every SELECT ``sensitive_places`` asks: what ``read_places`` reads ahead.
_PLACE_QUERIES = (
    SENSITIVE_DEPLOYMENTS,
    SENSITIVE_OCCURRENCES,
    _SENSITIVE_CORRECTIONS,
    _DEPLOYMENT_NAMES,
    _OCCURRENCE_NAMES,
)


def read_places(
    store: Any, graphs: Iterable[str] = (), imports: bool = True, pending: Iterable[Any] = ()
) -> dict[str, list[list[Any]]]:
    """The rows of every query ``sensitive_places`` asks (``_PLACES`` and ``_PLACE_QUERIES``), read from the
    curated graph, the corrections and ``graphs`` of ``store`` (an ``amurkg.store.Store`` open for writing), with
    every registered import where ``imports`` says so, and their exact values already moved beside them.

    Each of those queries joins a record with its own package's records and the curated graph or the corrections
    only, never with another package's: rows read from two sets of import graphs, put together, are the rows of
    the two together (a row read twice counts once). The one exception is a package imported again, whose old
    graph shares its records' IRIs with the new one: read together, the two would mix one version's latitude with
    the other's longitude; read apart, each version's rows are its own, as protecting every graph from scratch
    reads them. An import so reads the store's earlier imports before it
    loads anything, and its own graph after: reading the store after a large load needs a view, whose
    checkpoint waits for RocksDB to merge what the load wrote (18 s at the 7th import of 100,000 observations),
    where its own graph, none of whose values has moved yet, is read in ``db/`` itself.

    ``pending``: quads of a taxon correction not yet written, read as if they were (``Store.scratch_view``)."""
    import pyoxigraph as ox

    from amurkg.store import CORRECTIONS_GRAPH, CURATED_GRAPH, twin

    graphs = sorted({*graphs, *((r.graph for r in store.imports()) if imports else ())})
    dataset = [ox.NamedNode(CURATED_GRAPH), ox.NamedNode(CORRECTIONS_GRAPH)]
    dataset += [ox.NamedNode(g) for g in graphs] + [ox.NamedNode(twin(g, True)) for g in graphs]
    read: dict[str, list[list[Any]]] = {}
    # the exact twins are in the store's hidden database: read beside the rest in a scratch view of db/
    # (nothing refers to the view's database when the block ends, so it is closed before its folder is removed)
    with store.scratch_view(graphs, pending) as view:
        reading = [view]
        del view
        for text in (_PLACES, *_PLACE_QUERIES):
            if text in (_DEPLOYMENT_NAMES, _OCCURRENCE_NAMES) and not read[_SENSITIVE_CORRECTIONS]:
                read[text] = []  # asked only where a correction names a sensitive taxon (``corrected_reasons``)
                continue
            answer = reading[0].query(text, default_graph=dataset)
            read[text] = [[s[i] for i in range(len(answer.variables))] for s in answer]
        reading.clear()
    return read


def store_reasons(
    store: Any,
    graphs: Iterable[str] = (),
    earlier: dict[str, list[list[Any]]] | None = None,
    pending: Iterable[Any] = (),
) -> dict[str, set[Reason]]:
    """Why each sensitive deployment and occurrence of ``store`` (an ``amurkg.store.Store`` open for writing) is
    so (``sensitive_places``), read from its registered imports and ``graphs`` (an import not yet registered),
    with the exact values already moved and the taxon corrections recorded: the whole store decides, as a
    leopard in one package makes the same post in another sensitive. What ``protect`` works from. ``earlier``:
    what ``read_places`` read of the registered imports before (then only ``graphs`` are read now). ``pending``:
    the quads of a taxon correction about to be written, whose places are protected before it is in force."""
    read = read_places(store, graphs, imports=earlier is None, pending=pending)
    if earlier is not None:  # both read the same corrections, so both read the names where they matter
        read = {text: [*earlier[text], *rows] for text, rows in read.items()}
    deployments, occurrences = sensitive_places(lambda text: read[text])  # neighbours: closer than 0.1 degree
    return {**deployments, **occurrences}


#: Bumped when what ``protect`` writes changes: every graph is then protected again by the next import (so is it
#: when this module's code changes at all: ``_code``).
_PROTECTION_VERSION = 1


#: The modules whose code decides what ``protect`` writes: this one, and those it takes terms and values from.
_PROTECTING = (
    "amurkg.survey.sensitive",
    "amurkg.survey.rdf",
    "amurkg.survey.ledger",
    "amurkg.store",
    "amurkg.namespaces",
)


def _read_code() -> bytes:
    """A digest of the source of each module in ``_PROTECTING``, each as that module was loaded
    (``amurkg.codedigest``): the code this process runs, not what an upgrade installs over it while it runs (a
    notebook, ``serve``, a long import), which would otherwise record the new release's digest for the old code's
    protection."""
    import hashlib
    import importlib

    digest = hashlib.sha256()
    for name in _PROTECTING:  # imported here, with this module: later, a module not loaded yet would be the upgrade's
        digest.update(name.encode() + b"\0" + importlib.import_module(name).SOURCE_DIGEST)
    return digest.digest()


_CODE = _read_code()


@functools.lru_cache(maxsize=1)
def _code() -> str:
    """A digest of the code that decides how records are protected: the modules of ``_PROTECTING`` as this process
    loaded them, and the engine that writes the terms (pyoxigraph's version). A release that changes any of them
    protects every graph again at its first import, as each import did before graphs recorded what they were
    protected for."""
    import hashlib

    import pyoxigraph

    return hashlib.sha256(_CODE + f"\0pyoxigraph {pyoxigraph.__version__}".encode()).hexdigest()


def _twin_sizes(store: Any, graph: str) -> str:
    """How many triples the exact and generalised twins of ``graph`` hold, and a digest of which records they
    generalise (the subjects of their coordinates) and why: recorded with what the graph was protected for, so
    that a graph another writer protected since (an older amurkg, which records nothing) is protected again rather
    than trusted, even where it moved another camera's coordinates and the sizes stayed the same."""
    import hashlib

    import pyoxigraph as ox

    from amurkg.store import twin

    sizes = []
    digest = hashlib.sha256()
    for db, name, text in (
        (store.hidden, twin(graph, True), f"SELECT ?s ?o WHERE {{ ?s <{_DWC}decimalLatitude> ?o }}"),
        (store.ox, twin(graph, False), f"SELECT ?s ?o WHERE {{ ?s <{_DWC}dataGeneralizations> ?o }}"),
    ):
        (solution,) = db.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=ox.NamedNode(name))
        sizes.append(solution["n"].value)
        for row in sorted(f"{s[0]} {s[1]}" for s in db.query(text, default_graph=ox.NamedNode(name))):
            digest.update(row.encode() + b"\n")
    return " ".join([*sizes, digest.hexdigest()[:32]])


def _protected_for(store: Any, graph: str, reasons: dict[str, set[Reason]]) -> str:
    """A digest of all that protecting the import ``graph`` reads from outside it: the reasons of each sensitive
    place (``reasons``) that the graph describes (in ``db/``, or moved to its exact twin in ``hidden/``) or links
    to. Protecting the graph again for reasons with the same digest writes what it holds already."""
    import hashlib

    import pyoxigraph as ox

    from amurkg.store import twin

    source, exact = ox.NamedNode(graph), ox.NamedNode(twin(graph, True))
    digest = hashlib.sha256(f"amurkg protection {_PROTECTION_VERSION} {_code()}\n".encode())
    for subject in sorted(reasons):
        node = ox.NamedNode(subject)
        if any(
            next(iter(db.quads_for_pattern(*pattern)), None) is not None
            for db, held in ((store.ox, source), (store.hidden, exact))
            for pattern in ((node, None, None, held), (None, None, node, held))
        ):
            why = sorted((r.name, r.category) for r in reasons[subject])
            digest.update(f"{subject}\0{why!r}\n".encode())
    return digest.hexdigest()


def protect_others(store: Any, reasons: dict[str, set[Reason]], besides: Iterable[str] = ()) -> int:
    """Protect again every registered import of ``store`` (but the graphs ``besides``) whose sensitive places
    changed since it was last protected: after an import or a taxon correction, for the store's ``reasons``
    (``store_reasons``). A graph whose reasons are as they were is left alone, so an import reads the graphs of
    the store's other imports only where it changes them (before, each import protected every graph again, each
    time reading the whole store: the 5th import of 100,000 observations spent 45 s there, the 1st 4 s). The
    number of graphs protected again."""
    import pyoxigraph as ox

    from amurkg.store import PROTECTION_GRAPH

    state, inputs = ox.NamedNode(PROTECTION_GRAPH), ox.NamedNode(_AKG + "protectedFor")
    skipped = set(besides)
    again = 0
    for record in store.imports():
        if record.graph in skipped:
            continue
        recorded = next(iter(store.hidden.quads_for_pattern(ox.NamedNode(record.graph), inputs, None, state)), None)
        if recorded is not None and recorded.object.value == (
            f"{_protected_for(store, record.graph, reasons)} {_twin_sizes(store, record.graph)}"
        ):
            continue
        protect(store, record.graph, reasons=reasons)
        again += 1
    return again


def protect(
    store: Any,
    graph: str,
    grid: Grid | None = None,
    also: Iterable[str] = (),
    before_writing: Callable[[], None] | None = None,
    reasons: dict[str, set[Reason]] | None = None,
) -> int:
    """Move the exact coordinates, place names and free text (``WITHHELD_TERMS``, and ``LINKED_TEXT_TERMS`` of
    their media and observations) of the sensitive deployments (and occurrences) of the import ``graph`` of
    ``store`` (an ``amurkg.store.Store`` open for writing) into its exact twin graph, which no query sees by
    default, and write their generalised coordinates, with ``dwc:dataGeneralizations`` and
    ``dwc:informationWithheld``, into its generalised twin, which queries see instead. Done before the import
    is registered, so no query ever sees the exact values in a visible graph. The number of records
    generalised. ``before_writing``, where given, is called once everything is read and before anything is
    written (the import counts the graph meanwhile).

    Run again on a graph already protected (``amurkg import --upgrade``, after the curated graph changed which
    taxa are threatened, or with another ``grid``), it recomputes: the generalised twin is written afresh from
    the exact values, newly sensitive records are moved, and records no longer sensitive get their exact values
    back. No exact value of a record that stays sensitive is ever in a visible graph on the way. Without
    ``grid``, the grid the graph was generalised to before is kept (the default for a new one)."""
    import pyoxigraph as ox

    from amurkg.store import PROTECTION_GRAPH, twin
    from amurkg.survey.rdf import _decimal

    media_paths = _media_paths()
    location_id = ox.NamedNode(_DWC + "locationID")
    source = ox.NamedNode(graph)
    exact, public = ox.NamedNode(twin(graph, True)), ox.NamedNode(twin(graph, False))
    if grid is None:  # the grid this graph was generalised to before (import --grid), else the default
        precision = ox.NamedNode(_DWC + "coordinatePrecision")
        earlier = next(iter(store.ox.quads_for_pattern(None, precision, None, public)), None)
        grid = Grid(float(earlier.object.value)) if earlier is not None else Grid()
    if reasons is None:  # the whole store decides, this graph with it
        reasons = store_reasons(store, [graph, *also])
    protected_for = _protected_for(store, graph, reasons)
    kept = list(store.hidden.quads_for_pattern(None, None, None, exact))  # exact values of an earlier protection
    kept_values: dict[str, list[Any]] = {}
    for quad in kept:
        kept_values.setdefault(quad.subject.value, []).append(quad)
    # the place names of every protected record of this graph: a camera protected as the leopard camera's
    # neighbour may name its post or folder after the neighbour's place ("Ridge Trail 2")
    neighbours = sorted(
        {
            q.object.value
            for subject in reasons
            for q in [
                *store.ox.quads_for_pattern(ox.NamedNode(subject), None, None, source),
                *kept_values.get(subject, []),
            ]
            if q.predicate.value in LOCALITY_TERMS
        }
    )
    moved: list[Any] = []
    added: list[Any] = []
    hidden_media: set[str] = set()  # media and observations whose paths or free text stay in the exact graph
    withholds: dict[str, withholder] = {}  # per protected camera: what its media paths must not show
    done = 0

    def decimal(value: float) -> Any:
        return ox.Literal(_decimal(value), datatype=ox.NamedNode(_XSD + "decimal"))

    for subject, why in sorted(reasons.items()):
        node = ox.NamedNode(subject)
        values: dict[str, float] = {}
        geometries = []
        own: list[Any] = []  # this record's values that leave the visible graph (``moved`` is every record's)
        for quad in store.ox.quads_for_pattern(node, None, None, source):
            if quad.predicate.value in WITHHELD_TERMS:  # place names and free text: withheld, nothing shown
                own.append(quad)
            elif quad.predicate.value in _MOVED:
                own.append(quad)
                values[quad.predicate.value] = float(quad.object.value)
            elif quad.predicate.value == _GEO + "hasGeometry":
                geometries.append(quad.object)
        moved.extend(own)
        for quad in kept_values.get(subject, []):
            if quad.predicate.value in _MOVED and quad.predicate.value not in WITHHELD_TERMS:
                values.setdefault(quad.predicate.value, float(quad.object.value))
        latitude, longitude = values.get(_DWC + "decimalLatitude"), values.get(_DWC + "decimalLongitude")
        if latitude is None or longitude is None:
            continue
        done += 1
        lat, lon = grid.point(latitude, longitude)
        uncertainty = grid.uncertainty(lat, values.get(_DWC + "coordinateUncertaintyInMeters"))
        for predicate, value in (
            ("decimalLatitude", decimal(lat)),
            ("decimalLongitude", decimal(lon)),
            ("coordinateUncertaintyInMeters", ox.Literal(str(uncertainty), datatype=ox.NamedNode(_XSD + "integer"))),
            ("coordinatePrecision", decimal(grid.degrees)),
            ("dataGeneralizations", ox.Literal(grid.generalization(why))),
            ("informationWithheld", ox.Literal(grid.withheld())),
        ):
            added.append(ox.Quad(node, ox.NamedNode(_DWC + predicate), value, public))
        # media paths that repeat the place name (a folder per camera site): exact ones hidden, "withheld" shown
        places = [q.object.value for q in own if q.predicate.value in LOCALITY_TERMS]
        places += [q.object.value for q in kept_values.get(subject, []) if q.predicate.value in LOCALITY_TERMS]
        places += coordinate_texts(
            q.object.value
            for q in [*own, *kept_values.get(subject, [])]
            if q.predicate.value in (_DWC + "decimalLatitude", _DWC + "decimalLongitude")
        )
        places += neighbours
        withhold = withholder(places)
        # a locationID that repeats the place name or the GPS fix ("post 43.10001_131.50001"): the exact one
        # hidden, the rest of it shown, so posts keep their names
        location_ids = [*store.ox.quads_for_pattern(node, location_id, None, source)]
        location_ids += [q for q in kept_values.get(subject, []) if q.predicate == location_id]
        for quad in location_ids if places else ():
            shown = withhold(quad.object.value)
            if shown != quad.object.value:
                if quad.graph_name == source:
                    moved.append(quad)
                added.append(ox.Quad(node, location_id, ox.Literal(shown), public))
        if places:
            withholds[subject] = withhold
        for geometry in geometries:
            wkts = list(store.ox.quads_for_pattern(geometry, ox.NamedNode(_GEO + "asWKT"), None, source))
            moved.extend(wkts)
            wkts += kept_values.get(geometry.value, [])
            for quad in wkts[:1]:
                wkt = f"{_CRS84} POINT({_decimal(lon)} {_decimal(lat)})"
                added.append(ox.Quad(geometry, quad.predicate, ox.Literal(wkt, datatype=quad.object.datatype), public))
    link = ox.NamedNode(_AKG + "deployment")

    def shown_paths(media: Any, quad: Any) -> list[str]:
        """What each protected camera of ``media`` shows of its path ``quad``, where that is not the path itself."""
        texts = []
        for camera in store.ox.quads_for_pattern(media, link, None, source):
            withhold = withholds.get(camera.object.value) if isinstance(camera.object, ox.NamedNode) else None
            if withhold is not None and (text := withhold(quad.object.value)) != quad.object.value:
                texts.append(text)
        return texts

    # media paths that repeat the place (a folder per camera site): the exact one hidden (or kept hidden, where an
    # earlier protection hid it), "withheld" shown
    paths = {*_camera_paths(store.ox, source, withholds), *((q.subject, q) for q in kept if q.predicate in media_paths)}
    for media, quad in sorted(paths, key=str):
        texts = shown_paths(media, quad)
        if texts:
            if quad.graph_name == source:
                moved.append(quad)
            added.extend(ox.Quad(media, quad.predicate, ox.Literal(text), public) for text in texts)
            hidden_media.add(media.value)

    # free text of the media and observations of protected cameras (comments, tags, EXIF data): withheld too
    def protected_camera(record: Any) -> bool:
        return any(
            isinstance(q.object, ox.NamedNode) and q.object.value in reasons
            for q in store.ox.quads_for_pattern(record, link, None, source)
        )

    for predicate in LINKED_TEXT_TERMS:
        for quad in store.ox.quads_for_pattern(None, ox.NamedNode(predicate), None, source):
            if protected_camera(quad.subject):
                moved.append(quad)
                hidden_media.add(quad.subject.value)
    for quad in kept:  # withheld by an earlier protection: stays withheld while the camera is protected
        if quad.predicate.value in LINKED_TEXT_TERMS and protected_camera(quad.subject):
            hidden_media.add(quad.subject.value)
    # records protected before that are sensitive no more (nor their geometries): their exact values come back
    still = (
        set(reasons)
        | {
            q.object.value
            for q in store.ox.quads_for_pattern(None, ox.NamedNode(_GEO + "hasGeometry"), None, source)
            if q.subject.value in reasons
        }
        | hidden_media
    )
    restored = [q for q in kept if q.subject.value not in still]
    # exact values are copied into hidden/ before they leave db/, and come back to db/ before they leave hidden/:
    # a process killed half way leaves a value in both (never in neither), and no value of a record that stays
    # sensitive is in db/ on the way
    if before_writing is not None:
        before_writing()
    # what the graph was protected for goes first and comes back last: a process killed on the way leaves none,
    # and the next import protects the graph again
    state, inputs = ox.NamedNode(PROTECTION_GRAPH), ox.NamedNode(_AKG + "protectedFor")
    for quad in list(store.hidden.quads_for_pattern(source, inputs, None, state)):
        store.hidden.remove(quad)
    store.hidden.extend([ox.Quad(q.subject, q.predicate, q.object, exact) for q in moved])
    store.hidden.flush()
    if public in set(store.ox.named_graphs()):
        store.ox.remove_graph(public)
    for quad in moved:
        store.ox.remove(quad)
    store.ox.extend(added)
    store.ox.extend([ox.Quad(q.subject, q.predicate, q.object, source) for q in restored])
    store.ox.flush()
    for quad in restored:
        store.hidden.remove(quad)
    store.hidden.add(ox.Quad(source, inputs, ox.Literal(f"{protected_for} {_twin_sizes(store, graph)}"), state))
    store.hidden.flush()
    return done
