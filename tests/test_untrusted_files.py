"""Hostile input files: entity declarations in every encoding, special files, oversized files, documents that
point at the network. Each is refused with one line, and no connection is ever attempted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import Listener
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.errors import DataFileError
from amurkg.rdfio import read_rdf

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
HEALTH = [HealthCheck.function_scoped_fixture]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "latin-1"]


def one_line(exc: BaseException, *fragments: str) -> None:
    message = str(exc)
    assert "\n" not in message and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.sock.close()


def rdfxml(doctype: str, declared: str | None, body: str = "x") -> str:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else '<?xml version="1.0"?>\n'
    return (
        f"{declaration}{doctype}<rdf:RDF xmlns:rdf='{RDF}' xmlns:ex='http://example.org/'>\n"
        f"<rdf:Description rdf:about='http://example.org/a'><ex:p>{body}</ex:p></rdf:Description>\n</rdf:RDF>\n"
    )


DOCTYPES = st.sampled_from(
    [
        '<!DOCTYPE r [<!ENTITY e "boom">]>\n',
        '<!DOCTYPE r [\n <!ENTITY a "aaaaaaaaaa">\n <!ENTITY b "&a;&a;&a;&a;&a;&a;">\n]>\n',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
        '<!DOCTYPE r SYSTEM "URL">\n',
        '<!DOCTYPE r PUBLIC "-//x//y" "URL">\n',
        '<!DOCTYPE r [<!ENTITY % p SYSTEM "URL"> %p;]>\n',
        "<!doctype r>\n",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=HEALTH)
@given(doctype=DOCTYPES, encoding=st.sampled_from(ENCODINGS), declare=st.booleans(), uses=st.booleans())
def test_doctypes_are_refused_in_every_encoding(
    tmp_path: Path, listener: Listener, doctype: str, encoding: str, declare: bool, uses: bool
) -> None:
    # latin-1 must be declared (XML assumes UTF-8 otherwise); the others may be sniffed
    declared = encoding.removesuffix("-sig").upper() if declare else None
    if encoding == "latin-1":
        declared = "ISO-8859-1"
    text = rdfxml(doctype.replace("URL", listener.url), declared, "&e;" if uses else "x")
    path = tmp_path / "hostile.rdf"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(DataFileError) as caught:
        read_rdf(path)
    assert listener.connections() == 0
    one_line(caught.value, str(path))
    assert "document type declarations" in str(caught.value) or "not well-formed" in str(caught.value)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_plain_rdfxml_loads_in_every_encoding(tmp_path: Path, encoding: str, engine: str) -> None:
    declared = "ISO-8859-1" if encoding == "latin-1" else encoding.removesuffix("-sig").upper()
    path = tmp_path / "plain.rdf"
    path.write_bytes(rdfxml("", declared, "caf\u00e9").encode(encoding))
    kg = amurkg.load(data=[path], engine=engine)
    answer = kg.query("SELECT ?o WHERE { <http://example.org/a> <http://example.org/p> ?o }")
    assert [r[0].value for r in answer.rows] == ["caf\u00e9"]  # type: ignore[union-attr]


def test_special_files_are_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.ttl"
    os.mkfifo(fifo)
    with pytest.raises(DataFileError) as caught:  # a FIFO with no writer would block a plain open()
        read_rdf(fifo)
    one_line(caught.value, "is a FIFO", "regular file")
    zero = tmp_path / "zero.nt"
    zero.symlink_to("/dev/zero")
    with pytest.raises(DataFileError) as caught:
        read_rdf(zero)
    one_line(caught.value, "is a device")
    folder = tmp_path / "folder.ttl"
    folder.mkdir()
    with pytest.raises(DataFileError) as caught:
        read_rdf(folder)
    one_line(caught.value, "is a folder")


def test_files_over_the_size_limit_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.nt"
    big.write_bytes(b"<http://e/a> <http://e/p> <http://e/b> .\n" * 100)
    monkeypatch.setenv("AMURKG_MAX_INPUT_BYTES", "1000")
    result = cli("stats", "-d", str(big))
    assert result.exit_code == 2 and "AMURKG_MAX_INPUT_BYTES" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "document",
    [
        '{"@context": "URL", "@id": "http://e/a"}',
        '{"@context": ["URL", {"x": "http://e/x"}], "@id": "http://e/a"}',
        '{"@context": {"@import": "URL"}, "@id": "http://e/a"}',
        '{"@context": {"p": {"@id": "http://e/p", "@context": "URL"}}, "@id": "http://e/a", "p": {"q": 1}}',
        '{"@graph": [{"@context": "URL", "@id": "http://e/a"}]}',
        '{"@context": "URL", "@context": {}, "@id": "http://e/a"}',
        '{"@context": {}, "@context": "URL", "@id": "http://e/a"}',
    ],
)
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_jsonld_never_fetches(tmp_path: Path, listener: Listener, document: str, engine: str) -> None:
    path = tmp_path / "doc.jsonld"
    path.write_text(document.replace("URL", listener.url), encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        amurkg.load(data=[path], engine=engine)
    assert listener.connections() == 0
    one_line(caught.value, str(path))


def test_deep_json_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonld"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        read_rdf(path)
    one_line(caught.value, "nested too deeply")


def test_owl_imports_and_remote_references_are_never_followed(tmp_path: Path, listener: Listener, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "imports.ttl"
    owl = "http://www.w3.org/2002/07/owl#"
    path.write_text(
        f"<http://e/o> a <{owl}Ontology> ; <{owl}imports> <{listener.url}> .\n"
        f"<http://e/a> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <{listener.url}> .\n",
        encoding="utf-8",
    )
    for args in (["stats"], ["validate"], ["export", "-f", "nt"], ["query", "prey-ungulates"], ["check"]):
        result = cli(*args, "-d", str(path))
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert listener.connections() == 0, args
    for engine in ("oxigraph", "rdflib"):
        amurkg.load(data=[path], engine=engine, reason=True)
        assert listener.connections() == 0, engine


@settings(max_examples=200, deadline=None, suppress_health_check=HEALTH)
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".ttl", ".nt", ".nq", ".trig", ".rdf", ".jsonld"]))
def test_any_bytes_load_or_fail_with_one_line(tmp_path: Path, raw: bytes, suffix: str) -> None:
    from amurkg.engines import make_engine

    path = tmp_path / f"random{suffix}"
    path.write_bytes(raw)
    for engine in ("oxigraph", "rdflib"):  # how every engine loads a user's file, without the shipped graph
        try:
            make_engine(engine).load_source(read_rdf(path))
        except amurkg.AmurkgError as exc:
            one_line(exc, str(path))
