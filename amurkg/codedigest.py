"""The digest of a module's source as the module is imported: what the process runs, not what an upgrade installs
over it later (a notebook, ``amurkg serve`` or a long import outlives an upgrade). ``amurkg.survey.sensitive``
records it with what each graph was protected for, so that a release that changes how records are protected
protects every graph again; each module that protection depends on keeps its own, taken when it was loaded."""

from __future__ import annotations

import hashlib
import sys


def of_module(name: str) -> bytes:
    """The SHA-256 of the source of the module ``name`` (called by the module itself, as it is imported): its
    ``__file__``, read through its ``__loader__`` where the file is not on disk (a zipapp); of the installed
    version where neither can read it (a frozen application)."""
    module = sys.modules[name]
    file, loader = getattr(module, "__file__", None), getattr(module, "__loader__", None)
    try:
        with open(file or "", "rb") as source:
            code = source.read()
    except OSError:
        try:
            code = loader.get_data(file)  # type: ignore[union-attr]
        except Exception:
            from importlib.metadata import PackageNotFoundError, version

            try:
                code = version("amurkg").encode()
            except PackageNotFoundError:
                code = b""
    return hashlib.sha256(code).digest()
