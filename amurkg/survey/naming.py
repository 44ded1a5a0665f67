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
