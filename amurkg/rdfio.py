"""Reading RDF files given by users: format by extension, strict UTF-8, and refusal of unsafe input.

Checks made here apply whichever engine parses the file afterwards: RDF/XML entity declarations
are refused (they can expand without bound or read local files) and JSON-LD remote contexts are
refused (resolving one is a network request).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from amurkg.errors import DataFileError

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


class RdfSource(NamedTuple):
    """An RDF document read into memory and checked, ready for any engine to parse."""

    path: Path
    text: str
    format: str

    @property
    def base_iri(self) -> str:
        """The IRI relative references in the file resolve against: the file's own location."""
        return self.path.resolve().as_uri()


def read_rdf(path: Path) -> RdfSource:
    """Read and check one RDF file; raise DataFileError with file and line on any problem."""
    fmt = FORMATS_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS_BY_EXTENSION))
        raise DataFileError(
            f"{path}: cannot tell the RDF format from the extension {path.suffix!r}; rename it to one of {known}"
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file; check the path given to --data") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a folder, not a file; name the RDF files inside it") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataFileError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt == "xml":
        _refuse_entities(path, text)
    elif fmt == "json-ld":
        _refuse_remote_contexts(path, text)
    return RdfSource(path, text, fmt)


_ENTITY = re.compile(r"<!ENTITY\b")


def _refuse_entities(path: Path, text: str) -> None:
    m = _ENTITY.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise DataFileError(
            f"{path}:{line}: RDF/XML entity declarations are not expanded, for safety; "
            "replace each &name; reference by the text it stands for and remove the <!ENTITY> lines"
        )


def _refuse_remote_contexts(path: Path, text: str) -> None:
    import json

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    remote = _find_remote_context(doc)
    if remote is not None:
        raise DataFileError(
            f"{path}: JSON-LD context {remote!r} would have to be fetched from the network, which amurkg never does; "
            "put the context object inline in the file"
        )


def _find_remote_context(node: object) -> str | None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("@context", "@import"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        return item
            found = _find_remote_context(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _find_remote_context(item)
            if found is not None:
                return found
    return None


def parse_error(source: RdfSource, message: str, line: int | None = None, column: int | None = None) -> DataFileError:
    """A one-line parse error that names the file, and line and column when known."""
    message = " ".join(str(message).split())
    if line is None:
        m = re.search(r"line (\d+)(?: column (\d+))?", message)
        if m:
            line = int(m.group(1))
            column = int(m.group(2)) if m.group(2) else None
    message = re.sub(r"^Parser error at line \d+ column \d+:\s*", "", message)
    where = str(source.path)
    if line is not None:
        where += f":{line}" + (f":{column}" if column is not None else "")
    return DataFileError(f"{where}: does not parse as {source.format}: {message}")
