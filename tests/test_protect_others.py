"""An import (or a taxon correction) protects again only the store's other imports whose sensitive places it
changes: each graph records a digest of what it was last protected for (``graph/protection`` in hidden/), and a
graph whose digest is unchanged is left alone. The stores built so hold exactly what stores built the way it
was done before hold, where every import protected every graph again (reading the whole store each time, so
that the 5th import of 100,000 observations spent 45 s there against 4 s for the 1st)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from places import package_at, read_rows, write_rows
from test_store_union import _held_by_role

from amurkg.store import PROTECTION_GRAPH, Store
from amurkg.survey import sensitive
from amurkg.survey.importer import import_package, remove_package

#: Far apart (several degrees): no camera here makes another sensitive by being near it.
_FAR = [(43.1, 131.5), (45.0, 134.0), (47.0, 136.5), (49.0, 139.0)]


def _package(folder: Path, name: str, places: dict[str, tuple[float, float]], leopard_at: set[str]) -> Path:
    package = package_at(folder / name, places, leopard_at)
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["id"] = descriptor["name"] = name
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return package


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The graphs ``protect`` is called for, in order."""
    called: list[str] = []
    real = sensitive.protect

    def counted(store: Any, graph: str, *args: Any, **kwargs: Any) -> int:
        called.append(graph)
        return real(store, graph, *args, **kwargs)

    monkeypatch.setattr(sensitive, "protect", counted)
    return called


def _every_graph_again(store: Any, reasons: Any, besides: Any = ()) -> int:
    """The way it was done before: every other import protected again, each reading the store's places itself."""
    others = [r.graph for r in store.imports() if r.graph not in besides]
    for graph in others:
        sensitive.protect(store, graph, also=list(besides))
    return len(others)


def _graphs(store: Path) -> dict[str, str]:
    with Store.open(store) as handle:
        return {r.package.rsplit("/", 1)[-1]: r.graph for r in handle.imports()}


_PLACE = st.tuples(st.sampled_from([43.1, 43.15, 45.0]), st.sampled_from([131.5, 131.55, 134.0]))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.fixed_dictionaries({"D1": _PLACE, "D2": _PLACE}), st.sets(st.sampled_from(["D1", "D2"]))),
        min_size=2,
        max_size=3,
    )
)
# a leopard near an earlier package's camera (a later import changes the earlier graph), and one that the later
# package's own neighbour withholds
@example([({"D1": (43.1, 131.5), "D2": (45.0, 134.0)}, set()), ({"D1": (43.15, 131.55), "D2": (45.0, 131.5)}, {"D1"})])
@example([({"D1": (43.1, 131.5), "D2": (43.15, 131.55)}, {"D2"}), ({"D1": (43.15, 131.5), "D2": (45.0, 134.0)}, set())])
def test_a_store_holds_what_protecting_every_graph_again_gives(
    tmp_path_factory: pytest.TempPathFactory, packages: list[tuple[dict[str, tuple[float, float]], set[str]]]
) -> None:
    """Packages at places drawn near each other or not, with a leopard at some cameras: imported one after the
    other, each store's every graph (as imported, generalised, exact) holds what it holds when every import
    protects every graph again."""
    folder = tmp_path_factory.mktemp("protect")
    paths = [_package(folder, f"pkg-{i}", places, leopard) for i, (places, leopard) in enumerate(packages)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sensitive, "protect_others", _every_graph_again)
        for path in paths:
            import_package(folder / "before", path)
    for path in paths:
        import_package(folder / "now", path)
    assert _held_by_role(folder / "now") == _held_by_role(folder / "before")


def test_an_import_far_from_every_camera_protects_only_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    for i, (lat, lon) in enumerate(_FAR[:3]):
        import_package(store, _package(tmp_path, f"far-{i}", {"D1": (lat, lon), "D2": (lat + 0.5, lon)}, {"D1"}))
    before = _held_by_role(store)
    called = _spy(monkeypatch)
    lat, lon = _FAR[3]
    import_package(store, _package(tmp_path, "far-3", {"D1": (lat, lon), "D2": (lat + 0.5, lon)}, {"D1"}))
    assert called == [_graphs(store)["far-3"]]  # the three earlier graphs are not read again
    after = _held_by_role(store)
    assert {k: v for k, v in after.items() if "far-3" not in k} == before


def test_a_leopard_near_an_earlier_camera_protects_that_package_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    (lat, lon), (far_lat, far_lon) = _FAR[0], _FAR[2]
    import_package(store, _package(tmp_path, "quiet", {"D1": (lat, lon), "D2": (lat + 0.5, lon)}, set()))
    import_package(
        store, _package(tmp_path, "elsewhere", {"D1": (far_lat, far_lon), "D2": (far_lat, far_lon + 1)}, set())
    )
    quiet = _graphs(store)["quiet"]
    assert not [k for k, v in _held_by_role(store).items() if k.endswith(" exact") and v]  # nothing threatened yet
    called = _spy(monkeypatch)
    import_package(store, _package(tmp_path, "leopard", {"D1": (lat + 0.02, lon + 0.02), "D2": (47.0, 136.5)}, {"D1"}))
    assert called == [_graphs(store)["leopard"], quiet]  # "elsewhere" is left alone
    exact = {k.split("/")[-1]: v for k, v in _held_by_role(store).items() if k.endswith(" exact")}
    assert exact["quiet exact"] and exact["leopard exact"] and not exact["elsewhere exact"]


def test_a_graph_without_its_digest_is_protected_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed while it protected a graph (or a store made before the digests) leaves a graph without
    one: the next import protects it again, to the same result."""
    store = tmp_path / "store"
    import_package(store, _package(tmp_path, "first", {"D1": _FAR[0], "D2": _FAR[1]}, {"D1"}))
    import_package(store, _package(tmp_path, "second", {"D1": _FAR[2], "D2": _FAR[3]}, {"D2"}))
    first = _graphs(store)["first"]
    before = _held_by_role(store)
    with Store.open(store, write=True) as handle:
        state = list(handle.hidden.quads_for_pattern(ox.NamedNode(first), None, None, ox.NamedNode(PROTECTION_GRAPH)))
        assert len(state) == 1
        handle.hidden.remove(state[0])
    called = _spy(monkeypatch)
    import_package(store, _package(tmp_path, "third", {"D1": (40.0, 128.0), "D2": (40.5, 128.0)}, set()))
    assert called == [_graphs(store)["third"], first]
    after = _held_by_role(store)
    assert {k: v for k, v in after.items() if "third" not in k} == before


def test_a_removed_package_takes_its_digest_with_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    import_package(store, _package(tmp_path, "gone", {"D1": _FAR[0], "D2": _FAR[1]}, {"D1"}))
    import_package(store, _package(tmp_path, "kept", {"D1": _FAR[2], "D2": _FAR[3]}, {"D1"}))
    graphs = _graphs(store)
    remove_package(store, "gone")
    with Store.open(store) as handle:
        described = {
            q.subject.value for q in handle.hidden.quads_for_pattern(None, None, None, ox.NamedNode(PROTECTION_GRAPH))
        }
    assert described == {graphs["kept"]}


def test_a_graph_another_writer_protected_since_is_protected_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older amurkg (which records nothing in graph/protection) protected a graph again after its leopard's
    package went: the graph's recorded reasons still match the store's once the leopard is back, but its twins
    do not hold what they held when that was recorded, so it is protected again, and its camera next to the
    leopard's is not shown exactly."""
    store = tmp_path / "store"
    (lat, lon) = _FAR[0]
    import_package(store, _package(tmp_path, "quiet", {"D1": (lat, lon), "D2": (lat + 0.5, lon)}, set()))
    leopard = _package(tmp_path, "leopard", {"D1": (lat + 0.02, lon + 0.02), "D2": _FAR[2]}, {"D1"})
    import_package(store, leopard)
    quiet = _graphs(store)["quiet"]
    state = ox.NamedNode(PROTECTION_GRAPH)
    with Store.open(store) as handle:
        recorded = list(handle.hidden.quads_for_pattern(ox.NamedNode(quiet), None, None, state))
    remove_package(store, "leopard")
    with Store.open(store, write=True) as handle:  # the older amurkg's import: "quiet" protected again, unrecorded
        sensitive.protect(handle, quiet)
        for quad in list(handle.hidden.quads_for_pattern(ox.NamedNode(quiet), None, None, state)):
            handle.hidden.remove(quad)
        handle.hidden.extend(recorded)
    assert not [v for k, v in _held_by_role(store).items() if k.endswith("quiet exact") and v]  # shown exactly
    called = _spy(monkeypatch)
    import_package(store, leopard)
    assert quiet in called
    assert [v for k, v in _held_by_role(store).items() if k.endswith("quiet exact") and v]  # withheld again


def test_a_package_imported_again_does_not_protect_its_earlier_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The earlier import is dropped once the new one is registered (and stays as it was if the new one fails):
    protecting it again would be work thrown away. Its neighbour's protection is left as it was, the same."""
    store = tmp_path / "store"
    (lat, lon) = _FAR[0]
    leopard = _package(tmp_path, "leopard", {"D1": (lat, lon), "D2": _FAR[2]}, {"D1"})
    import_package(store, leopard)
    import_package(store, _package(tmp_path, "near", {"D1": (lat + 0.02, lon), "D2": _FAR[3]}, set()))
    earlier, before = _graphs(store)["leopard"], _held_by_role(store)
    called = _spy(monkeypatch)
    import_package(store, leopard)
    assert called == [_graphs(store)["leopard"]] and earlier not in called
    assert _held_by_role(store) == before


def test_a_graph_another_writer_protected_for_another_camera_is_protected_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older amurkg protected the graph for its other camera (a leopard next to D2, since gone): both
    twins hold as many triples as before, but not the same camera's, so the record is not trusted."""
    store = tmp_path / "store"
    (lat, lon) = _FAR[0]
    package = _package(tmp_path, "quiet", {"D1": (lat, lon), "D2": (lat + 0.5, lon)}, set())
    rows = read_rows(package / "deployments.csv")  # D2 described as fully as D1: its twins would be as large
    for field in ("coordinateUncertainty", "timestampIssues", "baitUse", "featureType"):
        rows[1][field] = rows[0][field]
    write_rows(package / "deployments.csv", rows)
    import_package(store, package)
    leopard = _package(tmp_path, "leopard", {"D1": (lat + 0.02, lon + 0.02), "D2": _FAR[2]}, {"D1"})
    import_package(store, leopard)
    quiet, state = _graphs(store)["quiet"], ox.NamedNode(PROTECTION_GRAPH)
    with Store.open(store) as handle:
        recorded = list(handle.hidden.quads_for_pattern(ox.NamedNode(quiet), None, None, state))
        (d1,) = {
            q.subject.value
            for q in handle.hidden.quads_for_pattern(None, None, None, None)
            if "D1" in q.subject.value and "quiet" in q.subject.value and q.predicate.value.endswith("decimalLatitude")
        }
    remove_package(store, "leopard")
    with Store.open(store, write=True) as handle:  # the older amurkg: "quiet" protected for D2, unrecorded
        why = {d1.replace("D1", "D2"): {sensitive.Reason("Panthera pardus orientalis", "CR")}}
        sensitive.protect(handle, quiet, reasons=why)
        for quad in list(handle.hidden.quads_for_pattern(ox.NamedNode(quiet), None, None, state)):
            handle.hidden.remove(quad)
        handle.hidden.extend(recorded)
    called = _spy(monkeypatch)
    import_package(store, leopard)
    assert quiet in called
    with Store.open(store) as handle:
        exact = {
            q.subject.value for q in handle.hidden.quads_for_pattern(None, None, None, None) if q.subject.value == d1
        }
    assert exact  # D1's exact coordinates withheld again


_DIGEST = "import amurkg; from amurkg.survey import sensitive; print(amurkg.__file__); print(sensitive._code())"


def _digest_of(path: Path) -> str:
    """``sensitive._code()`` of the amurkg found first on ``path`` (a folder or a zip), in a fresh process."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(path)}
    done = subprocess.run(  # run elsewhere than the checkout, whose amurkg python -c would find first
        [sys.executable, "-c", _DIGEST], capture_output=True, text=True, env=env, timeout=120, cwd=path.parent
    )
    assert done.returncode == 0, done.stderr
    found, digest = done.stdout.split()
    assert Path(found).is_relative_to(path), found  # this copy's code, not the installed one
    return digest


def test_the_code_digest_follows_every_module_protect_depends_on(tmp_path: Path) -> None:
    """A release that changes how protect writes (in sensitive.py, or in a module it takes terms and values from)
    protects every graph again: each of those modules changed gives another digest, read from a folder or a zip."""
    import shutil
    import zipfile

    import amurkg

    original = Path(amurkg.__file__).parent
    base = tmp_path / "base"
    shutil.copytree(original, base / "amurkg", ignore=shutil.ignore_patterns("__pycache__"))
    digests = {_digest_of(base)}
    # named here, not read from sensitive._PROTECTING: the modules whose terms and values protect writes
    modules = (
        "amurkg.survey.sensitive",
        "amurkg.survey.rdf",
        "amurkg.survey.ledger",
        "amurkg.store",
        "amurkg.namespaces",
    )
    for name in modules:
        copy = tmp_path / name
        shutil.copytree(base, copy)
        module = copy.joinpath(*name.split(".")).with_suffix(".py")
        module.write_text(module.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        digests.add(_digest_of(copy))
    assert len(digests) == 1 + len(modules)
    archive = tmp_path / "amurkg.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((base / "amurkg").rglob("*.py")):
            z.write(path, path.relative_to(base).as_posix())
    assert _digest_of(archive) == _digest_of(base)  # the same code, read through the zip's loader


_UPGRADED_WHILE_RUNNING = """
import importlib, sys
from pathlib import Path
importlib.import_module(sys.argv[1])  # the code this process runs: what it has loaded so far

for module in sys.argv[2:]:  # an upgrade lands while the process runs (a notebook, serve, a long import)
    path = Path(module)
    path.write_text(path.read_text(encoding="utf-8") + "\\n# the next release\\n", encoding="utf-8")
from amurkg.survey import sensitive
print("-", sensitive._code())
"""


@pytest.mark.parametrize(
    ("loaded", "upgraded"),
    [
        ("amurkg.survey.sensitive", ["survey/sensitive.py", "survey/rdf.py"]),
        # a store opened (a query) before the protection's module was first imported
        ("amurkg.store", ["store.py", "namespaces.py"]),
    ],
)
def test_the_code_digest_is_of_the_code_the_process_runs(tmp_path: Path, loaded: str, upgraded: list[str]) -> None:
    """A process that loaded one release and protects after the next was installed over it records its own
    release's digest, so that the next release, once it runs, protects those graphs again."""
    import shutil
    import subprocess
    import sys

    import amurkg

    base = tmp_path / "base"
    shutil.copytree(Path(amurkg.__file__).parent, base / "amurkg", ignore=shutil.ignore_patterns("__pycache__"))
    before = _digest_of(base)
    files = [str(base / "amurkg" / name) for name in upgraded]
    done = subprocess.run(
        [sys.executable, "-c", _UPGRADED_WHILE_RUNNING, loaded, *files],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(base)},
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == before  # its own code's digest
    assert _digest_of(base) != before  # the next release's, once it runs
