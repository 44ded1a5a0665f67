"""Write Camtrap DP 1.0 back from a store (``amurkg export -f camtrapdp``): a folder or a zip with
``datapackage.json`` and the deployments, media and observations tables, which ``amurkg import`` and
frictionless accept.

Each table is read back from the graph through the same column mapping the importer used (``rdf._COLUMNS``),
in the order of the rows it came from, so that the official example comes back field by field (values as
typed values: ``1.30`` is written ``1.3``). The locations of cameras that recorded a threatened taxon are
generalised as every export generalises them (``amurkg.survey.sensitive``); ``spatial`` is the box of the
coordinates as written. Descriptor fields the store does not keep (``image``, ``homepage``, ``references``,
``relatedIdentifiers``, contributors' e-mail addresses) are not written: ``NOT_KEPT``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from amurkg.namespaces import AKG, PREFIXES

#: Descriptor fields of a Camtrap DP package that an export from a store cannot give back, and why.
NOT_KEPT = {
    "image": "not imported",
    "homepage": "not imported",
    "references": "not imported",
    "relatedIdentifiers": "not imported",
    "contributors.email": "personal data: not imported",
    "sources.path/email/version": "only a source's title is imported",
    "taxonomic.vernacularNames": "written for taxa the curated graph lacks only",
}
SCHEMA_BASE = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/"
TABLES = ("deployments", "media", "observations")

_RECORDS = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?record ?row ?p ?o WHERE {
  ?record a ?class ; prov:wasDerivedFrom ?r . ?r akg:rowNumber ?row ; dcterms:isPartOf/dcterms:isPartOf ?package .
  ?record ?p ?o .
}"""

_PACKAGE_QUERY = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
SELECT ?p ?o WHERE { ?package ?p ?o }"""

_NODES = """
SELECT ?node ?p ?o WHERE { ?package ?link ?node . ?node ?p ?o }"""


def _text(term: Any) -> str:
    """A cell as Camtrap DP writes it: decimals as people write them (1.30 -> 1.3, 2.0 -> 2)."""
    if term is None:
        return ""
    if term.datatype in (PREFIXES["xsd"] + "decimal", PREFIXES["xsd"] + "double"):
        value = float(term.value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(term.value)


def package_tables(kg: Any, package: str, grid: Any, flt: Any = None) -> tuple[dict[str, list[dict[str, str]]], Any]:
    """The three tables of ``package`` as rows of text, in their original order, and the coverage; with ``flt``
    (a ``SurveyFilter``) only what it keeps (``_keep``)."""
    from amurkg.survey.dwca import Coverage
    from amurkg.survey.rdf import _CLASSES, _COLUMNS, _ID
    from amurkg.survey.sensitive import (
        LOCALITY_COLUMNS,
        MEDIA_PATH_COLUMNS,
        WITHHELD_COLUMNS,
        coordinate_texts,
        sensitive_deployments,
        withholder,
    )

    coverage = Coverage()
    sensitive = sensitive_deployments(kg) if grid is not None else {}
    tables: dict[str, list[dict[str, str]]] = {}
    ids: dict[str, str] = {}  # record IRI -> its ID (deployments and media), for the links
    links = {f"{AKG}deployment": "deploymentID", f"{AKG}media": "mediaID"}
    for table in TABLES:
        by_predicate = {predicate: column for column, (predicate, _) in _COLUMNS[table].items()}
        records: dict[str, tuple[int, dict[str, str]]] = {}
        bindings = {"class": _iri(AKG + _CLASSES[table]), "package": _iri(package)}
        for record, row, predicate, value in kg.query(_RECORDS, bindings).rows:
            entry = records.setdefault(record.value, (int(row.value), {}))[1]
            column = by_predicate.get(predicate.value) or links.get(predicate.value)
            if column is None:
                continue
            if column in ("deploymentID", "mediaID") and predicate.value in links:
                entry.setdefault("_" + column, value.value)
            else:
                entry[column] = _text(value)
        rows = []
        for iri, (_, entry) in sorted(records.items(), key=lambda item: item[1][0]):
            ids[iri] = entry.get(_ID[table], "")
            entry["_iri"] = iri
            rows.append(entry)
        tables[table] = rows
    if flt is not None:
        _keep(kg, tables, flt)
    for table in ("media", "observations"):
        for entry in tables[table]:
            for column in ("deploymentID", "mediaID"):
                if "_" + column in entry:
                    entry[column] = ids.get(entry.pop("_" + column), "")
    places: dict[str, withholder] = {}  # deploymentID -> what withholds its locality text
    # every protected camera's place name: a neighbour protected with it may name its post after it
    neighbours = sorted(
        {
            entry.get(c, "")
            for entry in tables["deployments"]
            if grid is not None and _deployment_iri(package, entry["deploymentID"]) in sensitive
            for c in LOCALITY_COLUMNS
        }
    )
    for entry in tables["deployments"]:
        iri = _deployment_iri(package, entry["deploymentID"])
        if grid is not None and iri in sensitive:
            exact = coordinate_texts([entry["latitude"], entry["longitude"]])  # a folder named after the GPS fix
            lat, lon = grid.point(float(entry["latitude"]), float(entry["longitude"]))
            original = entry.get("coordinateUncertainty")
            entry["latitude"], entry["longitude"] = repr(lat), repr(lon)
            entry["coordinateUncertainty"] = str(grid.uncertainty(lat, float(original) if original else None))
            coverage.generalised.add(iri)
            coverage.reasons.update(sensitive[iri])
            places[entry["deploymentID"]] = withholder(
                [entry.pop(c, "") for c in LOCALITY_COLUMNS] + exact + neighbours
            )
            if entry.get("locationID"):  # a post named after its place or GPS fix
                entry["locationID"] = places[entry["deploymentID"]](entry["locationID"])
        coverage.add(float(entry["latitude"]), float(entry["longitude"]), "", "", "")
    for entry in tables["media"]:  # a folder named after the place gives it away as well
        for column in MEDIA_PATH_COLUMNS:
            if entry.get("deploymentID") in places and entry.get(column):
                entry[column] = places[entry["deploymentID"]](entry[column])
    for table, columns in WITHHELD_COLUMNS.items():  # free text that may describe the place: withheld too
        for entry in tables[table]:
            if entry.get("deploymentID") in places:
                for column in columns:
                    entry.pop(column, None)
    for entry in tables["deployments"]:  # Camtrap DP has no dataGeneralizations: the camera's comment says it
        iri = _deployment_iri(package, entry["deploymentID"])
        if entry["deploymentID"] in places:
            entry["deploymentComments"] = f"{grid.generalization(sensitive[iri])}; {grid.withheld()}"
    return tables, coverage


def _keep(kg: Any, tables: dict[str, list[dict[str, str]]], flt: Any) -> None:
    """Keep in ``tables`` what ``flt`` keeps, as the survey analyses read it: the deployments it keeps, the
    observations (event and media level) it keeps, and the media of those deployments that a kept observation
    names or that were taken within a kept event (so every link of the package still leads somewhere)."""
    import bisect

    from amurkg.survey.filters import deployments, detections

    cameras = {d.iri for d in deployments(kg, flt)}
    observed = {d.iri for d in detections(kg, flt, levels=("event", "media"))}
    tables["deployments"] = [e for e in tables["deployments"] if e["_iri"] in cameras]
    tables["observations"] = [e for e in tables["observations"] if e["_iri"] in observed]
    named = {e["_mediaID"] for e in tables["observations"] if e.get("_mediaID")}
    spans: dict[str, list[tuple[float, float]]] = {}
    for entry in tables["observations"]:
        if entry.get("eventStart") and entry.get("eventEnd"):
            span = (_seconds(entry["eventStart"]), _seconds(entry["eventEnd"]))
            spans.setdefault(entry.get("_deploymentID", ""), []).append(span)
    reach: dict[str, tuple[list[float], list[float]]] = {}  # deployment -> event starts, the latest end so far
    for deployment, found in spans.items():
        found.sort()
        latest: list[float] = []
        for _, end in found:
            latest.append(max(end, latest[-1]) if latest else end)
        reach[deployment] = ([start for start, _ in found], latest)

    def wanted(entry: dict[str, str]) -> bool:
        if entry.get("_deploymentID") not in cameras:
            return False
        if entry["_iri"] in named:
            return True
        starts, latest = reach.get(entry.get("_deploymentID", ""), ([], []))
        at = bisect.bisect_right(starts, _seconds(entry["timestamp"])) - 1 if entry.get("timestamp") else -1
        return at >= 0 and latest[at] >= _seconds(entry["timestamp"])

    tables["media"] = [e for e in tables["media"] if wanted(e)]


def _seconds(text: str) -> float:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _deployment_iri(package: str, identifier: str) -> str:
    from amurkg.survey.rdf import key

    return f"{package}/deployment/{key(identifier)}"


def _iri(text: str) -> Any:
    from amurkg.results import Term

    return Term("uri", text)


def descriptor(
    kg: Any, package: str, tables: dict[str, list[dict[str, str]]], coverage: Any, grid: Any
) -> dict[str, Any]:
    """``datapackage.json`` of ``package`` from what the store keeps of it."""
    from amurkg.survey.rdf import _CONTRIBUTOR, _LICENCE, _PACKAGE, _PROJECT

    values: dict[str, list[Any]] = {}
    for predicate, value in kg.query(_PACKAGE_QUERY, {"package": _iri(package)}).rows:
        values.setdefault(predicate.value, []).append(value)
    nodes: dict[str, dict[str, list[Any]]] = {}
    for node, predicate, value in kg.query(_NODES, {"package": _iri(package)}).rows:
        nodes.setdefault(node.value, {}).setdefault(predicate.value, []).append(value)

    def first(props: dict[str, list[Any]], iri: str) -> Any:
        found = props.get(iri)
        return found[0] if found else None

    out: dict[str, Any] = {
        "resources": [
            {
                "name": table,
                "path": f"{table}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": f"{SCHEMA_BASE}{table}-table-schema.json",
            }
            for table in TABLES
        ],
        "profile": f"{SCHEMA_BASE}camtrap-dp-profile.json",
    }
    for name, predicate in _PACKAGE:
        if (term := first(values, predicate)) is not None:
            out[name] = term.value
    if (created := first(values, PREFIXES["dcterms"] + "created")) is not None:
        out["created"] = created.value
    contributors = []
    for iri in (t.value for t in values.get(PREFIXES["dcterms"] + "contributor", [])):
        props = nodes.get(iri, {})
        person = {name: first(props, p).value for name, p in _CONTRIBUTOR if first(props, p) is not None}
        contributors.append((int(iri.rsplit("/", 1)[-1]) if iri.rsplit("/", 1)[-1].isdigit() else 0, person))
    out["contributors"] = [p for _, p in sorted(contributors, key=lambda item: item[0])]
    keywords = sorted(t.value for t in values.get(PREFIXES["schema"] + "keywords", []))
    if keywords:
        out["keywords"] = keywords
    sources = sorted(t.value for t in values.get(PREFIXES["dcterms"] + "source", []))
    if sources:
        out["sources"] = [{"title": title} for title in sources]
    licences = []
    for iri in (t.value for t in values.get(PREFIXES["dcterms"] + "license", [])):
        props = nodes.get(iri, {})
        entry = {name: first(props, p).value for name, p in _LICENCE if first(props, p) is not None}
        licences.append((iri, entry))
    if licences:
        out["licenses"] = [entry for _, entry in sorted(licences)]
    project_iri = first(values, AKG + "project")
    if project_iri is not None:
        props = nodes.get(project_iri.value, {})
        project: dict[str, Any] = {name: first(props, p).value for name, p in _PROJECT if first(props, p) is not None}
        for name in ("captureMethod", "observationLevel"):
            project[name] = sorted(t.value for t in props.get(AKG + name, []))
        if (animals := first(props, AKG + "individualAnimals")) is not None:
            project["individualAnimals"] = animals.value == "true"
        out["project"] = project
    if grid is not None and coverage.generalised:
        out["coordinatePrecision"] = grid.degrees
        cameras = len(coverage.generalised)
        note = (
            f"{cameras} deployment{'s' if cameras != 1 else ''} of this package: "
            f"{grid.generalization(coverage.reasons)}; {grid.withheld()} "
            "(each such deployment's deploymentComments says so)."
        )
        out["description"] = f"{out['description']}\n\n{note}" if out.get("description") else note
    elif (precision := first(values, PREFIXES["dwc"] + "coordinatePrecision")) is not None:
        out["coordinatePrecision"] = float(precision.value)
    if coverage.rows:
        west, east, south, north = coverage.west, coverage.east, coverage.south, coverage.north
        out["spatial"] = {
            "type": "Polygon",
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
        }
    start, end = first(values, AKG + "temporalStart"), first(values, AKG + "temporalEnd")
    if start is not None and end is not None:
        out["temporal"] = {"start": start.value[:10], "end": end.value[:10]}
    names = sorted({r["scientificName"] for r in tables["observations"] if r.get("scientificName")})
    out["taxonomic"] = [{"scientificName": name} for name in names]
    return out


def _csv(rows: list[dict[str, str]], table: str) -> str:
    from amurkg.survey.rdf import _COLUMNS

    columns = list(_COLUMNS[table])
    if table != "deployments":
        columns.insert(1, "deploymentID")
    if table == "observations":
        columns.insert(2, "mediaID")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return text.getvalue()


def store_packages(kg: Any) -> list[str]:
    """The IRIs of the packages a store holds, in order."""
    return [r[0].value for r in kg.query("SELECT ?p WHERE { ?p a akg:CameraTrapPackage } ORDER BY ?p").rows]


def package_files(
    kg: Any, package: str, grid: Any, flt: Any = None
) -> tuple[dict[str, list[dict[str, str]]], dict[str, Any]]:
    """The tables and the descriptor of ``package`` as written (``kg`` seeing the exact values: the caller
    holds ``exact_view``)."""
    tables, coverage = package_tables(kg, package, grid, flt)
    return tables, descriptor(kg, package, tables, coverage, grid)


def write_package(kg: Any, target: Path, grid: Any = "default", flt: Any = None) -> list[str]:
    """Write the one package ``kg``'s store holds as Camtrap DP 1.0 into ``target`` (a folder, or a ``.zip``);
    the files written. With ``flt`` (a ``SurveyFilter``), the part of it the filter keeps (``_keep``)."""
    from amurkg.errors import AmurkgError
    from amurkg.survey.sensitive import Grid, exact_view

    check_target(target)
    if grid == "default":
        grid = Grid()
    with exact_view(kg):
        packages = store_packages(kg)
        if len(packages) != 1:
            raise AmurkgError(
                f"the store holds {len(packages)} packages: export -f camtrapdp writes one (import it into a store "
                "of its own, or merge them into one with amurkg survey merge)"
            )
        tables, meta = package_files(kg, packages[0], grid, flt)
    return write_files(tables, meta, target)


def check_target(target: Path) -> None:
    """Refuse, before any work, a ``-o`` that cannot take a package: ``OutputError``, one line."""
    from amurkg.errors import OutputError

    if target.suffix.lower() == ".zip":
        if target.is_dir():
            raise OutputError(f"{target}: is a folder: name a .zip file to write, or the folder without .zip")
        if not target.parent.is_dir():
            raise OutputError(f"{target}: {target.parent} is not a folder: create the folder first")
    elif target.exists() and not target.is_dir():
        raise OutputError(f"{target}: is a file, not a folder: name a folder (-o DIR) or a .zip file")
    elif not target.exists() and not target.parent.is_dir():
        raise OutputError(f"{target}: {target.parent} is not a folder: create the folder first")
    folder = (target if target.is_dir() else target.parent).resolve()
    if any((place / "amurkg-store.json").is_file() for place in (folder, *folder.parents)):
        raise OutputError(f"{target}: would write into an amurkg store's folder: write the package somewhere else")


def write_files(tables: dict[str, list[dict[str, str]]], meta: dict[str, Any], target: Path) -> list[str]:
    """Write a package's tables and descriptor into ``target`` (a folder, each file written whole or not at
    all; or a ``.zip``, written whole or not at all); the files written."""
    from amurkg.errors import OutputError

    check_target(target)
    files = {f"{table}.csv": _csv(tables[table], table) for table in TABLES}
    files["datapackage.json"] = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
    partials: list[Path] = []
    try:
        if target.suffix.lower() == ".zip":
            partial = target.with_name(target.name + ".part")
            partials.append(partial)
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in sorted(files.items()):
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, data)
            partial.replace(target)
        else:
            target.mkdir(exist_ok=True)
            for name, data in files.items():
                partial = target / (name + ".part")
                partials.append(partial)
                partial.write_text(data, encoding="utf-8")
            for name in files:
                (target / (name + ".part")).replace(target / name)
    except OSError as exc:
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot be written: {exc.strerror or exc}") from None
    return sorted(files)
