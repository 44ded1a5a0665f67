"""Answers of canned queries kept on disk beside a store's data, until the store next changes.

A survey query over a million observations reads tens of thousands of nodes, and the engine pays for every
string it decodes: about a second on two cores, for an answer that stays the same until the next import or
correction. So the first answer of a canned query on a store, at the parameters it was given, is kept in the
store's ``answers/`` folder, and read back from there (milliseconds) the next time, until the store changes;
an import or a correction answers the survey queries at their defaults (``amurkg.survey.warm``), so that they
answer at once from the start.

What keeps them right:

- Each kept answer carries the *stamp* of the store it was computed from: a digest of the listing of its two
  RocksDB databases (each file's name, inode, size and time, RocksDB's own ``LOG`` diaries aside, and the
  manifest ``CURRENT`` names). An opening for writing writes a new ``CURRENT`` and manifest, and every write
  grows a write-ahead log or adds a table file, while a read-only opening changes none of them (a test checks
  both); so any writer changes the stamp, whatever it is: this amurkg, an older one that knows nothing of kept
  answers, raw pyoxigraph (even one holding the database open across its writes), or a database restored from
  a backup. An answer whose stamp is not the store's is not read, and one whose store changed while it was
  computed is not kept.
- A reader keeps an answer only while it holds the shared lock, which no writer holds meanwhile (not one it
  reads to its end after it closed the store), written to a file of its own and renamed into place (readers
  never see half a file; two readers keeping the same answer write the same bytes); and only in a store
  folder of its own user (another user's answers would be files the owner's next writer could not remove).
- Every writer of this amurkg removes the folder when it opens the store (only to free the space: where it
  cannot, the stamps still turn the answers away).
- The key is a hash of this amurkg's version, a digest of its code and query texts (an edited checkout keeps
  its version number), the versions of pyoxigraph and numpy, and the exact query text the engine would run,
  parameters bound.
- Never an answer that may change while the store does not (a query that calls ``NOW()``, ``RAND()``...).
- Only what a default reader sees is kept: never the answers of a reader of exact coordinates, nor of one that
  reasons (``KnowledgeGraph.run_stream`` decides).
- A kept file is read as untrusted: a regular file, not a link (a FIFO or a device is not opened for reading),
  bounded in size; its first line (the stamp and the variables) is read and checked before the rows; strict
  JSON, every term checked (IRIs without the characters an IRI cannot hold, text that is Unicode); anything
  unexpected is a miss, and the engine answers. A link in place of the folder is never read through, and a
  writer removes the link, not what it points to.
- A store whose folder cannot be written (a read-only mount) keeps nothing, in silence.
- At most ``MAX_ENTRIES`` answers, each of at most ``MAX_ROWS`` rows, written as they are read (the rows are
  not held in memory): the oldest go first.

``AMURKG_NO_ANSWER_CACHE=1`` turns reading and keeping off (the benchmarks measure the engine that way).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from amurkg.results import Row, SelectStream, Term

FOLDER = "answers"
#: Answers kept at most: the oldest (by when they were written) go first.
MAX_ENTRIES = 256
#: Rows of the largest answer kept; a longer one is answered from the engine each time.
MAX_ROWS = 50_000
#: Bytes of the largest kept file read back (the rows of at most ``MAX_ROWS``), and of its first line.
_MAX_BYTES = 64 * 1024 * 1024
_MAX_HEAD = 64 * 1024
_SUFFIX = ".json"
_KINDS = {"u": "uri", "l": "literal", "b": "bnode"}


def enabled() -> bool:
    return os.environ.get("AMURKG_NO_ANSWER_CACHE", "") in ("", "0")


def key(text: str) -> str:
    """The name an answer of the query ``text`` (parameters bound) is kept under by this amurkg."""
    return hashlib.sha256(f"{_code()}\n{text}".encode()).hexdigest()


@cache
def _code() -> str:
    """This amurkg's version, a digest of its code and query texts (an edited checkout keeps its version
    number), and the versions of the libraries that compute answers."""
    from importlib.metadata import PackageNotFoundError, version

    from amurkg.resources import queries_dir

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for root, pattern in ((package, "*.py"), (queries_dir(), "*.rq")):
        for path in sorted(root.rglob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    numbers = []
    for name in ("amurkg", "pyoxigraph", "numpy"):
        try:
            numbers.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            numbers.append(f"{name} -")
    return f"{'; '.join(numbers)}; {digest.hexdigest()}"


def stamp(store_path: Path) -> str | None:
    """The state of the store's two databases, as their files say it (see the module's docstring), or None
    where a folder cannot be listed."""
    parts = []
    for database in ("db", "hidden"):
        folder = store_path / database
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("LOG"):  # RocksDB's own diary, which a read-only opening writes
                        continue
                    info = entry.stat(follow_symlinks=False)
                    parts.append(f"{database}/{entry.name}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}")
            named = (folder / "CURRENT").read_bytes()[:256].decode("latin-1")
        except OSError:
            return None
        parts.append(f"{database}/CURRENT={named}")
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def owned(store_path: Path) -> bool:
    """Whether the store's folder belongs to this process's user (where a system has users)."""
    getuid = getattr(os, "geteuid", None)
    if getuid is None:
        return True
    try:
        return bool(store_path.stat().st_uid == getuid())
    except OSError:
        return False


def clear(store_path: Path) -> None:
    """Remove every kept answer of the store at ``store_path`` (a writer, before it changes anything): a link in
    place of the folder is removed, not what it points to. Best effort: what stays is turned away by its stamp."""
    folder = store_path / FOLDER
    with contextlib.suppress(OSError):
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink(missing_ok=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _open_kept(store_path: Path, filename: str, max_bytes: int) -> tuple[int, str, int] | None:
    """A kept file opened for reading as untrusted (a regular file, not a link, a FIFO or a device, of at most
    ``max_bytes``), with the store's stamp now and the file's size; None where there is none such. The caller
    closes the descriptor."""
    folder = store_path / FOLDER
    now = stamp(store_path)
    if now is None or folder.is_symlink():
        return None
    try:
        fd = os.open(folder / filename, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        os.close(fd)
        return None
    return fd, now, info.st_size


def read(store_path: Path, name: str) -> SelectStream | None:
    """The answer kept as ``name`` for the store as it is now, or None (none kept, one kept for the store as it
    was, or a file that is not one this module wrote). The first line, its stamp and variables, is read and
    checked before anything else."""
    opened = _open_kept(store_path, name + _SUFFIX, _MAX_BYTES)
    if opened is None:
        return None
    fd, now, _ = opened
    path = store_path / FOLDER / (name + _SUFFIX)
    from amurkg.jsonsafe import JsonError, loads

    try:
        with os.fdopen(os.dup(fd), "rb") as handle:
            head = loads(str(path), handle.readline(_MAX_HEAD + 1), _MAX_HEAD, max_depth=2)
            if not isinstance(head, dict) or head.get("stamp") != now or set(head) != {"stamp", "variables"}:
                return None
            rows = loads(str(path), handle.read(_MAX_BYTES + 1), _MAX_BYTES, max_depth=3)
        return _decode(head["variables"], rows)
    except (OSError, JsonError, ValueError, TypeError, KeyError):
        return None
    finally:
        os.close(fd)


def keepable(text: str) -> bool:
    """Whether an answer of the query ``text`` may be kept: not where it may change without the store changing
    (it calls for the time, random numbers or fresh identifiers; words in comments and strings do not count)."""
    from amurkg.errors import AmurkgError
    from amurkg.sparql import tokens

    try:
        found = tokens(text)
    except AmurkgError:
        return False
    return not any(a.kind == "word" and a.text.upper() in _VOLATILE and b.text == "(" for a, b in pairwise(found))


_VOLATILE = frozenset({"NOW", "RAND", "UUID", "STRUUID", "BNODE"})


def keep(store_path: Path, name: str, answer: SelectStream, locked: Callable[[], bool]) -> SelectStream:
    """``answer``, read as before; once read to its end (at most ``MAX_ROWS`` rows), kept as ``name`` if
    ``locked()`` says the reader still holds the store's shared lock (a reader that closed the store before it
    read the answer to its end may read it after a writer changed the store: that answer is not kept), in a
    store folder of this user's."""
    if not owned(store_path) or (store_path / FOLDER).is_symlink():
        return answer
    return SelectStream(answer.variables, _keeping(store_path, name, answer, locked))


def _keeping(store_path: Path, name: str, answer: SelectStream, locked: Callable[[], bool]) -> Iterator[Row]:
    """The rows of ``answer``, each written to a scratch file as it passes; renamed into place at the end."""
    folder = store_path / FOLDER
    at = stamp(store_path)
    scratch = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    out = None
    if at is not None:
        try:
            folder.mkdir(exist_ok=True)
            out = scratch.open("x", encoding="ascii")
            out.write(json.dumps({"stamp": at, "variables": answer.variables}, ensure_ascii=True) + "\n[")
        except OSError:  # a folder this reader cannot write: the engine answers again next time
            _drop(out, scratch)
            out = None
    count = 0
    try:
        for row in answer.rows:
            if out is not None:
                count += 1
                try:
                    if count > MAX_ROWS:
                        raise OSError("too long to keep")
                    out.write(("," if count > 1 else "") + _row_text(row))
                except OSError:
                    _drop(out, scratch)
                    out = None
            yield row
        if out is not None and locked() and stamp(store_path) == at:
            with contextlib.suppress(OSError):
                out.write("]")
                out.close()
                os.replace(scratch, folder / (name + _SUFFIX))
                _evict(folder)
    finally:  # an answer not read to its end, or not renamed: its scratch file goes
        _drop(out, scratch)


def _drop(out: Any, scratch: Path) -> None:
    """Close and remove a scratch file (an answer not kept)."""
    with contextlib.suppress(OSError):
        if out is not None:
            out.close()
        scratch.unlink(missing_ok=True)


def _row_text(row: Row) -> str:
    return json.dumps([_encode(term) for term in row], ensure_ascii=True, separators=(",", ":"))


#: A scratch file older than this is a killed reader's: the next keeper removes it.
_STALE_SCRATCH_S = 24 * 3600


def _evict(folder: Path) -> None:
    import time

    kept, old = [], time.time() - _STALE_SCRATCH_S
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                if path.suffix == _SUFFIX:
                    kept.append((path.lstat().st_mtime_ns, path))
                elif path.suffix == ".tmp" and path.lstat().st_mtime < old:
                    path.unlink()
    kept.sort()
    for _, path in kept[: max(0, len(kept) - MAX_ENTRIES)]:
        with contextlib.suppress(OSError):
            path.unlink()


def _encode(term: Term | None) -> Any:
    if term is None:
        return None
    if term.kind == "literal":
        return ["l", term.value, term.datatype, term.lang]
    return ["u" if term.kind == "uri" else "b", term.value]


# --------------------------------------------------------------------------------------- arrays kept beside

#: Suffix of kept arrays (``keep_arrays``): not answers, so not counted or evicted with them.
_ARRAYS = ".arrays"
#: The kinds of numbers kept arrays hold (little-endian, as written).
_DTYPES = frozenset({"<f8", "<i8", "<i4", "|i1"})
#: Bytes of the largest kept arrays read back, and of their first line (which holds names: IRIs).
_MAX_ARRAY_BYTES = 4 * 1024 * 1024 * 1024
_MAX_ARRAY_HEAD = 64 * 1024 * 1024


def read_arrays(store_path: Path, name: str) -> tuple[Any, dict[str, Any]] | None:
    """What ``keep_arrays`` kept as ``name`` for the store as it is now: the caller's JSON value and the
    arrays by name (read-only NumPy arrays); None where nothing fits, read as untrusted as ``read`` reads."""
    import numpy as np

    from amurkg.jsonsafe import JsonError, loads

    opened = _open_kept(store_path, name + _ARRAYS, _MAX_ARRAY_BYTES)
    if opened is None:
        return None
    fd, now, size = opened
    path = store_path / FOLDER / (name + _ARRAYS)
    try:
        with os.fdopen(os.dup(fd), "rb") as handle:
            line = handle.readline(_MAX_ARRAY_HEAD + 1)
            head = loads(str(path), line, _MAX_ARRAY_HEAD, max_depth=4)
            if (
                not isinstance(head, dict)
                or set(head) != {"stamp", "value", "arrays", "digest"}
                or head["stamp"] != now
            ):
                return None
            layout = head["arrays"]
            if not isinstance(layout, list):
                return None
            sizes = []
            for entry in layout:
                if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)):
                    return None
                label, dtype, count = entry
                if dtype not in _DTYPES or type(count) is not int or count < 0:
                    return None
                sizes.append((label, np.dtype(dtype), count))
            total = sum(dtype.itemsize * count for _, dtype, count in sizes)
            if len(line) + total != size or len({label for label, _, _ in sizes}) != len(sizes):
                return None
            data = handle.read(total + 1)
        if len(data) != total or _digest(head["value"], layout, data) != head["digest"]:
            return None  # damaged (a checksum, as the arrays are not read value by value)
        arrays: dict[str, Any] = {}
        at = 0
        for label, dtype, count in sizes:
            arrays[label] = np.frombuffer(data, dtype=dtype, count=count, offset=at)
            at += dtype.itemsize * count
        return head["value"], arrays
    except (OSError, JsonError, ValueError, TypeError, KeyError):
        return None
    finally:
        os.close(fd)


def _digest(value: Any, layout: Any, body: bytes) -> str:
    """A checksum of kept arrays and what they come with: a damaged file is a miss, not a wrong answer."""
    head = json.dumps([value, layout], ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return hashlib.sha256(head + b"\0" + body).hexdigest()


def keep_arrays(
    store_path: Path, name: str, at: str | None, value: Any, arrays: dict[str, Any], locked: Callable[[], bool]
) -> None:
    """Keep ``value`` (JSON) and ``arrays`` (NumPy, of the kinds ``_DTYPES`` names) as ``name``, computed from the
    store as stamped ``at`` (its ``stamp`` before the caller read it): only where that is still the store's
    stamp and ``locked()`` says the reader holds the store's shared lock, in a folder of this user's; in
    silence where it cannot be written."""
    import numpy as np

    folder = store_path / FOLDER
    if at is None or not owned(store_path) or folder.is_symlink():
        return
    layout = []
    for label, array in arrays.items():
        dtype = np.dtype(array.dtype).newbyteorder("<") if np.dtype(array.dtype).byteorder == ">" else array.dtype
        if np.dtype(dtype).str not in _DTYPES:
            raise ValueError(f"arrays of {np.dtype(dtype).str} are not kept")
        layout.append([label, np.dtype(dtype).str, int(array.size)])
    body = b"".join(
        np.ascontiguousarray(array, dtype=dtype).tobytes()
        for (_, dtype, _), array in zip(layout, arrays.values(), strict=True)
    )
    digest = _digest(value, layout, body)
    head = json.dumps(
        {"stamp": at, "value": value, "arrays": layout, "digest": digest}, ensure_ascii=True, separators=(",", ":")
    )
    scratch = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    out = None
    try:
        folder.mkdir(exist_ok=True)
        out = scratch.open("xb")
        out.write(head.encode("ascii") + b"\n" + body)
        out.close()
        if locked() and stamp(store_path) == at:
            os.replace(scratch, folder / (name + _ARRAYS))
    except OSError:
        pass
    finally:
        _drop(out, scratch)


_IRI = re.compile(r'[^\x00-\x20<>"{}|^`\\]+')
_BNODE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_LANG = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*")
_VARIABLE = re.compile(r"[A-Za-z0-9_]+")


def iri(value: Any) -> bool:
    """Whether ``value``, read from a kept file, is text an IRI can be (no character an IRI cannot hold)."""
    if not isinstance(value, str) or not _IRI.fullmatch(value):
        return False
    try:
        _text(value)
    except ValueError:
        return False
    return True


def _decode(variables: Any, rows: Any) -> SelectStream:
    """The stream of a kept answer; ValueError (or TypeError, KeyError) where it is not one."""
    if not isinstance(variables, list) or not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise ValueError("not a kept answer")
    if not all(isinstance(v, str) and _VARIABLE.fullmatch(v) for v in variables):
        raise ValueError("not a variable")
    width = len(variables)
    out: list[Row] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise ValueError("a row of another width")
        out.append(tuple(_term(cell) for cell in row))
    return SelectStream(list(variables), iter(out))


def _text(value: Any) -> str:
    """A string that is Unicode text (no lone surrogate, which no output could write)."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    value.encode("utf-8")  # UnicodeEncodeError, a ValueError, for a lone surrogate
    return value


def _term(cell: Any) -> Term | None:
    if cell is None:
        return None
    if not isinstance(cell, list) or not cell or cell[0] not in _KINDS:
        raise ValueError("not a term")
    kind = _KINDS[cell[0]]
    if kind != "literal":
        (_, value) = cell
        if not isinstance(value, str) or not (_IRI if kind == "uri" else _BNODE).fullmatch(value):
            raise ValueError("not an IRI or a blank node")
        return Term(kind, _text(value))  # type: ignore[arg-type]
    _, value, datatype, lang = cell
    if datatype is not None and not (isinstance(datatype, str) and _IRI.fullmatch(datatype)):
        raise ValueError("not a datatype")
    if lang is not None and (datatype is not None or not isinstance(lang, str) or not _LANG.fullmatch(lang)):
        raise ValueError("not a language tag")
    return Term("literal", _text(value), _text(datatype) if datatype else None, lang)


__all__ = [
    "FOLDER",
    "MAX_ENTRIES",
    "MAX_ROWS",
    "clear",
    "enabled",
    "iri",
    "keep",
    "keep_arrays",
    "keepable",
    "key",
    "owned",
    "read",
    "read_arrays",
    "stamp",
]
