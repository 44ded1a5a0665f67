"""A killed import leaves nothing behind: the next import (or any open for writing) reclaims its graph, its
staged files and the loader's unfinished SST files, and gives the disk space back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from amurkg.store import STAGING_PREFIX, Store
from amurkg.survey.generate import generate
from amurkg.survey.importer import import_package

SMALL = REPO / "tests" / "data" / "survey-small"

#: Runs `amurkg import` with small staged files and says on stdout each time one has been loaded, then stops
#: (the parent kills it there with SIGKILL: no clean-up code of amurkg's or pyoxigraph's runs). The two loader
#: threads count under a lock and write whole lines: unlocked, their prints interleaved ("loadedloaded 4 3")
#: and the parent never read "loaded 4".
_IMPORT_AND_WAIT = """
import sys, threading, time
from amurkg.store import Store
from amurkg.survey import importer
importer.CHUNK_TRIPLES = 5000
real = Store.load_ntriples
loaded = 0
lock = threading.Lock()  # two loader threads: one count, and whole lines on stdout
def load(self, path, graph):
    global loaded
    real(self, path, graph)
    with lock:
        loaded += 1
        done = loaded
        sys.stdout.write(f"loaded {done}\\n")
        sys.stdout.flush()
    if done >= 4:
        time.sleep(600)  # killed here: four files in the graph, others being loaded or written
Store.load_ntriples = load
importer.import_package(sys.argv[1], sys.argv[2])
"""


def _size(store: Path) -> int:
    """Bytes of data on disk: the database's table files and any staged file (RocksDB's write-ahead and
    info logs come and go with its own rhythm, whatever the data)."""
    return sum(f.stat().st_size for f in [*store.glob("db/*.sst"), *store.glob(STAGING_PREFIX + "*")])


def _graphs(store: Path) -> set[str]:
    """The store's named graphs, an import's graph and its twins named by the package registered there."""
    with Store.open(store) as handle:
        owner = {r.graph.rsplit("/", 1)[1]: r.identifier for r in handle.imports()}
        names = set()
        for graph in handle.ox.named_graphs():
            base, _, tail = graph.value.rpartition("/")
            names.add(f"{base}/{owner.get(tail, tail)}")
        return names


def _answers(store: Path) -> dict[str, list[str]]:
    """Rows of survey queries and a count of every triple a query sees."""
    from amurkg.graph import KnowledgeGraph

    with KnowledgeGraph(store=store) as kg:
        found = {name: sorted(map(str, kg.run(name).rows)) for name in ("survey-effort", "detection-rate")}
        found["triples"] = [str(kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows)]
    return found


@pytest.mark.parametrize("times", [1, 3])
def test_killed_imports_are_reclaimed_by_the_next_import(tmp_path: Path, times: int) -> None:
    store = tmp_path / "store"
    import_package(store, SMALL)
    graphs, size = _graphs(store), _size(store)
    answers = _answers(store)
    package = generate(tmp_path / "big", 4000)
    for _ in range(times):
        child = subprocess.Popen(
            [sys.executable, "-c", _IMPORT_AND_WAIT, str(store), str(package)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == "loaded 4":
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert list(store.glob(STAGING_PREFIX + "*"))  # the file being written when it was killed
    grown = _size(store)
    # the last one's graph, named by no registry entry (each import reclaimed the one killed before it)
    assert len(_graphs(store)) == len(graphs) + 1
    # readers never see the killed import's graph: they name the registered graphs instead of the union
    with Store.open(store) as handle:
        assert not handle.union_ok()
    assert _answers(store) == answers
    # what a loader killed while writing an SST file leaves in the database folder
    (store / "db" / "bulk-123456789.sst").write_bytes(b"\0" * 1_000_000)

    import_package(store, SMALL)  # the next import, of a small package again
    assert _graphs(store) == graphs
    with Store.open(store) as handle:
        assert handle.union_ok()
    assert _answers(store) == answers
    assert not list(store.glob(STAGING_PREFIX + "*")) and not list((store / "db").glob("bulk-*.sst"))
    assert _size(store) < size + (grown - size) / 2, (size, grown, _size(store))
