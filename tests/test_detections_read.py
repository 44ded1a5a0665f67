"""The survey analyses' read of detections (one scan per property, joined in Python) against the straightforward
one (the single joined SPARQL query it replaced), on generated packages with clock and taxon corrections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import amurkg
from amurkg.survey import corrections as corr
from amurkg.survey.filters import (
    _BELOW,
    _NAME,
    Detection,
    SurveyFilter,
    _excluded_media,
    _iri,
    _only_excluded,
    _value,
    deployments,
    detections,
    detections_of,
    instant,
)
from amurkg.survey.generate import generate

#: The query the analyses read detections with until the read was split per property.
JOINED = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?obs ?deployment ?start ?taxon ?name ?type ?level ?count ?individual ?media ?method ?gap ?recorded WHERE {
  ?obs a akg:CameraTrapObservation ; akg:deployment ?deployment ; akg:eventStart ?start ;
    akg:observationType ?type ; akg:observationLevel ?level .
  OPTIONAL { ?obs dwciri:toTaxon ?taxon OPTIONAL { ?taxon dwc:scientificName ?name } }
  OPTIONAL { ?obs dwc:individualCount ?count }
  OPTIONAL { ?obs dwc:organismID ?individual }
  OPTIONAL { ?obs akg:media ?media OPTIONAL { ?media akg:captureMethod ?method } }
  OPTIONAL { ?obs akg:minutesSincePrevious ?gap }
  OPTIONAL { ?obs dwc:scientificName ?recorded }
}"""


def straightforward(kg: Any, flt: SurveyFilter, levels: tuple[str, ...] = ("event",)) -> list[Detection]:
    """Every row of the joined query, filtered, corrected and chosen by taxon in Python."""
    from amurkg.survey.rdf import TaxonIndex

    kept = {d.iri: d for d in deployments(kg, flt)}
    lo, hi = flt.window()
    updates = corr.taxon_updates(kg)
    below = None
    if flt.taxon is not None:
        target = kg.resolve(flt.taxon, "taxon")
        below = {r[0].value for r in kg.query(_BELOW, {"target": target}, where="below").rows if r[0]}
    media = _excluded_media(kg, flt) if flt.exclude_capture_methods else {}
    out = []
    for row in kg.query(JOINED, where="joined").rows:
        obs, deployment, start, taxon, name, kind, level, count, individual, own, method, gap, recorded = (
            _value(t) for t in row
        )
        if own is not None and method is None:
            method = ""  # its own media has no capture method: no time-lapse image, whatever is near it
        if deployment not in kept or kind not in flt.observation_types or level not in levels:
            continue
        camera = kept[deployment]
        moment = instant(start) + camera.shift  # type: ignore[arg-type]
        if not lo <= moment < hi or (method is not None and method in flt.exclude_capture_methods):
            continue
        if method is None and media and _only_excluded(media.get(deployment or ""), moment):
            continue
        if updates and recorded is not None:
            normal = TaxonIndex.normal(recorded)
            corrected = updates.get((camera.package, normal)) or updates.get(("", normal))
            if corrected is not None and corrected != taxon:
                found = kg.query(_NAME, {"taxon": _iri(corrected)}, where="name").rows
                taxon, name = corrected, (found[0][0].value if found and found[0][0] is not None else recorded)
        if below is not None and taxon not in below:
            continue
        out.append(
            Detection(
                obs,  # type: ignore[arg-type]
                camera,
                moment,
                taxon,
                name,
                kind,  # type: ignore[arg-type]
                int(float(count)) if count is not None else None,
                individual,
                float(gap) if gap is not None else None,
            )
        )
    return sorted(out, key=lambda d: (d.deployment.package, d.deployment.deployment_id, d.start, d.iri))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("read")
    path = tmp / "store"
    amurkg.import_package(path, generate(tmp / "package", 600, 3, time_lapse=0.15))  # some left out as time-lapse
    with amurkg.KnowledgeGraph(store=path) as kg:
        first = deployments(kg)[0].deployment_id
    corr.shift_time(path, [first], "-01:30", "clock late", by="t")
    corr.update_taxon(path, "Sus scrofa", "Capreolus pygargus", "a test correction", by="t")
    return path


FILTERS = [
    SurveyFilter(),
    SurveyFilter(taxon="Amur leopard"),
    SurveyFilter(taxon="Capreolus pygargus"),  # gains the corrected boars
    SurveyFilter(taxon="Sus scrofa"),  # loses them all
    SurveyFilter(observation_types=("animal", "human"), exclude_capture_methods=()),
    SurveyFilter(start="2023-02-01", end="2023-05-31"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f.taxon))
def test_the_split_read_gives_the_joined_querys_detections(store: Path, flt: SurveyFilter) -> None:
    with amurkg.KnowledgeGraph(store=store) as kg:
        expected = straightforward(kg, flt)
        assert expected or flt.taxon == "Sus scrofa"  # the others keep something: the comparison could fail
        assert detections(kg, flt) == expected
        assert detections(kg, flt, ("event", "media")) == straightforward(kg, flt, ("event", "media"))


def test_one_read_for_several_taxa_gives_each_taxons_detections(store: Path) -> None:
    taxa = ["Amur leopard", "Capreolus pygargus", "Sus scrofa", None]
    with amurkg.KnowledgeGraph(store=store) as kg:
        together = detections_of(kg, SurveyFilter(), taxa)
        assert together == {t: straightforward(kg, SurveyFilter(taxon=t)) for t in taxa}
        assert not together["Sus scrofa"] and together["Capreolus pygargus"]


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("plain")
    path = tmp / "store"
    amurkg.import_package(path, generate(tmp / "package", 600, 5))
    return path


@pytest.mark.parametrize(
    "taxa", [["Amur leopard"], ["Panthera tigris altaica"], ["Amur leopard", "Panthera tigris altaica"], [None]]
)
def test_without_corrections_few_taxa_are_read_from_the_taxa(plain: Path, taxa: list[str | None]) -> None:
    from amurkg.survey import filters

    with amurkg.KnowledgeGraph(store=plain) as kg:
        targets = [kg.resolve(t, "taxon") for t in taxa if t is not None]
        if len(targets) == 1:  # under a third of the observations: the query from the taxa answers, not the scans
            assert filters._few(kg, targets)
        together = detections_of(kg, SurveyFilter(), taxa)
        assert together == {t: straightforward(kg, SurveyFilter(taxon=t)) for t in taxa}
        assert all(together.values())
