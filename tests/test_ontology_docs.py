"""amurkg docs: the HTML documentation opens in headless Chromium and shows every class, offline."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import rdflib
from conftest import CHROMIUM_FLAGS, tool
from rdflib import OWL, RDF, RDFS

from amurkg.resources import ontology_files


def chromium() -> str:
    return tool("chromium")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from typer.testing import CliRunner

    from amurkg.cli import app

    out = tmp_path_factory.mktemp("docs") / "site"
    result = CliRunner().invoke(app, ["docs", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    index = out / "index.html"
    profile = tmp_path_factory.mktemp("chromium-profile")
    dom = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", index.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return index, dom


def classes() -> dict[str, str]:
    g = rdflib.Graph()
    g.parse(data=(ontology_files()[0]).read_text(encoding="utf-8"), format="turtle")
    return {
        str(c): str(g.value(c, RDFS.label)) for c in g.subjects(RDF.type, OWL.Class) if isinstance(c, rdflib.URIRef)
    }


@pytest.mark.tools  # headless Chromium
def test_every_class_appears_in_the_rendered_page(page: tuple[Path, str]) -> None:
    _, dom = page
    text = re.sub(r"<[^>]+>", " ", dom)
    found = classes()
    assert len(found) > 50
    for iri, label in found.items():
        assert iri in dom, f"{iri} is not on the page"
        assert label in text, f"{label!r} is not on the page"


@pytest.mark.tools  # headless Chromium
def test_page_shows_examples_from_the_graph(page: tuple[Path, str]) -> None:
    _, dom = page
    examples = dom[dom.index('id="examples"') :]
    assert "Examples from the graph" in examples
    assert "Amur leopard" in examples and "Land of the Leopard National Park" in examples


@pytest.mark.tools  # headless Chromium
def test_page_needs_no_network(page: tuple[Path, str]) -> None:
    index, _ = page
    source = index.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=\"https?:", source)
    assert not re.search(r"<link[^>]+rel=\"stylesheet\"[^>]+href=\"https?:", source)
    assert not re.search(r"<img[^>]+src=\"https?:", source)


def test_docs_into_a_file_path_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "taken"
    target.write_text("not a folder")
    result = cli("docs", "-o", str(target))
    assert result.exit_code == 2 and "it is a file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
