"""OWL 2 DL, checked by the tools that define it: the OWL API's own OWL 2 DL profile check (tests/java/
ProfileCheck.java, compiled here against the OWL API jars that owlready2 ships with Pellet) finds no violation
in the ontology, the base graph or the full graph; HermiT and Pellet (through owlready2, on a Java runtime) find
the ontology and the full graph, entailments included, consistent with no unsatisfiable class; and a wrong type
planted in the data (a country typed as a taxon) makes HermiT report the graph inconsistent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import rdflib
from conftest import REPO, missing, tool

import amurkg

pytestmark = pytest.mark.tools  # HermiT and Pellet run on Java


@pytest.fixture(scope="module")
def java() -> str:
    return tool("java")


@pytest.mark.parametrize("reasoner", ["hermit", "pellet"])
@pytest.mark.parametrize("reason", [False, True], ids=["base", "full"])
def test_dl_reasoners_find_the_graph_consistent(java: str, reasoner: str, reason: bool, tmp_path: Path) -> None:
    import owlready2

    owlready2.JAVA_EXE = java
    export = tmp_path / "amurkg.owl"
    export.write_bytes(amurkg.export("xml", reason=reason))
    world = owlready2.World()
    onto = world.get_ontology(export.as_uri()).load()
    with onto:
        if reasoner == "hermit":
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        else:
            owlready2.sync_reasoner_pellet(world, infer_property_values=False, debug=0)
    assert list(world.inconsistent_classes()) == []
    assert len(list(onto.classes())) > 50  # the reasoner really saw the ontology


# --------------------------------------------------------------------------- the OWL API's OWL 2 DL profile check


@pytest.fixture(scope="module")
def profile_check(java: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command that runs tests/java/ProfileCheck.java, compiled here with the JDK's javac."""
    import owlready2

    javac = shutil.which("javac")
    if javac is None:  # .ci/run installs the JDK, and there the missing compiler fails the test
        missing("this test needs javac, which is not installed (apt-get install default-jdk-headless)", "java")
        raise AssertionError("unreachable")
    jars = sorted((Path(owlready2.__file__).parent / "pellet").glob("*.jar"))
    assert any(j.name.startswith("owlapi") for j in jars), jars
    classes = tmp_path_factory.mktemp("profile-check")
    classpath = ":".join(str(j) for j in jars)
    source = REPO / "tests" / "java" / "ProfileCheck.java"
    subprocess.run([javac, "-d", str(classes), "-cp", classpath, str(source)], check=True, capture_output=True)
    return [java, "-cp", f"{classes}:{classpath}", "ProfileCheck"]


def run_profile_check(command: list[str], path: Path) -> tuple[int, str]:
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, check=False, timeout=600)
    return done.returncode, done.stdout


def ontology_export(path: Path) -> Path:
    from amurkg.resources import ontology_files

    g = rdflib.Graph()
    for f in ontology_files():
        g.parse(f, format="turtle")
    g.serialize(path, format="xml")
    return path


@pytest.mark.parametrize("what", ["ontology", "base", "full"])
def test_the_owl_api_finds_no_owl2_dl_violation(profile_check: list[str], what: str, tmp_path: Path) -> None:
    export = tmp_path / f"{what}.owl"
    if what == "ontology":
        ontology_export(export)
    else:
        export.write_bytes(amurkg.export("xml", reason=what == "full"))
    status, out = run_profile_check(profile_check, export)
    summary = out.strip().splitlines()[-1]
    assert " 0 OWL 2 DL violations" in summary, out[-3000:]
    assert int(summary.split(": ")[1].split(" axioms")[0]) > 1000  # the checker really read the file
    unparsed = [line for line in out.splitlines() if line.startswith("unparsed: ")]
    if what == "full":
        # The OWL RL closure types individuals with anonymous class expressions (the restriction behind
        # akg:PreyTaxon, the unions behind akg:PressureTarget), and its derivation records name those blank nodes;
        # OWL 2 DL gives a blank class expression one use only, so the OWL API drops these triples, and only these.
        assert all("_:" in line for line in unparsed), [line for line in unparsed if "_:" not in line][:5]
    else:
        assert unparsed == [] and status == 0, out[-3000:]


def test_the_profile_check_sees_what_the_old_reification_broke(profile_check: list[str], tmp_path: Path) -> None:
    """The checker is not lenient: an RDF reification (how facts were once sourced) is reported."""
    g = rdflib.Graph()
    g.parse(data=amurkg.export("ttl"), format="turtle")
    fact = rdflib.URIRef("https://w3id.org/amurkg/id/fact/planted")
    g.add((fact, rdflib.RDF.type, rdflib.RDF.Statement))
    g.add((fact, rdflib.RDF.object, rdflib.Literal("RU")))
    g.add(
        (
            rdflib.URIRef("https://w3id.org/amurkg/vocab/season"),
            rdflib.RDF.type,
            rdflib.URIRef("http://www.w3.org/2004/02/skos/core#Collection"),
        )
    )
    path = tmp_path / "planted.owl"
    g.serialize(path, format="xml")
    status, out = run_profile_check(profile_check, path)
    assert status == 1
    assert "Use of reserved vocabulary for class IRI" in out and "Use of undeclared class" in out, out[-2000:]


# --------------------------------------------------------------------------- disjointness makes wrong types visible


@pytest.mark.parametrize(
    "planted",
    [
        "amur:china a akg:Taxon .",  # a country typed as a taxon
        "amur:poaching a akg:ConservationAction .",  # a threat typed as an action
        "amur:present-day a akg:Place .",  # a period typed as a place
        "amur:korean-pine akg:actsOn amur:russia .",  # a taxon made a pressure, acting on a country
        "amur:illegal-fur-trade a akg:Threat .",  # what drives poaching made a pressure itself
    ],
)
def test_hermit_reports_a_wrong_type(java: str, planted: str, tmp_path: Path) -> None:
    import owlready2

    owlready2.JAVA_EXE = java
    data = tmp_path / "wrong.ttl"
    data.write_text(
        "@prefix akg: <https://w3id.org/amurkg/ontology#> .\n@prefix amur: <https://w3id.org/amurkg/id/> .\n" + planted,
        encoding="utf-8",
    )
    export = tmp_path / "amurkg.owl"
    export.write_bytes(amurkg.export("xml", data=(str(data),)))
    world = owlready2.World()
    onto = world.get_ontology(export.as_uri()).load()
    with onto, pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
