"""Merge the packages of a store into one Camtrap DP package (``amurkg survey merge``), as the R package
camtrapdp's ``merge_camtrapdp`` does, naming every conflict it resolved and how.

Two packages may use the same identifiers (``D1``, ``M1``, ``O1``, ``E1``: every hand-made package does), the
same ``locationID`` for different places, different licences, projects, sampling designs, coordinate
precisions and taxonomies. Each is resolved by a rule written down here and reported as a ``Conflict``:

- an identifier (``deploymentID``, ``mediaID``, ``observationID``, ``eventID``) used by more than one package
  is prefixed with each package's name (``a_D1``, ``b_D1``) in that package's rows and in every row that
  refers to it; identifiers used once are kept (camtrapdp's rule); a prefixed identifier that is already
  taken gets a number too;
- a ``locationID`` that two packages use for different places (other coordinates or name) is prefixed the
  same way; one used for the same place is kept, so the location stays one;
- metadata: ``id`` and ``bibliographicCitation`` are not carried over (they name or cite one package);
  ``name`` and ``title`` name the packages merged; ``created`` is the time of the merge; descriptions are
  kept as paragraphs; contributors, keywords, sources and licences are combined without duplicates (a
  licence scope with several licences keeps them all, each binding the records of its package); the
  project's title and description are combined, its capture methods and observation levels are the union,
  ``individualAnimals`` is true if it is for any package, and differing sampling designs keep the first
  package's with the others named in the description (Camtrap DP allows one); ``coordinatePrecision`` is
  the coarsest; ``spatial`` and ``temporal`` cover all packages; ``taxonomic`` has each scientific name once
  (the first package's entry where they differ).

Coordinates are generalised as in every export (``amurkg.survey.sensitive``), before merging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amurkg.survey.naming import prefixed, sample, slug

#: The identifiers kept unique: each with the table that defines it and the columns that refer to it.
IDENTIFIERS: dict[str, tuple[str | None, tuple[tuple[str, str], ...]]] = {
    "deploymentID": (
        "deployments",
        (("deployments", "deploymentID"), ("media", "deploymentID"), ("observations", "deploymentID")),
    ),
    "mediaID": ("media", (("media", "mediaID"), ("observations", "mediaID"))),
    "observationID": ("observations", (("observations", "observationID"),)),
    "eventID": (None, (("observations", "eventID"),)),
}


@dataclass(frozen=True)
class Conflict:
    """A conflict between the packages merged, and how it was resolved."""

    field: str
    what: str
    resolution: str

    def __str__(self) -> str:
        return f"{self.field}: {self.what}; {self.resolution}"


@dataclass
class Part:
    """One package to merge: its tables (rows of text by column, as Camtrap DP writes them) and descriptor."""

    tables: dict[str, list[dict[str, str]]]
    descriptor: dict[str, Any]
    name: str = ""


@dataclass
class Merged:
    tables: dict[str, list[dict[str, str]]]
    descriptor: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)


def _names(parts: list[Part], conflicts: list[Conflict]) -> list[str]:
    names: list[str] = []
    for number, part in enumerate(parts, 1):
        given = part.name or str(part.descriptor.get("name") or part.descriptor.get("id") or f"package{number}")
        name = slug(given)
        if name in names:
            unique = next(f"{name}-{n}" for n in range(2, len(parts) + 2) if f"{name}-{n}" not in names)
            conflicts.append(
                Conflict("name", f"two packages are named {name}", f"the second is called {unique} in prefixes")
            )
            name = unique
        names.append(name)
    return names


def _rename_identifiers(parts: list[Part], names: list[str], conflicts: list[Conflict]) -> None:
    for identifier, (table, columns) in IDENTIFIERS.items():
        source, column = (table, identifier) if table else columns[0]
        used = [{row[column] for row in part.tables[source] if row.get(column)} for part in parts]
        taken = set().union(*used)
        shared = {value for value in taken if sum(value in ids for ids in used) > 1}
        if not shared:
            continue
        for part, name, ids in zip(parts, names, used, strict=True):
            mapping = prefixed(name, ids & shared, taken)
            for table_name, referring in columns:
                for row in part.tables[table_name]:
                    if row.get(referring) in mapping:
                        row[referring] = mapping[row[referring]]
        conflicts.append(
            Conflict(
                identifier,
                f"{len(shared)} used by more than one package ({sample(shared)})",
                "prefixed with each package's name (" + ", ".join(f"{n}_…" for n in names) + ") where they occur "
                "and in every row that refers to them",
            )
        )


def _rename_locations(parts: list[Part], names: list[str], conflicts: list[Conflict]) -> None:
    places: dict[str, set[tuple[str, str, str]]] = {}
    for part in parts:
        for row in part.tables["deployments"]:
            if row.get("locationID"):
                where = (row.get("latitude", ""), row.get("longitude", ""), row.get("locationName", ""))
                places.setdefault(row["locationID"], set()).add(where)
    owners: dict[str, set[int]] = {}
    for index, part in enumerate(parts):
        for row in part.tables["deployments"]:
            if row.get("locationID"):
                owners.setdefault(row["locationID"], set()).add(index)
    differing = {loc for loc, where in places.items() if len(owners[loc]) > 1 and len(where) > 1}
    if not differing:
        return
    for index, (part, name) in enumerate(zip(parts, names, strict=True)):
        for row in part.tables["deployments"]:
            if row.get("locationID") in differing and index in owners[row["locationID"]]:
                row["locationID"] = f"{name}_{row['locationID']}"
    conflicts.append(
        Conflict(
            "locationID",
            f"{len(differing)} used by more than one package for different places ({sample(differing)})",
            "prefixed with each package's name, so that they stay different locations",
        )
    )


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _licences(parts: list[Part], conflicts: list[Conflict]) -> list[dict[str, Any]]:
    licences = _unique(entry for part in parts for entry in part.descriptor.get("licenses", []))
    by_scope: dict[str, list[str]] = {}
    for entry in licences:
        by_scope.setdefault(str(entry.get("scope", "")), []).append(str(entry.get("name") or entry.get("path")))
    for scope, which in sorted(by_scope.items()):
        if len(set(which)) > 1:
            conflicts.append(
                Conflict(
                    "licenses",
                    f"the {scope} is under {' and '.join(sorted(set(which)))} in different packages",
                    "all listed: each binds the records of its package, so reuse of the whole must respect each",
                )
            )
    return licences


def _project(parts: list[Part], names: list[str], conflicts: list[Conflict]) -> dict[str, Any]:
    projects = [part.descriptor.get("project", {}) for part in parts]
    if all(p == projects[0] for p in projects):
        return dict(projects[0])
    out: dict[str, Any] = {}
    titles = _unique(p.get("title", "") for p in projects if p.get("title"))
    out["title"] = " + ".join(titles) if titles else "merged packages"
    for key in ("id", "acronym", "path"):
        values = _unique(p[key] for p in projects if p.get(key))
        if len(values) == 1:
            out[key] = values[0]
        elif values:
            conflicts.append(
                Conflict(f"project.{key}", f"differs ({sample(map(str, values))})", "left out of the merged project")
            )
    descriptions = _unique(p["description"] for p in projects if p.get("description"))
    designs = [(n, p.get("samplingDesign")) for n, p in zip(names, projects, strict=True) if p.get("samplingDesign")]
    design_values = _unique(d for _, d in designs)
    if design_values:
        out["samplingDesign"] = design_values[0]
    if len(design_values) > 1:
        listed = "; ".join(f"{n}: {d}" for n, d in designs)
        descriptions.append(f"Sampling designs of the merged packages: {listed}.")
        conflicts.append(
            Conflict(
                "project.samplingDesign",
                f"differs ({listed})",
                f"{design_values[0]} (the first package's; Camtrap DP allows one), the others named in the "
                "project's description",
            )
        )
    if descriptions:
        out["description"] = "\n\n".join(descriptions)
    out["captureMethod"] = sorted({m for p in projects for m in p.get("captureMethod", [])})
    out["individualAnimals"] = any(p.get("individualAnimals") for p in projects)
    out["observationLevel"] = sorted({m for p in projects for m in p.get("observationLevel", [])})
    conflicts.append(
        Conflict(
            "project",
            "the packages describe different projects",
            "titles and descriptions combined, capture methods and observation levels united, individualAnimals "
            "true if true for any",
        )
    )
    return out


def _taxonomic(parts: list[Part], conflicts: list[Conflict]) -> list[dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    differing: set[str] = set()
    for part in parts:
        for entry in part.descriptor.get("taxonomic", []):
            name = entry.get("scientificName")
            if not isinstance(name, str):
                continue
            if name in entries and entries[name] != entry:
                differing.add(name)
            entries.setdefault(name, entry)
    if differing:
        conflicts.append(
            Conflict(
                "taxonomic",
                f"{len(differing)} scientific names described differently by different packages ({sample(differing)})",
                "the first package's description kept",
            )
        )
    return [entries[name] for name in sorted(entries)]


def _box(deployments: list[dict[str, str]]) -> dict[str, Any] | None:
    points = [
        (float(r["longitude"]), float(r["latitude"])) for r in deployments if r.get("latitude") and r.get("longitude")
    ]
    if not points:
        return None
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def merge(parts: list[Part], created: str | None = None) -> Merged:
    """One package from ``parts`` (two or more), with the conflicts resolved. The parts' tables are changed
    in place (identifiers renamed)."""
    if len(parts) < 2:
        from amurkg.errors import ParameterError

        raise ParameterError(f"merging needs two packages or more, not {len(parts)}: import another one first")
    conflicts: list[Conflict] = []
    names = _names(parts, conflicts)
    _rename_identifiers(parts, names, conflicts)
    _rename_locations(parts, names, conflicts)
    tables = {t: [row for part in parts for row in part.tables[t]] for t in ("deployments", "media", "observations")}
    metas = [part.descriptor for part in parts]
    first = metas[0]
    out: dict[str, Any] = {"resources": first["resources"], "profile": first["profile"], "name": "-".join(names)}
    for key, why in (("id", "identifies one package"), ("bibliographicCitation", "cites one package")):
        if count := sum(1 for m in metas if m.get(key)):
            conflicts.append(Conflict(key, f"{count} of the packages have their own", f"not carried over: each {why}"))
    out["created"] = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    titles = [str(m.get("title") or n) for m, n in zip(metas, names, strict=True)]
    out["title"] = "Merged: " + "; ".join(titles)
    descriptions = _unique(str(m["description"]) for m in metas if m.get("description"))
    if descriptions:
        out["description"] = "\n\n".join(descriptions)
    contributors = [c for m in metas for c in m.get("contributors", [])]
    out["contributors"] = _unique(contributors)
    if len(out["contributors"]) < len(contributors):
        conflicts.append(
            Conflict(
                "contributors",
                f"{len(contributors) - len(out['contributors'])} listed by more than one package",
                "listed once",
            )
        )
    keywords = sorted({k for m in metas for k in m.get("keywords", [])})
    if keywords:
        out["keywords"] = keywords
    sources = _unique(s for m in metas for s in m.get("sources", []))
    if sources:
        out["sources"] = sources
    licences = _licences(parts, conflicts)
    if licences:
        out["licenses"] = licences
    out["project"] = _project(parts, names, conflicts)
    precisions = sorted({float(m["coordinatePrecision"]) for m in metas if m.get("coordinatePrecision")})
    if precisions:
        out["coordinatePrecision"] = precisions[-1]
        if len(precisions) > 1:
            conflicts.append(
                Conflict(
                    "coordinatePrecision",
                    f"differs ({', '.join(f'{p:g}' for p in precisions)})",
                    f"{precisions[-1]:g}, the coarsest: no coordinate is more precise than that",
                )
            )
    if (box := _box(tables["deployments"])) is not None:
        out["spatial"] = box
    spans = [m["temporal"] for m in metas if isinstance(m.get("temporal"), dict)]
    if spans:
        out["temporal"] = {"start": min(s["start"] for s in spans), "end": max(s["end"] for s in spans)}
    out["taxonomic"] = _taxonomic(parts, conflicts)
    return Merged(tables, out, conflicts)


def merge_store(
    kg: Any, target: Path, packages: list[str] | None = None, grid: Any = "default", created: str | None = None
) -> list[Conflict]:
    """Write the packages of ``kg``'s store (all, or those whose id, name or IRI is in ``packages``) as one
    Camtrap DP package into ``target`` (a folder or a ``.zip``); the conflicts resolved."""
    from amurkg.errors import ParameterError
    from amurkg.survey.camtrapdp_write import check_target, package_files, store_packages, write_files
    from amurkg.survey.sensitive import Grid, exact_view

    check_target(target)
    if grid == "default":
        grid = Grid()
    parts: list[Part] = []
    with exact_view(kg):
        held = store_packages(kg)
        for iri in held:
            tables, meta = package_files(kg, iri, grid)
            keys = {iri, str(meta.get("id", "")), str(meta.get("name", ""))}
            if packages and not keys & set(packages):
                continue
            parts.append(Part(tables, meta))
    if packages:
        found = {k for part in parts for k in (str(part.descriptor.get("id")), str(part.descriptor.get("name")))}
        missing = [p for p in packages if p not in found and p not in held]
        if missing:
            raise ParameterError(
                f"--package {missing[0]!r}: the store holds no such package; amurkg import --list --store DIR "
                "lists the packages it holds"
            )
    merged = merge(parts, created)
    write_files(merged.tables, merged.descriptor, target)
    return merged.conflicts
