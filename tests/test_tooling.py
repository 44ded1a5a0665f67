"""Lint, format and type checks run with the tests, so `pytest` is the one command that checks it all."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_lint() -> None:
    result = run("ruff", "check", "amurkg", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", "amurkg", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.heavy
def test_mypy_strict_on_the_package() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_benchmark_script_runs() -> None:
    """Not a timing test: the benchmark must keep working, its figures are read by people."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_query.py"), "--runs", "1"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "amurkg / bare typer" in result.stdout and "naive / amurkg" in result.stdout
