"""Reading files given by users: only regular files, bounded in size, strict about encodings, and never a
reason to reach the network.

* A file is opened once, without blocking, and must be a regular file (a device, a FIFO or ``/dev/zero``
  behind a symbolic link is refused before a byte is read); later reads re-open it and check it is the
  same file, so it cannot be swapped between the check and the parse.
* XML (RDF/XML) is decoded the way the XML specification says (byte-order marks, UTF-16/32 sniffed from
  the first bytes, or the declared encoding), re-encoded as UTF-8, and parsed once by expat with every
  document type declaration refused: entity declarations, external entities and external DTDs never
  reach an RDF parser, in any encoding. The engines then parse exactly those UTF-8 bytes.
* JSON-LD is read with every key checked: a remote ``@context`` or ``@import`` (a fetch) and duplicate
  keys (where JSON readers disagree on which one counts) are refused.
* Other formats are UTF-8 (a byte-order mark is dropped); they are streamed to pyoxigraph, which reports
  invalid UTF-8 with its line.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple

from amurkg.errors import DataFileError
from amurkg.xmlsafe import refuse_doctype as refuse_doctype
from amurkg.xmlsafe import safe_xml
from amurkg.xmlsafe import xml_encoding as xml_encoding

#: File extension -> format name understood by both engines' adapters.
FORMATS_BY_EXTENSION = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "ntriples",
    ".nq": "nquads",
    ".trig": "trig",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
}
#: Largest input file, in bytes; ``AMURKG_MAX_INPUT_BYTES`` changes it.
DEFAULT_MAX_INPUT_BYTES = 2 * 1024**3
_BOM = b"\xef\xbb\xbf"


def max_input_bytes() -> int:
    """The size limit for input files: ``AMURKG_MAX_INPUT_BYTES`` if set, else 2 GiB."""
    value = os.environ.get("AMURKG_MAX_INPUT_BYTES", "")
    return int(value) if value.isdigit() else DEFAULT_MAX_INPUT_BYTES


class CheckedFile(NamedTuple):
    """A regular file that was opened and checked: its path, identity and size when checked."""

    path: Path
    device: int
    inode: int
    size: int

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """Open it again for reading, refusing it if it is no longer the file that was checked."""
        with open_regular(self.path) as (handle, again):
            if (again.device, again.inode) != (self.device, self.inode):
                raise DataFileError(f"{self.path}: the file changed while amurkg was reading it; try again")
            yield handle

    def read(self) -> bytes:
        """The whole file, at most the size limit."""
        with self.open() as handle:
            data = handle.read(max_input_bytes() + 1)
        if len(data) > max_input_bytes():
            raise _too_large(self.path, len(data))
        return data


def _too_large(path: Path, size: int) -> DataFileError:
    return DataFileError(
        f"{path}: {size:,} bytes is more than amurkg reads ({max_input_bytes():,}); split the file, or raise "
        "the limit with AMURKG_MAX_INPUT_BYTES"
    )


@contextmanager
def open_regular(path: Path, what: str = "file") -> Iterator[tuple[BinaryIO, CheckedFile]]:
    """Open ``path`` for reading if it is a regular file within the size limit; anything else is one line.

    The file is opened without blocking (a FIFO cannot hang the tool) and checked on the open descriptor,
    so a symbolic link to a device is judged by what it points to.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such {what}; check the path") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a folder, not a file; name the files inside it") from None
    except OSError as exc:
        raise DataFileError(
            f"{path}: cannot read it ({(exc.strerror or str(exc)).lower()}); check its permissions"
        ) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise DataFileError(f"{path}: is a folder, not a file; name the files inside it")
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a FIFO"
                if stat.S_ISFIFO(info.st_mode)
                else "a device"
                if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a socket"
                if stat.S_ISSOCK(info.st_mode)
                else "not a regular file"
            )
            raise DataFileError(f"{path}: is {kind}, not a regular file; save the data to a file and give that")
        if info.st_size > max_input_bytes():
            raise _too_large(path, info.st_size)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, CheckedFile(path, info.st_dev, info.st_ino, info.st_size)


def check_file(path: Path, what: str = "file") -> CheckedFile:
    """Check that ``path`` is a readable regular file within the size limit, without reading it."""
    with open_regular(path, what) as (_, checked):
        return checked


def read_text(path: Path, what: str = "file") -> str:
    """A small UTF-8 text file (a query, a configuration), checked like every input."""
    data = check_file(path, what).read()
    return decode_utf8(path, data.removeprefix(_BOM))


def decode_utf8(path: Path | str, data: bytes) -> str:
    """``data`` as text, or an error naming the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataFileError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        ) from None


class RdfSource(NamedTuple):
    """An RDF file that was checked, ready for any engine to parse.

    ``data`` holds the bytes engines must parse when amurkg had to read them to check them (XML, JSON-LD);
    otherwise it is None and the file is streamed from ``checked`` (see ``open``).
    """

    path: Path
    format: str
    checked: CheckedFile
    data: bytes | None = None

    @property
    def base_iri(self) -> str:
        """The IRI relative references in the file resolve against: the file's own location."""
        return self.path.resolve().as_uri()

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The bytes to parse, as a stream (a UTF-8 byte-order mark skipped)."""
        if self.data is not None:
            import io

            yield io.BytesIO(self.data)
            return
        with self.checked.open() as handle:
            if handle.read(3) != _BOM:
                handle.seek(0)
            yield handle

    @property
    def text(self) -> str:
        """The whole document as text (for rdflib, which parses text)."""
        data = self.data if self.data is not None else self.checked.read().removeprefix(_BOM)
        return decode_utf8(self.path, data)


def read_rdf(path: Path) -> RdfSource:
    """Check one RDF file; raise DataFileError with file and line on any problem."""
    fmt = FORMATS_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS_BY_EXTENSION))
        raise DataFileError(
            f"{path}: cannot tell the RDF format from the extension {path.suffix!r}; rename it to one of {known}"
        )
    checked = check_file(path, "file")
    if fmt == "xml":
        return RdfSource(path, fmt, checked, safe_xml(path, checked.read()))
    if fmt == "json-ld":
        data = checked.read().removeprefix(_BOM)
        check_jsonld(path, decode_utf8(path, data))
        return RdfSource(path, fmt, checked, data)
    return RdfSource(path, fmt, checked)


# ------------------------------------------------------------------------------------------ XML
# one hardened path for every XML amurkg reads: amurkg.xmlsafe (its functions stay importable from here)

# ------------------------------------------------------------------------------------------ JSON-LD


def check_jsonld(path: Path, text: str) -> None:
    """Refuse JSON-LD that would make a processor fetch a document, or that JSON readers read differently."""
    import json

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            raise DataFileError(
                f"{path}: the key {twice[:60]!r} appears twice in one object; JSON readers disagree on which one "
                "counts, so remove one"
            )
        for key, value in items:
            if key in ("@context", "@import") and _names_a_document(value):
                raise DataFileError(
                    f"{path}: JSON-LD {key} {_first_string(value)!r} would have to be fetched from the network, "
                    "which amurkg never does; put the context object inline in the file"
                )
        return dict(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise DataFileError(f"{path}: JSON nested too deeply to read; flatten the document") from None


def _names_a_document(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and any(isinstance(v, str) for v in value))


def _first_string(value: object) -> str:
    if isinstance(value, str):
        return value[:80]
    return next((v[:80] for v in value if isinstance(v, str)), "") if isinstance(value, list) else ""


def parse_error(source: RdfSource, message: str, line: int | None = None, column: int | None = None) -> DataFileError:
    """A one-line parse error that names the file, and line and column when known."""
    message = " ".join(str(message).split())
    if line is None:
        m = re.search(r"line (\d+)(?: column (\d+))?", message)
        if m:
            line = int(m.group(1))
            column = int(m.group(2)) if m.group(2) else None
    message = re.sub(r"^Parser error (?:at|between) line \d+ (?:column \d+|between columns \d+ and \d+)"
                     r"(?: and line \d+ column \d+)?:\s*", "", message)  # fmt: skip
    if "Invalid UTF-8" in message:
        return DataFileError(f"{source.path}:{line or '?'}: not valid UTF-8; re-save the file as UTF-8")
    if len(message) > 240:
        message = message[:240] + " …"
    where = str(source.path)
    if line is not None:
        where += f":{line}" + (f":{column}" if column is not None else "")
    return DataFileError(f"{where}: does not parse as {source.format}: {message}")
