"""What the command line says around its work: one wording for "wrote FILE" in every command that writes, the
taxa completed for a survey's --taxon, and no library noise on stderr (rdflib's "does not look like a valid
URI" warnings) where a file holds an IRI that no RDF syntax allows."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_survey import SMALL, run

import amurkg
from amurkg.errors import DataFileError
from amurkg.output import terminal_safe, wrote_message

#: A file name a person could be handed: an escape sequence that would clear their screen, and a line break.
ODD = "out\x1b[2J\nname"


@given(st.text(max_size=60), st.text(max_size=30), st.text(max_size=60))
def test_the_wrote_line_is_one_safe_line_naming_the_file(path: str, what: str, detail: str) -> None:
    line = wrote_message(path, what, detail)
    assert line.startswith("amurkg: wrote ") and "\n" not in line and "\r" not in line
    assert terminal_safe(line) == line  # nothing in it can move a terminal's cursor or hide text
    assert line.startswith(f"amurkg: wrote {terminal_safe(path)}")
    if what:
        assert f" ({terminal_safe(what)})" in line
    if detail:
        assert line.endswith(f": {terminal_safe(detail)}")
    assert wrote_message(None) == "amurkg: wrote standard output"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small package alone (Camtrap DP exports one package)."""
    target = tmp_path_factory.mktemp("messages") / "store"
    amurkg.import_package(target, SMALL)
    return target


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small package and a synthetic one (a merge takes two)."""
    from amurkg.survey.generate import generate

    folder = tmp_path_factory.mktemp("messages")
    target = folder / "store"
    amurkg.import_package(target, SMALL)
    amurkg.import_package(target, generate(folder / "synthetic", 200, 5))
    return target


def test_every_command_that_writes_says_so_in_one_wording(store: Path, two: Path, tmp_path: Path) -> None:
    """survey plot, export (Camtrap DP and Darwin Core), survey merge and docs: the same line, the file's name
    as a terminal may show it, on stderr, nothing on stdout."""
    writes = [
        (["survey", "plot", "effort", "--store", str(store), "-o"], ODD + ".svg", ""),
        (["export", "--store", str(store), "-f", "camtrapdp", "-o"], ODD, "a Camtrap DP package"),
        (["export", "--store", str(store), "-o"], ODD + ".zip", "a Darwin Core Archive"),
        (["survey", "merge", "--store", str(two), "-o"], ODD + "-merged.zip", "a merged Camtrap DP package"),
        (["docs", "-o"], ODD + "-docs", "the ontology's documentation"),
    ]
    for args, name, what in writes:
        target = tmp_path / name
        result = run(*args, str(target))
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout == ""
        said = result.stderr.splitlines()[-1]
        written = target / "index.html" if args[0] == "docs" else target
        assert written.exists()
        expected = wrote_message(written, what)
        assert said == expected or said.startswith(expected + ": "), (args, said)
        assert "\x1b" not in result.stderr and "\\x1b[2J\\x0aname" in said


def _complete(*words: str) -> list[str]:
    env = {
        **os.environ,
        "_AMURKG_COMPLETE": "complete_bash",
        "COMP_WORDS": " ".join(words),
        "COMP_CWORD": str(len(words) - 1),
    }
    done = subprocess.run([sys.executable, "-m", "amurkg"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_a_surveys_taxon_completes_from_its_store_else_from_the_curated_graph(store: Path) -> None:
    # the small package's lynx is not in the curated graph: the store names it, the curated graph does not
    assert _complete("amurkg", "survey", "activity", "--store", str(store), "--taxon", "Lyn") == ["Lynx\\ lynx"]
    assert _complete("amurkg", "survey", "activity", "--taxon", "Lyn") == []
    # curated labels and scientific names, in every survey command with --taxon (repeatable or not)
    assert "wild\\ boar" in _complete("amurkg", "survey", "plot", "activity", "--taxon", "wild")
    assert "Panthera\\ pardus\\ orientalis" in _complete("amurkg", "survey", "geojson", "--taxon", "Panth")
    # a store that is not there offers the curated taxa; completion never fails
    assert "Amur\\ leopard" in _complete("amurkg", "survey", "effort", "--store", "/nonexistent", "--taxon", "Amur")


#: Characters no IRI may hold, each written as the \u escape Turtle and N-Triples allow in an IRI.
_FORBIDDEN = st.sampled_from([" ", "|", "{", "}", "^", "`", "\\", '"', "<", ">"])


def _odd_file(folder: Path, start: str, bad: str, end: str, lines: int, fmt: str) -> Path:
    escaped = f"\\u{ord(bad):04X}"
    good = "<http://example.org/s> <http://example.org/p> <http://example.org/o> .\n" * lines
    text = good + f"<http://example.org/s> <http://example.org/p> <http://example.org/{start}{escaped}{end}> .\n"
    path = folder / f"odd.{fmt}"
    path.write_text(text, encoding="utf-8")
    return path


def _one_error_no_noise(path: Path, lines: int, load: Callable[[], object]) -> None:
    """``load()`` raises one ``DataFileError`` naming ``path`` and the bad line, and nothing is logged."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        with pytest.raises(DataFileError) as caught:
            load()
    finally:
        logging.getLogger().removeHandler(keep)
    message = str(caught.value)
    assert message.startswith(f"{path}:{lines + 1}:") and "\n" not in message, message
    assert not [r for r in seen if "valid URI" in r.getMessage()]  # nothing reached a handler, stderr included


@given(
    start=st.text(alphabet="abcdefghij/", min_size=1, max_size=12),
    bad=_FORBIDDEN,
    end=st.text(alphabet="abcdefghij", max_size=8),
    lines=st.integers(min_value=0, max_value=5),
    fmt=st.sampled_from(["ttl", "nt"]),
    engine=st.sampled_from(["oxigraph", "rdflib"]),
)
def test_an_iri_no_syntax_allows_is_one_error_with_its_line_and_no_noise(
    tmp_path_factory: pytest.TempPathFactory,
    start: str,
    bad: str,
    end: str,
    lines: int,
    fmt: str,
    engine: str,
) -> None:
    """Each example loads the file the way ``KnowledgeGraph(data=[path])`` loads a user's file (read_rdf, then
    the engine's load_source), without first loading the shipped graph into the engine: that took rdflib
    half a second per example, for files that never reach it. The next test goes through KnowledgeGraph."""
    from amurkg.engines import make_engine
    from amurkg.rdfio import read_rdf

    path = _odd_file(tmp_path_factory.mktemp("iri"), start, bad, end, lines, fmt)
    _one_error_no_noise(path, lines, lambda: make_engine(engine).load_source(read_rdf(path)))


@pytest.mark.parametrize("fmt", ["ttl", "nt"])
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_an_iri_no_syntax_allows_is_one_error_through_the_knowledge_graph(
    tmp_path: Path, fmt: str, engine: str
) -> None:
    """The same through the public entry point, the shipped graph loaded first, for each engine and syntax."""
    path = _odd_file(tmp_path, "a/b", "|", "c", 3, fmt)
    _one_error_no_noise(path, 3, lambda: amurkg.KnowledgeGraph(data=[path], engine=engine))


def test_validate_of_such_a_file_prints_one_line(tmp_path: Path) -> None:
    odd = tmp_path / "odd.ttl"
    odd.write_text('<http://example.org/a\\u0020b> <http://www.w3.org/2000/01/rdf-schema#label> "x" .\n')
    done = subprocess.run(
        [sys.executable, "-m", "amurkg", "validate", "--data", str(odd)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"amurkg: error: {odd}:1:1: ")
    assert "does not look like a valid URI" not in done.stderr


def _without(blocked: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``amurkg ARGS`` in a Python where ``blocked`` (``fcntl``, or ``os.fork``) is missing, as on Windows."""
    prelude = "import os; del os.fork" if blocked == "fork" else f"import sys; sys.modules[{blocked!r}] = None"
    run = "import runpy, sys; sys.argv = ['amurkg', *sys.argv[1:]]; runpy.run_module('amurkg', run_name='__main__')"
    code = f"{prelude}; {run}"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_without_posix_file_locks_a_store_is_refused_in_one_line(tmp_path: Path) -> None:
    """Windows has no fcntl: commands without a store still work there, and one with a store says why it cannot
    (before, `import fcntl` at the top of amurkg.store failed every store command with a traceback)."""
    result = _without("fcntl", "import", str(SMALL), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "file locks" in line and "WSL" in line
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
    result = _without("fcntl", "query", "conservation-status", "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0 and "Critically Endangered" in result.stdout, result.stderr


def test_without_fork_serve_is_refused_in_one_line(tmp_path: Path) -> None:
    result = _without("fork", "serve", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "cannot" in line and "WSL" in line
