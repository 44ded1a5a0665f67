"""What an import hands the bulk loader is valid N-Triples, whatever text a package holds.

An import writes its triples as N-Triples text, and the loader refuses the whole file at the first line it
cannot parse: a package whose text the mapping wrote carelessly (an unencoded '>' or space in an IRI, an
unescaped quote or line break in a literal, a bad language tag) would fail as "the store refused the import",
not as a problem at its row. These tests put hostile but acceptable text (IRI delimiters, quotes,
backslashes, percent signs, spaces of every kind, right-to-left and astral characters, combining marks) in
every identifier and name of a Camtrap DP package, of its descriptor and of a Darwin Core Archive, import it,
and parse every staged file with pyoxigraph's strict parser: each must parse, with one triple a line.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import REPO
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_hostile_packages import _DWC_COLUMNS, table_rows, write_archive, write_rows

from amurkg.store import Store
from amurkg.survey.importer import import_package

SMALL = REPO / "tests" / "data" / "survey-small"
HEALTH = [HealthCheck.function_scoped_fixture]

#: characters that break an IRI or a literal written carelessly, and text of other scripts and planes
_HOSTILE = "<>\"\\{}|^`%#?&=;:/.@+*!$'()[], _~-" + "aZ09\u00e9\u05d0\u0627\u0301\u00a0\u3000\uff1e\u4e2d\U0001f406"
_TEXT = st.text(alphabet=st.sampled_from(_HOSTILE), min_size=1, max_size=12).filter(lambda t: t.strip() == t)

#: (table, column) holding text that ends up in an IRI (identifiers) or a literal (names, paths, comments)
_CELLS = [
    ("deployments.csv", "deploymentID"),
    ("deployments.csv", "locationID"),
    ("deployments.csv", "locationName"),
    ("deployments.csv", "setupBy"),
    ("deployments.csv", "deploymentComments"),
    ("media.csv", "mediaID"),
    ("media.csv", "filePath"),
    ("media.csv", "fileName"),
    ("media.csv", "mediaComments"),
    ("observations.csv", "observationID"),
    ("observations.csv", "eventID"),
    ("observations.csv", "scientificName"),
    ("observations.csv", "classifiedBy"),
    ("observations.csv", "individualID"),
    ("observations.csv", "observationComments"),
]
_KEYS = {"deploymentID", "mediaID", "observationID"}  # unique in their tables
_REFERENCED = {"deploymentID": ["media.csv", "observations.csv"], "mediaID": ["observations.csv"]}


def _staged_of(store: Path, package: Path, monkeypatch: pytest.MonkeyPatch, copies: Path) -> list[Path]:
    """Import ``package``, keeping a copy of every file the loader is handed; the copies."""
    real = Store.load_ntriples
    kept: list[Path] = []

    def keeping(self: Store, path: Path, graph: str) -> None:
        copy = copies / f"staged-{len(kept)}.nt"
        shutil.copyfile(path, copy)
        kept.append(copy)
        real(self, path, graph)

    with monkeypatch.context() as patch:
        patch.setattr(Store, "load_ntriples", keeping)
        import_package(store, package)
    return kept


def _strictly_valid(files: list[Path]) -> int:
    """Parse each file with pyoxigraph's strict N-Triples parser: the triples, checked one a line."""
    assert files
    total = 0
    for file in files:
        lines = sum(1 for line in file.read_bytes().split(b"\n") if line)
        triples = list(ox.parse(path=str(file), format=ox.RdfFormat.N_TRIPLES))
        assert len(triples) == lines, file
        total += lines
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    cells=st.lists(st.tuples(st.sampled_from(_CELLS), st.integers(2, 3), _TEXT), min_size=1, max_size=4),
    title=_TEXT,
    vernacular=_TEXT,
)
def test_a_camtrap_dp_package_stages_strict_n_triples(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    cells: list[tuple[tuple[str, str], int, str]],
    title: str,
    vernacular: str,
) -> None:
    work = tmp_path_factory.mktemp("staged")
    package = work / "package"
    shutil.copytree(SMALL, package)
    for (file, column), row, text in cells:
        rows = table_rows(package / file)
        index = rows[0].index(column)
        if column == "filePath":  # the schema's pattern: relative, no leading '.', '/' or '~', no '..'
            text = "a" + text.replace("..", ".")
        if column in _KEYS:  # a key given to two rows is a problem the import reports, not what this test is about
            assume(all(line[index] != text for n, line in enumerate(rows[1:], 2) if n != row))
        old, rows[row - 1][index] = rows[row - 1][index], text
        write_rows(package / file, rows)
        for other in _REFERENCED.get(column, []):  # an identifier changes wherever it is named
            others = table_rows(package / other)
            at = others[0].index(column)
            for line in others[1:]:
                if line[at] == old:
                    line[at] = text
            write_rows(package / other, others)
    descriptor: dict[str, Any] = json.loads((package / "datapackage.json").read_text("utf-8"))
    descriptor["title"] = title
    descriptor["keywords"] = [title, vernacular]
    descriptor["taxonomic"] = [
        {"scientificName": "Lynx lynx", "taxonID": title, "vernacularNames": {"eng": vernacular, "rus": title}}
    ]
    (package / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    staged = _staged_of(work / "store", package, monkeypatch, work)
    assert _strictly_valid(staged) > 100


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(occurrence=_TEXT, deployment=_TEXT, name=_TEXT)
def test_a_darwin_core_archive_stages_strict_n_triples(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    occurrence: str,
    deployment: str,
    name: str,
) -> None:
    work = tmp_path_factory.mktemp("staged")
    rows = [[value(k) for _, value in _DWC_COLUMNS] for k in range(1, 7)]
    columns = [term for term, _ in _DWC_COLUMNS]
    rows[0][columns.index("occurrenceID")] = occurrence
    rows[1][columns.index("parentEventID")] = deployment
    rows[2][columns.index("scientificName")] = name
    archive = write_archive(work / "archive", rows)
    staged = _staged_of(work / "store", archive, monkeypatch, work)
    assert _strictly_valid(staged) > 30


def test_a_descriptor_that_lists_a_value_twice_imports(tmp_path: Path) -> None:
    """A keyword, a source or a capture method listed twice is one triple: the import once wrote it twice, and
    its count check (one triple stored for every line written) refused the package as a loader failure."""
    package = tmp_path / "package"
    shutil.copytree(SMALL, package)
    descriptor: dict[str, Any] = json.loads((package / "datapackage.json").read_text("utf-8"))
    descriptor["keywords"] = ["leopard", "leopard", "Amur"]
    descriptor["sources"] = [{"title": "field notes"}, {"title": "field notes"}]
    (package / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    report = import_package(tmp_path / "store", package)
    with Store.open(tmp_path / "store") as store:
        (record,) = store.imports()
        keywords = store.ox.query(
            "SELECT ?k WHERE { ?p <https://schema.org/keywords> ?k }", default_graph=ox.NamedNode(record.graph)
        )
        assert sorted(str(row["k"].value) for row in keywords) == ["Amur", "leopard"]
    assert report.stats.triples == record.triples


def test_tables_in_folders_with_one_file_name_are_three_files(tmp_path: Path) -> None:
    """deployments/data.csv, media/data.csv and observations/data.csv: named by their file name alone they were
    one file, their rows wrote the same lines twice, and the count check refused the package as a loader failure
    (and the file was taken for a Darwin Core occurrence core)."""
    package = tmp_path / "package"
    shutil.copytree(SMALL, package)
    descriptor: dict[str, Any] = json.loads((package / "datapackage.json").read_text("utf-8"))
    for resource in descriptor["resources"]:
        if resource["name"] in ("deployments", "media", "observations"):
            (package / resource["name"]).mkdir()
            (package / resource["path"]).rename(package / resource["name"] / "data.csv")
            resource["path"] = f"{resource['name']}/data.csv"
    (package / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    report = import_package(tmp_path / "store", package)
    with Store.open(tmp_path / "store") as store:
        (record,) = store.imports()
        files = store.ox.query(
            "SELECT ?file ?table WHERE { ?file a <https://w3id.org/amurkg/ontology#DataFile> ; "
            "<https://w3id.org/amurkg/ontology#tableName> ?table }",
            default_graph=ox.NamedNode(record.graph),
        )
        tables = {str(row["table"].value): str(row["file"].value) for row in files}
    assert sorted(tables) == ["deployments", "media", "observations"]
    assert len(set(tables.values())) == 3 and all(iri.endswith("%2Fdata.csv") for iri in tables.values())
    assert report.stats.triples == record.triples


def test_package_lines_stream_what_the_rows_computed() -> None:
    """Only the descriptor's few lines are held to write each once: the lines computed from the rows (a million
    at 1M observations) stream through, as they did before the descriptor's lines were made unique."""
    from amurkg.survey.rdf import Mapper, TaxonIndex

    mapper = Mapper("streamed", {}, TaxonIndex())
    taken: list[int] = []

    def computed() -> Iterator[str]:
        for n in range(100_000):
            taken.append(n)
            yield f"<urn:s{n}> <urn:p> <urn:o> ."

    mapper.gap_lines = computed  # type: ignore[method-assign]
    first = list(itertools.islice(mapper.package_lines({"keywords": ["a", "a"]}), 50))
    assert len(first) == 50 and len(taken) < 100
    assert sum(1 for line in first if "keywords" in line) == 1
