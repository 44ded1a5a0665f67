"""Writing results: to stdout, or atomically to a file (a temporary file renamed into place).

A file being written is a temporary file beside the target until it is complete; if anything goes wrong,
or the process is interrupted or stopped by a limit (see ``amurkg.limits``), the temporary file is removed
and the target is untouched. Readers see the old file or the whole new one, never a part.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from amurkg.errors import FormatError, OutputError
from amurkg.limits import register_temporary, release_temporary

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


def choose_format(given: str | None, output: Path | None, by_extension: dict[str, str], default: str, kind: str) -> str:
    """The format to write: ``given`` (checked against the output file's extension), else the extension's,
    else ``default``. An extension that does not name a format of this ``kind`` of answer is an error."""
    if output is None:
        return given or default
    _check_target(output)
    suffix = output.suffix.lower()
    implied = by_extension.get(suffix)
    if implied is None:
        known = ", ".join(sorted(by_extension))
        raise FormatError(
            f"{output}: the extension {suffix or '(none)'!r} does not name a format for {kind}; use one of {known}"
        )
    if given is not None and given != implied and not (given == "table" and suffix == ".txt"):
        raise FormatError(
            f"{output}: the extension {suffix!r} means {implied}, but --format says {given}; make them agree"
        )
    return given or implied


def _check_target(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    return folder


@contextmanager
def open_output(path: Path | None) -> Iterator[BinaryIO]:
    """A binary stream to write an answer to: standard output, or a temporary file renamed onto ``path``
    only when the block completes."""
    if path is None:
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if stream is None:  # a text-only stdout (some notebook front ends)
            import io

            buffer = io.BytesIO()
            yield buffer
            sys.stdout.write(buffer.getvalue().decode("utf-8"))
            return
        yield stream
        stream.flush()
        return
    import tempfile

    folder = _check_target(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise OutputError(f"cannot write {path}: {reason}; choose a folder you can write to") from None
    tmp = Path(name)
    register_temporary(tmp)
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would have had,
        # or keep the mode of the file it replaces
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        release_temporary(tmp)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    with open_output(path) as handle:
        handle.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def emit(data: str | bytes, path: Path | None) -> None:
    """Send output to ``path`` (atomically) or to standard output."""
    with open_output(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
