"""Field data leaving and coming back: Darwin Core Archives (against camtrapdp's own output), store exports
read by other parsers, and a store pushed to a real Oxigraph server answering the survey questions."""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import WAIT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_remote import oxigraph_server  # noqa: F401  (a fixture: a real Oxigraph server)
from test_survey import EXAMPLE, SMALL, run

import amurkg
from amurkg.survey.dwca import COLUMNS, DIFFERENCES

REFERENCE = Path(__file__).parent / "data" / "camtrapdp-r" / "occurrence.csv"
SURVEY_QUERIES = ["survey-effort", "detection-rate", "prey-detection-rate", "activity-pattern", "co-detections"]


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("ex") / "store"
    assert run("import", str(EXAMPLE), "--store", str(store)).exit_code == 0
    return store


@pytest.fixture(scope="module")
def archive(example_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dwca") / "example-dwca.zip"
    result = run("export", "--store", str(example_store), "-o", str(target))  # .zip: a Darwin Core Archive
    assert result.exit_code == 0, result.stderr
    return target


def occurrences(archive: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(archive) as zf:
        text = zf.read("occurrence.txt").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def _instant(text: str) -> list[datetime]:
    return [datetime.fromisoformat(part.replace("Z", "+00:00")) for part in text.split("/")]


def test_occurrences_match_camtrapdp_field_by_field(archive: Path) -> None:
    """The R package camtrapdp's write_dwc() output on the same example package (its test snapshot, MIT):
    every shared field equal, dates as the same instants; the remaining differences are the documented ones."""
    ours = {row["occurrenceID"]: row for row in occurrences(archive)}
    with REFERENCE.open(encoding="utf-8", newline="") as handle:
        theirs = {row["occurrenceID"]: row for row in csv.DictReader(handle)}
    assert set(ours) == set(theirs) and len(ours) == 29
    shared = [name for name, _ in COLUMNS if name in next(iter(theirs.values()))]
    # every column written is one camtrapdp writes too, but for the one saying what was withheld (none here)
    assert len(shared) == len(COLUMNS) - 1 and "informationWithheld" in DIFFERENCES
    for key, their in theirs.items():
        mine = ours[key]
        for name in shared:
            if name in ("eventDate", "samplingEffort", "dateIdentified"):
                assert _instant(mine[name]) == _instant(their[name]), (key, name)
            elif name == "eventRemarks":
                assert mine[name] in their[name], (key, mine[name], their[name])  # theirs adds composed text
            else:
                assert mine[name] == their[name], (key, name, mine[name], their[name])
    not_written = set(next(iter(theirs.values()))) - {name for name, _ in COLUMNS}
    assert not_written == {"identificationVerificationStatus", "identificationRemarks"} <= set(DIFFERENCES)


def test_archive_follows_gbif_rules(archive: Path) -> None:
    rows = occurrences(archive)
    ids = [row["occurrenceID"] for row in rows]
    assert len(ids) == len(set(ids)) and all(ids)
    for row in rows:
        assert row["basisOfRecord"] == "MachineObservation" and row["occurrenceStatus"] == "present"
        assert row["scientificName"] and row["eventDate"]
        assert -90 <= float(row["decimalLatitude"]) <= 90 and -180 <= float(row["decimalLongitude"]) <= 180
        assert row["geodeticDatum"] == "EPSG:4326"
        for start in _instant(row["eventDate"]):
            assert start.tzinfo is not None
    with zipfile.ZipFile(archive) as zf:
        meta = ElementTree.fromstring(zf.read("meta.xml"))
        eml = ElementTree.fromstring(zf.read("eml.xml"))
    ns = "{http://rs.tdwg.org/dwc/text/}"
    core = meta.find(f"{ns}core")
    assert core is not None and core.get("rowType") == "http://rs.tdwg.org/dwc/terms/Occurrence"
    terms = {int(f.get("index", -1)): f.get("term") for f in core.findall(f"{ns}field")}
    header = list(rows[0])
    assert [terms[i].rsplit("/", 1)[-1] for i in range(len(header))] == header  # type: ignore[union-attr]
    title = eml.find(".//dataset/title")
    assert title is not None and (title.text or "").startswith("Sample from: MICA")


def test_archive_is_the_same_bytes_every_time(example_store: Path, archive: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    assert run("export", "--store", str(example_store), "-f", "dwca", "-o", str(again)).exit_code == 0
    assert again.read_bytes() == archive.read_bytes()


def test_archive_round_trip_gives_the_same_answers_and_the_same_archive(
    archive: Path, example_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "back"
    result = run("import", str(archive), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    with amurkg.KnowledgeGraph(store=example_store) as a, amurkg.KnowledgeGraph(store=store) as b:
        for name in SURVEY_QUERIES:
            if name == "survey-effort":
                continue  # the archive has no row for a deployment without animal detections
            assert a.run(name).as_set() == b.run(name).as_set(), name
        effort_a = {r["deploymentID"]: r["cameraDays"] for r in a.run("survey-effort").as_text_dicts()}
        effort_b = {r["deploymentID"]: r["cameraDays"] for r in b.run("survey-effort").as_text_dicts()}
        assert effort_b.items() <= effort_a.items() and effort_b
    again = tmp_path / "again.zip"
    assert run("export", "--store", str(store), "-f", "dwca", "-o", str(again)).exit_code == 0
    assert occurrences(again) == occurrences(archive)


@pytest.mark.parametrize(
    ("meta", "says"),
    [
        ('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><archive/>', "DOCTYPE"),
        ("<archive><core rowType='http://rs.tdwg.org/dwc/terms/Event'/></archive>", "Occurrence cores"),
        ("<archive><core", "meta.xml:1:"),
        (
            "<archive><core rowType='http://rs.tdwg.org/dwc/terms/Occurrence'><files><location>../x.txt</location>"
            "</files></core></archive>",
            "not inside the archive",
        ),
    ],
)
def test_hostile_or_broken_meta_xml_is_refused(tmp_path: Path, meta: str, says: str) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "meta.xml").write_text(meta)
    result = run("import", str(folder), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2 and says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists()


def test_bad_occurrence_rows_are_located(archive: Path, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    rows = (folder / "occurrence.txt").read_text().splitlines()
    header = rows[0].split("\t")
    cells = rows[3].split("\t")
    cells[header.index("decimalLatitude")] = "999"
    rows[3] = "\t".join(cells)
    cells = rows[5].split("\t")
    cells[0] = rows[1].split("\t")[0]  # a duplicate occurrenceID
    rows[5] = "\t".join(cells)
    (folder / "occurrence.txt").write_text("\n".join(rows) + "\n")
    result = run("import", str(folder), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2
    latitude = header.index("decimalLatitude") + 1
    assert f"occurrence.txt:4:{latitude} (decimalLatitude): '999' is not a number from -90 to 90" in result.stderr
    assert "occurrence.txt:6:1 (occurrenceID)" in result.stderr and "duplicate of row 2" in result.stderr


#: Text no serialiser may pass through raw: a quote, a backslash, a line break, a tab and non-ASCII letters.
AWKWARD = 'said "ridge" \\ twice\nsecond line\tafter a tab, Приморье, 豹'


@pytest.fixture(scope="module")
def awkward_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small package (every kind of term the stores hold, a quarter of the example's size), with a
    deployment comment made of text each syntax must escape."""
    import shutil

    folder = tmp_path_factory.mktemp("awkward")
    package = folder / "package"
    shutil.copytree(SMALL, package)
    from places import read_rows, write_rows

    deployments = package / "deployments.csv"
    rows = read_rows(deployments)
    rows[1]["deploymentComments"] = AWKWARD  # D2: no threatened taxon, so its remarks are not withheld
    write_rows(deployments, rows)
    store = folder / "store"
    result = run("import", str(package), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    return store


@pytest.mark.heavy
def test_store_exports_read_back_by_rdflib_as_the_same_graph(awkward_store: Path, tmp_path: Path) -> None:
    """Each export syntax, parsed by rdflib, gives the N-Triples export's graph. The store is the small package
    rather than the example (a quarter of the triples, so a quarter of rdflib's parsing), and the test first
    shows it still holds every kind of term a serialiser treats differently."""
    import rdflib
    from rdflib.compare import to_isomorphic

    graphs = {}
    for fmt in ("nt", "ttl", "nq", "trig", "jsonld", "xml"):
        target = tmp_path / f"out.{fmt}"
        result = run("export", "--store", str(awkward_store), "-f", fmt, "-o", str(target))
        assert result.exit_code == 0, result.stderr
        rdf_format = {"nt": "nt", "ttl": "turtle", "nq": "nquads", "trig": "trig", "jsonld": "json-ld", "xml": "xml"}[
            fmt
        ]
        if fmt in ("nq", "trig"):
            dataset = rdflib.Dataset()
            with warnings.catch_warnings():  # rdflib's own parser calls its deprecated default_context
                warnings.simplefilter("ignore", DeprecationWarning)
                dataset.parse(target, format=rdf_format)
            assert len(set(dataset.graphs())) >= 3, fmt  # curated, imported and generalised graphs, all kept
            union = rdflib.Graph()
            for s, p, o, _ in dataset.quads((None, None, None, None)):
                union.add((s, p, o))
            graphs[fmt] = union
        else:
            with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph
                warnings.simplefilter("ignore", DeprecationWarning)
                graphs[fmt] = rdflib.Graph().parse(target, format=rdf_format)
    reference = graphs.pop("nt")
    with amurkg.KnowledgeGraph(store=awkward_store) as kg:  # every triple a query sees, no more
        seen = kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").as_dicts()  # type: ignore[union-attr]
        assert len(reference) == int(seen[0]["n"]) == len(kg)
    # the coverage the smaller store must keep: blank nodes, language tags, each datatype, escaped text
    objects = list(reference.objects())
    literals = [o for o in objects if isinstance(o, rdflib.Literal)]
    assert any(isinstance(t, rdflib.BNode) for t in (*reference.subjects(), *objects))
    assert any(o.language for o in literals)
    xsd = "http://www.w3.org/2001/XMLSchema#"
    datatypes = {str(o.datatype) for o in literals if o.datatype}
    for kind in ("integer", "decimal", "boolean", "dateTime", "date"):
        assert xsd + kind in datatypes, kind
    assert "http://www.opengis.net/ont/geosparql#wktLiteral" in datatypes
    assert rdflib.Literal(AWKWARD) in literals
    canonical = to_isomorphic(reference)  # hashed once, not once per comparison
    for fmt, graph in graphs.items():
        assert to_isomorphic(graph) == canonical, fmt
    twice = tmp_path / "twice.nt"
    run("export", "--store", str(awkward_store), "-f", "nt", "-o", str(twice))
    assert twice.read_bytes() == (tmp_path / "out.nt").read_bytes()


def test_push_a_store_and_ask_the_survey_questions_remotely(
    oxigraph_server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    graph = "https://w3id.org/amurkg/graph/survey-test"
    result = run("push", "--endpoint", oxigraph_server, "--store", str(store), "--graph", graph)
    assert result.exit_code == 0, result.stderr
    remote = amurkg.KnowledgeGraph.remote(oxigraph_server, timeout=WAIT, graph=graph)
    with amurkg.KnowledgeGraph(store=store) as local:
        for name in SURVEY_QUERIES:
            assert remote.run(name).as_set() == local.run(name).as_set(), name
        near = {"latitude": "43.1", "longitude": "131.5", "km": "20"}
        assert remote.run("detections-near", near).as_set() == local.run("detections-near", near).as_set()
    history = run("survey", "detection-history", "--endpoint", oxigraph_server, "--graph", graph, "--occasion", "2")
    assert history.exit_code == 0, history.stderr
    assert history.stdout == "deploymentID,o1,o2,o3,o4,o5\nD1,1,0,1,0,0\nD2,0,0,0,NA,NA\n"


def test_serve_a_store(tmp_path: Path) -> None:
    """amurkg serve --store: its workers read the store read-only; the survey questions answer as locally, and an
    import waits for the server to let go of the store."""
    from test_serve import start, stop

    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    proc, url = start("--store", str(store), "--timeout", "600")  # answers compared, not timed
    try:
        remote = amurkg.KnowledgeGraph.remote(url, timeout=WAIT)
        with amurkg.KnowledgeGraph(store=store) as local:
            for name in SURVEY_QUERIES:
                assert sorted(remote.run(name).rows, key=repr) == sorted(local.run(name).rows, key=repr), name
        busy = run("import", str(SMALL), "--store", str(store))
        assert busy.exit_code == 2 and "being read" in busy.stderr
    finally:
        stop(proc)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the server's workers through Linux's /proc")
def test_serve_a_reasoned_store_from_the_handles_its_workers_inherit(tmp_path: Path) -> None:
    """amurkg serve --store --reason: the zygote opens the store, and makes the reasoned view, once and read-only;
    every worker reads those handles, the first ones and those forked after every worker was killed, and answers
    reasoning and survey questions as a local reader does. The view goes when the server stops."""

    from conftest import PARAMS
    from test_serve import _children, _kill_all, start, stop

    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    names = [*[q.name for q in amurkg.list_queries() if q.reasoning][:3], "survey-effort", "detection-rate"]
    with amurkg.KnowledgeGraph(store=store, reason=True) as local:
        expected = {name: sorted(local.run(name, PARAMS.get(name)).rows, key=repr) for name in names}  # type: ignore[union-attr]
    proc, url = start("--store", str(store), "--reason", "--timeout", "600")  # answers compared, not timed
    try:
        remote = amurkg.KnowledgeGraph.remote(url, timeout=WAIT)
        for round in ("first workers", "workers forked after the first were killed"):
            for name in names:
                answer = remote.run(name, PARAMS.get(name))
                assert sorted(answer.rows, key=repr) == expected[name], (round, name)  # type: ignore[union-attr]
            _kill_all([worker for zygote in _children(proc.pid) for worker in _children(zygote)])
    finally:
        stop(proc)
    assert list((store / "views").iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet='aé漢\U0001f406,;" ', max_size=12), min_size=1, max_size=12),
    cut=st.integers(min_value=0, max_value=10_000),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_a_non_utf8_byte_is_found_at_its_line_and_column_whatever_the_chunks(
    lines: list[str], cut: int, chunk: int
) -> None:
    """The archive's core file is checked chunk by chunk (it is never held whole): the error names the same
    line and byte column as a decode of the whole file, wherever chunks cut lines and characters."""
    from amurkg.survey.camtrapdp import PackageError
    from amurkg.survey.dwca import _check_utf8

    data = "\n".join(lines).encode("utf-8")
    at = cut % (len(data) + 1)
    while 0 < at < len(data) and (data[at] & 0xC0) == 0x80:  # put the bad byte between characters
        at -= 1
    broken = data[:at] + b"\xff" + data[at:]
    line = broken[:at].count(b"\n") + 1
    column = at - (broken.rfind(b"\n", 0, at) + 1) + 1
    with pytest.raises(PackageError) as raised:
        _check_utf8(io.BytesIO(broken), "core.txt", chunk_size=chunk)
    [problem] = raised.value.problems  # the hint depends on the bytes around it (tests/test_hostile_packages.py)
    assert problem.startswith(f"core.txt:{line}:{column}: not UTF-8")
    _check_utf8(io.BytesIO(data), "core.txt", chunk_size=chunk)  # and valid text passes
