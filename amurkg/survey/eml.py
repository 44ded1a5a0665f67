"""EML 2.2.0 metadata for the archives amurkg writes: who made the data (creators), whom to ask (contact, which
EML requires), what it covers (where, when, which taxa) and how it was collected (methods), and, where
coordinates were generalised, that they were and why.

No well-kept Python or npm package ships the EML 2.2.0 XML schemas (PyPI and npm were searched: the EML
packages there parse e-mail files), so ``problems`` checks what the schema requires of a dataset, element by
element and in the schema's order, with no dependency; the tests also validate what is written against the
EML 2.2.0 release's own XSD files (tests/data/eml-2.2.0, GPL-licensed, test data only) with lxml, offline.
Text from a package is written as XML 1.0 can carry it (control characters dropped), and where the schema asks
for a non-blank value (a title, a name) a blank one is replaced or left out.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

EML_NS = "https://eml.ecoinformatics.org/eml-2.2.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

_CONTRIBUTORS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <http://schema.org/>
SELECT ?package ?node ?name ?role ?organization ?url WHERE {
  ?package a akg:CameraTrapPackage ; dcterms:contributor ?node .
  ?node rdfs:label ?name .
  OPTIONAL { ?node akg:contributorRole ?role } OPTIONAL { ?node schema:affiliation ?organization }
  OPTIONAL { ?node schema:url ?url }
}
ORDER BY ?package ?node"""

_PROJECTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?package ?title ?design (GROUP_CONCAT(DISTINCT ?method; separator=", ") AS ?methods) WHERE {
  ?package a akg:CameraTrapPackage ; akg:project ?project .
  OPTIONAL { ?project dcterms:title ?title } OPTIONAL { ?project akg:samplingDesign ?design }
  OPTIONAL { ?project akg:captureMethod ?method }
}
GROUP BY ?package ?title ?design
ORDER BY ?package"""


def _v(term: Any) -> str:
    return "" if term is None else str(term.value)


def package_people(kg: Any) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The contributors and the projects of the packages ``kg`` holds."""
    people = [
        dict(zip(("package", "node", "name", "role", "organization", "url"), map(_v, r), strict=True))
        for r in kg.query(_CONTRIBUTORS).rows
    ]
    projects = [
        dict(zip(("package", "title", "design", "methods"), map(_v, r), strict=True)) for r in kg.query(_PROJECTS).rows
    ]
    return people, projects


#: Characters XML 1.0 cannot carry (C0 controls but tab, line feed and carriage return; U+FFFE, U+FFFF; lone
#: surrogates): a package's title or a contributor's name may hold them, the EML may not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """``text`` as XML 1.0 can carry it."""
    return _NOT_XML.sub("", text)


def _said(text: str) -> str:
    """``text`` cleaned, or nothing where nothing but white space is left (the schema's NonEmptyStringType
    requires a character that is not white space in what it names)."""
    cleaned = _clean(text)
    return cleaned.strip() and cleaned


def _text(parent: ElementTree.Element, tag: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    element.text = _clean(text)
    return element


def _para(parent: ElementTree.Element, tag: str, text: str) -> None:
    _text(ElementTree.SubElement(parent, tag), "para", text)


def _is_organisation(person: dict[str, str]) -> bool:
    return person["role"] in ("rightsHolder", "publisher") and not person["organization"]


def _party(parent: ElementTree.Element, tag: str, person: dict[str, str]) -> ElementTree.Element:
    party = ElementTree.SubElement(parent, tag)
    name, organization = _said(person["name"]), _said(person["organization"])
    if _is_organisation(person) and name:
        _text(party, "organizationName", name)
    else:
        names = name.split()
        if names:
            individual = ElementTree.SubElement(party, "individualName")
            if len(names) > 1:
                _text(individual, "givenName", " ".join(names[:-1]))
            _text(individual, "surName", names[-1])
        if organization:
            _text(party, "organizationName", organization)
        if not (names or organization):  # the schema asks for a name, an organisation or a position
            _text(party, "positionName", "not stated in the package")
    url = _clean(person["url"]).strip()
    if re.fullmatch(r"https://orcid\.org/\S+", url):
        user = _text(party, "userId", url)
        user.set("directory", "https://orcid.org/")
    elif re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", url):  # an address the schema's anyURI takes; else none
        _text(party, "onlineUrl", url)
    return party


def eml_xml(
    packages: list[dict[str, str]],
    people: list[dict[str, str]] | None = None,
    projects: list[dict[str, str]] | None = None,
    coverage: Any = None,
    grid: Any = None,
    media: int | None = None,
) -> str:
    """EML 2.2.0: one dataset describing the packages exported together (the same bytes for the same store).
    ``media``: the number of Audubon Core media records the archive carries beside its occurrences (its
    ``multimedia.txt`` extension), which the methods describe; ``None`` for an archive without the extension."""
    people, projects = people or [], projects or []
    if len(packages) == 1:
        title = _said(packages[0].get("title", "")) or _said(packages[0].get("id", "")) or "amurkg export"
        abstract = _said(packages[0].get("description", "")) or title
    else:
        title = f"Camera-trap observations of {len(packages)} packages (amurkg export)"
        abstract = "; ".join(_said(p.get("title", "")) or _said(p.get("id", "")) for p in packages)
        abstract = abstract if abstract.strip("; ") else title
    ident = (_said(packages[0].get("id", "")) if len(packages) == 1 else "") or "amurkg-export"
    ElementTree.register_namespace("eml", EML_NS)
    ElementTree.register_namespace("xsi", XSI_NS)
    root = ElementTree.Element(f"{{{EML_NS}}}eml")
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{EML_NS} {EML_NS}/eml.xsd")
    root.set("packageId", ident)
    root.set("system", "amurkg")
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    dataset = ElementTree.SubElement(root, "dataset")
    for package in packages:
        if _said(package.get("id", "")):
            _text(dataset, "alternateIdentifier", package["id"])
    _text(dataset, "title", title)
    seen: set[tuple[str, str]] = set()
    unique = []
    for person in people:
        if (person["name"], person["role"]) not in seen:
            seen.add((person["name"], person["role"]))
            unique.append(person)
    creators = [p for p in unique if p["role"] not in ("rightsHolder", "publisher")]
    holders = [p for p in unique if p["role"] == "rightsHolder"]
    if not holders:
        holders = [
            {"name": p["rightsHolder"], "role": "rightsHolder", "organization": "", "url": ""}
            for p in packages
            if p.get("rightsHolder")
        ]
    for person in creators or holders:
        _party(dataset, "creator", person)
    if not (creators or holders):
        _text(ElementTree.SubElement(dataset, "creator"), "positionName", "not stated in the package")
    contacts = [p for p in unique if p["role"] == "contact"] or creators[:1] or holders[:1]
    for person in contacts:
        _party(dataset, "metadataProvider", person)
    for person in unique:
        if person not in creators and person not in contacts:
            _text(_party(dataset, "associatedParty", person), "role", person["role"] or "contributor")
    dates = sorted(p["created"][:10] for p in packages if re.match(r"\d{4}-\d\d-\d\d", p.get("created", "")))
    _text(dataset, "pubDate", dates[-1] if dates else "1970-01-01")
    _text(dataset, "language", "en")
    _para(dataset, "abstract", abstract)
    rights = "; ".join(sorted({_said(p.get("license", "")) for p in packages} - {""})) or "not stated"
    _para(dataset, "intellectualRights", rights)
    if coverage is not None and coverage.rows:
        _coverage(dataset, coverage, grid)
    for person in contacts:
        _party(dataset, "contact", person)
    if not contacts:
        _text(ElementTree.SubElement(dataset, "contact"), "positionName", "not stated in the package")
    _methods(dataset, projects, coverage, grid, media)
    ElementTree.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _decimal(value: float) -> str:
    """A number as ``xs:decimal`` writes it: never an exponent (1e-05 is 0.00001), no trailing zeros."""
    from decimal import Decimal

    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _coverage(dataset: ElementTree.Element, coverage: Any, grid: Any) -> None:
    element = ElementTree.SubElement(dataset, "coverage")
    geographic = ElementTree.SubElement(element, "geographicCoverage")
    where = "The camera locations of the observations, as published"
    if coverage.generalised:
        where += f" (those of cameras that recorded a threatened taxon generalised to a {grid.text()} degree grid)"
    _text(geographic, "geographicDescription", where + ".")
    box = ElementTree.SubElement(geographic, "boundingCoordinates")
    for tag, value in (
        ("westBoundingCoordinate", coverage.west),
        ("eastBoundingCoordinate", coverage.east),
        ("northBoundingCoordinate", coverage.north),
        ("southBoundingCoordinate", coverage.south),
    ):
        _text(box, tag, _decimal(value))
    if coverage.begin and coverage.end:
        dates = ElementTree.SubElement(ElementTree.SubElement(element, "temporalCoverage"), "rangeOfDates")
        _text(ElementTree.SubElement(dates, "beginDate"), "calendarDate", coverage.begin)
        _text(ElementTree.SubElement(dates, "endDate"), "calendarDate", coverage.end)
    taxa = sorted({name for name in map(_said, coverage.taxa) if name})
    if taxa:
        taxonomic = ElementTree.SubElement(element, "taxonomicCoverage")
        for name in taxa:
            classification = ElementTree.SubElement(taxonomic, "taxonomicClassification")
            _text(classification, "taxonRankValue", name)


def _methods(
    dataset: ElementTree.Element, projects: list[dict[str, str]], coverage: Any, grid: Any, media: int | None
) -> None:
    methods = ElementTree.SubElement(dataset, "methods")
    for project in projects or [{"title": "", "design": "", "methods": ""}]:
        step = ElementTree.SubElement(ElementTree.SubElement(methods, "methodStep"), "description")
        text = "Camera trapping"
        if project["title"]:
            text += f" in the project {project['title']}"
        if project["design"]:
            text += f", sampling design {project['design']}"
        if project["methods"]:
            text += f", capture methods {project['methods']}"
        _text(step, "para", text + ". The archive holds the event-level animal observations, one per row.")
    if media is not None:
        step = ElementTree.SubElement(ElementTree.SubElement(methods, "methodStep"), "description")
        hidden = (
            "; those of cameras whose coordinates were generalised, and media files that are not public, have no "
            "accessURI (a picture shows the place)"
            if coverage is not None and coverage.generalised
            else "; media files that are not public have no accessURI"
        )
        _text(
            step,
            "para",
            f"The archive also carries {media} media record(s) in the Audubon Core multimedia extension "
            "(rowType http://rs.tdwg.org/ac/terms/Multimedia, file multimedia.txt, declared in meta.xml): each "
            "image, video or sound file of an observation's event, linked to the occurrence by its coreid, with its "
            f"identifier, type, format, creation time, capture device and technique and rights{hidden}. The files "
            "themselves are not in the archive.",
        )
    if coverage is not None and coverage.generalised:
        step = ElementTree.SubElement(ElementTree.SubElement(methods, "methodStep"), "description")
        named = "; ".join(sorted(map(str, coverage.reasons)))
        _text(
            step,
            "para",
            f"The coordinates of {len(coverage.generalised)} camera deployment(s) that recorded a threatened taxon "
            f"({named}) were generalised to the centre of a {grid.text()} degree grid cell, after GBIF's guidance "
            "(Chapman 2020, https://doi.org/10.15468/doc-5jp4-5g10); coordinateUncertaintyInMeters covers the "
            "cell. The exact coordinates are withheld, and so are the place names and the free text of those "
            "cameras' records that may describe the place (habitat, event and occurrence remarks; in the source "
            "data also tags, media comments and EXIF data); all are kept by the data holder.",
        )
    sampling = ElementTree.SubElement(methods, "sampling")
    _para(_sub(sampling, "studyExtent"), "description", "The deployments (camera placements) of the packages.")
    _para(sampling, "samplingDescription", "Motion- or time-triggered camera traps; images grouped into events.")


def _sub(parent: ElementTree.Element, tag: str) -> ElementTree.Element:
    return ElementTree.SubElement(parent, tag)


#: What EML 2.2.0's schema requires of a dataset, in its order: (element, at least once).
_DATASET_ORDER = [
    ("alternateIdentifier", False),
    ("shortName", False),
    ("title", True),
    ("creator", True),
    ("metadataProvider", False),
    ("associatedParty", False),
    ("pubDate", False),
    ("language", False),
    ("series", False),
    ("abstract", False),
    ("keywordSet", False),
    ("additionalInfo", False),
    ("intellectualRights", False),
    ("licensed", False),
    ("distribution", False),
    ("coverage", False),
    ("annotation", False),
    ("purpose", False),
    ("introduction", False),
    ("gettingStarted", False),
    ("acknowledgements", False),
    ("maintenance", False),
    ("contact", True),
    ("publisher", False),
    ("pubPlace", False),
    ("methods", False),
    ("project", False),
]
_PARTY = ("creator", "metadataProvider", "associatedParty", "contact", "publisher")


def problems(xml: str | bytes) -> list[str]:
    """What keeps ``xml`` from being an EML 2.2.0 document the schema accepts, as far as a dataset goes:
    root name and attributes, the dataset's elements (required ones present, all in the schema's order),
    each responsible party naming someone (a person's surname, an organisation or a position), the bounding
    coordinates in range, the dates ISO 8601, a method step's description."""
    from amurkg.xmlsafe import parse

    found: list[str] = []
    # amurkg's one XML path (any encoding, DOCTYPEs and entities refused): never ElementTree's own parser
    root = parse("eml.xml", xml.encode("utf-8") if isinstance(xml, str) else xml)
    if root.tag != f"{{{EML_NS}}}eml":
        return [f"root is {root.tag}, not eml:eml of {EML_NS}"]
    for attribute in ("packageId", "system"):
        if not root.get(attribute):
            found.append(f"eml:eml lacks the required attribute {attribute}")
    dataset = root.find("dataset")
    if dataset is None:
        return [*found, "no dataset"]
    order = [name for name, _ in _DATASET_ORDER]
    position = -1
    for child in dataset:
        if child.tag not in order:
            found.append(f"dataset/{child.tag}: not an element of a dataset")
            continue
        if order.index(child.tag) < position:
            found.append(f"dataset/{child.tag}: out of the schema's order")
        position = max(position, order.index(child.tag))
        if child.tag in _PARTY:
            names = child.find("individualName/surName"), child.find("organizationName"), child.find("positionName")
            if not any(n is not None and (n.text or "").strip() for n in names):
                found.append(
                    f"dataset/{child.tag}: names no one (individualName/surName, organizationName, positionName)"
                )
            if child.tag == "associatedParty" and child.find("role") is None:
                found.append("dataset/associatedParty: no role")
    for name, required in _DATASET_ORDER:
        if required and dataset.find(name) is None:
            found.append(f"dataset/{name}: required, missing")
    for path in ("title", "abstract/para", "intellectualRights/para"):
        element = dataset.find(path)
        if element is not None and not (element.text or "").strip():
            found.append(f"dataset/{path}: empty")
    box = dataset.find("coverage/geographicCoverage/boundingCoordinates")
    if box is not None:
        for tag, limit in (("west", 180), ("east", 180), ("north", 90), ("south", 90)):
            value = box.findtext(f"{tag}BoundingCoordinate", "")
            try:
                if abs(float(value)) > limit:
                    raise ValueError
            except ValueError:
                found.append(f"coverage: {tag}BoundingCoordinate {value!r} is not a number within ±{limit}")
    for element in dataset.iter("calendarDate"):
        if not re.fullmatch(r"\d{4}(-\d\d(-\d\d)?)?", element.text or ""):
            found.append(f"calendarDate {element.text!r} is not an ISO 8601 date")
    pub = dataset.findtext("pubDate", "")
    if pub and not re.fullmatch(r"\d{4}(-\d\d-\d\d)?", pub):
        found.append(f"pubDate {pub!r} is not an ISO 8601 date")
    methods = dataset.find("methods")
    if methods is not None:
        steps = methods.findall("methodStep")
        if not steps:
            found.append("methods: needs at least one methodStep")
        for step in steps:
            if step.find("description") is None:
                found.append("methods/methodStep: needs a description")
    return found
