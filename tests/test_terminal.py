"""What a person at a terminal sees, and what a program reading a pipe sees: status lines, table widths, help,
completion. Terminals are real pseudo-terminals here, not mocks."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from amurkg.results import SelectResult, Term, fit_widths, format_result


def on_terminal(*args: str, columns: int = 80, timeout: float = 120) -> tuple[int, str]:
    """Run ``amurkg ARGS`` with stdout and stderr on a pseudo-terminal; its exit code and what it showed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "amurkg", *args], stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=30), shown.decode("utf-8", "replace")


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "amurkg", *args], capture_output=True, text=True, timeout=120)


def test_long_work_shows_a_status_line_on_a_terminal_only() -> None:
    code, shown = on_terminal("validate")
    assert code == 0 and "validating the graph against the SHACL shapes" in shown
    done = piped("validate")
    assert done.returncode == 0 and done.stderr == ""  # nothing extra for programs and logs


def test_no_status_line_speaks_of_your_data_when_there_is_none() -> None:
    code, shown = on_terminal("query", "conservation-status")
    assert code == 0 and "Amur leopard" in shown and "your data" not in shown


def test_tables_fit_the_terminal() -> None:
    code, shown = on_terminal("describe", "Amur leopard", columns=70)
    lines = [line for line in shown.splitlines() if line.strip()]
    assert code == 0 and lines and max(len(line.rstrip("\r")) for line in lines) <= 70
    assert "…" in shown  # long cells were cut, not wrapped onto new lines


def test_fitting_narrows_the_widest_columns_first() -> None:
    assert fit_widths([10, 50, 30], [3, 8, 8], 60) == [10, 23, 23]
    assert fit_widths([10, 20], [10, 20], 5) == [10, 20]  # never below a column's minimum
    result = SelectResult(["a", "b"], [(Term.literal("x" * 40), Term.literal("short"))])
    table = format_result(result, "table", width=30)
    assert all(len(line) <= 30 for line in table.splitlines()) and "x…" in table


@pytest.mark.parametrize("fmt", ["png", "svg", "html"])
def test_pictures_and_pages_never_go_to_a_terminal(fmt: str) -> None:
    code, shown = on_terminal("viz", "--focus", "wild boar", "-f", fmt)
    assert code == 2 and f"-o FILE.{fmt}" in shown and "<html" not in shown and "PNG" not in shown[:4]


def test_help_short_and_long_with_an_example() -> None:
    for command in ("query", "sparql", "describe", "viz"):
        short, long = piped(command, "-h"), piped(command, "--help")
        assert short.returncode == 0 and short.stdout == long.stdout and "Example: amurkg " in short.stdout


def test_completion_knows_queries_and_entities() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_AMURKG_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "2"}
        done = subprocess.run([sys.executable, "-m", "amurkg"], env=env, capture_output=True, text=True, timeout=60)
        return done.stdout.split()

    assert {"prey", "prey-ungulates", "predators"} <= set(complete("amurkg query pre"))
    assert "amur:wild-boar" in complete("amurkg describe amur:wild")
    script = piped("--show-completion", "bash")
    assert script.returncode == 0 and "_AMURKG_COMPLETE" in script.stdout


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json"])
def test_data_formats_on_a_terminal_show_controls_as_escapes(tmp_path: pytest.TempPathFactory, fmt: str) -> None:
    """Found by a reviewer: `import --list -f tsv` on a terminal printed a stored source path raw, and the
    folder's name, an OSC sequence, set the terminal's title. On a terminal every format now shows control
    characters as escapes, as tables do; a pipe gets the bytes as stored (a program reads them)."""
    import shutil
    from pathlib import Path

    from conftest import REPO

    base = Path(str(tmp_path))
    evil = "survey\x1b]0;owned\x07\x1b[2J\u202e\x9b31m"
    shutil.copytree(REPO / "tests" / "data" / "survey-small", base / evil)
    store = base / "store"
    assert piped("import", str(base / evil), "--store", str(store)).returncode == 0
    code, shown = on_terminal("import", "--list", "--store", str(store), "-f", fmt)
    assert code == 0 and "survey" in shown, shown
    assert not any(c in shown for c in "\x1b\x07\x9b\u202e"), repr(shown)
    said = "\\u001b]0;owned\\u0007\\u001b[2J" if fmt == "json" else "\\x1b]0;owned\\x07\\x1b[2J"  # JSON escapes C0
    assert said in shown and "\\x9b31m" in shown, repr(shown)
    done = piped("import", "--list", "--store", str(store), "-f", fmt)
    assert done.returncode == 0
    raw = done.stdout if fmt != "json" else json.loads(done.stdout)["results"]["bindings"][0]["source"]["value"]
    assert evil in raw, repr(raw)
