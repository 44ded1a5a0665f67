"""Field data: Camtrap DP import into a store, the survey questions, and every kind of bad package.

Expected answers for ``tests/data/survey-small`` were worked out by hand from its rows (see its README);
those for the official Camtrap DP example package are recomputed here from its CSV files, independently of
the importer.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import shutil
import zipfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import ParameterError
from amurkg.store import MARKER, Store, StoreError

SMALL = REPO / "tests" / "data" / "survey-small"
#: The official Camtrap DP 1.0.2 example package (MIT), copied into the tests from ../shared/data.
EXAMPLE = REPO / "tests" / "data" / "camtrap-dp-example"
PROBLEM = re.compile(r"^amurkg: error: \S.*?:\d+(:\d+ \(\w+\))?: \S")


def run(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from amurkg.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("small") / "store"
    result = run("import", str(SMALL), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    assert "Lynx lynx (1)" in result.stderr  # the unknown name is reported
    return store


@pytest.fixture(scope="module")
def small(small_store: Path) -> amurkg.KnowledgeGraph:
    return amurkg.KnowledgeGraph(store=small_store)


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("example") / "store"
    assert run("import", str(EXAMPLE), "--store", str(store)).exit_code == 0
    return store


def table(kg: amurkg.KnowledgeGraph, name: str, params: dict[str, str] | None = None, *columns: str) -> list[tuple]:
    rows = kg.run(name, params or {}).as_text_dicts()
    return [tuple(row.get(c) for c in columns) for row in rows]


# ------------------------------------------------------------------ hand-computed answers


def test_survey_effort_is_days_from_start_to_end(small: amurkg.KnowledgeGraph) -> None:
    assert table(small, "survey-effort", None, "deploymentID", "cameraDays", "location") == [
        ("D1", "10", None),  # a leopard's camera: its place name is withheld with its coordinates
        ("D2", "4.5", "stream, upper"),
    ]


@pytest.mark.parametrize(
    ("interval", "leopard", "roe_deer"),
    [("30", "2", "2"), ("15", "3", "2"), ("60", "2", "1")],
)
def test_detection_rate_counts_independent_event_level_detections(
    small: amurkg.KnowledgeGraph, interval: str, leopard: str, roe_deer: str
) -> None:
    rows = table(small, "detection-rate", {"interval": interval}, "deploymentID", "scientificName", "detections", "rai")
    assert rows == [
        ("D1", "Capreolus pygargus", roe_deer, str(int(roe_deer) * 10)),
        ("D1", "Lynx lynx", "1", "10"),
        ("D1", "Panthera pardus orientalis", leopard, str(int(leopard) * 10)),
        ("D1", "Sus scrofa", "1", "10"),
        # the synonym Cervus nippon hortulorum is the curated Manchurian sika deer
        ("D2", "Cervus nippon mantchuricus", "1", "22.222"),
        ("D2", "Sus scrofa", "1", "22.222"),
    ]


def test_prey_detection_rate_joins_the_curated_prey_with_the_survey(small: amurkg.KnowledgeGraph) -> None:
    assert table(small, "prey-detection-rate", None, "deploymentID", "preyName", "detections", "rai") == [
        ("D1", "Siberian roe deer", "2", "20"),
        ("D1", "wild boar", "1", "10"),
        ("D2", "Manchurian sika deer", "1", "22.222"),
        ("D2", "wild boar", "1", "22.222"),
    ]


def test_activity_pattern_uses_the_local_hour_of_the_deployment(small: amurkg.KnowledgeGraph) -> None:
    # 01:00Z and 13:00Z at a camera set up at UTC+10
    assert table(small, "activity-pattern", {"taxon": "Amur leopard"}, "hour", "detections") == [
        ("11", "1"),
        ("23", "1"),
    ]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (
            "7",
            [
                ("D1", "Siberian roe deer", "3", "2", "2023-01-02T01:00:00Z"),
                ("D1", "wild boar", "3", "1", "2023-01-02T01:00:00Z"),
            ],
        ),
        (
            "2",
            [
                ("D1", "Siberian roe deer", "2", "2", "2023-01-02T01:00:00Z"),
                ("D1", "wild boar", "1", "1", "2023-01-05T13:00:00Z"),
            ],
        ),
        ("1", []),
    ],
)
def test_co_detections_within_a_window(small: amurkg.KnowledgeGraph, window: str, expected: list[tuple]) -> None:
    columns = ("deploymentID", "preyName", "predatorDetections", "preyDetections", "first")
    assert table(small, "co-detections", {"window": window}, *columns) == expected


def test_detections_near_a_point(small: amurkg.KnowledgeGraph) -> None:
    from amurkg.survey.sensitive import exact_view

    # D1 recorded the leopard: by default queries see it at the centre of its 0.1 degree cell
    generalised = table(
        small, "detections-near", {"latitude": "43.15", "longitude": "131.55", "km": "1"}, "deploymentID"
    )
    assert {d for (d,) in generalised} == {"D1"}
    with exact_view(small):  # the store's exact coordinates, as `amurkg sparql --exact-locations` sees them
        near = table(
            small,
            "detections-near",
            {"latitude": "43.1", "longitude": "131.5", "km": "5"},
            "deploymentID",
            "scientificName",
            "detections",
            "distanceKm",
        )
        far = table(
            small,
            "detections-near",
            {"latitude": "43.1", "longitude": "131.5", "km": "20", "taxon": "wild boar"},
            "deploymentID",
            "distanceKm",
        )
    assert near == [
        ("D1", "Capreolus pygargus", "2", "0"),
        ("D1", "Lynx lynx", "1", "0"),
        ("D1", "Panthera pardus orientalis", "3", "0"),
        ("D1", "Sus scrofa", "1", "0"),
    ]
    # D2 is 0.1 degree north and east: about 13.9 km on the WGS84 ellipsoid
    assert [d for d, _ in far] == ["D1", "D2"]
    assert 13.5 < float(far[1][1]) < 14.2


def test_detection_history_by_hand(small_store: Path) -> None:
    result = run("survey", "detection-history", "--store", str(small_store), "--occasion", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "deploymentID,o1,o2,o3,o4,o5\nD1,1,0,1,0,0\nD2,0,0,0,NA,NA\n"


def test_every_record_leads_back_to_its_row_file_and_package(small: amurkg.KnowledgeGraph) -> None:
    rows = small.query(
        """SELECT ?id ?n ?table ?title WHERE {
             ?o dwc:occurrenceID ?id ; prov:wasDerivedFrom ?row .
             ?row a akg:TableRow ; akg:rowNumber ?n ; dcterms:isPartOf ?file .
             ?file akg:tableName ?table ; dcterms:isPartOf ?package .
             ?package dcterms:title ?title }"""
    ).as_text_dicts()
    lines = (SMALL / "observations.csv").read_text().splitlines()
    assert len(rows) == len(lines) - 1
    for row in rows:
        assert lines[int(row["n"]) - 1].startswith(row["id"] + ","), row
        assert row["table"] == "observations" and row["title"].startswith("A hand-made test survey")
    meta = small.query(
        """SELECT ?name ?role ?licence ?scope WHERE { ?p a akg:CameraTrapPackage ; dcterms:contributor ?c ;
             dcterms:license ?l . ?c rdfs:label ?name ; akg:contributorRole ?role .
             ?l dcterms:identifier ?licence ; akg:licenseScope ?scope }"""
    ).as_text_dicts()
    assert {(m["name"], m["role"], m["licence"], m["scope"]) for m in meta} == {
        ("amurkg test suite", "contact", "CC0-1.0", "data"),
        ("amurkg test suite", "contact", "CC0-1.0", "media"),
    }


def test_unknown_names_become_taxa_of_their_own_with_the_package_names(small: amurkg.KnowledgeGraph) -> None:
    rows = small.query(
        """SELECT DISTINCT ?taxon ?label ?rank WHERE { ?o dwciri:toTaxon ?taxon .
             ?taxon dwc:scientificName "Lynx lynx" ; rdfs:label ?label ; dwc:taxonRank ?rank }"""
    ).as_text_dicts()
    assert [(r["label"], r["rank"]) for r in rows] == [("Eurasian lynx", "species")]
    assert rows[0]["taxon"].startswith("survey:") or "survey/" in rows[0]["taxon"]
    # and a curated name links to the curated taxon, synonyms included
    linked = small.query(
        'SELECT ?taxon WHERE { ?o dwc:scientificName "Cervus nippon hortulorum" ; dwciri:toTaxon ?taxon }'
    ).as_text_dicts()
    assert linked == [{"taxon": "amur:manchurian-sika-deer"}]


def test_deployment_locations_are_geosparql_points_other_tools_read(small: amurkg.KnowledgeGraph) -> None:
    import rdflib

    rows = small.query('SELECT ?wkt WHERE { ?d akg:deploymentID "D2" ; geo:hasGeometry/geo:asWKT ?wkt }').rows
    term = rows[0][0]
    assert term is not None and term.datatype == "http://www.opengis.net/ont/geosparql#wktLiteral"
    assert term.value == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(131.6 43.2)"
    assert rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype)).datatype is not None


# ------------------------------------------------------------------ the official example package


def _example_rows(name: str) -> list[dict[str, str]]:
    with (EXAMPLE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_example_package_counts_and_effort(example_store: Path) -> None:
    kg = amurkg.KnowledgeGraph(store=example_store)
    counts = kg.query(
        """SELECT ?c (COUNT(?x) AS ?n) WHERE { VALUES ?c { akg:Deployment akg:Media akg:CameraTrapObservation }
             ?x a ?c } GROUP BY ?c ORDER BY ?c"""
    ).as_text_dicts()
    assert {c["c"]: int(c["n"]) for c in counts} == {
        "akg:CameraTrapObservation": len(_example_rows("observations.csv")),
        "akg:Deployment": len(_example_rows("deployments.csv")),
        "akg:Media": len(_example_rows("media.csv")),
    }
    effort = {r["deploymentID"]: float(r["cameraDays"]) for r in kg.run("survey-effort").as_text_dicts()}
    for d in _example_rows("deployments.csv"):
        days = (
            datetime.fromisoformat(d["deploymentEnd"]) - datetime.fromisoformat(d["deploymentStart"])
        ).total_seconds()
        assert math.isclose(effort[d["deploymentID"]], days / 86400, abs_tol=1e-6)


@pytest.mark.parametrize("interval", [0, 30, 120])
def test_example_detection_rate_matches_an_independent_count(example_store: Path, interval: int) -> None:
    starts: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for o in _example_rows("observations.csv"):
        if o["observationLevel"] == "event" and o["observationType"] == "animal" and o["scientificName"]:
            starts[(o["deploymentID"], o["scientificName"])].append(
                datetime.fromisoformat(o["eventStart"].replace("Z", "+00:00"))
            )
    expected = {}
    for key, times in starts.items():
        times.sort()
        expected[key] = 1 + sum((b - a).total_seconds() > interval * 60 for a, b in itertools.pairwise(times))
    kg = amurkg.KnowledgeGraph(store=example_store)
    got = {
        (r["deploymentID"], r["scientificName"]): int(r["detections"])
        for r in kg.run("detection-rate", {"interval": str(interval)}).as_text_dicts()
    }
    assert got == expected


def test_the_same_answers_from_a_zip(tmp_path: Path, example_store: Path) -> None:
    archive = tmp_path / "example.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in EXAMPLE.iterdir():
            zf.write(path, f"example/{path.name}")
    store = tmp_path / "store"
    assert run("import", str(archive), "--store", str(store)).exit_code == 0
    a = amurkg.KnowledgeGraph(store=store).run("detection-rate").as_set()
    b = amurkg.KnowledgeGraph(store=example_store).run("detection-rate").as_set()
    assert a == b and len(a) > 10


# ------------------------------------------------------------------ the store


def test_reimport_replaces_and_remove_forgets(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for _ in range(2):
        assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    listed = run("import", "--list", "--store", str(store), "-f", "csv")
    assert listed.stdout.count("amurkg-test-survey-2023") == 2  # its IRI and its identifier, on one row
    assert len(listed.stdout.strip().splitlines()) == 2
    kg = amurkg.KnowledgeGraph(store=store)
    assert kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?o a akg:CameraTrapObservation }").as_text_dicts() == [{"n": "11"}]
    graphs = kg.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    # the curated graph, one import and its generalised locations (the leopard's camera): the replaced graph is gone
    assert len(graphs) == 3
    del kg
    assert run("import", "--remove", "amurkg-test-survey-2023", "--store", str(store)).exit_code == 0
    kg = amurkg.KnowledgeGraph(store=store)
    assert kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?o a akg:CameraTrapObservation }").as_text_dicts() == [{"n": "0"}]
    assert kg.run("prey").as_text_dicts()  # the curated graph stays
    bad = run("import", "--remove", "amurkg-test-survey-2032", "--store", str(store))
    assert bad.exit_code == 2 and "amurkg-test-survey-2023" not in bad.stderr  # nothing left to suggest


def test_an_interrupted_import_is_invisible_and_collected(tmp_path: Path) -> None:
    import pyoxigraph as ox

    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    with Store.open(store, write=True) as handle:  # a crash after loading, before the registry named it
        orphan = handle.new_graph()
        handle.ox.add(
            ox.Quad(
                ox.NamedNode("https://example.org/x"),
                ox.NamedNode(amurkg_akg("observationType")),
                ox.Literal("animal"),
                ox.NamedNode(orphan),
            )
        )
    kg = amurkg.KnowledgeGraph(store=store)
    assert kg.query("ASK { <https://example.org/x> ?p ?o }").value is False  # type: ignore[union-attr]
    kg.engine.close()  # type: ignore[attr-defined]
    with Store.open(store, write=True) as handle:  # the next writer collects it
        assert ox.NamedNode(orphan) not in set(handle.ox.named_graphs())


def amurkg_akg(name: str) -> str:
    return "https://w3id.org/amurkg/ontology#" + name


def test_a_store_of_another_version_is_explained(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    marker = json.loads((store / MARKER).read_text())
    (store / MARKER).write_text(json.dumps({**marker, "curated": "0" * 16, "amurkg": "0.0.9"}))
    result = run("query", "prey", "--store", str(store))
    assert result.exit_code == 2 and "amurkg 0.0.9" in result.stderr and "--upgrade" in result.stderr
    assert run("import", "--upgrade", "--store", str(store)).exit_code == 0
    assert run("query", "prey", "--store", str(store)).exit_code == 0
    (store / MARKER).write_text(json.dumps({**marker, "format": 99}))
    result = run("query", "prey", "--store", str(store))
    assert result.exit_code == 2 and "store format 99" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_store_being_written_is_not_read(store_before: Path) -> None:
    with Store.open(store_before, write=True):
        result = run("query", "survey-effort", "--store", str(store_before))
    assert result.exit_code == 2 and "being written" in result.stderr
    with pytest.raises(StoreError, match="being read"):
        reader = Store.open(store_before)
        try:
            Store.open(store_before, write=True)
        finally:
            reader.close()
    assert run("query", "survey-effort", "--store", str(store_before)).exit_code == 0


def test_store_options_that_do_not_fit(tmp_path: Path, small_store: Path) -> None:
    missing = run("query", "prey", "--store", str(tmp_path / "nothing"))
    assert missing.exit_code == 2 and "amurkg import" in missing.stderr
    extra = tmp_path / "x.ttl"
    extra.write_text("")
    both = run("query", "prey", "--store", str(small_store), "--data", str(extra))
    assert both.exit_code == 2 and "--store" in both.stderr and "--data" in both.stderr
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    refused = run("import", str(SMALL), "--store", str(occupied))
    assert refused.exit_code == 2 and "not an amurkg store" in refused.stderr
    assert sorted(p.name for p in occupied.iterdir()) == ["notes.txt"]


def test_the_environment_names_the_store(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMURKG_STORE", str(small_store))
    from typer.testing import CliRunner

    from amurkg.cli import app

    result = CliRunner().invoke(app, ["query", "survey-effort", "-f", "csv"])
    assert result.exit_code == 0 and "D2" in result.stdout


# ------------------------------------------------------------------ bad packages


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "package"
    shutil.copytree(SMALL, target)
    return target


def _edit(path: Path, row: int, column: str, value: str) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        # CRLF line ends: then a value holding a bare CR or LF is quoted, as the writer only quotes the
        # characters of its own line terminator
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


def _state(store: Path) -> tuple:
    kg = amurkg.KnowledgeGraph(store=store)
    try:
        listed = tuple((r.identifier, r.graph, r.triples) for r in kg.engine.handle.imports())  # type: ignore[attr-defined]
        count = kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").as_text_dicts()[0]["n"]
        return listed, count
    finally:
        kg.engine.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small package imported once; tests that change a store get a copy of it (a copy of a closed store
    is that store: the import below finds the package already there, as in a store imported afresh)."""
    store = tmp_path_factory.mktemp("template") / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    return store


@pytest.fixture
def store_before(tmp_path: Path, template_store: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(template_store, store)
    return store


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "where", "says"),
    [
        (
            "deployments.csv",
            2,
            "deploymentStart",
            "2023-02-30T00:00:00+10:00",
            "deployments.csv:2:7 (deploymentStart)",
            "not a real date",
        ),
        ("deployments.csv", 3, "latitude", "999", "deployments.csv:3:4 (latitude)", "above the maximum 90"),
        ("deployments.csv", 2, "longitude", "1_31.5", "deployments.csv:2:5 (longitude)", "not a number"),
        ("observations.csv", 3, "observationID", "O1", "observations.csv:3:1 (observationID)", "duplicate"),
        (
            "observations.csv",
            4,
            "deploymentID",
            "D9",
            "observations.csv:4:2 (deploymentID)",
            "not the deploymentID of any row",
        ),
        ("observations.csv", 9, "mediaID", "M7", "observations.csv:9:3 (mediaID)", "not the mediaID of any row"),
        (
            "observations.csv",
            2,
            "observationType",
            "animals",
            "observations.csv:2:8 (observationType)",
            "did you mean 'animal'",
        ),
        ("observations.csv", 2, "eventStart", "2023-01-02 01:00", "observations.csv:2:5 (eventStart)", "ISO 8601"),
        ("media.csv", 2, "filePath", "../secret.jpg", "media.csv:2:5 (filePath)", "does not match the pattern"),
        ("observations.csv", 2, "count", "0", "observations.csv:2:11 (count)", "below the minimum 1"),
    ],
)
def test_a_bad_value_is_named_by_file_row_and_column_and_nothing_changes(
    tmp_path: Path, store_before: Path, file: str, row: int, column: str, value: str, where: str, says: str
) -> None:
    package = _copy(tmp_path)
    _edit(package / file, row, column, value)
    before = _state(store_before)
    result = run("import", str(package), "--store", str(store_before))
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert any(where in line and says in line for line in lines), lines
    assert all(PROBLEM.match(line) for line in lines), lines
    assert "Traceback" not in result.stderr
    assert _state(store_before) == before
    assert not list(store_before.glob("import-*.nt"))  # no scratch file left behind


def test_missing_column_wrong_encoding_and_many_problems(tmp_path: Path, store_before: Path) -> None:
    package = _copy(tmp_path)
    text = (package / "deployments.csv").read_text().replace("latitude,", "lat,", 1)
    (package / "deployments.csv").write_text(text)
    media = (package / "media.csv").read_bytes().replace(b"m1.jpg,image", "m\u00e9.jpg,image".encode("latin-1"), 1)
    (package / "media.csv").write_bytes(media)
    observations = package / "observations.csv"
    for row in range(2, 12):
        _edit(observations, row, "eventEnd", "yesterday")
    before = _state(store_before)
    result = run("import", str(package), "--store", str(store_before), "--max-problems", "5")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2
    assert "deployments.csv:1: missing required column 'latitude'" in lines[0]
    assert any("media.csv:2:" in line and "not UTF-8" in line for line in lines)
    assert lines[-1].endswith("more problems") and len(lines) == 6
    assert _state(store_before) == before


def test_a_bad_descriptor_is_explained(tmp_path: Path) -> None:
    package = _copy(tmp_path)
    descriptor = json.loads((package / "datapackage.json").read_text())
    del descriptor["project"]["samplingDesign"]
    descriptor["resources"][0]["path"] = "https://example.org/deployments.csv"
    (package / "datapackage.json").write_text(json.dumps(descriptor))
    result = run("import", str(package), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2
    assert '$.project: "samplingDesign" is required here' in result.stderr
    assert "is a URL: amurkg reads local files only" in result.stderr
    assert not (tmp_path / "store").exists()  # the import would have made it: it leaves no trace
    (package / "datapackage.json").write_text('{"resources": [,]}')
    broken = run("import", str(package), "--store", str(tmp_path / "store"))
    assert broken.exit_code == 2 and "datapackage.json:1:16: not valid JSON" in broken.stderr


def test_an_unsafe_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("datapackage.json", "{}")
        zf.writestr("../escape.txt", "x")
    result = run("import", str(archive), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2 and "unsafe member name" in result.stderr
    assert not (tmp_path / "escape.txt").exists()


_COLUMNS = ["deploymentID", "eventStart", "observationLevel", "observationType", "scientificName", "count", "bboxX"]


@pytest.fixture(scope="module")
def template_state(template_store: Path) -> tuple:
    """What ``_state`` reads in every copy of the template store: read once here, not in each example (every
    read opens the store, about a fifth of an example's time)."""
    return _state(template_store)


#: Edits that reach the importer's edges, tried in every run beside Hypothesis's own (each is one import, so
#: Hypothesis draws fewer than the 150 it drew before): offsets out of range and in it, numbers Python reads
#: but a count is not, 'nan' and 'NA' (missing values in Camtrap DP's table schemas), a bounding box just
#: outside its range, an observation moved to the other camera or to none, an animal without a name, quotes,
#: separators and line breaks in a cell, NUL, and the last of two edits of one cell winning.
_EDGES = [
    [(2, "eventStart", "2023-01-02T01:00:00+25:00")],
    [(2, "eventStart", "2023-01-02T01:00:00+09:30")],
    [(3, "count", "nan")],
    [(3, "count", "inf")],
    [(3, "count", "1e3")],
    [(3, "count", "-0")],
    [(2, "bboxX", "1.0000001")],
    [(2, "deploymentID", "D2")],
    [(2, "deploymentID", "D3")],
    [(10, "observationLevel", "event"), (10, "observationType", "animal")],
    [(5, "scientificName", "NA")],
    [(7, "scientificName", 'a "b",\rc\nd')],
    [(12, "eventStart", "")],
    [(6, "scientificName", "\x00")],
    [(4, "count", "x"), (4, "count", "2")],
]


def _with_edges(test):  # type: ignore[no-untyped-def]
    for edits in reversed(_EDGES):
        test = example(edits=edits)(test)
    return test


@pytest.mark.heavy
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@_with_edges
@given(
    edits=st.lists(
        st.tuples(
            st.integers(2, 12),
            st.sampled_from(_COLUMNS),
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(
                    [
                        "NA",
                        "",
                        "1e3",
                        "-0",
                        "D2",
                        "event",
                        "animal",
                        "2023-01-02T01:00:00+25:00",
                        "2023-01-02T01:00:00+09:30",
                        "0.5",
                        "1.0000001",
                        "nan",
                        "inf",
                        "Sus scrofa",
                    ]
                ),
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_edit_imports_cleanly_or_fails_with_located_problems(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path, template_state: tuple, edits: list
) -> None:
    """Whatever a cell holds, the import either succeeds or lists problems as file:row:column, exit 2,
    and leaves the store as it was."""
    base = tmp_path_factory.mktemp("h")
    package = _copy(base)
    path = package / "observations.csv"
    for row, column, value in edits:
        _edit(path, row, column, value)
    store = base / "store"
    shutil.copytree(template_store, store)  # a store holding the package, as the import below finds it
    before = template_state  # what this copy holds (the template's state, read once)
    result = run("import", str(package), "--store", str(store))
    if result.exit_code == 0:
        with amurkg.KnowledgeGraph(store=store) as kg:
            listed = tuple((r.identifier, r.graph, r.triples) for r in kg.engine.handle.imports())  # type: ignore[attr-defined]
            count = kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?o a akg:CameraTrapObservation }").as_text_dicts()
        assert len(listed) == 1 and listed != before[0]  # replaced, not added
        assert count == [{"n": "11"}]  # every row, once
        return
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert lines and all(PROBLEM.match(line) for line in lines), lines
    assert _state(store) == before


def test_both_engines_agree_on_the_survey_queries(small_store: Path, tmp_path: Path) -> None:
    """The survey data as a plain RDF file, layered on the shipped graph in each engine: same answers
    (detections-near aside: rdflib has no GeoSPARQL functions, as its query documents)."""
    import pyoxigraph as ox

    handle = Store.open(small_store)
    try:
        (record,) = handle.imports()
        data = tmp_path / "survey.nt"
        data.write_bytes(handle.ox.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(record.graph)))
    finally:
        handle.close()
    oxigraph = amurkg.KnowledgeGraph([data])
    rdflib_engine = amurkg.KnowledgeGraph([data], engine="rdflib")
    for name, params in (
        ("survey-effort", {}),
        ("detection-rate", {"interval": "15"}),
        ("prey-detection-rate", {}),
        ("activity-pattern", {}),
    ):
        a, b = oxigraph.run(name, params), rdflib_engine.run(name, params)
        assert a.as_set() == b.as_set() and a.rows, name  # type: ignore[union-attr]
    columns = ("deploymentID", "preyName", "predatorDetections", "preyDetections")
    assert table(oxigraph, "co-detections", {"window": "2"}, *columns) == table(
        rdflib_engine, "co-detections", {"window": "2"}, *columns
    )


def test_any_interval_reads_the_observations_and_agrees_with_the_precomputed_ones(
    small: amurkg.KnowledgeGraph, example_store: Path
) -> None:
    columns = ("deploymentID", "scientificName", "detections", "rai")
    with amurkg.KnowledgeGraph(store=example_store) as kg:
        for interval in ("0", "5", "60", "1440"):
            fast = table(kg, "detection-rate", {"interval": interval}, *columns)
            assert fast == table(kg, "detection-rate-any", {"interval": interval}, *columns), interval
    # 45 minutes is not precomputed: the fast query says where to go, the other one answers
    with pytest.raises(ParameterError, match="detection-rate-any"):
        small.run("detection-rate", {"interval": "45"})
    assert ("D1", "Capreolus pygargus", "2", "20") in table(small, "detection-rate-any", {"interval": "44"}, *columns)
    assert ("D1", "Capreolus pygargus", "1", "10") in table(small, "detection-rate-any", {"interval": "45"}, *columns)


def test_names_resolve_to_taxa_not_to_the_records_that_mention_them(small: amurkg.KnowledgeGraph) -> None:
    """Observations carry dwc:scientificName as what was seen; resolving a name finds the taxon (a label
    scan over every observation took 42 s at a million of them)."""
    assert small.resolve("Sus scrofa").value == "https://w3id.org/amurkg/id/wild-boar"
    assert small.resolve("Cervus nippon hortulorum").value == "https://w3id.org/amurkg/id/manchurian-sika-deer"
    lynx = small.resolve("Lynx lynx").value
    assert lynx.endswith("/taxon/Lynx%20lynx")
    assert small.resolve("Eurasian lynx").value == lynx


def test_a_store_that_refuses_the_data_is_one_line_and_no_change(
    store_before: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader failing half way (a full disk, say) leaves the store as it was and says so in one line."""
    import pyoxigraph

    before = _state(store_before)

    def full_disk(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyoxigraph.Store, "bulk_load", full_disk)
    result = run("import", str(EXAMPLE), "--store", str(store_before))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "the store refused the import" in result.stderr and "No space left" in result.stderr
    monkeypatch.undo()
    assert _state(store_before) == before


def test_activity_pattern_reads_counts_made_at_import_and_agrees_with_any_interval(
    small: amurkg.KnowledgeGraph, example_store: Path
) -> None:
    """The hourly counts computed at import give what counting the observations gives, at every precomputed
    interval, for every taxon and for one."""
    from amurkg.survey.rdf import STANDARD_INTERVALS

    columns = ("scientificName", "hour", "detections", "taxon")
    with amurkg.KnowledgeGraph(store=example_store) as kg:
        for interval in map(str, STANDARD_INTERVALS):
            fast = table(kg, "activity-pattern", {"interval": interval}, *columns)
            assert fast and fast == table(kg, "activity-pattern-any", {"interval": interval}, *columns), interval
        taxon = {"taxon": "Anas platyrhynchos", "interval": "60"}
        one = table(kg, "activity-pattern", taxon, *columns)
        assert one and {row[0] for row in one} == {"Anas platyrhynchos"}
        assert one == table(kg, "activity-pattern-any", taxon, *columns)
    for interval in map(str, STANDARD_INTERVALS):  # the hand-made package: several detections an hour apart
        fast = table(small, "activity-pattern", {"interval": interval}, *columns)
        assert fast and fast == table(small, "activity-pattern-any", {"interval": interval}, *columns), interval
    assert table(small, "activity-pattern", {"taxon": "Amur leopard"}, "hour", "detections") == [
        ("11", "1"),
        ("23", "1"),
    ]
    with pytest.raises(ParameterError, match="activity-pattern-any"):
        small.run("activity-pattern", {"interval": "45"})


#: detections-near as it was, counting every event-level observation: the reference for the series it reads now
_NEAR_BY_OBSERVATIONS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
PREFIX geo: <http://www.opengis.net/ont/geosparql#>
PREFIX geof: <http://www.opengis.net/def/function/geosparql/>
SELECT ?deploymentID ?scientificName ?distanceKm (COUNT(?obs) AS ?detections) (MIN(?start) AS ?first)
       (MAX(?start) AS ?last) ?taxon ?deployment WHERE {
  BIND(STRDT(CONCAT("<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(", STR(?longitude), " ", STR(?latitude), ")"),
             geo:wktLiteral) AS ?centre)
  ?deployment geo:hasGeometry/geo:asWKT ?where ; akg:deploymentID ?deploymentID .
  BIND(ROUND(geof:distance(?where, ?centre, <http://www.opengis.net/def/uom/OGC/1.0/metre>)) / 1000 AS ?distanceKm)
  FILTER(?distanceKm <= ?km)
  ?obs akg:deployment ?deployment ; akg:observationLevel "event" ; akg:observationType "animal" ;
    dwciri:toTaxon ?taxon ; akg:eventStart ?start .
  ?taxon dwc:scientificName ?scientificName .
}
GROUP BY ?deployment ?deploymentID ?taxon ?scientificName ?distanceKm
ORDER BY ?distanceKm ?deploymentID ?scientificName ?deployment
"""


@pytest.mark.parametrize(
    "params",
    [
        {"latitude": "51.4", "longitude": "4.8", "km": "50"},
        {"latitude": "51.2", "longitude": "5.6", "km": "5"},
        {"latitude": "51.4", "longitude": "4.8", "km": "200", "taxon": "Anas platyrhynchos"},
    ],
)
def test_detections_near_reads_the_series_and_agrees_with_every_observation(
    example_store: Path, params: dict[str, str]
) -> None:
    from amurkg.catalog import get_query

    with amurkg.KnowledgeGraph(store=example_store) as kg:
        bindings = kg.bind_parameters(get_query("detections-near"), params)
        fast = kg.run("detections-near", params).as_dicts()
        slow = kg.query(_NEAR_BY_OBSERVATIONS, bindings).as_dicts()  # type: ignore[union-attr]
    assert fast and fast == slow


@pytest.mark.heavy
@pytest.mark.parametrize("fixture", ["small", "generated"])
def test_co_detections_reads_counts_made_at_import_and_agrees_with_any_window(
    fixture: str, small: amurkg.KnowledgeGraph, tmp_path: Path
) -> None:
    """The co-detection counts computed at import give what pairing the observations gives, at every
    precomputed window, for the leopard and for a taxon that preys on nothing, on the hand-made package and on a
    generated one (a thousand observations of the leopard, the tiger and the leopard's prey at two cameras: enough
    that the counts grow with the window, which the test checks, so each window is compared on different data)."""
    from amurkg.survey.generate import generate
    from amurkg.survey.rdf import STANDARD_WINDOWS

    columns = ("deploymentID", "preyName", "predatorDetections", "preyDetections", "first", "prey", "deployment")
    kg = small
    if fixture == "generated":
        store = tmp_path / "store"
        assert run("import", str(generate(tmp_path / "package", 1000, 7)), "--store", str(store)).exit_code == 0
        kg = amurkg.KnowledgeGraph(store=store)
    found = 0
    totals: dict[str, int] = {}  # the leopard's detections with prey nearby, per window
    deployments: set[str] = set()
    for predator in ("amur:amur-leopard", "amur:wild-boar"):  # the boar preys on nothing: no row either way
        for window in map(str, STANDARD_WINDOWS):
            params = {"predator": predator, "window": window}
            fast = table(kg, "co-detections", params, *columns)
            assert fast == table(kg, "co-detections-any", params, *columns), params
            found += len(fast)
            if predator == "amur:amur-leopard":
                totals[window] = sum(int(row[2]) for row in fast)
                deployments |= {row[0] for row in fast}
    assert found  # something was compared
    if fixture == "generated":
        kg.close()
        # the generated package is big enough that the window changes the answer, at more than one camera
        assert len(set(totals.values())) >= 3 and len(deployments) >= 2, (totals, deployments)
        return
    with pytest.raises(ParameterError, match="co-detections-any"):
        small.run("co-detections", {"window": "4"})
    assert table(small, "co-detections-any", {"window": "4"}, *columns[:4]) == [
        ("D1", "Siberian roe deer", "3", "2"),
        ("D1", "wild boar", "3", "1"),
    ]
