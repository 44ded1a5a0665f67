"""Answers of canned queries kept on disk beside a store's data, until the store next changes.

A survey query over a million observations reads tens of thousands of nodes, and the engine pays for every
string it decodes: about a second on two cores, for an answer that stays the same until the next import or
correction. So the first answer of a canned query on a store, at the parameters it was given, is kept in the
store's ``answers/`` folder, and read back from there (milliseconds) the next time, until the store changes;
an import precomputes the survey queries at their defaults (``amurkg.survey.importer``), so that they answer at
once from the start.

What keeps them right:

- Every writer removes the whole folder when it opens the store, before it changes anything, under the
  exclusive lock (``Store.open``): a kept answer was computed from the data as it still is. A writer that cannot
  remove it does not open the store.
- A reader keeps an answer only while it holds the shared lock, which no writer holds meanwhile (not one it
  reads to its end after it closed the store), written to a file of its own and renamed into place (readers
  never see half a file; two readers keeping the same answer write the same bytes).
- The key is a hash of this amurkg's version (with a digest of the code beside the engine that answers,
  ``amurkg.quick``) and the exact query text the engine would run, parameters bound: another version, whose
  queries or fast paths may answer differently, never reads them.
- Never an answer that may change while the store does not (a query calling ``NOW()``, ``RAND()``...).
- Only what a default reader sees is kept: never the answers of a reader of exact coordinates, nor of one that
  reasons (``KnowledgeGraph.run_stream`` decides).
- A kept file is read as untrusted (bounded, strict, every term checked); anything unexpected is a miss, and the
  engine answers.
- A store whose folder cannot be written (a read-only mount, another user's store) keeps nothing, in silence.
- At most ``MAX_ENTRIES`` answers, each of at most ``MAX_ROWS`` rows: the oldest go first.

``AMURKG_NO_ANSWER_CACHE=1`` turns reading and keeping off (the benchmarks measure the engine that way).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from amurkg.results import Row, SelectStream, Term

FOLDER = "answers"
#: Answers kept at most: the oldest (by when they were written) go first.
MAX_ENTRIES = 256
#: Rows of the largest answer kept; a longer one is answered from the engine each time.
MAX_ROWS = 200_000
#: Bytes of the largest kept file read back.
_MAX_BYTES = 512 * 1024 * 1024
_SUFFIX = ".json"
_KINDS = {"u": "uri", "l": "literal", "b": "bnode"}


def enabled() -> bool:
    return os.environ.get("AMURKG_NO_ANSWER_CACHE", "") in ("", "0")


def key(text: str) -> str:
    """The name an answer of the query ``text`` (parameters bound) is kept under by this amurkg."""
    return hashlib.sha256(f"{_code()}\n{text}".encode()).hexdigest()


@cache
def _code() -> str:
    """This amurkg's version, and a digest of the code that answers canned queries on a store other than by the
    engine (an edited checkout keeps its version number)."""
    from amurkg import quick

    digest = hashlib.sha256()
    for module in (quick, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    try:
        from importlib.metadata import version

        number = version("amurkg")
    except Exception:  # a bare checkout: the digest alone
        number = "?"
    return f"amurkg {number} {digest.hexdigest()}"


def clear(store_path: Path) -> None:
    """Remove every kept answer of the store at ``store_path`` (a writer, before it changes anything); OSError
    where they stay."""
    folder = store_path / FOLDER
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return
    if folder.exists():
        raise OSError(f"{folder}: the answers kept there could not be removed")


def read(store_path: Path, name: str) -> SelectStream | None:
    """The answer kept as ``name``, or None (none kept, or a file that is not one this module wrote)."""
    path = store_path / FOLDER / (name + _SUFFIX)
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError:
        return None
    from amurkg.jsonsafe import JsonError, loads

    try:
        kept = loads(str(path), data, _MAX_BYTES, max_depth=4)
        return _decode(kept)
    except (JsonError, ValueError, TypeError, KeyError):
        return None


def keepable(text: str) -> bool:
    """Whether an answer of the query ``text`` may be kept: not where it may change without the store changing
    (the time, random numbers, fresh identifiers)."""
    return _VOLATILE.search(text) is None


_VOLATILE = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID|BNODE)\s*\(", re.IGNORECASE)


def keep(store_path: Path, name: str, answer: SelectStream, locked: Callable[[], bool]) -> SelectStream:
    """``answer``, read as before; once read to its end (at most ``MAX_ROWS`` rows), kept as ``name`` if
    ``locked()`` says the reader still holds the store's shared lock (a reader that closed the store before it
    read the answer to its end may read it after a writer changed the store: that answer is not kept)."""
    return SelectStream(answer.variables, _keeping(store_path, name, answer, locked))


def _keeping(store_path: Path, name: str, answer: SelectStream, locked: Callable[[], bool]) -> Iterator[Row]:
    rows: list[Row] | None = []
    for row in answer.rows:
        if rows is not None:
            rows.append(row)
            if len(rows) > MAX_ROWS:
                rows = None
        yield row
    if rows is not None and locked():
        _write(store_path, name, answer.variables, rows)


def _write(store_path: Path, name: str, variables: list[str], rows: list[Row]) -> None:
    folder = store_path / FOLDER
    text = json.dumps(
        {"variables": variables, "rows": [[_encode(term) for term in row] for row in rows]},
        ensure_ascii=True,
        separators=(",", ":"),
    )
    scratch = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        scratch.write_text(text, encoding="ascii")
        os.replace(scratch, folder / (name + _SUFFIX))
    except OSError:  # a folder this reader cannot write: the engine answers again next time
        with contextlib.suppress(OSError):
            scratch.unlink()
        return
    _evict(folder)


def _evict(folder: Path) -> None:
    with contextlib.suppress(OSError):
        kept = [p for p in folder.iterdir() if p.suffix == _SUFFIX]
        if len(kept) <= MAX_ENTRIES:
            return
        kept.sort(key=lambda p: p.stat().st_mtime_ns)
        for path in kept[: len(kept) - MAX_ENTRIES]:
            path.unlink(missing_ok=True)


def _encode(term: Term | None) -> Any:
    if term is None:
        return None
    if term.kind == "literal":
        return ["l", term.value, term.datatype, term.lang]
    return ["u" if term.kind == "uri" else "b", term.value]


def _decode(kept: Any) -> SelectStream:
    """The stream of a kept answer; ValueError (or TypeError, KeyError) where it is not one."""
    variables = kept["variables"]
    rows = kept["rows"]
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables) or not isinstance(rows, list):
        raise ValueError("not a kept answer")
    width = len(variables)
    out: list[Row] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise ValueError("a row of another width")
        out.append(tuple(_term(cell) for cell in row))
    return SelectStream(list(variables), iter(out))


def _term(cell: Any) -> Term | None:
    if cell is None:
        return None
    if not isinstance(cell, list) or not cell or cell[0] not in _KINDS:
        raise ValueError("not a term")
    kind = _KINDS[cell[0]]
    if kind != "literal":
        (_, value) = cell
        if not isinstance(value, str):
            raise ValueError("not a term")
        return Term(kind, value)  # type: ignore[arg-type]
    _, value, datatype, lang = cell
    if not isinstance(value, str) or not isinstance(datatype, str | None) or not isinstance(lang, str | None):
        raise ValueError("not a term")
    if lang is not None and (datatype is not None or not lang):
        raise ValueError("not a term")
    return Term("literal", value, datatype, lang)


__all__ = ["FOLDER", "MAX_ENTRIES", "MAX_ROWS", "clear", "enabled", "keep", "keepable", "key", "read"]
