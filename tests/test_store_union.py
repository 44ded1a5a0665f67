"""A store's db/ holds exactly what a default query sees, so queries read it as the union of its graphs; what they
must not see (the registry, exact coordinates of threatened taxa's cameras, the closure) is in hidden/, and is
read through a short-lived view. A graph in db/ that the registry does not name (a killed or replaced import's)
makes readers name the registered graphs instead until the next writer removes it.

D1 of ``tests/data/survey-small`` recorded the Amur leopard (CR): its exact coordinates are hidden."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amurkg.graph import KnowledgeGraph
from amurkg.reason import REASONING_GRAPHS
from amurkg.store import (
    CURATED_GRAPH,
    EXACT_GRAPH_BASE,
    HIDDEN_DB,
    IMPORT_GRAPH_BASE,
    MARKER,
    REGISTRY_GRAPH,
    VIEWS,
    Store,
    StoreError,
    twin,
)
from amurkg.survey.importer import import_package

REPO = Path(__file__).resolve().parent.parent
SMALL = REPO / "tests" / "data" / "survey-small"
LATITUDES = """
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?lat WHERE { ?d dwc:decimalLatitude ?lat } ORDER BY ?lat"""
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("union") / "store"
    import_package(store, SMALL)
    return store


def copy(made: Path, tmp_path: Path) -> Path:
    shutil.copytree(made, tmp_path / "store")
    return tmp_path / "store"


def rows(kg: KnowledgeGraph, text: str) -> list[tuple[str, ...]]:
    return sorted(tuple("" if t is None else t.value for t in row) for row in kg.query(text).rows)


def test_db_holds_only_what_a_default_query_sees(made: Path) -> None:
    with Store.open(made) as store:
        (record,) = store.imports()
        main = {g.value for g in store.ox.named_graphs()}
        hidden = {g.value for g in store.hidden.named_graphs()}
        assert main == {CURATED_GRAPH, record.graph, twin(record.graph, False)}
        assert {REGISTRY_GRAPH, twin(record.graph, True), *REASONING_GRAPHS} <= hidden
        assert not any(g.startswith(IMPORT_GRAPH_BASE) for g in hidden)
        assert store.union_ok()
        target, dataset = store.reader()
        assert target is store.ox and dataset == {"use_default_graph_as_union": True}


def test_the_union_answers_as_the_explicit_list_of_registered_graphs(made: Path) -> None:
    """Every survey canned query gives the same rows on the fast path and on the explicit list."""
    with KnowledgeGraph(store=made) as kg:
        names = ["survey-effort", "detection-rate", "activity-pattern", "co-detections", "prey-detection-rate"]
        fast = {name: sorted(map(str, kg.run(name).rows)) for name in names}
        fast["latitudes"] = rows(kg, LATITUDES)
        handle: Store = kg.engine.handle  # type: ignore[attr-defined]
        handle._union = False  # what a reader does when db/ holds a graph nobody registered
        assert handle.reader()[1] != {"use_default_graph_as_union": True}
        slow = {name: sorted(map(str, kg.run(name).rows)) for name in names}
        slow["latitudes"] = rows(kg, LATITUDES)
    assert fast == slow and all(fast.values())


def test_a_leftover_graph_is_never_seen_and_the_next_writer_reclaims_it(made: Path, tmp_path: Path) -> None:
    """A killed import's graph in db/ (simulated: written by hand, with a triple of its own and a copy of an exact
    coordinate) is seen by no query; readers fall back to the registered graphs until a writer removes it."""
    store = copy(made, tmp_path)
    with KnowledgeGraph(store=store) as kg:
        before = rows(kg, LATITUDES)
        exact_before = rows(kg, "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    with Store.open(store, write=True) as writer:
        (record,) = writer.imports()
        secret = list(writer.hidden.quads_for_pattern(None, None, None, ox.NamedNode(twin(record.graph, True))))
        assert secret
        leftover = ox.NamedNode(IMPORT_GRAPH_BASE + "killed")
        writer.ox.extend(ox.Quad(q.subject, q.predicate, q.object, leftover) for q in secret)
        writer.ox.flush()
    # not opened for writing again (that would reclaim it): the leftover is there for readers
    with KnowledgeGraph(store=store) as kg:
        handle = kg.engine.handle  # type: ignore[attr-defined]
        assert not handle.union_ok()
        assert rows(kg, LATITUDES) == before
        assert rows(kg, "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }") == exact_before
    with Store.open(store, write=True):
        pass
    with Store.open(store) as reader:
        assert reader.union_ok()
        assert IMPORT_GRAPH_BASE + "killed" not in {g.value for g in reader.ox.named_graphs()}


def test_something_in_the_default_graph_of_db_is_not_seen(made: Path, tmp_path: Path) -> None:
    store = copy(made, tmp_path)
    with KnowledgeGraph(store=store) as kg:
        before = rows(kg, COUNT)
    with Store.open(store, write=True) as writer:
        node = ox.NamedNode("https://example.org/planted")
        writer.ox.add(ox.Quad(node, node, node, ox.DefaultGraph()))
        writer.ox.flush()
    with KnowledgeGraph(store=store) as kg:
        assert not kg.engine.handle.union_ok()  # type: ignore[attr-defined]
        assert rows(kg, COUNT) == before


def test_exact_locations_read_a_view_that_goes_with_the_reader(made: Path, tmp_path: Path) -> None:
    store = copy(made, tmp_path)
    with Store.open(store) as handle:
        (record,) = handle.imports()
        exact = {
            q.object.value
            for q in handle.hidden.quads_for_pattern(None, None, None, ox.NamedNode(twin(record.graph, True)))
            if q.predicate.value.endswith("decimalLatitude")
        }
    assert exact
    with KnowledgeGraph(store=store) as kg:
        before = rows(kg, LATITUDES)
        default = {row[0] for row in before}
        assert not exact & default  # generalised by default
        kg.engine.handle.exact_locations = True  # type: ignore[attr-defined]
        seen = {row[0] for row in rows(kg, LATITUDES)}
        assert exact <= seen
        # the generalised twin is not read beside the exact one: one latitude per camera, as by default
        assert len(rows(kg, LATITUDES)) == len(before)
        assert len(list((store / VIEWS).iterdir())) == 1
        kg.engine.handle.exact_locations = False  # type: ignore[attr-defined]
        assert {row[0] for row in rows(kg, LATITUDES)} == default  # db/ itself never changed
    assert not list((store / VIEWS).iterdir())


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError], ids=["ctrl-c", "error"])
def test_a_view_stopped_half_way_leaves_no_folder_and_no_open_lock(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]
) -> None:
    """A Ctrl-C (or an error) while a view is made, after its lock file is open: the lock file is closed and the
    view's folder removed (an import stopped while its protection made its scratch view left both behind)."""
    from amurkg import store as store_module

    store = copy(made, tmp_path)
    opened: list[object] = []
    real_open = Path.open

    def tracking_open(self: Path, *args: object, **kwargs: object) -> object:
        handle = real_open(self, *args, **kwargs)  # type: ignore[call-overload]
        if self.name == "lock":
            opened.append(handle)
        return handle

    def stopped(*args: object) -> None:
        raise stop("stopped while the view is made")

    monkeypatch.setattr(Path, "open", tracking_open)
    monkeypatch.setattr(store_module._View, "_checkpoint", staticmethod(stopped))
    expected = StoreError if stop is OSError else KeyboardInterrupt
    with Store.open(store, write=True) as handle, pytest.raises(expected):
        exact_of = [r.graph for r in handle.imports()]  # exact values in hidden/: a view is made
        with handle.scratch_view(exact_of):
            pass
    monkeypatch.undo()
    assert opened and all(handle.closed for handle in opened)  # type: ignore[attr-defined]
    assert not list((store / VIEWS).iterdir())


def _held_by_role(store: Path) -> dict[str, set[tuple[str, str, str]]]:
    """The triples of each registered import in db/ (as imported, generalised) and hidden/ (exact), by package and
    role: graph names are drawn at random, so two stores of one package are compared by role."""
    held = {}
    with Store.open(store) as handle:
        for record in handle.imports():
            for role, database, name in (
                ("import", handle.ox, record.graph),
                ("generalised", handle.ox, twin(record.graph, False)),
                ("exact", handle.hidden, twin(record.graph, True)),
            ):
                quads = database.quads_for_pattern(None, None, None, ox.NamedNode(name))
                held[f"{record.package} {role}"] = {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}
    return held


def _unthreatened(folder: Path) -> Path:
    """survey-small as another package, with no leopard, its D1 a few kilometres from survey-small's D1 (so that
    survey-small's leopard makes it sensitive when both are in a store)."""
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from places import package_at

    package = package_at(folder, {"D1": (43.15, 131.55), "D2": (44.2, 132.6)}, set())
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["id"] = descriptor["name"] = "neighbours-of-survey-small"
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return package


@pytest.mark.parametrize("first_unthreatened", [False, True], ids=["first-import", "after-an-unthreatened-one"])
def test_imports_without_exact_values_yet_are_protected_from_db_itself_as_through_a_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_unthreatened: bool
) -> None:
    """While no import of a store holds an exact value in hidden/ (before its first import, or after imports of no
    threatened taxon), the protection reads db/ itself, without the checkpoint a view takes (which, right after a
    large load, waits for RocksDB's compaction), and moves exactly what it moves when it reads through a view. After
    an unthreatened package, survey-small's leopard protects the other package's nearby camera too: an import reads
    the store's earlier imports before it loads and its own graph after, before it moves any exact value, so that
    needs no view either."""
    import contextlib
    from collections.abc import Iterator

    from amurkg import store as store_module

    packages = [_unthreatened(tmp_path / "other"), SMALL] if first_unthreatened else [SMALL]
    checkpoints: list[Path] = []
    real_checkpoint = store_module._View._checkpoint

    def counted(store: Store, folder: Path) -> object:
        checkpoints.append(folder)
        return real_checkpoint(store, folder)

    monkeypatch.setattr(store_module._View, "_checkpoint", staticmethod(counted))
    for package in packages:
        import_package(tmp_path / "direct", package)
    assert not checkpoints
    with Store.open(tmp_path / "direct", write=True) as handle, handle.scratch_view([]) as reader:
        assert not hasattr(reader, "add") and not hasattr(reader, "remove")  # db/ itself, read only

    @contextlib.contextmanager
    def always_a_view(self: Store, exact_of: list[str], pending: tuple[object, ...] = ()) -> Iterator[object]:
        view = store_module._View.make(self, exact_of, False, drop_generalised=False, extra=pending)
        try:
            yield view.ox
        finally:
            view.close()

    monkeypatch.setattr(Store, "scratch_view", always_a_view)
    checkpoints.clear()
    for package in packages:
        import_package(tmp_path / "viewed", package)
    assert len(checkpoints) == 2 * len(packages)  # the store's sensitive places before the load, the import's after
    direct, viewed = _held_by_role(tmp_path / "direct"), _held_by_role(tmp_path / "viewed")
    exact = {role: held for role, held in direct.items() if role.endswith(" exact")}
    assert len(exact) == len(packages) and all(exact.values())  # every package has a protected camera
    assert direct == viewed


def test_reasoning_reads_the_closure_from_a_view(made: Path) -> None:
    with KnowledgeGraph(store=made) as kg:
        asserted = int(kg.query(COUNT).rows[0][0].value)  # type: ignore[union-attr]
    with KnowledgeGraph(store=made, reason=True) as kg:
        reasoned = int(kg.query(COUNT).rows[0][0].value)  # type: ignore[union-attr]
    assert reasoned > asserted


def test_a_dead_processs_view_is_removed_and_a_live_one_kept(made: Path, tmp_path: Path) -> None:
    import fcntl

    store = copy(made, tmp_path)
    views = store / VIEWS
    dead, live = views / "1-dead", views / "2-live"
    for folder in (dead, live):
        folder.mkdir(parents=True)
        (folder / "lock").write_text("")
    with (live / "lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with Store.open(store):
            pass
        assert not dead.exists() and live.exists()
    with Store.open(store, write=True):  # a writer excludes every reader: all views are dead
        pass
    assert not list(views.iterdir())


def _as_format_1(store: Path) -> None:
    """Put ``store`` back in the layout of store format 1: every graph in db/, no hidden/."""
    db = ox.Store(str(store / "db"))
    hidden = ox.Store(str(store / HIDDEN_DB))
    db.extend(list(hidden))
    db.flush()
    del db, hidden
    shutil.rmtree(store / HIDDEN_DB)
    marker = json.loads((store / MARKER).read_text())
    (store / MARKER).write_text(json.dumps({**marker, "format": 1}))


def test_a_format_1_store_is_refused_with_the_fix_and_upgraded_in_place(made: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from amurkg.cli import app

    store = copy(made, tmp_path)
    with KnowledgeGraph(store=store) as kg:
        before = {name: sorted(map(str, kg.run(name).rows)) for name in ("survey-effort", "detection-rate")}
        before["latitudes"] = rows(kg, LATITUDES)
    _as_format_1(store)
    with pytest.raises(StoreError, match=r"format 1.*`amurkg import --upgrade --store "):
        Store.open(store)
    result = CliRunner().invoke(app, ["import", "--upgrade", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with Store.open(store) as handle:
        assert handle.union_ok()
        assert not any(g.value.startswith(EXACT_GRAPH_BASE) for g in handle.ox.named_graphs())
    with KnowledgeGraph(store=store) as kg:
        after = {name: sorted(map(str, kg.run(name).rows)) for name in ("survey-effort", "detection-rate")}
        after["latitudes"] = rows(kg, LATITUDES)
    assert after == before


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exact=st.booleans(), reasoned=st.booleans(), leftover=st.booleans())
def test_no_mode_shows_exact_coordinates_unless_asked(
    made: Path, tmp_path_factory: pytest.TempPathFactory, exact: bool, reasoned: bool, leftover: bool
) -> None:
    store = tmp_path_factory.mktemp("mode") / "store"
    shutil.copytree(made, store)
    with Store.open(store) as handle:
        (record,) = handle.imports()
        secret = {
            q.object.value
            for q in handle.hidden.quads_for_pattern(None, None, None, ox.NamedNode(twin(record.graph, True)))
            if q.predicate.value.endswith(("decimalLatitude", "decimalLongitude"))
        }
    if leftover:
        with Store.open(store, write=True) as writer:  # a graph nobody registered, after the writer's clean-up
            node = ox.NamedNode("https://example.org/planted")
            writer.ox.add(ox.Quad(node, node, node, ox.NamedNode(IMPORT_GRAPH_BASE + "killed")))
    with KnowledgeGraph(store=store, reason=reasoned) as kg:
        kg.engine.handle.exact_locations = exact  # type: ignore[attr-defined]
        assert kg.engine.handle.union_ok() != leftover  # type: ignore[attr-defined]
        answer = kg.query(
            "PREFIX dwc: <http://rs.tdwg.org/dwc/terms/> SELECT ?v WHERE "
            "{ { ?d dwc:decimalLatitude ?v } UNION { ?d dwc:decimalLongitude ?v } UNION { ?d ?d ?v } }"
        )
        values = {str(row[0].value) for row in answer.rows}  # type: ignore[union-attr]
    assert bool(secret & values) == exact
    assert "https://example.org/planted" not in values
