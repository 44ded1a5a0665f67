"""Writing results: to stdout, or atomically to a file (a temporary file renamed into place)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from amurkg.errors import OutputError

#: Result format implied by an output file's extension, when --format is not given.
RESULT_FORMAT_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".srj": "json",
    ".xml": "xml",
    ".srx": "xml",
    ".md": "md",
    ".txt": "table",
}
RDF_FORMAT_BY_EXTENSION = {
    ".ttl": "ttl",
    ".nt": "nt",
    ".nq": "nq",
    ".trig": "trig",
    ".jsonld": "jsonld",
    ".json": "jsonld",
    ".rdf": "xml",
    ".xml": "xml",
    ".owl": "xml",
}


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise OutputError(f"cannot write {path}: {reason}; choose a folder you can write to") from None
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would have had,
        # or keep the mode of the file it replaces
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def emit(data: str | bytes, path: Path | None) -> None:
    """Send output to ``path`` (atomically) or to standard output."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path is None:
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if stream is None:
            sys.stdout.write(raw.decode("utf-8"))
        else:
            stream.write(raw)
            stream.flush()
        return
    atomic_write(path, raw)
