"""Every EML document amurkg writes is valid against the EML 2.2.0 XML schema itself (the release's XSD files,
``tests/data/eml-2.2.0``, read by lxml), not only against the elements ``amurkg.survey.eml.problems`` checks;
and that validation never reaches the network."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import new_store
from eml_schema import SCHEMAS, LocalOnly, RefusedLoadError, load, parser, schema_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from test_survey import run

from amurkg.survey.dwca import Coverage
from amurkg.survey.eml import eml_xml, problems
from amurkg.survey.sensitive import Grid, Reason

REPO = Path(__file__).resolve().parent.parent


def test_the_schema_is_the_pinned_release_loaded_from_its_folder() -> None:
    schema, resolver = load()
    assert schema is not None
    files = sorted(p.name for p in SCHEMAS.glob("*.xsd"))
    assert len(files) == 27 and "eml.xsd" in files and "eml-dataset.xsd" in files
    # every file the loader asked for is one of them, none twice from elsewhere
    assert resolver.asked and all(Path(a).resolve().parent == SCHEMAS for a in resolver.asked)
    root = etree.parse(str(SCHEMAS / "eml.xsd")).getroot()
    assert root.get("targetNamespace") == "https://eml.ecoinformatics.org/eml-2.2.0"
    # the release, unchanged (README.md in the folder names the tag and commit these digests were taken at)
    pinned = dict(
        line.split("  ")[::-1] for line in (SCHEMAS / "SHA256SUMS").read_text(encoding="utf-8").splitlines() if line
    )
    assert sorted(pinned) == files
    for name, digest in pinned.items():
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name
    assert "GNU GENERAL PUBLIC LICENSE" in (SCHEMAS / "LICENSE").read_text(encoding="utf-8")


@pytest.fixture
def listener() -> tuple[str, list[int]]:
    """A TCP server on 127.0.0.1 that counts the connections it gets: where a schema or document points."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connections: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                continue
            connections.append(1)
            client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", connections
    stop.set()
    thread.join()
    server.close()


def test_a_schema_that_imports_from_the_network_is_refused_offline(
    tmp_path: Path, listener: tuple[str, list[int]]
) -> None:
    address, connections = listener
    (tmp_path / "main.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:main">'
        f'<xs:import namespace="urn:far" schemaLocation="{address}/far.xsd"/>'
        "</xs:schema>",
        encoding="utf-8",
    )
    resolver = LocalOnly(tmp_path)
    document = etree.parse(str(tmp_path / "main.xsd"), parser(resolver))
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(document)
    assert f"{address}/far.xsd" in resolver.asked  # asked for, and refused by LocalOnly
    with pytest.raises(RefusedLoadError):
        resolver.resolve(f"{address}/far.xsd", "", None)
    # nor a document that names an external DTD or entity there: nothing is loaded, the entity stays unexpanded
    reader = LocalOnly()
    document = etree.fromstring(f'<!DOCTYPE eml SYSTEM "{address}/eml.dtd"><eml>&far;</eml>'.encode(), parser(reader))
    assert reader.asked == [] and document.text is None
    assert schema_errors(f'<!DOCTYPE x SYSTEM "{address}/x.dtd"><x/>') != []
    assert connections == []
    # the listener does count a connection: the check above could fail
    socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1]))).close()
    for _ in range(50):
        if connections:
            break
        threading.Event().wait(0.1)
    assert connections == [1]


# text as packages give it: any character XML 1.0 can carry, and those it cannot (a C0 control in a title)
_TEXT = st.text(max_size=40)
_PERSON = st.fixed_dictionaries(
    {
        "package": st.just("p"),
        "node": st.text(max_size=5),
        "name": _TEXT,
        "role": st.sampled_from(["", "contact", "principalInvestigator", "rightsHolder", "publisher", "contributor"]),
        "organization": _TEXT,
        "url": st.sampled_from(["", "https://orcid.org/0000-0002-1825-0097", "https://example.org/me"]) | _TEXT,
    }
)
_PACKAGE = st.fixed_dictionaries(
    {},
    optional={
        "id": _TEXT,
        "title": _TEXT,
        "description": _TEXT,
        "created": st.sampled_from(["2023-02-01T00:00:00Z", "2023-02-01", "yesterday"]) | _TEXT,
        "license": _TEXT,
        "rightsHolder": _TEXT,
    },
)
_PROJECT = st.fixed_dictionaries({"title": _TEXT, "design": _TEXT, "methods": _TEXT})
_DATE = st.dates().map(lambda d: d.isoformat())


@st.composite
def _coverage(draw: st.DrawFn) -> Coverage | None:
    if draw(st.booleans()):
        return None
    coverage = Coverage()
    for _ in range(draw(st.integers(0, 3))):
        first, last = sorted([draw(_DATE), draw(_DATE)])
        lat = draw(st.floats(-90, 90))
        lon = draw(st.floats(-180, 180))
        coverage.add(lat, lon, first, last, draw(_TEXT))
    for name in draw(st.lists(_TEXT, max_size=2)):
        coverage.generalised.add(f"deployment/{name}")
        coverage.reasons.add(Reason(name, "CR"))
    return coverage


@settings(max_examples=300, deadline=None)
@given(
    packages=st.lists(_PACKAGE, min_size=1, max_size=3),
    people=st.lists(_PERSON, max_size=4),
    projects=st.lists(_PROJECT, max_size=2),
    coverage=_coverage(),
    grid=st.sampled_from([0.01, 0.1, 0.25, 1.0]),
    media=st.none() | st.integers(0, 10**6),
)
def test_every_eml_written_is_valid_against_the_schema(
    packages: list[dict[str, str]],
    people: list[dict[str, str]],
    projects: list[dict[str, str]],
    coverage: Coverage | None,
    grid: float,
    media: int | None,
) -> None:
    xml = eml_xml(packages, people, projects, coverage, Grid(grid), media)
    assert schema_errors(xml) == []
    assert problems(xml) == []


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leopard=st.booleans(), grid=st.sampled_from([0.1, 1.0]))
def test_the_archives_export_writes_carry_a_valid_eml(
    leopard: bool, grid: float, tmp_path_factory: pytest.TempPathFactory, empty_store: Path
) -> None:
    folder = tmp_path_factory.mktemp("eml")
    store = new_store(empty_store, folder)
    package = REPO / "tests" / "data" / ("survey-small" if leopard else "camtrap-dp-example")
    assert run("import", str(package), "--store", str(store)).exit_code == 0
    out = folder / "out.zip"
    result = run("export", "--store", str(store), "-f", "dwca", "--grid", str(grid), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        eml = zf.read("eml.xml")
    assert schema_errors(eml) == []
    assert (b"generalised" in eml) == leopard
    assert b"Audubon Core multimedia extension" in eml
