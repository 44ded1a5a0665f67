"""EML 2.2.0 documents checked against the standard's own XML schema, offline.

The schema files in ``tests/data/eml-2.2.0`` are those of the EML 2.2.0 release (NCEAS/eml, tag
RELEASE_EML_2_2_0, commit 233427f03610694d2a865e6748bcf8bfb51be900), unchanged, under their own licence (GNU GPL
version 2 or later, ``LICENSE`` beside them); only the tests read them. lxml (libxml2) validates. Every file the
schema loader asks for goes through ``LocalOnly``, which answers from that folder and refuses anything else (a
``http:`` or ``https:`` address, a path outside the folder), and the parsers are made with ``no_network``: the
validation never reaches the network, whatever a schema or a document names.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "data" / "eml-2.2.0"


class RefusedLoadError(Exception):
    """A schema asked for something that is not one of the local schema files."""


class LocalOnly(etree.Resolver):
    """Answers every load from ``folder`` (by file name, or a ``file:`` path inside it); refuses anything else.
    ``asked`` keeps every address asked for, to show what was loaded."""

    def __init__(self, folder: Path = SCHEMAS) -> None:
        super().__init__()
        self.folder = folder.resolve()
        self.asked: list[str] = []

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        self.asked.append(system_url)
        parsed = urlparse(system_url)
        if parsed.scheme not in ("", "file"):
            raise RefusedLoadError(f"{system_url}: not a local schema file; refused (the validation stays offline)")
        path = Path(unquote(parsed.path)).resolve()
        if path.parent != self.folder or not path.is_file():
            raise RefusedLoadError(f"{system_url}: not one of the schema files in {self.folder}; refused")
        return self.resolve_filename(str(path), context)


def parser(resolver: LocalOnly) -> Any:
    """An XML parser that reads no DTD, expands no entity, never opens a network connection, and loads every
    external file through ``resolver``."""
    made = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)
    made.resolvers.add(resolver)
    return made


def load(folder: Path = SCHEMAS, main: str = "eml.xsd") -> tuple[Any, LocalOnly]:
    """The schema whose root file is ``folder/main``, and the resolver that loaded its imports."""
    resolver = LocalOnly(folder)
    document = etree.parse(str(folder / main), parser(resolver))
    return etree.XMLSchema(document), resolver


@functools.cache
def eml_schema() -> Any:
    return load()[0]


def schema_errors(xml: str | bytes) -> list[str]:
    """Why the EML 2.2.0 schema rejects ``xml`` (line: message), or nothing."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    document = etree.fromstring(data, parser(LocalOnly()))
    schema = eml_schema()
    if schema.validate(document):
        return []
    return [f"{e.line}: {e.message}" for e in schema.error_log]
