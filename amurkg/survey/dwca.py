"""Darwin Core Archives: read (``amurkg import``) and write (``amurkg export --format dwca``)."""

from __future__ import annotations

import zipfile
from pathlib import Path


def is_archive(path: Path) -> bool:
    """Whether ``path`` is a Darwin Core Archive (a folder or zip with ``meta.xml``) rather than a Camtrap DP
    package (with ``datapackage.json``)."""
    path = Path(path)
    if path.is_dir():
        return (path / "meta.xml").is_file() and not (path / "datapackage.json").is_file()
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = {Path(n).name for n in zf.namelist() if n.count("/") <= 1}
        except zipfile.BadZipFile:
            return False
        return "meta.xml" in names and "datapackage.json" not in names
    return path.name == "meta.xml"
