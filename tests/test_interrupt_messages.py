"""An interrupt that comes after a change was committed says what stands. Found by a reviewer: a Ctrl-C after an
import had registered its graph (while the import it replaced was dropped, or the survey answers computed) said
only "amurkg: interrupted", exit 130, and the user imported again or thought the package absent; the same for a
removal. The change stands, and the message now says so and what was left undone."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_survey import SMALL, run

from amurkg.store import Store


def _ctrl_c(*_: Any, **__: Any) -> None:
    raise KeyboardInterrupt


def _listed(store: Path) -> list[str]:
    with Store.open(store) as handle:
        return [r.identifier for r in handle.imports()]


def _interrupted(store: Path, *args: str) -> list[str]:
    result = run(*args, "--store", str(store))
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    return result.stderr.strip().splitlines()


@pytest.fixture
def small_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    return store


def _identifier() -> str:
    import json

    descriptor = json.loads((SMALL / "datapackage.json").read_text("utf-8"))
    return str(descriptor.get("id") or descriptor["name"])


@pytest.mark.parametrize(
    ("target", "undone"),
    [
        ("amurkg.survey.warm.warm", "the survey answers are computed when first asked"),
        ("amurkg.survey.corrections.recount_if_corrected", "amurkg import --upgrade --store"),
    ],
)
def test_an_interrupt_after_the_import_was_registered_says_it_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, undone: str
) -> None:
    store = tmp_path / "store"
    monkeypatch.setattr(target, _ctrl_c)
    lines = _interrupted(store, "import", str(SMALL))
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"amurkg: interrupted: {_identifier()} was imported before the interrupt came, and stays in the store; "
    ), lines
    assert undone in lines[0], lines
    assert _listed(store) == [_identifier()]


def test_an_interrupt_while_the_replaced_import_is_dropped_says_the_new_one_stands(
    small_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-importing: the new graph is registered, then the one it replaces is dropped; a Ctrl-C in the drop."""
    with Store.open(small_store) as handle:
        old = {r.graph for r in handle.imports()}
    original: Callable[..., Any] = Store.drop

    def drop(self: Store, graph: Any) -> Any:
        if graph in old:
            raise KeyboardInterrupt
        return original(self, graph)

    monkeypatch.setattr(Store, "drop", drop)
    lines = _interrupted(small_store, "import", str(SMALL))
    assert lines == [
        f"amurkg: interrupted: {_identifier()} was imported before the interrupt came, and stays in the store; the "
        "import it replaces is dropped by the next command that writes the store"
    ]
    monkeypatch.undo()
    with Store.open(small_store) as handle:
        now = [r.graph for r in handle.imports()]
    assert len(now) == 1 and now[0] not in old  # the new import is the one registered
    assert run("import", str(SMALL), "--store", str(small_store)).exit_code == 0  # the next writer goes on


def test_an_interrupt_before_registration_still_says_only_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut before the registry named it: nothing was imported, and nothing is claimed."""
    store = tmp_path / "store"
    shutil.copytree(SMALL, tmp_path / "pkg")
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    monkeypatch.setattr(Store, "register", _ctrl_c)
    assert _interrupted(store, "import", str(tmp_path / "pkg")) == ["amurkg: interrupted"]


def test_an_interrupt_after_a_removal_says_it_was_removed(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("amurkg.survey.warm.warm", _ctrl_c)
    lines = _interrupted(small_store, "import", "--remove", _identifier())
    assert lines == [f"amurkg: interrupted: {_identifier()} was removed before the interrupt came"]
    monkeypatch.undo()
    assert _listed(small_store) == []


def _ctrl_c_in(method: str) -> Callable[..., Any]:
    """``Store.method`` that does its work, then gets a real SIGINT (as a Ctrl-C while it runs would be held)."""
    import os
    import signal

    original = getattr(Store, method)

    def patched(self: Store, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return result

    return patched


def test_a_ctrl_c_while_the_first_import_registers_keeps_the_store_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a reviewer: a real SIGINT during registration, into a store the import itself made. The import
    used to remove the store it made on any exception, this one included, while saying the package stayed; and
    it spoke of an import replaced where there was none."""
    import signal

    store = tmp_path / "new-store"
    monkeypatch.setattr(Store, "register", _ctrl_c_in("register"))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal has it
    try:
        lines = _interrupted(store, "import", str(SMALL))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert lines == [
        f"amurkg: interrupted: {_identifier()} was imported before the interrupt came, and stays in the store"
    ]
    monkeypatch.undo()
    assert _listed(store) == [_identifier()]
    effort = run("query", "survey-effort", "--store", str(store))
    assert effort.exit_code == 0 and effort.stdout.count("\n") > 1, effort.stderr


@pytest.mark.parametrize("entry", [["-m", "amurkg"], ["-c", "from amurkg.__main__ import main; main()"]])
def test_an_interrupt_inside_an_evaluated_string_still_ends_with_exit_130(tmp_path: Path, entry: list[str]) -> None:
    """The last CI run: a SIGTERM sent to ``python -m amurkg import`` ended it by SIGINT (return code -2) after the
    import had said "amurkg: interrupted". CPython marks a KeyboardInterrupt that ended an ``exec`` of text (as
    the making of a dataclass while a module is imported does) and, under ``-m``, ends the process by SIGINT when
    that mark is set, handled or not. Here the interrupt is raised from evaluated text half way through an import,
    in a real process."""
    import os
    import subprocess
    import sys

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import amurkg.survey.importer as importer\n"
        "def _stage(*args, **kwargs):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "importer._stage = _stage\n",
        "utf-8",
    )
    paths = [str(hook), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, *entry, "import", str(SMALL), "--store", str(store)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert done.stderr.decode() == "amurkg: interrupted\n"
    assert not store.exists() or not _listed(store)
