"""A persistent store: the curated graph plus imported field data, on disk (pyoxigraph's RocksDB store).

Layout of a store folder::

    amurkg-store.json   what wrote it: store format, amurkg version, digest of the curated graph
    amurkg.lock         readers hold a shared lock, an import an exclusive one
    readers/            a note per reader saying which process it is, locked while it reads (``_note_reader``)
    db/                 the pyoxigraph store of what a query sees
    hidden/             a second pyoxigraph store, of what a query does not see by default
    views/              short-lived read views (one per process that asks for hidden graphs)
    answers/            answers of canned queries, each for the state of the store it was computed from (amurkg.answers)

``db/`` holds the curated graph (``graph/curated``), one graph per import, the generalised coordinates of
threatened taxa's cameras (``graph/generalised/...``) and the corrections: exactly what a default query
sees, so that queries read it as the union of its graphs (``use_default_graph_as_union``), which Oxigraph
evaluates about ten times faster than an explicit list of graphs. ``hidden/`` holds what queries must not
see by default: the registry (``graph/store``) naming the import graph of each package, the exact
coordinates of threatened taxa's cameras (``graph/exact/...``, seen only with ``exact_locations``), what each
import graph was last protected for (``graph/protection``: ``amurkg.survey.sensitive.protect_store``), and the
OWL RL closure of the curated graph and its derivations (computed once, when the store is created; seen
when a query asks for reasoning). A query that needs a hidden graph reads a *view*: a RocksDB checkpoint of
``db/`` (hard links: milliseconds, whatever the size, but it flushes first, which right after a large bulk load
waits for compaction) in ``views/``, to which the few hidden graphs it needs
are added (and from which the generalised twins are removed, for exact coordinates); it is removed when the
store is closed, or by the next opener when its process died. A reader that cannot write the store's folder (a
read-only mount, a published archive, another user's folder) makes its views in a private folder of its own
instead (``private_views``: 0700, in the system's temporary folder), with the same answers; there the checkpoint
is a copy of ``db/`` wherever that folder is on another file system.

An import writes into a fresh graph of ``db/`` under the exclusive lock (readers hold a shared one, so none
sees a half-loaded graph) and becomes visible when the registry names it: a failed or interrupted import
leaves the store answering exactly as before, and importing a package again replaces it. A graph of ``db/``
that the registry does not name (a killed import's, a replaced import's not yet dropped) is never seen: a
reader that finds one reads the explicit list of registered graphs instead of the union (correct, slower)
until the next writer removes it.

Opening takes milliseconds whatever the size: nothing is loaded, RocksDB reads on demand.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import uuid
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amurkg import interrupts
from amurkg.codedigest import of_module
from amurkg.errors import AmurkgError
from amurkg.namespaces import AKG, GRAPH_BASE, PREFIXES

#: this module's source as it was loaded (``amurkg.codedigest``)
SOURCE_DIGEST = of_module(__name__)

try:  # file locks that readers share and a writer holds alone: Linux, macOS, the BSDs
    import fcntl
except ImportError:  # Windows: refused with one line when a store is opened (``_lock``)
    fcntl = None  # type: ignore[assignment]

#: Bumped when the layout or the modelling of stored data changes so that an old store would answer wrongly.
#: 2: hidden graphs (registry, exact coordinates, closure) moved out of ``db/`` into ``hidden/``.
STORE_FORMAT = 2
MARKER = "amurkg-store.json"
CURATED_GRAPH = GRAPH_BASE + "curated"
REGISTRY_GRAPH = GRAPH_BASE + "store"
IMPORT_GRAPH_BASE = GRAPH_BASE + "import/"
#: An import's exact coordinates of cameras that recorded a threatened taxon (amurkg.survey.sensitive): seen
#: only by a store opened with ``exact_locations`` set, never by default (serve, push, export).
EXACT_GRAPH_BASE = GRAPH_BASE + "exact/"
#: The same coordinates generalised: seen in their place by default.
GENERALISED_GRAPH_BASE = GRAPH_BASE + "generalised/"


def twin(graph: str, exact: bool) -> str:
    """The graph holding an import graph's exact (or generalised) sensitive coordinates."""
    return (EXACT_GRAPH_BASE if exact else GENERALISED_GRAPH_BASE) + graph.removeprefix(IMPORT_GRAPH_BASE)


#: In ``hidden/``: for each import graph, a digest of the sensitive places it was last protected for
#: (``amurkg.survey.sensitive``): an import or correction that leaves them as they were leaves the graph alone.
PROTECTION_GRAPH = GRAPH_BASE + "protection"
#: Clock and taxon corrections of imported records, with their provenance (amurkg.survey.corrections).
CORRECTIONS_GRAPH = GRAPH_BASE + "corrections"
#: The largest store description read (amurkg writes about 200 bytes).
_MAX_MARKER = 1 << 20
#: Files an import stages its triples in, in the store's folder (removed by the next writer if it was killed).
STAGING_PREFIX = "import-staged-"
#: The second database (hidden graphs) and the folder of read views, in the store's folder.
HIDDEN_DB = "hidden"
VIEWS = "views"


class StoreError(AmurkgError):
    """A store cannot be opened or written: missing, in use, or written by another version of amurkg."""


class StoreBusyError(StoreError):
    """Another process holds the store, or has just made it: what is there is that process's, not to be removed."""


@dataclass(frozen=True)
class ImportRecord:
    """What the registry says of one imported package."""

    package: str  # the package's IRI
    identifier: str
    graph: str
    source: str
    kind: str
    imported: str
    triples: int
    observations: int


def shipped_digest() -> str:
    """A digest of the curated graph this amurkg ships: a store built from another one must be upgraded."""
    from amurkg.resources import shipped_files

    digest = hashlib.sha256()
    for path in shipped_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("amurkg")
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "0+unknown"


class Store:
    """An amurkg store folder, open for reading (shared lock) or for writing (exclusive lock)."""

    def __init__(self, path: Path, ox_store: Any, hidden: Any, write: bool, lock: Any, marker: dict[str, Any]) -> None:
        self.path = path
        #: ``db/``: what a default query sees (read as the union of its graphs)
        self.ox = ox_store
        #: ``hidden/``: the registry, exact coordinates and the closure (see the module's docstring)
        self.hidden = hidden
        self.write = write
        self.marker = marker
        #: whether queries see the exact coordinates of threatened taxa (a local opt-in; off by default)
        self.exact_locations = False
        #: a reader's views, by (exact coordinates, reasoning); a reader's store cannot change under it
        self._views: dict[tuple[bool, bool], _View] = {}
        self._union: bool | None = None
        # the lock goes with the object: closed explicitly, or when nothing refers to the store any more
        self._release = weakref.finalize(self, _unlock, lock, write)

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls, path: Path | str, write: bool = False, create: bool = False, upgrade: bool = False, doing: str = ""
    ) -> Store:
        """Open the store at ``path``; ``create`` makes one there when the folder is missing or empty.
        ``doing`` says what a writer is doing (``amurkg import of PATH``): anyone refused meanwhile is told."""
        path = Path(path)
        marker_file = path / MARKER
        if _creating(marker_file):  # a creation under way, or cut short (a first import killed while it made it)
            if not create:
                raise StoreError(
                    f"{path}: a store whose making did not finish: make it again with "
                    f"`amurkg import PACKAGE --store {path}`"
                )
            return cls._create(path, doing)
        if not marker_file.is_file():
            if not create:
                raise StoreError(
                    f"{path}: no amurkg store here: create one with `amurkg import PACKAGE --store {path}`"
                )
            if path.is_symlink() and not path.exists():
                raise StoreError(f"{path}: a link to nothing ({os.readlink(path)}): remove it, or choose another")
            if path.exists() and (not path.is_dir() or any(p.name != LOCK_FILE for p in path.iterdir())):
                raise StoreError(f"{path}: exists and is not an amurkg store: choose a new or empty folder")
            return cls._create(path, doing)
        try:  # bounded and strict (amurkg.jsonsafe): another program may have written it
            from amurkg.jsonsafe import JsonError, loads

            with marker_file.open("rb") as handle:
                marker = loads(str(marker_file), handle.read(_MAX_MARKER + 1), _MAX_MARKER, max_depth=8)
            fmt = marker["format"]
        except JsonError as exc:
            raise StoreError(f"{exc}; the store's description is damaged: re-create the store") from None
        except (OSError, KeyError, TypeError):
            raise StoreError(f"{marker_file}: unreadable store description: re-create the store") from None
        migrate = fmt == 1 and write and upgrade
        if fmt == 1 and not migrate:
            raise StoreError(
                f"{path}: a store of amurkg {marker.get('amurkg', '?')} (format 1, which kept hidden graphs "
                f"with the visible ones): update it with `amurkg import --upgrade --store {path}`"
            )
        if fmt != STORE_FORMAT and not migrate:
            raise StoreError(
                f"{path}: written by amurkg {marker.get('amurkg', '?')} (store format {fmt}); this amurkg "
                f"({_version()}) reads format {STORE_FORMAT}: re-import your packages into a new store"
            )
        lock = _lock(path, exclusive=write, doing=doing)
        if write:  # the answers kept for the store as it is now go (amurkg.answers; their stamps turn them away)
            from amurkg import answers

            answers.clear(path)
        try:
            ox_store, hidden = _open_databases(path, write)
        except (OSError, RuntimeError) as exc:
            _unlock(lock, write)
            raise StoreError(f"{path}: the store cannot be opened: {' '.join(str(exc).split())}") from None
        except BaseException:
            _unlock(lock, write)
            raise
        store = cls(path, ox_store, hidden, write, lock, marker)
        _remove_dead_views(path, everything=write)  # a writer excludes readers: every view is dead
        if migrate:
            store._migrate()
        if marker.get("curated") != shipped_digest():
            if not upgrade:
                store.close()
                raise StoreError(
                    f"{path}: holds the curated graph of amurkg {marker.get('amurkg', '?')} (digest "
                    f"{str(marker.get('curated', '?'))[:16]}), not the one this amurkg {_version()} ships "
                    f"({shipped_digest()}): update it with `amurkg import --upgrade --store {path}`"
                )
            store._load_curated()
        if write:
            store._collect_garbage()
            if "visible_triples" in store.marker:  # counted again when this writer closes (kept if it is killed)
                store.marker = {k: v for k, v in store.marker.items() if k != "visible_triples"}
                _write_atomic(path / MARKER, json.dumps(store.marker, indent=2) + "\n")
        return store

    @classmethod
    def _create(cls, path: Path, doing: str = "") -> Store:
        """Make a store at ``path`` (or make again one whose making was cut short: ``_creating``), once the lock
        says no other process is making it now (whoever is, is named). The store's description says "creating"
        until the curated graph is in: a process killed before leaves what the next one may remove."""
        import pyoxigraph

        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a regular file on the way, a read-only disk
            raise StoreError(f"{path}: cannot make the store's folder ({exc.strerror}): choose another") from None
        lock = _lock(path, exclusive=True, doing=doing)
        if (path / MARKER).is_file() and not _creating(path / MARKER):  # another command made one meanwhile
            _unlock(lock, True)
            raise StoreBusyError(f"{path}: another amurkg command has just made a store here: run this one again")
        try:
            for name in ("db", HIDDEN_DB, "answers"):  # what a making cut short left
                if (path / name).is_dir() and not (path / name).is_symlink():
                    shutil.rmtree(path / name)
            _write_atomic(path / MARKER, json.dumps({"format": STORE_FORMAT, "creating": True}) + "\n")
        except BaseException:
            _unlock(lock, True)
            raise
        store = cls(path, pyoxigraph.Store(str(path / "db")), pyoxigraph.Store(str(path / HIDDEN_DB)), True, lock, {})
        store._load_curated()
        return store

    def _load_curated(self) -> None:
        """(Re)load the shipped graph and its closure: at creation, and when upgrading."""
        import pyoxigraph as ox

        from amurkg.reason import REASONING_GRAPHS
        from amurkg.reasoner import close, derivation_quads
        from amurkg.resources import shipped_files, shipped_turtle

        for graph in (CURATED_GRAPH, *REASONING_GRAPHS):
            self.drop(graph)
            if ox.NamedNode(graph) in set(self.hidden.named_graphs()):
                self.hidden.remove_graph(ox.NamedNode(graph))
        curated = ox.NamedNode(CURATED_GRAPH)
        self.ox.load(shipped_turtle(shipped_files()), format=ox.RdfFormat.TURTLE, to_graph=curated)
        # the closure of the curated graph alone: a scratch store, so that imported data (asserted with its
        # own types) does not make every upgrade a reasoning job over millions of records
        scratch = ox.Store()
        scratch.extend(
            ox.Quad(q.subject, q.predicate, q.object) for q in self.ox.quads_for_pattern(None, None, None, curated)
        )
        closure = close(scratch)
        inferred = scratch.quads_for_pattern(None, None, None, ox.NamedNode(REASONING_GRAPHS[0]))
        self.hidden.extend(list(inferred))  # seen only by queries that ask for reasoning
        self.hidden.extend(list(derivation_quads(closure)))
        self.hidden.flush()
        self.ox.flush()
        self.marker = {
            "format": STORE_FORMAT,
            "amurkg": _version(),
            "curated": shipped_digest(),
            "entailments": len(closure.triples),
            "curated_triples": len(scratch) - len(closure.triples),
        }
        _write_atomic(self.path / MARKER, json.dumps(self.marker, indent=2) + "\n")

    def _migrate(self) -> None:
        """Format 1 to 2: move the hidden graphs (registry, exact coordinates, closure) from ``db/`` into
        ``hidden/``. Copied first, removed after, the marker written last: a migration killed half way is
        redone by the next ``import --upgrade``, and until then the store is refused as format 1, so no query
        ever reads ``db/`` as a union while it holds a hidden graph."""
        from amurkg.reason import REASONING_GRAPHS

        moving = [
            graph
            for graph in self.ox.named_graphs()
            if graph.value in (REGISTRY_GRAPH, PROTECTION_GRAPH, *REASONING_GRAPHS)
            or graph.value.startswith(EXACT_GRAPH_BASE)
        ]
        for graph in moving:
            self.hidden.extend(self.ox.quads_for_pattern(None, None, None, graph))
        self.hidden.flush()
        for graph in moving:
            self.ox.remove_graph(graph)
        self.ox.flush()
        self.marker = {**self.marker, "format": STORE_FORMAT, "amurkg": _version()}
        _write_atomic(self.path / MARKER, json.dumps(self.marker, indent=2) + "\n")

    def close(self) -> None:
        """Release the store (and its lock); the object cannot be used afterwards. A writer records first how
        many triples queries see now (``asserted_triples``), which no registry count can say: generalising a
        camera's location moves triples out of sight and adds others, in this import's graph and in earlier ones."""
        if self.write and self.ox is not None:
            with contextlib.suppress(OSError):  # not recorded: the next reader counts
                self.ox.flush()
                self.marker = {**self.marker, "visible_triples": self._count_visible()}
                _write_atomic(self.path / MARKER, json.dumps(self.marker, indent=2) + "\n")
        for view in self._views.values():
            view.close()
        self._views.clear()
        self.ox = None
        self.hidden = None
        self._release()

    # ------------------------------------------------------------------ reading

    def union_ok(self) -> bool:
        """Whether ``db/`` holds only what a default query sees (the curated graph, registered imports and
        their generalised twins, corrections; nothing in its default graph), so that queries may read the
        union of its graphs. False while a killed import's graph, or a replaced import's, waits for the next
        writer to remove it: queries then name the registered graphs one by one."""
        import pyoxigraph as ox

        if self._union is not None and not self.write:
            return self._union
        expected = {CURATED_GRAPH, CORRECTIONS_GRAPH}
        for record in self.imports():
            expected |= {record.graph, twin(record.graph, False)}
        named = {g.value for g in self.ox.named_graphs()}
        empty = next(iter(self.ox.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None
        self._union = named <= expected and empty
        return self._union

    def reader(self, reasoned: bool = False) -> tuple[Any, dict[str, Any]]:
        """The pyoxigraph store a query reads, and the dataset arguments of ``Store.query``: ``db/`` itself by
        default, or a view of it with the exact coordinates (``exact_locations``) or the closure
        (``reasoned``); read as the union of its graphs unless ``union_ok`` says otherwise."""
        import pyoxigraph as ox

        exact = self.exact_locations
        target = self.view(exact, reasoned) if exact or reasoned else self.ox
        if self.union_ok():
            return target, {"use_default_graph_as_union": True}
        graphs = [ox.NamedNode(g) for g in self.visible_graphs(reasoned)]
        return target, {"default_graph": graphs, "named_graphs": graphs}

    def view(self, exact: bool, reasoned: bool) -> Any:
        """A reader's view of ``db/`` with the hidden graphs a query needs (made once per reader)."""
        if self.write:
            raise StoreError(f"{self.path}: a writer reads hidden graphs through scratch_view")
        key = (exact, reasoned)
        if key not in self._views:
            exact_of = [r.graph for r in self.imports()] if exact else []
            self._views[key] = _View.make(self, exact_of, reasoned, drop_generalised=exact)
        return self._views[key].ox

    @contextmanager
    def scratch_view(self, exact_of: list[str], pending: Iterable[Any] = ()) -> Iterator[Reader]:
        """What a writer that must read the exact coordinates of the graphs ``exact_of`` reads (``protect``): ``db/``
        as it is now, with those graphs' exact twins from ``hidden/`` beside the generalised ones, as a ``Reader``
        (queries only: nothing is written through it). The writer writes nothing to the store until it is done.

        Where none of those graphs holds an exact value in ``hidden/`` (a store none of whose imports recorded a
        threatened taxon, as before its first import), that is ``db/`` itself, which is then read as it is. Else
        a view is made, and removed after: a RocksDB checkpoint of ``db/`` with the exact twins added. A checkpoint
        flushes the store first, and right after a large bulk load RocksDB holds a flush back until compaction
        has merged the loaded files (a flush that would stall writes waits): at 1,000,000 observations on 2 cores,
        11-15 s with the main thread idle (bench/import_phases.py under py-spy --idle).

        ``pending``: quads the writer is about to write (a taxon correction), added to the view as if written
        already (then a view is always made), so that what depends on them is done before they are in force."""
        import pyoxigraph as ox

        pending = list(pending)
        exact = [ox.NamedNode(twin(g, True)) for g in exact_of]
        if not pending and not any(next(iter(self.hidden.quads_for_pattern(None, None, None, g)), None) for g in exact):
            yield Reader(self.ox)
            return
        view = _View.make(self, exact_of, False, drop_generalised=False, extra=pending)
        try:
            yield Reader(view.ox)
        finally:
            view.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the registry

    def imports(self) -> list[ImportRecord]:
        """The packages the store holds, in the order they were imported."""
        query = f"""
        SELECT ?package ?id ?graph ?source ?kind ?when ?triples ?observations WHERE {{
          GRAPH <{REGISTRY_GRAPH}> {{
            ?package akg:importGraph ?graph ; akg:importedFrom ?source ; akg:importKind ?kind ;
                     akg:importedAt ?when ; akg:tripleCount ?triples ; akg:observationCount ?observations ;
                     akg:packageIdentifier ?id .
          }}
        }} ORDER BY ?when"""
        return [
            ImportRecord(
                s["package"].value,
                s["id"].value,
                s["graph"].value,
                s["source"].value,
                s["kind"].value,
                s["when"].value,
                int(s["triples"].value),
                int(s["observations"].value),
            )
            for s in self.hidden.query(query, prefixes=PREFIXES)
        ]

    def visible_graphs(self, reasoned: bool = False) -> list[str]:
        """The graphs a query sees: the curated graph and every registered import (and the closure)."""
        from amurkg.reason import REASONING_GRAPHS

        imports = [r.graph for r in self.imports()]
        named = {g.value for g in self.ox.named_graphs()}
        # exact twins are in hidden/ (and in the view that reads them), generalised ones in db/
        holder = {g.value for g in self.hidden.named_graphs()} if self.exact_locations else named
        twins = [t for g in imports if (t := twin(g, self.exact_locations)) in holder]
        graphs = [CURATED_GRAPH, *imports, *twins]
        if CORRECTIONS_GRAPH in named:  # clock and taxon corrections, with provenance
            graphs.append(CORRECTIONS_GRAPH)
        return graphs + list(REASONING_GRAPHS) if reasoned else graphs

    def ntriples(self, reasoned: bool = False) -> Iterator[bytes]:
        """What queries see, as N-Triples lines, one graph after another (the graphs share no triple)."""
        import pyoxigraph as ox

        store = self.reader(reasoned)[0]
        for graph in self.visible_graphs(reasoned):
            for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
                yield f"{quad.subject} {quad.predicate} {quad.object} .".encode()

    def asserted_triples(self) -> int:
        """The triples a query sees (entailments apart): as the last writer counted them, or counted now where
        it could not (it was killed), or where this store shows the exact coordinates."""
        recorded = self.marker.get("visible_triples")
        if isinstance(recorded, int) and not isinstance(recorded, bool) and not self.exact_locations:
            return recorded
        return self._count_visible()

    def _count_visible(self) -> int:
        """Count what a query sees: ``db/`` as a whole when it holds nothing else (a fast count), else graph by
        graph."""
        if not self.exact_locations and self.union_ok():
            return len(self.ox)
        store = self.reader()[0]
        return sum(self._count_in(store, graph) for graph in self.visible_graphs())

    @staticmethod
    def _count_in(store: Any, graph: str) -> int:
        import pyoxigraph as ox

        (solution,) = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=ox.NamedNode(graph))
        return int(solution["n"].value)

    def new_graph(self) -> str:
        return f"{IMPORT_GRAPH_BASE}{uuid.uuid4()}"

    def register(self, record: ImportRecord) -> str | None:
        """Make ``record``'s graph the one queries see for its package, in one transaction; the graph it
        replaces (now invisible), if any."""
        import pyoxigraph as ox

        old = [r.graph for r in self.imports() if r.package == record.package]
        reg = ox.NamedNode(REGISTRY_GRAPH)
        pkg = ox.NamedNode(record.package)

        def lit(value: Any) -> Any:
            if isinstance(value, int):
                return ox.Literal(str(value), datatype=ox.NamedNode(PREFIXES["xsd"] + "integer"))
            return ox.Literal(value)

        quads = [
            ox.Quad(pkg, ox.NamedNode(AKG + "importGraph"), ox.NamedNode(record.graph), reg),
            ox.Quad(pkg, ox.NamedNode(AKG + "packageIdentifier"), lit(record.identifier), reg),
            ox.Quad(pkg, ox.NamedNode(AKG + "importedFrom"), lit(record.source), reg),
            ox.Quad(pkg, ox.NamedNode(AKG + "importKind"), lit(record.kind), reg),
            ox.Quad(
                pkg,
                ox.NamedNode(AKG + "importedAt"),
                ox.Literal(record.imported, datatype=ox.NamedNode(PREFIXES["xsd"] + "dateTime")),
                reg,
            ),
            ox.Quad(pkg, ox.NamedNode(AKG + "tripleCount"), lit(record.triples), reg),
            ox.Quad(pkg, ox.NamedNode(AKG + "observationCount"), lit(record.observations), reg),
        ]
        inserts = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads)
        # one update is one transaction: the old entry goes and the new one comes at once
        self.hidden.update(f"{_forget(pkg)}; INSERT DATA {{ GRAPH <{REGISTRY_GRAPH}> {{ {inserts} }} }}")
        self.hidden.flush()
        return old[0] if old else None

    def unregister(self, package: str) -> str | None:
        """Forget a package (its graph becomes invisible, then is dropped); its graph, or None."""
        import pyoxigraph as ox

        old = [r.graph for r in self.imports() if r.package == package]
        if not old:
            return None
        pkg = ox.NamedNode(package)
        self.hidden.update(_forget(pkg))
        self.hidden.flush()
        self.drop(old[0])
        return old[0]

    def load_ntriples(self, path: Path, graph: str) -> None:
        """Bulk-load the N-Triples file at ``path`` into ``graph``: the only way amurkg hands data to
        pyoxigraph's bulk loader.

        The loader splits a file among its threads by the file's size when the machine has 4 or more cores
        (``BulkLoader::parallel_load_from_file``, one parser per two cores); a pipe or ``/dev/fd/N`` reports
        size 0 and loads nothing there, while on 1 to 3 cores it is read as a stream and loads everything. So
        the file must be a regular, closed, non-empty file, whatever the machine: anything else is refused here,
        on every machine, before the loader sees it.

        The loader parses strictly, although only the importer writes these files: reading them leniently
        (no IRI or language-tag checks) saved 0-15% of a raw load's CPU in six alternating runs of the 100k
        import's triples, within the runs' spread, and would let a mapping bug store what no parser reads."""
        import pyoxigraph as ox

        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            kind = "an empty file" if stat.S_ISREG(info.st_mode) else "not a regular file"
            raise StoreError(f"{path}: {kind}: the bulk loader is only ever given a staged, non-empty regular file")
        self.ox.bulk_load(path=os.fspath(path), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))

    def count(self, graph: str) -> int:
        """The number of triples in ``graph`` (in ``db/``, or in ``hidden/`` for a hidden graph)."""
        import pyoxigraph as ox

        query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        held = 0
        for db in (self.ox, self.hidden):
            (solution,) = db.query(query, default_graph=ox.NamedNode(graph))
            held += int(solution["n"].value)
        return held

    def drop(self, graph: str) -> None:
        import pyoxigraph as ox

        for db in (self.ox, self.hidden):  # the exact twin is in hidden/, the rest in db/
            present = set(db.named_graphs())
            for name in (graph, twin(graph, True), twin(graph, False)):
                if ox.NamedNode(name) in present:
                    db.remove_graph(ox.NamedNode(name))
        state = ox.NamedNode(PROTECTION_GRAPH)  # what it was protected for
        for quad in list(self.hidden.quads_for_pattern(ox.NamedNode(graph), None, None, state)):
            self.hidden.remove(quad)

    def _collect_garbage(self) -> None:
        """Reclaim what an interrupted (killed) import left: import graphs that no registry entry names, its
        staged N-Triples files, and the loader's unfinished SST files (``db/bulk-*.sst``, which pyoxigraph
        removes itself only when the process lives to do it). Runs under the exclusive lock, so no import is
        under way."""
        import pyoxigraph as ox

        named = {r.graph for r in self.imports()}
        dropped = False
        for db in (self.ox, self.hidden):
            for graph in list(db.named_graphs()):
                if graph.value.startswith(IMPORT_GRAPH_BASE) and graph.value not in named:
                    db.remove_graph(graph)
                    dropped = True
                for base in (EXACT_GRAPH_BASE, GENERALISED_GRAPH_BASE):  # the twins of such a graph too
                    if graph.value.startswith(base) and IMPORT_GRAPH_BASE + graph.value.removeprefix(base) not in named:
                        db.remove_graph(graph)
                        dropped = True
        state = ox.NamedNode(PROTECTION_GRAPH)  # what such a graph was protected for
        for quad in list(self.hidden.quads_for_pattern(None, None, None, state)):
            if quad.subject.value not in named:
                self.hidden.remove(quad)
        for leftover in [*self.path.glob(STAGING_PREFIX + "*"), *(self.path / "db").glob("bulk-*.sst")]:
            leftover.unlink(missing_ok=True)
        if dropped:
            self.ox.optimize()  # deleted data takes disk space until RocksDB compacts it


class Reader:
    """Read access to a pyoxigraph store (``query``, ``quads_for_pattern``), with nothing that writes: what
    ``Store.scratch_view`` hands out, which may be ``db/`` itself."""

    __slots__ = ("_db",)

    def __init__(self, db: Any) -> None:
        self._db = db

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self._db.query(*args, **kwargs)

    def quads_for_pattern(self, *args: Any, **kwargs: Any) -> Any:
        return self._db.quads_for_pattern(*args, **kwargs)


class _View:
    """A RocksDB checkpoint of a store's ``db/`` in ``views/`` (hard links, after a flush: see the module's words),
    given the hidden graphs a query needs (then read-only, where queries may be answered in a forked child);
    ``db/`` itself is never changed. Its folder holds a lock file that its process keeps locked: a folder whose
    lock can be taken belongs to a process that died, and the next opener removes it."""

    def __init__(self, folder: Path, lock: Any, ox_store: Any) -> None:
        self.folder, self.ox, self.pid = folder, ox_store, os.getpid()
        self._release = weakref.finalize(self, _remove_view, folder, lock, self.pid)

    @classmethod
    def make(
        cls, store: Store, exact_of: list[str], reasoned: bool, drop_generalised: bool, extra: Iterable[Any] = ()
    ) -> _View:
        import pyoxigraph as ox

        from amurkg.reason import REASONING_GRAPHS

        name = f"{os.getpid()}-{uuid.uuid4().hex}"
        folder = store.path / VIEWS / name
        # locked under a name other openers skip, then renamed: an opener never finds this view's lock file free
        making = folder.with_name("." + name)
        lock = None
        try:
            try:
                making.mkdir(parents=True)
            except OSError as exc:
                if exc.errno not in _UNWRITABLE:
                    raise
                # a store on a read-only medium, or another user's: the view goes in a private folder of ours
                base = private_views()
                _remove_dead_in(base, everything=False)
                folder, making = base / name, base / ("." + name)
                making.mkdir()
            with interrupts.held():  # a Ctrl-C between the open and the assignment would leave the file open
                lock = (making / "lock").open("w", encoding="utf-8")
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            making.rename(folder)
            view = cls._checkpoint(store, folder)
            made = cls(folder, lock, view)  # from here on, its finalizer removes it
        except BaseException as exc:  # an error, or a Ctrl-C half way: no lock file left open, no folder left
            if lock is not None:
                lock.close()
            shutil.rmtree(making, ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, OSError):
                raise StoreError(f"{store.path}: cannot make a read view in {folder.parent}: {exc}") from None
            raise
        hidden = {g.value for g in store.hidden.named_graphs()}
        wanted = [twin(g, True) for g in exact_of] + (list(REASONING_GRAPHS) if reasoned else [])
        for name in wanted:
            if name in hidden:
                view.extend(store.hidden.quads_for_pattern(None, None, None, ox.NamedNode(name)))
        view.extend(extra)
        if drop_generalised:
            present = {g.value for g in view.named_graphs()}
            for graph in exact_of:
                if twin(graph, False) in present:
                    view.remove_graph(ox.NamedNode(twin(graph, False)))
        from amurkg import isolation

        if isolation.enabled():
            # a process that answers sorting queries in a forked child (amurkg.isolation) closes the view and opens
            # it again read-only: open for writing, RocksDB's background threads go on (flushes, compactions that
            # delete files), which the child neither inherits nor can read beside; read-only, nothing changes its
            # files and the child reads the handle as is. Not in serve's workers (they never fork, and, forked
            # from a zygote whose views started RocksDB's thread pool, they have none: a flush would wait forever)
            view.flush()
            made.ox = None
            del view
            made.ox = ox.Store.read_only(str(folder / "db"))
        return made

    @staticmethod
    def _checkpoint(store: Store, folder: Path) -> Any:
        """The view's database, ``folder/db``: a RocksDB checkpoint of ``db/`` (hard links where it can, else a
        copy of its files). Outside the store's folder, where ``db/``'s files are another user's, the kernel
        refuses hard links to them (Linux's fs.protected_hardlinks) and RocksDB does not copy instead: the view is
        then filled with ``db/``'s quads, the same data in a database of its own."""
        import pyoxigraph as ox

        try:
            store.ox.backup(str(folder / "db"))
        except OSError:
            if folder.parent == store.path / VIEWS:
                raise
            for part in folder.iterdir():  # what the checkpoint left (db.tmp/), all but the lock file
                if part.name != "lock":
                    shutil.rmtree(part, ignore_errors=True)
            view = ox.Store(str(folder / "db"))
            view.bulk_extend(store.ox.quads_for_pattern(None, None, None, None))
            return view
        return ox.Store(str(folder / "db"))

    def close(self) -> None:
        self.ox = None
        self._release()


#: What ``mkdir`` says in a folder this process may not write: no permission, or a read-only file system.
_UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def private_views() -> Path:
    """Where a reader that cannot write its store's folder (a read-only mount, a published archive, another user's
    folder) makes its views: ``amurkg-views-UID`` in the system's temporary folder, made 0700 and used only when
    it is this user's own folder (not a link, nobody else's, closed to others). Views there are removed when
    their reader closes, and those of processes that died by the next reader that makes one here."""
    import tempfile

    base = Path(tempfile.gettempdir()) / f"amurkg-views-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700)
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise StoreError(
            f"{base}: the folder for read views of stores this user cannot write is not a private folder of this "
            "user (a link, someone else's, or open to others): remove it, or set TMPDIR to a folder of your own"
        )
    return base


def _remove_view(folder: Path, lock: Any, pid: int) -> None:
    if os.getpid() != pid:  # a forked worker (serve) leaves its parent's view alone
        return
    shutil.rmtree(folder, ignore_errors=True)
    lock.close()


def _remove_dead_views(path: Path, everything: bool) -> None:
    """Remove the views of processes that died (whose lock can be taken); with ``everything``, all."""
    _remove_dead_in(path / VIEWS, everything)


def _remove_dead_in(views: Path, everything: bool) -> None:
    """Remove the views in the folder ``views`` (a store's, or ``private_views``) of processes that died."""
    if not views.is_dir():
        return
    for folder in views.iterdir():
        if folder.name.startswith(".") and not everything:  # a view being made (amurkg._View.make)
            continue
        if everything:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        try:  # no lock file yet: a view being made right now
            fd = os.open(folder / "lock", os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # alive
        else:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)


def _forget(package: Any) -> str:
    """The update that deletes a package's registry entry (``package`` is a pyoxigraph term: its text is
    N-Triples, so an IRI cannot end early)."""
    pattern = f"GRAPH <{REGISTRY_GRAPH}> {{ {package} ?p ?o }}"
    return f"DELETE {{ {pattern} }} WHERE {{ {pattern} }}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


#: The lock file: readers hold a shared lock on it, a writer an exclusive one and writes in it who it is.
LOCK_FILE = "amurkg.lock"


#: How many times a reader tries to open the databases (``_open_databases``).
OPEN_TRIES = 3


def _open_databases(path: Path, write: bool) -> tuple[Any, Any]:
    """The store's visible and hidden databases, open for writing or reading.

    A reader that opens a database while a program outside amurkg's lock (raw pyoxigraph) writes it can find a
    file listed and then removed by the writer's compaction: RocksDB says "Corruption: ... No such file". The
    listing is read again on the next try, so a reader tries ``OPEN_TRIES`` times before it gives up."""
    import time

    import pyoxigraph

    db, hidden_db = str(path / "db"), str(path / HIDDEN_DB)
    if write:
        return pyoxigraph.Store(db), pyoxigraph.Store(hidden_db)
    attempt = 1
    while True:
        try:
            return pyoxigraph.Store.read_only(db), pyoxigraph.Store.read_only(hidden_db)
        except RuntimeError:
            if attempt >= OPEN_TRIES:
                raise
            time.sleep(0.05 * attempt)
            attempt += 1


def _creating(marker_file: Path) -> bool:
    """Whether the store's description says it is still being made (``Store._create``)."""
    from amurkg.jsonsafe import JsonError, loads

    try:
        with marker_file.open("rb") as handle:
            said = loads(str(marker_file), handle.read(_MAX_MARKER + 1), _MAX_MARKER, max_depth=8)
    except (OSError, JsonError):
        return False
    return isinstance(said, dict) and said.get("creating") is True


def _lock(path: Path, exclusive: bool, doing: str = "") -> Any:
    if fcntl is None:
        raise StoreError(
            f"{path}: a store is shared by readers and one writer through file locks this system lacks (Windows): "
            "run amurkg under WSL or on Linux or macOS for --store; everything without a store works here"
        )
    try:
        handle = (path / LOCK_FILE).open("a+", encoding="utf-8")
    except OSError as exc:  # a read-only folder or file system: a reader shares the lock through a read handle
        try:
            if exclusive:
                raise
            handle = (path / LOCK_FILE).open("r", encoding="utf-8")
        except OSError:
            raise StoreError(f"{path}: the store's lock file cannot be opened ({exc.strerror})") from None
    try:
        fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(path, handle, exclusive)
        handle.close()
        raise StoreBusyError(f"{path}: the store is being {holder}: try again when it ends") from None
    if exclusive:  # say who writes, for whoever is refused meanwhile
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"doing": doing or "an amurkg command", "pid": os.getpid(), "since": now()}) + "\n")
        handle.flush()
        _clear_reader_notes(path)  # no reader can hold the store now: what is left there is of dead ones
    else:
        try:
            handle.reader_note = _note_reader(path, doing)  # type: ignore[attr-defined]
        except BaseException:
            _unlock(handle)
            raise
    return handle


#: The folder where each reader notes which process it is (``_note_reader``).
READERS = "readers"


def _note_reader(path: Path, doing: str) -> tuple[Any, Path] | None:
    """A note in the store's ``readers/`` folder saying which process reads the store, locked by it for as long as
    it reads, so that a writer it keeps waiting can name it (``_readers``); written under a hidden name and renamed
    once locked, so that no note is ever seen unlocked while its reader lives. None where the folder cannot be
    written (a read-only store: the writer then says only that the store is read)."""
    folder = path / READERS
    name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    hidden = folder / f".{name}"
    try:
        folder.mkdir(exist_ok=True)
        if folder.is_symlink():
            return None
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        return None
    handle = open(fd, "w", encoding="utf-8")  # noqa: SIM115  # closed by _drop_note
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(json.dumps({"doing": doing or _program(), "pid": os.getpid(), "since": now()}) + "\n")
        handle.flush()
        os.replace(hidden, folder / name)
    except OSError:
        handle.close()
        with contextlib.suppress(OSError):
            hidden.unlink()
        return None
    return handle, folder / name


def _program() -> str:
    """How a reader that said nothing of itself is named: ``amurkg COMMAND`` or the program's file name."""
    import sys

    argv = [str(a) for a in sys.argv[:2]] or ["python"]
    name = os.path.basename(argv[0]) or "python"
    if name in ("amurkg", "__main__.py", "amurkg.exe") and len(argv) > 1 and argv[1].isidentifier():
        return f"amurkg {argv[1][:40]}"
    return "".join(c for c in name if c.isprintable())[:80] or "python"


def _drop_note(handle: Any) -> None:
    """Remove a reader's note (``_note_reader``) as it stops reading, before it lets go of the store's lock."""
    note = getattr(handle, "reader_note", None)
    if note is None:
        return
    handle.reader_note = None
    with contextlib.suppress(OSError):
        note[1].unlink()
    note[0].close()


def _clear_reader_notes(path: Path) -> None:
    """Remove the notes of readers that died without removing theirs (only a writer, which no reader can be
    beside, calls this); a link in place of the folder is removed, not what it points to."""
    folder = path / READERS
    with contextlib.suppress(OSError):
        if folder.is_symlink():
            folder.unlink()
        elif folder.is_dir():
            for entry in os.scandir(folder):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _readers(path: Path, most: int = 3) -> tuple[list[str], int]:
    """The live readers of the store, as their notes say (up to ``most`` of them, the longest reading first),
    and how many there are: a note is live while its reader holds its lock."""
    from amurkg.jsonsafe import JsonError, loads

    live: list[tuple[str, str]] = []
    try:
        names = sorted(e.name for e in os.scandir(path / READERS) if not e.name.startswith("."))[:1000]
    except OSError:
        return [], 0
    for name in names:
        try:
            fd = os.open(
                path / READERS / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            )
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                continue  # nobody holds it: its reader died
            except BlockingIOError:
                pass
            note = os.read(fd, 4096)
            said = loads(name, note, len(note), max_depth=2)
            doing = "".join(c for c in str(said["doing"]) if c.isprintable())[:100]
            since = "".join(c for c in str(said["since"]) if c.isprintable())[:40]
            live.append((since, f"{doing} (pid {int(said['pid'])}, since {since})"))
        except (OSError, JsonError, ValueError, KeyError, TypeError):
            continue
        finally:
            os.close(fd)
    live.sort()
    return [text for _, text in live[:most]], len(live)


def _holder(path: Path, handle: Any, exclusive: bool) -> str:
    """Who holds the lock that ``handle`` could not take: readers (who share it, named by their notes), or the
    writer named in it."""
    from amurkg.jsonsafe import JsonError, loads

    if exclusive:  # a shared lock free now means only readers hold it
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            named, count = _readers(path)
            if not named:  # a reader of an older amurkg, or one that could not write its note
                return "read by another process (a query or amurkg serve)"
            more = f" and {count - len(named)} more" if count > len(named) else ""
            who = "another process" if count == 1 else f"{count} other processes"
            return f"read by {who}: {'; '.join(named)}{more}"
    handle.seek(0)
    try:  # written by a writer of this or another amurkg, or by anyone: bounded, and only what it should hold
        note = handle.read(4096).encode("utf-8")  # a text handle: 4,096 characters at most
        said = loads(str(handle.name), note, len(note), max_depth=2)  # amurkg.jsonsafe: no deep nesting
        doing = "".join(c for c in str(said["doing"]) if c.isprintable())[:300]
        pid = int(said["pid"])
        since = "".join(c for c in str(said["since"]) if c.isprintable())[:40]
    except (JsonError, ValueError, KeyError, TypeError):  # a writer that has not written yet, or an older amurkg
        return "written by another process (an import)"
    return f"written by another process: {doing} (pid {pid}, since {since})"


def _unlock(handle: Any, exclusive: bool = False) -> None:
    _drop_note(handle)
    if not handle.closed:
        if exclusive:
            handle.seek(0)
            handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


@contextmanager
def opened(path: Path | str, write: bool = False, create: bool = False, upgrade: bool = False) -> Iterator[Store]:
    store = Store.open(path, write=write, create=create, upgrade=upgrade)
    try:
        yield store
    finally:
        store.close()
