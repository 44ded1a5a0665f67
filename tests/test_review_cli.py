"""Independent review of the command line: a usage error names the command to ask for help."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as people run it (python -m amurkg names itself amurkg, as the installed script does)."""
    return subprocess.run([sys.executable, "-m", "amurkg", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["survey", "individuals", "--interval", "-5"], "amurkg survey individuals"),
        (["survey", "effort", "--occasion", "x"], "amurkg survey effort"),
        (["query", "taxa", "--no-such-option"], "amurkg query"),
    ],
)
def test_a_usage_error_names_the_whole_command(args: list[str], command: str) -> None:
    """'see amurkg individuals --help' sent people to a command that does not exist: the help named must run."""
    result = run(*args)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"(see '{command} --help')" in result.stderr
    assert run(*command.split()[1:], "--help").returncode == 0
