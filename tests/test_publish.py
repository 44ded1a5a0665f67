"""Publishing field data without endangering the animals: the exact camera locations of threatened taxa never
leave the store unless asked for, and what leaves says what was generalised."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import WAIT, new_store
from eml_schema import schema_errors
from hypothesis import HealthCheck, given, settings
from places import (
    FREE_TEXT,
    PLACES,
    frictionless_report,
    hidden_cameras,
    numbers,
    package_at,
    read_rows,
    texts_of,
    with_free_text,
)
from test_survey import SMALL, run

import amurkg
from amurkg.survey.eml import problems
from amurkg.survey.sensitive import Grid, sensitive_taxa


def _archive_rows(data: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read("occurrence.txt").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.mark.heavy
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**PLACES, words=FREE_TEXT)
def test_no_exact_coordinate_of_a_threatened_taxon_leaves_the_store(
    tmp_path_factory: pytest.TempPathFactory,
    empty_store: Path,
    coordinates: dict[str, tuple[float, float]],
    leopard_at: set[str],
    grid: float,
    words: str,
) -> None:
    """Nor any free text of its camera (place name, habitat, remarks, tags, groups, media comments and EXIF data,
    observation comments and tags): each cell holds a marker of its own, and the EXIF data the camera's position."""
    folder = tmp_path_factory.mktemp("pub")
    store = new_store(empty_store, folder)
    package = package_at(folder, coordinates, leopard_at)
    free_text = with_free_text(package, words, coordinates)
    result = run("import", str(package), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    out = folder / "out.zip"
    result = run("export", "--store", str(store), "-f", "dwca", "--grid", str(grid), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    written = numbers(data)
    cells = Grid(grid)
    hidden = hidden_cameras(coordinates, leopard_at)
    public = {v for d, point in coordinates.items() if d not in hidden for v in point}
    for deployment, (lat, lon) in coordinates.items():
        if deployment in hidden:  # a value another camera shares openly is no secret of this one
            assert not ({lat, lon} - public) & set(written), (deployment, lat, lon)
        rows = [r for r in _archive_rows(data) if r["parentEventID"] == deployment]
        for row in rows:
            shown = float(row["decimalLatitude"]), float(row["decimalLongitude"])
            if deployment in hidden:  # every record of the camera, the roe deer's too
                assert shown == cells.point(lat, lon)
                assert "Panthera pardus orientalis (IUCN CR)" in row["dataGeneralizations"]
                assert row["informationWithheld"] and row["coordinatePrecision"] == cells.text()
                assert int(row["coordinateUncertaintyInMeters"]) >= cells.uncertainty(shown[0])
            else:
                assert shown == (lat, lon) and not row["informationWithheld"]
    # nor in anything else that reads the store: an RDF export (every graph it shows), any query
    dump = folder / "dump.nq"
    assert run("export", "--store", str(store), "-f", "nq", "-o", str(dump)).exit_code == 0
    with amurkg.KnowledgeGraph(store=store) as kg:
        answer = kg.query("SELECT ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }").rows
    cdp = folder / "cdp.zip"
    assert run("export", "--store", str(store), "-f", "camtrapdp", "--grid", str(grid), "-o", str(cdp)).exit_code == 0
    geojson = run("survey", "geojson", "--store", str(store), "--grid", str(grid))
    assert geojson.exit_code == 0, geojson.stderr
    answered = " ".join(str(r[0]) for r in answer).encode()
    seen = numbers(dump.read_bytes()) + numbers(answered) + numbers(cdp.read_bytes())
    for deployment, (lat, lon) in coordinates.items():
        if deployment in hidden:
            assert not ({lat, lon} - public) & set(seen)
        else:
            assert lat in seen and lon in seen  # the check would see them
    outputs = {
        "dwca": texts_of(data),
        "nq": texts_of(dump.read_bytes()),
        "query": texts_of(answered),
        "camtrapdp": texts_of(cdp.read_bytes()),
        "geojson": texts_of(geojson.stdout.encode()),
    }
    for deployment, texts in free_text.items():
        for where, text in outputs.items():
            shown = {t for t in texts if t in text}
            if deployment in hidden:
                assert not shown, (deployment, where, shown)
            elif where in ("nq", "query", "camtrapdp"):  # these carry every column: the check would see them
                assert shown == texts, (deployment, where, texts - shown)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        eml = zf.read("eml.xml")
    assert problems(eml) == [] and schema_errors(eml) == []  # what amurkg checks, and the EML 2.2.0 XSD itself
    assert (b"generalised" in eml) == bool(leopard_at)
    # the store keeps the exact values, and the opt-out writes them, with a warning
    exact = folder / "exact.zip"
    result = run("export", "--store", str(store), "-f", "dwca", "--exact-locations", "-o", str(exact))
    assert result.exit_code == 0 and "warning" in result.stderr and "--exact-locations" in result.stderr
    for deployment, (lat, lon) in coordinates.items():
        assert {
            (float(r["decimalLatitude"]), float(r["decimalLongitude"]))
            for r in _archive_rows(exact.read_bytes())
            if r["parentEventID"] == deployment
        } <= {(lat, lon)}
    # and its free text, every column, in a Camtrap DP export
    result = run("export", "--store", str(store), "-f", "camtrapdp", "--exact-locations", "-o", str(cdp))
    assert result.exit_code == 0, result.stderr
    text = texts_of(cdp.read_bytes())
    assert all(t in text for texts in free_text.values() for t in texts)


def test_the_curated_graph_decides_what_is_threatened(tmp_path: Path) -> None:
    """Not a list in the code: an assessment added to the graph makes its taxon (and its subtaxa) sensitive,
    and a category that is not threatened does not."""
    extra = tmp_path / "assessments.ttl"
    extra.write_text(
        "@prefix akg: <https://w3id.org/amurkg/ontology#> .\n"
        "@prefix amur: <https://w3id.org/amurkg/id/> .\n"
        "@prefix iucnrl: <https://w3id.org/amurkg/iucn/redlist/> .\n"
        "amur:boar-assessment a akg:ConservationStatusAssessment ; akg:assessedTaxon amur:wild-boar ;"
        " akg:redListCategory iucnrl:EN .\n"
        "amur:deer-assessment a akg:ConservationStatusAssessment ; akg:assessedTaxon amur:siberian-roe-deer ;"
        " akg:redListCategory iucnrl:LC .\n",
        encoding="utf-8",
    )
    with amurkg.KnowledgeGraph() as kg:
        plain = sensitive_taxa(kg)
    with amurkg.KnowledgeGraph(data=[extra]) as kg:
        added = sensitive_taxa(kg)
    amur = "https://w3id.org/amurkg/id/"
    assert plain[amur + "amur-leopard"] == "CR" and amur + "wild-boar" not in plain
    assert added[amur + "wild-boar"] == "EN" and amur + "siberian-roe-deer" not in added
    assert set(plain) < set(added)


def test_grid_cells_and_their_uncertainty() -> None:
    grid = Grid(0.1)
    assert grid.point(43.12345, 131.98765) == (43.15, 131.95)
    assert grid.point(-0.01, -0.01) == (-0.05, -0.05)
    assert grid.point(90, 180) == (89.95, 179.95)  # the edge belongs to the last cell
    # half the diagonal of a 0.1 degree cell at 43 degrees north: 5.56 km north-south, 4.07 km east-west
    assert 6800 < grid.uncertainty(43.15) < 6950
    assert grid.point(*grid.point(43.12345, 131.98765)) == grid.point(43.12345, 131.98765)  # idempotent


@pytest.mark.parametrize("bad", ["0", "-1", "11", "nan"])
def test_a_bad_grid_is_one_line(bad: str, tmp_path: Path) -> None:
    result = run(
        "export", "--store", str(tmp_path / "none"), "-f", "dwca", "--grid", bad, "-o", str(tmp_path / "x.zip")
    )
    assert result.exit_code == 2 and "--grid" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.zip").exists()


LEOPARD_CAMERA = (43.12347, 131.52349)


@pytest.fixture(scope="module")
def leopard_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("leopard")
    package = package_at(folder, {"D1": LEOPARD_CAMERA, "D2": (43.27771, 131.61113)}, {"D1"})
    store = folder / "store"
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    return store


def test_served_answers_hold_no_exact_location(leopard_store: Path) -> None:
    """amurkg serve --store: whatever a client asks (every triple of every graph), the leopard's camera is
    where the generalised graph puts it."""
    from test_serve import start, stop

    proc, url = start("--store", str(leopard_store))
    try:
        remote = amurkg.KnowledgeGraph.remote(url, timeout=WAIT)
        for text in (
            "SELECT ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }",
            "SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o FILTER(isLiteral(?o)) } }",
        ):
            seen = numbers(" ".join(str(r[0]) for r in remote.query(text).rows).encode())
            assert 43.27771 in seen  # the other camera, exact: the answer is complete
            assert LEOPARD_CAMERA[0] not in seen and LEOPARD_CAMERA[1] not in seen
            assert 43.15 in seen and 131.55 in seen
    finally:
        stop(proc)


def test_the_local_command_line_can_opt_in(leopard_store: Path) -> None:
    query = "SELECT ?lat WHERE { ?d akg:deploymentID 'D1' ; dwc:decimalLatitude ?lat }"
    plain = run("sparql", "--store", str(leopard_store), query, "-f", "csv")
    exact = run("sparql", "--store", str(leopard_store), "--exact-locations", query, "-f", "csv")
    assert plain.stdout.split() == ["lat", "43.15"] and "warning" not in plain.stderr
    assert exact.stdout.split() == ["lat", "43.12347"] and "warning" in exact.stderr
    assert run("sparql", "--exact-locations", query).exit_code == 2  # no store: nothing is withheld


def test_removing_a_package_removes_its_exact_locations(leopard_store: Path, tmp_path: Path) -> None:
    from amurkg.store import EXACT_GRAPH_BASE, GENERALISED_GRAPH_BASE, Store

    store = tmp_path / "copy"
    shutil.copytree(leopard_store, store)
    with Store.open(store) as handle:  # exact twins in the hidden database, generalised ones in db/
        names = [g.value for db in (handle.ox, handle.hidden) for g in db.named_graphs()]
    assert any(n.startswith(EXACT_GRAPH_BASE) for n in names) and any(
        n.startswith(GENERALISED_GRAPH_BASE) for n in names
    )
    assert run("import", "--remove", "amurkg-test-survey-2023", "--store", str(store)).exit_code == 0
    with Store.open(store) as handle:
        names = [g.value for db in (handle.ox, handle.hidden) for g in db.named_graphs()]
    assert not [n for n in names if n.startswith((EXACT_GRAPH_BASE, GENERALISED_GRAPH_BASE))]


# ------------------------------------------------------------------ Camtrap DP back out

EXAMPLE_PACKAGE = Path(__file__).parent / "data" / "camtrap-dp-example"


def _same(a: str, b: str) -> bool:
    """Equal as typed values: 1.30 is 1.3."""
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


@pytest.fixture(scope="module")
def example_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cdp")
    store = folder / "store"
    assert run("import", str(EXAMPLE_PACKAGE), "--store", str(store)).exit_code == 0
    result = run("export", "--store", str(store), "-f", "camtrapdp", "-o", str(folder / "out"))
    assert result.exit_code == 0, result.stderr
    return folder / "out"


@pytest.mark.parametrize("table", ["deployments", "media", "observations"])
def test_camtrapdp_export_equals_the_official_example_field_by_field(example_export: Path, table: str) -> None:
    theirs = read_rows(EXAMPLE_PACKAGE / f"{table}.csv")
    ours = read_rows(example_export / f"{table}.csv")
    assert list(ours[0]) == list(theirs[0])  # the same columns, in the schema's order
    assert len(ours) == len(theirs)
    for number, (mine, their) in enumerate(zip(ours, theirs, strict=True), 2):
        for column, value in their.items():
            assert _same(mine[column], value), (table, number, column, mine[column], value)


def test_camtrapdp_export_is_read_back(example_export: Path, tmp_path: Path) -> None:
    import json

    meta = json.loads((example_export / "datapackage.json").read_text(encoding="utf-8"))
    original = json.loads((EXAMPLE_PACKAGE / "datapackage.json").read_text(encoding="utf-8"))
    for name in ("id", "title", "created", "temporal", "coordinatePrecision", "licenses"):
        assert meta[name] == original[name], name
    assert meta["spatial"] == original["spatial"]  # the box of the cameras, none generalised here
    assert [c["title"] for c in meta["contributors"]] == [c["title"] for c in original["contributors"]]
    assert {t["scientificName"] for t in meta["taxonomic"]} <= {t["scientificName"] for t in original["taxonomic"]}
    store = tmp_path / "again"
    result = run("import", str(example_export), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    assert "4 deployments, 423 media, 549 observations" in result.stderr


def test_camtrapdp_export_generalises_the_leopard_camera(leopard_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "package.zip"
    assert run("export", "--store", str(leopard_store), "-f", "camtrapdp", "-o", str(out)).exit_code == 0
    seen = numbers(out.read_bytes())
    assert LEOPARD_CAMERA[0] not in seen and LEOPARD_CAMERA[1] not in seen and 43.27771 in seen
    # and says so, as Camtrap DP can: in the package's description and the camera's comment (no
    # dataGeneralizations column there); the public camera's comment is its own
    with zipfile.ZipFile(out) as zf:
        descriptor = json.loads(zf.read("datapackage.json"))
        cameras = {r["deploymentID"]: r for r in csv.DictReader(io.StringIO(zf.read("deployments.csv").decode()))}
    assert "1 deployment of this package: coordinates generalised" in descriptor["description"]
    assert "Panthera pardus orientalis (IUCN CR)" in descriptor["description"]
    assert descriptor["coordinatePrecision"] == 0.1
    said = {d: "generalised to the centre" in r["deploymentComments"] for d, r in cameras.items()}
    assert sum(said.values()) == 1 and all("withheld" in cameras[d]["deploymentComments"] for d in said if said[d])
    assert run("import", str(out), "--store", str(tmp_path / "store")).exit_code == 0


def test_frictionless_accepts_the_exported_package(example_export: Path, tmp_path: Path) -> None:
    """The Frictionless Data validator (the reference implementation of Table Schema), offline: the tables
    checked against the Camtrap DP 1.0.2 table schemas amurkg ships (types, constraints, primary and foreign
    keys); the descriptor's profile is checked by amurkg import's JSON Schema (the test above)."""
    report = frictionless_report(example_export, tmp_path / "package")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    assert report.stats["tasks"] == 3


def _visible_latitudes(store: Path, exact: bool = False) -> set[float]:
    args = ["--exact-locations"] if exact else []
    query = "SELECT ?lat WHERE { ?d <http://rs.tdwg.org/dwc/terms/decimalLatitude> ?lat }"
    result = run("sparql", "--store", str(store), *args, query, "-f", "csv")
    assert result.exit_code == 0, result.stderr
    return {float(v) for v in result.stdout.split()[1:]}


def test_import_grid_and_upgrade_regeneralise_every_package(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store), "--grid", "0.25").exit_code == 0
    assert _visible_latitudes(store) == {43.125, 43.2}  # D1 (the leopard's) at its 0.25 degree cell's centre
    result = run("import", "--upgrade", "--store", str(store), "--grid", "1")
    assert result.exit_code == 0, result.stderr
    assert "1 record of threatened taxa generalised" in result.stderr
    assert _visible_latitudes(store) == {43.5, 43.2}
    assert _visible_latitudes(store, exact=True) == {43.1, 43.2}  # the store keeps the exact value


def test_protection_follows_what_the_graph_says_is_threatened(tmp_path: Path) -> None:
    """What `import --upgrade` recomputes: a camera whose threatened record is gone gets its exact location
    back; one that now holds a threatened taxon is generalised, its exact value never left visible."""
    import pyoxigraph as ox

    from amurkg.store import Store
    from amurkg.survey.sensitive import protect

    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    to_taxon = ox.NamedNode("http://rs.tdwg.org/dwc/iri/toTaxon")
    deployment = ox.NamedNode("https://w3id.org/amurkg/ontology#deployment")
    with Store.open(store, write=True) as opened:
        [record] = opened.imports()
        graph = ox.NamedNode(record.graph)
        leopard = next(
            q.object for q in opened.ox.quads_for_pattern(None, to_taxon, None, graph) if "leopard" in q.object.value
        )
        for quad in list(opened.ox.quads_for_pattern(None, to_taxon, leopard, graph)):
            opened.ox.remove(quad)  # D1 recorded no leopard after all...
        d2_obs = next(
            q.subject
            for q in opened.ox.quads_for_pattern(None, deployment, None, graph)
            if q.object.value.endswith("/D2")
        )
        opened.ox.add(ox.Quad(d2_obs, to_taxon, leopard, graph))  # ...and D2 did
        assert protect(opened, record.graph) == 1
        opened.ox.flush()
    assert _visible_latitudes(store) == {43.1, 43.25}
    assert _visible_latitudes(store, exact=True) == {43.1, 43.2}


def test_import_grid_bad_value_is_one_line(tmp_path: Path) -> None:
    for value in ("0", "-1", "11", "nan"):
        result = run("import", str(SMALL), "--store", str(tmp_path / "store"), "--grid", value)
        assert result.exit_code == 2, (value, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "--grid" in result.stderr, result.stderr
        assert not (tmp_path / "store").exists()  # refused before the store was created


def test_a_correction_keeps_the_grid_the_store_was_imported_with(tmp_path: Path) -> None:
    from amurkg.survey import corrections

    store = tmp_path / "store"
    amurkg.import_package(store, SMALL, grid=0.25)
    corrections.update_taxon(store, "Cervus nippon hortulorum", "Panthera pardus orientalis", "a leopard", by="t")
    assert _visible_latitudes(store) == {43.125}  # D1 and now D2 in their 0.25 degree cells, not 0.1
    assert _visible_latitudes(store, exact=True) == {43.1, 43.2}
