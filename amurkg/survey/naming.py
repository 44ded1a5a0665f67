"""How packages are named where several meet in one output (``survey merge``, a Darwin Core Archive of a store):
the prefix of the identifiers they share, and a short sample of what was renamed."""

from __future__ import annotations

import re
from collections.abc import Iterable


def slug(text: str) -> str:
    """A Data Package name: lower-case letters, digits, ``-``, ``_`` and ``.``."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "package"


def sample(values: Iterable[str], limit: int = 3) -> str:
    """The first ``limit`` of ``values`` in order, and how many more."""
    items = sorted(values)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def prefixed(name: str, values: Iterable[str], taken: set[str]) -> dict[str, str]:
    """Each of ``values`` (identifiers another package uses too) and the identifier it becomes in package ``name``:
    ``name_value``, numbered where that is ``taken`` already (``name_value_2``); each new one is added to
    ``taken``."""
    mapping: dict[str, str] = {}
    for value in sorted(values):
        new, number = f"{name}_{value}", 2
        while new in taken:
            new, number = f"{name}_{value}_{number}", number + 1
        taken.add(new)
        mapping[value] = new
    return mapping
