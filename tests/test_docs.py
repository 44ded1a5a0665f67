"""The docs tell the truth: README examples give the output shown, every command has help and is
documented, every canned query describes itself, and CI runs the README's test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from unittest import mock

import pytest
from conftest import REPO

from amurkg.catalog import FILTER_VARIABLES, list_queries
from amurkg.cli import app
from amurkg.sparql import check_query

README = REPO / "README.md"
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)  # type: ignore[union-attr]


def readme() -> str:
    if not README.is_file():
        pytest.skip("README.md is not shipped in an installed package; these tests run from a checkout")
    return README.read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    """(command line, expected output) for every `$ amurkg ...` line in a ```console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", readme(), re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if chunk.startswith("$ amurkg "):
                command, _, output = chunk.partition("\n")
                examples.append((command[2:], output.strip("\n")))
    return examples


def test_readme_has_examples_on_its_first_screen() -> None:
    first_screen = "\n".join(readme().splitlines()[:40])
    assert "$ amurkg query" in first_screen and "Critically Endangered" in first_screen


def test_readme_examples_print_what_the_readme_shows(runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "160")  # a wide terminal: tables are fitted to the terminal's width
    # the field-data examples import tests/data/survey-small into ./survey-store: run them in a scratch folder
    (tmp_path / "tests").symlink_to(REPO / "tests")
    monkeypatch.chdir(tmp_path)
    examples = console_examples()
    assert len(examples) >= 6
    with mock.patch("amurkg.cli._stdout_is_terminal", return_value=True):
        for command, expected in examples:
            # help is wrapped as on any terminal of 80 columns or more (click keeps 2 columns spare)
            result = runner.invoke(app, shlex.split(command)[1:], prog_name="amurkg", terminal_width=78)
            shown = (result.stdout + result.stderr).strip("\n")
            assert [line.rstrip() for line in shown.splitlines()] == expected.splitlines(), command


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_a_readme_entry(command: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout and len(result.stdout.splitlines()) > 4
    assert f"`amurkg {command}" in readme()


def test_every_command_with_graph_input_takes_data(cli) -> None:  # type: ignore[no-untyped-def]
    for command in ("query", "sparql", "export", "describe", "stats"):
        assert "--data" in cli(command, "--help").stdout, command
    for command in ("query", "sparql", "describe", "stats"):
        assert "--engine" in cli(command, "--help").stdout, command


def test_every_canned_query_describes_itself_and_parses() -> None:
    for canned in list_queries():
        assert canned.title and len(canned.description) > 20, canned.name
        assert canned.text.startswith("# title:"), canned.name
        assert check_query(canned.text, canned.name).form == "SELECT"
        for param in canned.parameters:
            variable = FILTER_VARIABLES[param.name] if param.name in canned.filters else param.name
            # a filter the counts computed at import cannot answer is answered by the text that counts detections
            answered = param.name not in canned.filters or param.name in canned.counted or not canned.detailed
            defaulted = variable in ("observationType", "timeLapse")  # counted as their defaults only
            assert not answered or f"?{variable}" in canned.text or defaulted, canned.name
            assert canned.detailed is None or f"?{variable}" in canned.detailed, (canned.name, param.name)
            assert param.description, (canned.name, param.name)
        if canned.detailed is not None:
            assert check_query(canned.detailed, canned.name).form == "SELECT"
        assert f"`{canned.name}`" in readme(), f"{canned.name} is missing from the README table"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.strip().splitlines()[-1]
    assert command == "pip install '.[test]' && pytest && pytest -m tools"  # the README's, then the tools group
    assert "pip install '.[test]' && pytest " in readme() and "pytest -m tools" in readme()
    install_line = next(line for line in readme().splitlines() if line.startswith("pip install . && amurkg query"))
    assert "amurkg query conservation-status" in install_line


def test_layout_follows_the_design_card() -> None:
    for folder in ("ontology", "graph", "queries", "amurkg", "tests", "bench"):
        assert (REPO / folder).is_dir(), folder
    assert (REPO / "pyproject.toml").is_file()
    assert len(list((REPO / "graph").glob("*.ttl"))) >= 8
    assert Path(REPO / "bench" / "bench_query.py").is_file()


def test_readme_python_examples_run_as_shown() -> None:
    """The ```pycon blocks are doctests: run them, output compared as printed."""
    import doctest

    pytest.importorskip("pandas", reason="the notebook examples need the notebook extra (pandas)")
    blocks = re.findall(r"```pycon\n(.*?)```", readme(), re.S)
    assert blocks
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for number, block in enumerate(blocks):
        runner.run(parser.get_doctest(block, {}, f"README pycon block {number}", str(README), 0))
    assert runner.failures == 0 and runner.tries >= 5


def test_a_test_that_uses_an_outside_tool_must_be_marked() -> None:
    """Plain `pytest` leaves out the `tools` group; a test that asks for Chromium, Java, Node.js or Virtuoso
    without the mark would slip into the quick run, so asking fails it (this test carries no mark)."""
    from conftest import TOOLS, tool

    for name in TOOLS:
        with pytest.raises(pytest.fail.Exception, match=r"mark it @pytest\.mark\.tools"):
            tool(name)


def _leaf_commands() -> list[tuple[str, object]]:
    """Every command the user can run, subcommands included, as (name as typed, click command)."""
    import typer

    found: list[tuple[str, object]] = []

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), command))

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize(("name", "command"), _leaf_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_help_has_an_example_and_every_option_is_in_the_readme(name: str, command: object) -> None:
    assert "Example: amurkg " in (getattr(command, "help", None) or ""), name
    text = readme()
    for param in getattr(command, "params", []):
        forms = [*param.opts, *getattr(param, "secondary_opts", [])]
        options = [f for f in forms if f.startswith("-") and f not in ("-h", "--help")]
        if options:
            assert any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text) for f in options), (name, options)


def test_help_says_what_runs_and_what_is_read(cli) -> None:  # type: ignore[no-untyped-def]
    readme_list = re.search(r"format\s+chosen by extension \(`([^`]+)`\)", readme())
    assert readme_list is not None
    from amurkg.rdfio import FORMATS_BY_EXTENSION

    for command in ("query", "sparql", "describe", "export"):
        shown = " ".join(cli(command, "--help").stdout.split())
        listed = re.search(r"shipped graph \(([^)]+)\)", shown)
        assert listed is not None and listed.group(1).split() == readme_list.group(1).split(), command
        assert set(listed.group(1).split()) <= set(FORMATS_BY_EXTENSION), command
        if command != "export":  # export's --reason says what it writes
            reason = shown[shown.index("--reason") :][:200]
            assert "owlrl" not in reason and "amurkg's own reasoner" in reason, command  # owlrl only checks it


@pytest.mark.parametrize(
    "words",
    [
        "amurkg describe wild",
        "amurkg viz --focus wild",
        "amurkg describe wild\\ b",  # typed on after the space: the shell hands amurkg `wild b`
        "amurkg survey activity --taxon wild\\ b",
        "amurkg survey activity --taxon 'wild b",
    ],
)
def test_completion_quotes_labels_with_spaces(words: str) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "_AMURKG_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(shlex.split(words + ("'" if words.count("'") % 2 else ""))) - 1),
    }
    done = subprocess.run([sys.executable, "-m", "amurkg"], env=env, capture_output=True, text=True, timeout=60)
    offered = done.stdout.splitlines()
    assert "wild\\ boar" in offered and "wild boar" not in offered
    assert all(len(shlex.split(item)) == 1 for item in offered)  # each is one argument to the shell


@pytest.mark.parametrize(
    ("words", "cword", "wanted"),
    [
        ("amurkg describe amur : amur-leop", 4, "amur-leopard"),  # typed amur:amur-leop
        ("amurkg describe amur :", 3, ":amur-leopard"),  # typed amur:
        ("amurkg describe amur", 2, "amur:amur-leopard"),
    ],
)
def test_bash_completes_a_prefixed_name_after_its_colon(words: str, cword: int, wanted: str) -> None:
    """Bash splits a word at a colon (COMP_WORDBREAKS): `amurkg describe amur:amur-leop<TAB>` reached amurkg as
    `amur`, `:`, `amur-leop`, and nothing started with `amur-leop`, so most entities (amur:...) could not be
    completed past their prefix. Bash replaces only what follows the colon: that is what it gets."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "_AMURKG_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    done = subprocess.run([sys.executable, "-m", "amurkg"], env=env, capture_output=True, text=True, timeout=60)
    offered = done.stdout.splitlines()
    assert wanted in offered, offered[:5]
    assert all(item.startswith(shlex.split(words)[cword]) for item in offered)


def test_readme_shows_every_screenshot_the_tests_make() -> None:
    shown = set(re.findall(r"!\[[^\]]+\]\((docs/screenshots/[\w-]+\.png)\)", readme()))
    made = {p.relative_to(REPO).as_posix() for p in (REPO / "docs" / "screenshots").glob("*.png")}
    assert made and shown == made


def test_readme_shows_what_serve_prints(tmp_path: Path) -> None:
    """The web section's `# amurkg: serving ...` lines are what a newcomer sees on starting the server."""
    import subprocess
    import sys

    block = re.search(r"```sh\npip install '\.\[web\]'.*?```", readme(), re.S)
    assert block is not None
    shown = [line[2:] for line in block.group(0).splitlines() if line.startswith("# amurkg: serving")]
    assert len(shown) == 2
    patterns = [
        re.escape(line).replace(re.escape("127.0.0.1:7878"), r"127\.0\.0\.1:\d+").replace(re.escape(", ...}"), ".*}")
        for line in shown
    ]
    log = tmp_path / "serve.err"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "amurkg", "serve", "--port", "0", "--workers", "1"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        import time

        for _ in range(1200):  # until it says where it serves (no limit on how long loading takes: 10 min at most)
            printed = log.read_text(encoding="utf-8").splitlines()
            if len(printed) >= 2 or proc.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert len(printed) >= 2, printed
    for pattern, line in zip(patterns, printed[:2], strict=True):
        assert re.fullmatch(pattern, line), (pattern, line)
