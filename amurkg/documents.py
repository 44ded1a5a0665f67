"""The source documents facts cite, for quoting the spans: read from a folder the user names, never shipped.

The graph records, for each document, where it sits in its collection (``dcterms:identifier``, such as
``seed/000_0a866dfb5b4830f3.txt``), its SHA-256 and its length; a copy is used only when its digest matches,
so a quote is always the text the fact was taken from. Offsets count Unicode code points, end exclusive.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

from amurkg.errors import AmurkgError
from amurkg.results import SelectResult


class _Queryable(Protocol):
    """What a library needs of a knowledge graph: a SELECT query. A protocol, so that this module (which
    ``report`` uses) never imports ``graph``, which imports ``report``."""

    def query(self, text: str, *args: Any, **kwargs: Any) -> Any: ...


#: Environment variable naming the folder that holds the source documents.
SOURCES_ENV = "AMURKG_SOURCES"

_DOCUMENTS = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?document ?identifier ?sha256 WHERE {
  ?document a akg:SourceDocument ; dcterms:identifier ?identifier ; akg:sha256 ?sha256 .
}
"""


class SourceNotAvailableError(AmurkgError):
    """A cited source document is not where the user said, or is not the document the graph cites."""


class Library:
    """The source documents in ``folder``, checked against the digests the graph records."""

    def __init__(self, kg: _Queryable, folder: Path | str | None = None) -> None:
        chosen = folder or os.environ.get(SOURCES_ENV)
        if not chosen:
            raise SourceNotAvailableError(
                "quoting needs the source documents, which amurkg does not ship: give {opt:sources} (or set "
                f"{SOURCES_ENV}), the folder that holds seed/ and reference/"
            )
        self.folder = Path(chosen)
        answer = kg.query(_DOCUMENTS, where="documents")
        assert isinstance(answer, SelectResult)
        self._known = {
            row[0].value: (row[1].value, row[2].value)
            for row in answer.rows
            if row[0] is not None and row[1] is not None and row[2] is not None
        }
        self._texts: dict[str, str] = {}

    def text(self, document: str) -> str:
        """The whole text of a cited document (an IRI of the graph)."""
        if document not in self._texts:
            if document not in self._known:
                raise SourceNotAvailableError(f"<{document}> is not a source document of the graph")
            identifier, digest = self._known[document]
            path = self.folder / identifier
            from amurkg.rdfio import check_file, decode_utf8

            data = check_file(path, "source document").read()
            if hashlib.sha256(data).hexdigest() != digest:
                raise SourceNotAvailableError(
                    f"{path}: this is not the document the graph cites (its SHA-256 differs); give the folder "
                    "that holds the original"
                )
            self._texts[document] = decode_utf8(path, data)
        return self._texts[document]

    def quote(self, document: str, start: int, end: int) -> str:
        """The span's text, with runs of white space as one space."""
        return " ".join(self.text(document)[start:end].split())
