"""`pip install .` gives a working tool that needs nothing from the checkout."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.tools  # builds a wheel and installs it into a fresh virtual environment


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)],
        check=True,
    )
    (built,) = out.glob("amurkg-*.whl")
    return built


def test_wheel_ships_ontology_graph_and_queries(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("ontology", "graph", "queries"):  # every file, in sub-folders too (queries/from-detections)
        for path in (p for p in (REPO / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            assert f"amurkg/_data/{path.relative_to(REPO).as_posix()}" in names, path
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    # the Camtrap DP profile and table schemas that imports are checked against, offline, with their licence
    for name in (
        "camtrap-dp-profile.json",
        "deployments-table-schema.json",
        "media-table-schema.json",
        "observations-table-schema.json",
        "LICENSE",
    ):
        assert f"amurkg/survey/camtrap-dp-1.0.2/{name}" in names, name
    # the web interface's templates, style sheet and script: served from the package, never from elsewhere
    for folder in ("templates", "static"):
        for path in (REPO / "amurkg" / "web" / folder).iterdir():
            assert f"amurkg/web/{folder}/{path.name}" in names, path


def test_installed_wheel_answers_from_anywhere(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # dependencies come from the test environment, the package itself only from the wheel: a fresh venv
    # whose path file lists this environment's site-packages after its own (--system-site-packages would
    # reach the base interpreter's, which lacks the dependencies when the tests run in a venv themselves)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (own,) = (venv / "lib").glob("python3*/site-packages")
    subprocess.run(  # this environment's pip, installing into the new one
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
    )
    # the path file only after the install: with it, pip would see an outer non-editable amurkg (as CI's
    # `pip install .` leaves one) as "already satisfied" and skip the wheel
    (own / "outer-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import amurkg.resources as r; print(r.data_root())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv)) and where.endswith("_data")
    answer = subprocess.run(
        [str(venv / "bin" / "amurkg"), "query", "conservation-status", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(answer)["results"]["bindings"][0]["code"]["value"] == "CR"
    version = subprocess.run(
        [str(python), "-m", "amurkg", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("amurkg ")
    amurkg = str(venv / "bin" / "amurkg")
    for command in (["validate"], ["check"], ["docs", "-o", "site"], ["query", "countries-of-places"]):
        done = subprocess.run([amurkg, *command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert (tmp_path / "site" / "index.html").stat().st_size > 100_000
