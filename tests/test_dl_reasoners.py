"""OWL 2 DL reasoners, run for real (HermiT and Pellet, through owlready2, on a Java runtime): the ontology and
the full graph, entailments included, are consistent and no class is unsatisfiable."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tool

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
