"""The survey corrections as recorded, and those in force (``amurkg.survey.corrections`` records them).

It stands below ``filters`` and ``sensitive``, which apply the corrections in force, and below
``corrections``, which writes them: it reads, and imports no other module of ``amurkg.survey``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amurkg.codedigest import of_module
from amurkg.namespaces import AKG, AMUR

# the package of a record IRI, as the canned survey queries' package filter reads it
from amurkg.selection import package_of as package_of

#: this module's source as it was loaded (``amurkg.codedigest``)
SOURCE_DIGEST = of_module(__name__)

CORRECTION_BASE = AMUR + "correction/"


@dataclass(frozen=True)
class Correction:
    """One correction as recorded: ``kind`` is ``clock`` or ``taxon``."""

    id: str
    kind: str
    target: str  # the deployment IRI (clock) or the recorded scientific name (taxon)
    value: str  # the offset in seconds (clock) or the taxon IRI (taxon)
    package: str
    by: str
    at: str
    reason: str
    undone_at: str | None = None
    undone_note: str | None = None

    @property
    def active(self) -> bool:
        return self.undone_at is None


_CORRECTIONS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?c ?type ?deployment ?offset ?name ?taxon ?package ?by ?at ?why ?undone ?note WHERE {
  ?c a ?type ; prov:wasAttributedTo ?by ; prov:generatedAtTime ?at ; rdfs:comment ?why .
  VALUES ?type { akg:ClockCorrection akg:TaxonCorrection }
  OPTIONAL { ?c akg:correctedDeployment ?deployment ; akg:clockOffset ?offset }
  OPTIONAL { ?c akg:correctedName ?name ; dwciri:toTaxon ?taxon }
  OPTIONAL { ?c akg:correctedPackage ?package }
  OPTIONAL { ?c prov:invalidatedAtTime ?undone OPTIONAL { ?c skos:changeNote ?note } }
}"""


def corrections(kg: Any) -> list[Correction]:
    """Every correction recorded in the store, withdrawn ones included, oldest first."""

    out = []
    for row in kg.query(_CORRECTIONS, where="survey corrections").rows:
        c, kind, deployment, offset, name, taxon, package, by, at, why, undone, note = (
            None if t is None else t.value for t in row
        )
        if c is None or not c.startswith(CORRECTION_BASE):
            continue
        if kind == AKG + "ClockCorrection" and deployment is not None and offset is not None:
            out.append(
                Correction(
                    c[len(CORRECTION_BASE) :],
                    "clock",
                    deployment,
                    offset,
                    package_of(deployment),
                    by or "",
                    at or "",
                    why or "",
                    undone,
                    note,
                )
            )
        elif name is not None and taxon is not None:
            pkg = package_of(package + "/") if package else ""
            out.append(
                Correction(
                    c[len(CORRECTION_BASE) :], "taxon", name, taxon, pkg, by or "", at or "", why or "", undone, note
                )
            )
    return sorted(out, key=lambda x: (x.at, x.id))


def clock_shifts(kg: Any) -> dict[str, float]:
    """Seconds to add to each deployment's times, from the clock corrections in force."""
    shifts: dict[str, float] = {}
    for c in corrections(kg):
        if c.kind == "clock" and c.active:
            shifts[c.target] = shifts.get(c.target, 0.0) + float(c.value)
    return shifts


def taxon_updates(kg: Any) -> dict[tuple[str, str], str]:
    """``(package or "", normalised recorded name) -> taxon IRI`` from the taxon corrections in force (the latest
    wins)."""
    return {(c.package, c.target): c.value for c in corrections(kg) if c.kind == "taxon" and c.active}
