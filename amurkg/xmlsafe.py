"""The one way amurkg reads XML: RDF/XML files, and ``meta.xml`` and ``eml.xml`` of Darwin Core Archives.

A document is decoded the way the XML specification says (appendix F: byte-order marks, UTF-16/32 sniffed
from the first bytes, else the encoding its declaration names, else UTF-8), re-encoded as UTF-8 with its
declaration saying so, and read once by expat with every document type declaration refused before
anything in it is expanded: no internal entity (billion laughs), no external entity or DTD (a file or URL
read), in any encoding, with or without a byte-order mark. What the callers then parse (an element tree
built from that same expat pass, or the UTF-8 bytes handed to an RDF parser) holds no DOCTYPE.

Own code rather than ``defusedxml``: the decoding step is needed anyway (the RDF engines are handed UTF-8
bytes, and pyoxigraph reads nothing else), and with it the refusal is one expat handler per kind of
declaration; the tests of ``tests/test_untrusted_files.py`` and ``tests/test_hostile_packages.py`` try
DOCTYPEs and entities in nine encodings.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from xml.etree import ElementTree

from amurkg.errors import DataFileError

#: Deepest element nesting read (RDF/XML and archive metadata nest a few dozen levels at most): a deeper
#: document is refused before a tree of it is built, so no reader walks millions of levels.
MAX_DEPTH = 1000
_DECLARATION = re.compile(
    rb"""^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*["'][^"']*["']"""
    rb"""(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*["'](?P<enc>[A-Za-z][A-Za-z0-9._-]*)["'])?"""
)
_TEXT_DECLARATION = re.compile(r"""^(<\?xml[^>]*?encoding[ \t\r\n]*=[ \t\r\n]*)(["'])[^"']*\2""")


def xml_encoding(data: bytes) -> tuple[str, int]:
    """The encoding of an XML document and the length of its byte-order mark (XML 1.0, appendix F)."""
    boms = [
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    ]
    for bom, name in boms:
        if data.startswith(bom):
            return name, len(bom)
    sniffed = {
        b"\x00\x00\x00\x3c": "utf-32-be",
        b"\x3c\x00\x00\x00": "utf-32-le",
        b"\x00\x3c\x00\x3f": "utf-16-be",
        b"\x3c\x00\x3f\x00": "utf-16-le",
    }.get(data[:4])
    if sniffed:
        return sniffed, 0
    if data[:4] == b"\x4c\x6f\xa7\x94":
        return "cp037", 0  # EBCDIC, refused below
    m = _DECLARATION.match(data[:200])
    return (m.group("enc").decode("ascii") if m and m.group("enc") else "utf-8"), 0


def to_utf8(where: Path | str, data: bytes) -> bytes:
    """The document re-encoded as UTF-8, its declaration saying so (not yet checked for DOCTYPEs)."""
    name, bom = xml_encoding(data)
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise DataFileError(
            f"{where}:1: declares the unknown encoding {name[:40]!r}; re-save the file as UTF-8"
        ) from None
    if not getattr(info, "_is_text_encoding", True) or info.name in ("cp037", "utf-7"):
        raise DataFileError(f"{where}:1: the encoding {name!r} is not supported for XML; re-save the file as UTF-8")
    try:
        text = data[bom:].decode(info.name)
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{where}: not valid {info.name} at byte {exc.start + bom}; re-save the file as UTF-8"
        ) from None
    return _TEXT_DECLARATION.sub(r"\1\2UTF-8\2", text.removeprefix("\ufeff"), count=1).encode("utf-8")


def safe_xml(where: Path | str, data: bytes) -> bytes:
    """The document as UTF-8 bytes that hold no document type declaration (checked by expat)."""
    utf8 = to_utf8(where, data)
    _expat(where, utf8, None)
    return utf8


def parse(where: Path | str, data: bytes) -> ElementTree.Element:
    """The element tree of a document in any encoding, built in the one expat pass that refuses DOCTYPEs.
    Names in a namespace read ``{namespace}local``, as ``xml.etree`` writes them."""
    builder = ElementTree.TreeBuilder()
    _expat(where, to_utf8(where, data), builder)
    return builder.close()


def refuse_doctype(where: Path | str, utf8: bytes) -> None:
    """Read UTF-8 XML with expat, refusing any document type declaration before anything in it is expanded."""
    _expat(where, utf8, None)


def _expat(where: Path | str, utf8: bytes, builder: ElementTree.TreeBuilder | None) -> None:
    from xml.parsers import expat

    parser = expat.ParserCreate("UTF-8", namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: object) -> None:
        raise _DoctypeError(parser.CurrentLineNumber)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.NotationDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    depth = 0

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeepError(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if builder is not None:
            builder.start(name(tag), {name(k): v for k, v in attributes.items()})

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        if builder is not None:
            builder.end(name(tag))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if builder is not None:

        def text(data: str) -> None:
            builder.data(data)

        parser.buffer_text = True
        parser.CharacterDataHandler = text
    try:
        parser.Parse(utf8, True)
    except _TooDeepError as exc:
        raise DataFileError(
            f"{where}:{exc.line}:{exc.column}: elements nested more than {MAX_DEPTH} deep: not what this file "
            "holds; check the file"
        ) from None
    except _DoctypeError as exc:
        raise DataFileError(
            f"{where}:{exc.line}: XML document type declarations (<!DOCTYPE>, <!ENTITY>) are refused, "
            "for safety; replace each &name; reference by the text it stands for and remove the declaration"
        ) from None
    except expat.ExpatError as exc:
        message = expat.errors.messages.get(exc.code, str(exc)) if exc.code else str(exc)
        raise DataFileError(f"{where}:{exc.lineno}:{exc.offset + 1}: not well-formed XML: {message}") from None


class _TooDeepError(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column


class _DoctypeError(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


__all__ = ["parse", "refuse_doctype", "safe_xml", "to_utf8", "xml_encoding"]
