"""Independent review of location safety (issue 16 §4): ways the exact coordinates of a camera that recorded a
threatened taxon could leave a store. tests/data/survey-small: D1 (43.1, 131.5) recorded the Amur leopard;
D2 (43.2, 131.6) recorded wild boar and a sika deer."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, new_store
from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.survey import corrections as corr

SMALL = REPO / "tests" / "data" / "survey-small"
#: D2's exact coordinates, as any writer could spell them.
D2 = re.compile(r"(?<![0-9.])(43\.20*|131\.60*|4\.32[eE]\+?0*1|1\.316[eE]\+?0*2)(?![0-9])")


def run(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from amurkg.cli import app

    return CliRunner().invoke(app, list(args))


def outputs(store: Path, tmp: Path, camtrapdp: bool = True) -> dict[str, str]:
    """Every way out of the store that does not ask for exact locations, as text."""
    found: dict[str, str] = {}
    for fmt in ("nt", "nq", "trig", "jsonld"):
        result = run("export", "--store", str(store), "-f", fmt)
        assert result.exit_code == 0, result.output
        found[fmt] = result.stdout
    result = run("survey", "geojson", "--store", str(store))
    assert result.exit_code == 0, result.output
    found["geojson"] = result.stdout
    result = run("sparql", "--store", str(store), "-f", "csv", "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert result.exit_code == 0, result.output
    found["sparql"] = result.stdout
    archive = tmp / "archive.zip"
    assert run("export", "--store", str(store), "-f", "dwca", "-o", str(archive)).exit_code == 0
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            found[f"dwca/{name}"] = z.read(name).decode()
    if not camtrapdp:  # one package per Camtrap DP export
        return found
    package = tmp / "package"
    assert run("export", "--store", str(store), "-f", "camtrapdp", "-o", str(package)).exit_code == 0
    for path in package.iterdir():
        found[f"camtrapdp/{path.name}"] = path.read_text()
    return found


def leaks(found: dict[str, str]) -> dict[str, list[str]]:
    out = {}
    for where, text in found.items():
        hits = [text[max(0, m.start() - 60) : m.end() + 20] for m in D2.finditer(text)]
        if hits:
            out[where] = hits
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """survey-small imported once; each test gets a copy of it (``store``): a copy of a closed store is that
    store, and the import is the same for every test here (about 0.45 s each, more under load)."""
    path = tmp_path_factory.mktemp("imported") / "store"
    amurkg.import_package(path, SMALL)
    return path


@pytest.fixture
def store(tmp_path: Path, imported: Path) -> Path:
    return Path(shutil.copytree(imported, tmp_path / "store"))


def test_d2_is_exact_until_it_records_a_threatened_taxon(store: Path, tmp_path: Path) -> None:
    # the pattern finds D2's coordinates where they are allowed: the check below can fail
    assert leaks(outputs(store, tmp_path))


def test_a_name_corrected_to_the_leopard_hides_its_camera(store: Path, tmp_path: Path) -> None:
    """The sika deer at D2 was a leopard: from the correction on, D2 is a leopard's camera, generalised in
    the store, in every export and in every answer, as if the package had said so."""
    corr.update_taxon(store, "Cervus nippon hortulorum", "Panthera pardus orientalis", "it is a leopard", by="t")
    assert leaks(outputs(store, tmp_path)) == {}
    # still hidden when the correction is withdrawn: the safe way to be wrong
    with amurkg.KnowledgeGraph(store=store) as kg:
        (taxon,) = [c for c in corr.corrections(kg) if c.kind == "taxon"]
    corr.undo(store, taxon.id, "second look", by="t")
    (tmp_path / "after").mkdir()
    assert leaks(outputs(store, tmp_path / "after")) == {}


def test_a_correction_before_the_import_hides_the_camera(tmp_path: Path) -> None:
    """A correction for every package, recorded before a package with that name is imported."""
    store = tmp_path / "store"
    other = tmp_path / "other"
    shutil.copytree(SMALL, other)
    observations = (other / "observations.csv").read_text().replace("Panthera pardus orientalis", "Lynx lynx")
    (other / "observations.csv").write_text(observations)
    text = (other / "datapackage.json").read_text().replace("amurkg-test-survey-2023", "other-survey")
    (other / "datapackage.json").write_text(text)
    amurkg.import_package(store, other)  # a package of no leopard, so that the correction can be recorded
    corr.update_taxon(store, "Cervus nippon hortulorum", "Panthera pardus orientalis", "a leopard", by="t")
    assert run("import", "--store", str(store), "--remove", "other-survey").exit_code == 0
    amurkg.import_package(store, SMALL)
    assert leaks(outputs(store, tmp_path)) == {}


D1 = re.compile(r"(?<![0-9.])(43\.10*|131\.50*|4\.31[eE]\+?0*1|1\.315[eE]\+?0*2)(?![0-9])")


def _package(tmp: Path, name: str, identifier: str, d2: str | None = None, leopard: bool = True) -> Path:
    """survey-small under another identifier; D2 moved to ``d2`` ('lat,lon,locationID'); the leopard renamed a
    lynx unless ``leopard``."""
    folder = tmp / name
    shutil.copytree(SMALL, folder)
    if d2 is not None:
        lat, lon, location = d2.split(",")
        text = (folder / "deployments.csv").read_text()
        (folder / "deployments.csv").write_text(
            text.replace('D2,L2,"stream, upper",43.2,131.6,', f"D2,{location},x,{lat},{lon},")
        )
    if not leopard:
        text = (folder / "observations.csv").read_text().replace("Panthera pardus orientalis", "Lynx lynx")
        (folder / "observations.csv").write_text(text)
    text = (folder / "datapackage.json").read_text().replace("amurkg-test-survey-2023", identifier)
    (folder / "datapackage.json").write_text(text)
    return folder


def visible_points(store: Path) -> set[tuple[float, float]]:
    query = """PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
    SELECT ?lat ?lon WHERE { GRAPH ?g { ?s dwc:decimalLatitude ?lat ; dwc:decimalLongitude ?lon } }"""
    with amurkg.KnowledgeGraph(store=store) as kg:
        return {(float(r[0].value), float(r[1].value)) for r in kg.query(query).rows}


def d1_leaks(store: Path, tmp: Path, camtrapdp: bool = True) -> dict[str, list[str]]:
    out = {}
    for where, text in outputs(store, tmp, camtrapdp).items():
        hits = [text[max(0, m.start() - 60) : m.end() + 20] for m in D1.finditer(text)]
        if hits:
            out[where] = hits
    return out


def test_a_camera_set_again_at_the_leopards_post_is_hidden_too(tmp_path: Path) -> None:
    """D2 at D1's exact point, in the same package: its deer would give the leopard's camera away."""
    store = tmp_path / "store"
    amurkg.import_package(store, _package(tmp_path, "p", "same-post", d2="43.1,131.5,L9"))
    assert d1_leaks(store, tmp_path) == {}


def test_the_same_post_in_an_earlier_package_is_hidden_when_the_leopard_comes(tmp_path: Path) -> None:
    """Season one saw no leopard at D1's post; season two, imported after, did: season one's camera there goes
    generalised too, in the store and in every export."""
    store = tmp_path / "store"
    amurkg.import_package(store, _package(tmp_path, "one", "season-one", leopard=False))
    assert (43.1, 131.5) in visible_points(store)  # nothing threatened yet: exact
    amurkg.import_package(store, SMALL)
    assert (43.1, 131.5) not in visible_points(store)
    assert d1_leaks(store, tmp_path, camtrapdp=False) == {}


def test_the_same_post_in_a_later_package_is_hidden(tmp_path: Path) -> None:
    store = tmp_path / "store"
    amurkg.import_package(store, SMALL)
    amurkg.import_package(store, _package(tmp_path, "two", "season-two", leopard=False))
    assert d1_leaks(store, tmp_path, camtrapdp=False) == {}


@settings(max_examples=8)
@given(
    st.floats(min_value=-0.099, max_value=0.099, allow_nan=False),
    st.floats(min_value=-0.099, max_value=0.099, allow_nan=False),
    st.booleans(),
)
def test_a_new_gps_fix_of_the_leopards_post_is_hidden(
    tmp_path_factory: pytest.TempPathFactory, empty_store: Path, dlat: float, dlon: float, same_location: bool
) -> None:
    """D2 anywhere within a cell's width of D1 (a new fix of the same post, or the next post on the trail),
    with D1's locationID or its own: D2's exact point is not visible."""
    tmp = tmp_path_factory.mktemp("fix")
    lat, lon = round(43.1 + dlat, 6), round(131.5 + dlon, 6)
    store = new_store(empty_store, tmp)
    amurkg.import_package(store, _package(tmp, "p", "gps", d2=f"{lat},{lon},{'L1' if same_location else 'L7'}"))
    visible = visible_points(store)
    assert (lat, lon) not in visible and (43.1, 131.5) not in visible


def test_a_deer_at_the_leopards_point_in_an_occurrence_archive_is_hidden(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    terms = ["occurrenceID", "basisOfRecord", "eventDate", "scientificName", "decimalLatitude", "decimalLongitude"]
    fields = "".join(f'<field index="{i}" term="http://rs.tdwg.org/dwc/terms/{t}"/>' for i, t in enumerate(terms))
    (folder / "meta.xml").write_text(
        '<archive xmlns="http://rs.tdwg.org/dwc/text/"><core encoding="UTF-8" fieldsTerminatedBy="\\t" '
        'linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1" '
        'rowType="http://rs.tdwg.org/dwc/terms/Occurrence"><files><location>occurrence.txt</location></files>'
        f'<id index="0"/>{fields}</core></archive>'
    )
    rows = [
        terms,
        ["o1", "MachineObservation", "2023-01-02T01:00:00Z", "Panthera pardus orientalis", "43.1", "131.5"],
        ["o2", "MachineObservation", "2023-01-03T01:00:00Z", "Capreolus pygargus", "43.1", "131.5"],
    ]
    (folder / "occurrence.txt").write_text("".join("\t".join(r) + "\n" for r in rows))
    store = tmp_path / "store"
    amurkg.import_package(store, folder)
    assert (43.1, 131.5) not in visible_points(store)
    result = run("export", "--store", str(store), "-f", "nq")
    assert result.exit_code == 0 and not D1.search(result.stdout)


@settings(max_examples=20)
@given(st.floats(min_value=0, max_value=0.01, exclude_max=True, exclude_min=True))
def test_a_grid_too_fine_to_hide_anything_is_refused(degrees: float) -> None:
    """--grid 0.000001 would write the camera's place to the metre while saying 'generalised', without the
    warning --exact-locations gives: refused in one line, naming the smallest grid."""
    from amurkg.errors import ParameterError
    from amurkg.survey.sensitive import Grid

    with pytest.raises(ParameterError, match=r"0\.01"):
        Grid(degrees)


def test_a_too_fine_grid_on_the_command_line_is_one_line(store: Path, tmp_path: Path) -> None:
    for args in (
        ["export", "--store", str(store), "-f", "dwca", "--grid", "1e-9", "-o", str(tmp_path / "a.zip")],
        ["survey", "geojson", "--store", str(store), "--grid", "0.0001"],
    ):
        result = run(*args)
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
        assert "0.01" in result.stderr and "--exact-locations" in result.stderr
        assert not (tmp_path / "a.zip").exists() and not D1.search(result.stdout)


def test_a_correction_stopped_half_way_leaves_no_camera_it_names_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two packages with D2's sika deer; the correction that makes it a leopard is stopped (Ctrl-C) after the
    first package is protected. Either the correction is in force and both D2s are generalised, or it is not
    recorded at all; never in force beside an exact D2 (written first, the second package's D2 stayed exact until
    the next import). Run again, it hides both."""
    from amurkg.survey import sensitive

    store = tmp_path / "store"
    amurkg.import_package(store, SMALL)
    amurkg.import_package(store, _package(tmp_path, "two", "season-two"))
    assert (43.2, 131.6) in visible_points(store)
    real, calls = sensitive.protect, []

    def stopped(*args: object, **kwargs: object) -> int:
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sensitive, "protect", stopped)
    with pytest.raises(KeyboardInterrupt):
        corr.update_taxon(store, "Cervus nippon hortulorum", "Panthera pardus orientalis", "a leopard", by="t")
    assert len(calls) == 2  # stopped between the two packages
    monkeypatch.setattr(sensitive, "protect", real)
    with amurkg.KnowledgeGraph(store=store) as kg:
        recorded = [c for c in corr.corrections(kg) if c.kind == "taxon"]
    assert not recorded or (43.2, 131.6) not in visible_points(store)
    corr.update_taxon(store, "Cervus nippon hortulorum", "Panthera pardus orientalis", "a leopard", by="t")
    assert (43.2, 131.6) not in visible_points(store)
    assert leaks(outputs(store, tmp_path, camtrapdp=False)) == {}


def test_a_refused_replacement_protects_and_compacts_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that would replace an earlier import with fewer observations is refused (ReplaceError) as soon
    as it is read: before, it was refused only after the store was compacted and the other packages protected
    for it, so its leopard generalised another package's camera although "nothing changed"."""
    from amurkg.survey import importer

    store = tmp_path / "store"
    amurkg.import_package(store, _package(tmp_path, "b", "pkg-b", leopard=False))  # a camera at D1's post
    amurkg.import_package(store, _package(tmp_path, "a1", "pkg-a", d2="45.0,134.0,L7", leopard=False))
    fewer = _package(tmp_path, "a2", "pkg-a", d2="45.0,134.0,L7")  # pkg-a again: the leopard at D1, fewer rows
    rows = (fewer / "observations.csv").read_text().splitlines()
    (fewer / "observations.csv").write_text("\n".join([rows[0], *(r for r in rows if "Panthera" in r)]) + "\n")
    before = visible_points(store)
    assert (43.1, 131.5) in before
    compacted: list[bool] = []
    monkeypatch.setattr(importer, "_compact", lambda handle: compacted.append(True) or True)
    with pytest.raises(importer.ReplaceError):
        amurkg.import_package(store, fewer)
    assert visible_points(store) == before  # pkg-b's camera left exact
    assert not compacted


@pytest.mark.parametrize(
    "name",
    [
        "Panthera pardus orientalis (Schlegel, 1857)",  # with its authorship, as GBIF writes it
        "Panthera pardus orientalis Schlegel 1857",
        "Amur leopard",  # a common name in the scientific-name column
        "Panthera pardus japonensis",  # a subspecies the curated graph does not know: still a leopard
    ],
)
def test_a_leopard_named_another_way_is_protected(tmp_path: Path, name: str) -> None:
    """Found by a reviewer: a leopard recorded with its author citation (or by its common name) matched no curated
    taxon, got a taxon of its package's own that nothing protects, and its camera was published exact."""
    folder = tmp_path / "renamed"
    shutil.copytree(SMALL, folder)
    text = (folder / "observations.csv").read_text().replace("Panthera pardus orientalis", f'"{name}"')
    (folder / "observations.csv").write_text(text)
    store = tmp_path / "store"
    report = amurkg.import_package(store, folder)
    assert name in report.stats.matched and not report.stats.unknown.get(name)
    assert d1_leaks(store, tmp_path) == {}
    assert (43.1, 131.5) not in visible_points(store)


_AUTHORS = st.sampled_from(["Schlegel", "Linnaeus", "L.", "Pallas", "de Blainville", "von Schrenck", "d'Orbigny"])
_AUTHORSHIP = st.builds(
    lambda author, year, form: form.format(a=author, y=year),
    _AUTHORS,
    st.integers(1750, 2025),
    st.sampled_from(["({a}, {y})", "{a}, {y}", "{a} {y}", "({a})", "{a}", "[{a}, {y}]", "({a} {y})"]),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_curated_name_with_an_authorship_or_odd_spacing_is_its_taxon(data: st.DataObject) -> None:
    """Each scientific name of the curated taxa, followed by any usual form of authorship, in any case and
    spacing, matches its taxon; so does each vernacular name that names one taxon. A genus followed by an unknown
    epithet is not that genus (it is another species), while a species followed by one is that species."""
    index = _taxa()
    name, taxon = data.draw(st.sampled_from(sorted(index.names.items())))
    spaced = data.draw(st.sampled_from([" ", "  ", "\t", " \u00a0"]))
    written = spaced.join(w.upper() if data.draw(st.booleans()) else w for w in name.split())
    assert index.match(written) == taxon
    assert index.match(f"{written}{spaced}{data.draw(_AUTHORSHIP)}") == taxon
    epithet = data.draw(st.from_regex(r"[a-z]{4,12}", fullmatch=True))
    unknown = index.match(f"{name} {epithet}")
    if len(name.split()) >= 2:
        assert unknown == taxon or index.names.get(f"{name} {epithet}".casefold()) == unknown
    else:
        assert unknown in (None, index.names.get(f"{name} {epithet}".casefold()))
    for common, named in index.vernacular.items():
        assert index.match(common.upper()) == (named or index.names.get(common))


_INDEX: list[object] = []


def _taxa():  # type: ignore[no-untyped-def]
    """The curated taxa's names, as an import reads them (built once: the shipped graph does not change)."""
    if not _INDEX:
        import pyoxigraph as ox

        from amurkg.store import CURATED_GRAPH
        from amurkg.survey.rdf import taxon_index

        store = ox.Store()
        for path in sorted((REPO / "graph").glob("*.ttl")):
            store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(CURATED_GRAPH))
        _INDEX.append(taxon_index(store, default_graph=[ox.NamedNode(CURATED_GRAPH)]))
    return _INDEX[0]
