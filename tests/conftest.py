"""Shared fixtures: loaded graphs on both engines, a CLI runner, and the owner's source documents."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rdflib
import typer
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

import amurkg
from amurkg.cli import app
from amurkg.resources import shipped_files

# validation reports of the shipped graph are cached: here in a folder of the test run, not the user's cache,
# made by the process that starts the run (its xdist workers inherit the variable) and removed when it ends
if "AMURKG_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["AMURKG_CACHE_DIR"] = _cache = tempfile.mkdtemp(prefix="amurkg-test-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

# no test may depend on the machine's speed: Hypothesis's per-example deadline and its "too slow" health check
# are both clocks, so neither applies here (a test that sets its own settings keeps these unless it says so)
settings.register_profile("amurkg", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("amurkg")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("AMURKG_SHARED", REPO.parent / "shared"))
SEED = SHARED / "seed" / "000_0a866dfb5b4830f3.txt"
REFERENCE = SHARED / "reference" / "external-ids.md"

#: How long a test's client waits for a real server's answer: a bound against a hung server, not a measure of
#: speed, so generous enough for a busy 2-core machine (tests of timeouts use stubs that never answer instead)
WAIT = 600.0


@pytest.fixture(scope="session")
def kg() -> amurkg.KnowledgeGraph:
    """The shipped graph on the default engine (oxigraph)."""
    return amurkg.load()


@pytest.fixture(scope="session")
def kg_rdflib() -> amurkg.KnowledgeGraph:
    """The shipped graph on the rdflib engine."""
    return amurkg.load(engine="rdflib")


@pytest.fixture(scope="session")
def shipped_graph() -> rdflib.Graph:
    """The shipped ontology and data parsed by rdflib, independently of amurkg's engines."""
    g = rdflib.Graph()
    for path in shipped_files():
        g.parse(data=path.read_text(encoding="utf-8"), format="turtle")
    return g


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the curated graph and its closure and nothing imported, made once per worker. Making a
    store (loading the curated graph and reasoning over it) is about 0.3 s of a small import's 0.45 s; property
    tests that import into a new store per example copy this one instead (``new_store``): a copy of a closed
    store is that store, and the import finds it as it finds a store that it made. Making a store from nothing
    stays tested wherever a test imports into a folder that does not exist."""
    from amurkg.store import Store

    path = tmp_path_factory.mktemp("empty-store") / "store"
    Store.open(path, write=True, create=True).close()
    return path


def new_store(empty_store: Path, folder: Path) -> Path:
    """``folder/store``: a copy of ``empty_store`` to import into."""
    import shutil

    return Path(shutil.copytree(empty_store, folder / "store"))


def _build_the_command_once() -> None:
    """Typer's test runner builds the Click command tree from the app at every invoke (about 10 ms for amurkg's
    60-odd commands), which thousands of invokes repeat; the tree is the same each time, so it is built once per
    app (and again if commands are added). Each invoke still gets its own Click context, as a command run does."""
    import typer.testing

    build = typer.testing._get_command  # type: ignore[attr-defined]
    built: dict[tuple[int, int, int], tuple[object, Any]] = {}

    def get_command(typer_instance: typer.Typer) -> Any:
        key = (id(typer_instance), len(typer_instance.registered_commands), len(typer_instance.registered_groups))
        if key not in built:  # (the app is kept with its command, so that its id is not reused)
            built[key] = (typer_instance, build(typer_instance))
        return built[key][1]

    typer.testing._get_command = get_command  # type: ignore[attr-defined]


_build_the_command_once()


@pytest.fixture
def runner() -> CliRunner:
    """A Typer CLI runner; stdout and stderr are captured separately."""
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner):  # type: ignore[no-untyped-def]
    """Invoke ``amurkg ARGS...`` and return the result."""

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)

    return invoke


#: Tools some tests need from the system; .ci/run installs them and lists them in AMURKG_REQUIRE_TOOLS, so
#: that there a missing tool fails the tests instead of skipping them.
TOOLS = {
    "chromium": (("chromium", "chromium-browser"), "apt-get install chromium"),
    "java": (("java",), "apt-get install default-jre-headless"),
    "node": (("node", "nodejs"), "install Node.js"),
    "virtuoso": (("virtuoso-t",), "apt-get install virtuoso-opensource-7-bin"),
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores this process may use. Many tests wait on a subprocess or a
    server they started (an import, `amurkg serve`), and a worker waiting holds no core: on 2 cores, under
    another job's load, the suite took 6 min 50 s with 2 workers and 5 min 07 s with 3."""
    import os

    cores = os.process_cpu_count() if hasattr(os, "process_cpu_count") else None
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``heavy`` first, each group in pytest-randomly's order (it shuffles before this hook runs).
    With two workers the run ends when the later one does: a test of a minute handed out last leaves the other
    worker idle for that minute, while handed out first it runs beside the many short tests. Order only; every
    test still runs, and no result may depend on it (the random order checks that)."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # a stable sort


_running: list[pytest.Item] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Remember the test being set up, so that ``tool`` can check that it is in the ``tools`` group."""
    _running[:] = [item]


def required_tools() -> set[str]:
    return {t.strip() for t in os.environ.get("AMURKG_REQUIRE_TOOLS", "").split(",") if t.strip()}


def missing(message: str, tool: str) -> None:
    """Skip with the reason, or fail where the environment says the tool must be there (CI)."""
    if tool in required_tools():
        pytest.fail(f"{message}; AMURKG_REQUIRE_TOOLS says it must be installed here")
    pytest.skip(message)


def tool(name: str) -> str:
    """The path of a system tool, or skip (fail in CI) naming how to install it."""
    import shutil

    if _running and _running[0].get_closest_marker("tools") is None:
        pytest.fail(f"{_running[0].nodeid} uses {name}: mark it @pytest.mark.tools (see README, Development)")
    commands, how = TOOLS[name]
    for command in commands:
        found = shutil.which(command)
        if found:
            return found
    missing(f"this test needs {name}, which is not installed ({how}; .ci/run does)", name)
    raise AssertionError("unreachable")


def _source(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} is absent: the owner's documents sit beside the checkout only in development and CI")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The owner's source text (skipped where ../shared is absent, as on a user's machine)."""
    return _source(SEED)


@pytest.fixture(scope="session")
def reference_text() -> str:
    """The reference table of confirmed identifiers (skipped where ../shared is absent)."""
    return _source(REFERENCE)


#: Parameters for the canned queries that need some (the others run with their defaults).
PARAMS = {
    "entity-facts": {"entity": "amur-leopard"},
    "entity-sources": {"entity": "amur-leopard"},
    "explain": {"subject": "wild boar", "predicate": "obo:RO_0002458", "object": "Amur leopard"},
    "detections-near": {"latitude": "43.1", "longitude": "131.5"},
}
#: Canned queries about imported field data: the shipped graph alone gives them nothing to answer (they are
#: checked on survey packages in test_survey.py and test_survey_exchange.py).
FIELD_DATA_QUERIES = {
    "survey-effort",
    "detection-rate",
    "detection-rate-any",
    "prey-detection-rate",
    "activity-pattern",
    "activity-pattern-any",
    "co-detections",
    "co-detections-any",
    "detections-near",
}


def rows(result: amurkg.SelectResult) -> list[dict[str, str]]:
    """Rows of a SELECT answer as dictionaries of display strings."""
    return result.as_text_dicts()


def column(result: amurkg.SelectResult, name: str) -> set[str]:
    """The set of display values of one column."""
    return {r[name] for r in rows(result) if name in r}


def watching(module: Any, name: str, call: Callable[[], Any]) -> tuple[Any, bool]:
    """``call()``'s result, and whether ``module.name`` returned something other than None while it ran (a fast
    path taken, a kept answer found)."""
    from unittest import mock

    seen = []
    real = getattr(module, name)

    def spy(*args: Any) -> Any:
        out = real(*args)
        seen.append(out is not None)
        return out

    with mock.patch.object(module, name, spy):
        result = call()
    return result, any(seen)
