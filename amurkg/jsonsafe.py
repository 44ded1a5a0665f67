"""Reading JSON that someone else wrote (a package's ``datapackage.json``, a store's own description file):
bounded in size and depth, strict, and every problem one line with its line and column.

* Size: the caller's limit, checked before anything is parsed.
* Depth: at most ``MAX_DEPTH`` nested arrays and objects, counted by a scan of the text before it is parsed,
  so neither the parser nor a JSON Schema validator ever recurses deeply (no ``RecursionError``).
* A key twice in one object is an error (JSON readers disagree on which one counts), as are ``NaN`` and
  ``Infinity`` (not JSON), and numbers too long to read.
* UTF-8, a byte-order mark allowed; UTF-16 and UTF-32 are named as such, with the fix.
"""

from __future__ import annotations

import json
import re
from typing import Any

from amurkg.errors import AmurkgError

#: Deepest nesting read: the Camtrap DP descriptor nests 6 levels, a store's description 1.
MAX_DEPTH = 64
# a string (an unterminated one runs to the end: no text is scanned twice) or a bracket
_TOKENS = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)


class JsonError(AmurkgError):
    """A JSON document cannot be read: the message names where, what and how to fix it."""


def loads(where: str, data: bytes, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The value of the JSON document ``data`` (read from ``where``), or ``JsonError``."""
    if len(data) > max_bytes:
        raise JsonError(f"{where}: larger than {max_bytes:,} bytes: not what this file holds; check the file")
    if (
        data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
        or data[:2] in (b"\xff\xfe", b"\xfe\xff")
        or (len(data) > 1 and (data[0] == 0 or data[1] == 0))
    ):
        raise JsonError(f"{where}:1:1: the file is UTF-16 or UTF-32, not UTF-8: re-save it as UTF-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _place(data, exc.start)
        raise JsonError(
            f"{where}:{line}:{column}: not UTF-8 (byte 0x{data[exc.start]:02x}): re-save the file as UTF-8"
        ) from None
    _check_depth(where, data, max_depth)
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_finite)
    except _DuplicateKeyError as exc:
        at = _duplicate_at(text)
        place = f":{at[0]}:{at[1]}" if at else ""
        raise JsonError(
            f"{where}{place}: the key {exc.key[:60]!r} appears twice in one object: JSON readers disagree on which "
            "one counts; remove one"
        ) from None
    except _ConstantError as exc:
        raise JsonError(f"{where}: {exc.name} is not a JSON number: write a number, or null") from None
    except json.JSONDecodeError as exc:
        raise JsonError(f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except _InfiniteError as exc:
        raise JsonError(f"{where}: {exc.text[:40]} is too large a number (it reads as infinity): check it") from None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits; nesting missed by the scan
        raise JsonError(f"{where}: cannot be read as JSON ({str(exc)[:80]}): check the file") from None
    if _SURROGATE_ESCAPE.search(text) is not None and (found := _unpaired(value)) is not None:
        path, code = found
        raise JsonError(
            f"{where}: {path} holds an unpaired surrogate (\\u{code:04x}), which is no character and cannot be "
            "written out: remove that escape, or pair it"
        )
    return value


class _InfiniteError(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _finite(text: str) -> float:
    """A JSON number with a fraction or an exponent: refused where it overflows to infinity (``1e999``)."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _InfiniteError(text)
    return number


_SURROGATE = re.compile("[\ud800-\udfff]")
#: the only way a surrogate gets into a decoded document (UTF-8 has none): an escape, paired or not. Searched in
#: the text first, so that a document without one (every answer amurkg keeps) is not walked
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _unpaired(value: Any) -> tuple[str, int] | None:
    """Where a string (or a key) of ``value`` holds a lone surrogate (JSON's ``\\ud800`` escapes decode to one),
    as a JSONPath and the code point; None where none does."""
    todo: list[tuple[str, Any]] = [("$", value)]
    while todo:
        path, item = todo.pop()
        if isinstance(item, str):
            if (hit := _SURROGATE.search(item)) is not None:
                return path, ord(hit.group())
        elif isinstance(item, dict):
            for key, child in item.items():
                if (hit := _SURROGATE.search(key)) is not None:
                    return f"{path} (a key)", ord(hit.group())
                todo.append((f"{path}.{key[:40]}", child))
        elif isinstance(item, list):
            todo.extend((f"{path}[{n}]", child) for n, child in enumerate(item))
    return None


def _place(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (both from 1, the column in characters) of a byte offset."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, len(data[start:offset].decode("utf-8", "replace")) + 1


def _check_depth(where: str, data: bytes, max_depth: int) -> None:
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                line, column = _place(data, match.start())
                raise JsonError(
                    f"{where}:{line}:{column}: nested more than {max_depth} levels deep: not what this file "
                    "holds; check the file"
                )
        elif token in (b"]", b"}"):
            depth -= 1


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _ConstantError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(items)
    if len(result) != len(items):
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def _constant(name: str) -> Any:
    raise _ConstantError(name)


def _duplicate_at(text: str) -> tuple[int, int] | None:
    """Line and column of the object holding a key twice: the text parsed again by the pure-Python parser,
    which tells where each object starts (only when there is such an object, so the slow parser is rare)."""
    from json import decoder, scanner

    starts: list[int] = []
    found: list[int] = []

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        starts.append(s_and_end[1] - 1)
        try:
            return decoder.JSONObject(s_and_end, *args, **kwargs)  # type: ignore[attr-defined]
        finally:
            starts.pop()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items) and not found:
            found.append(starts[-1])
        return dict(items)

    parser = json.JSONDecoder(object_pairs_hook=pairs)
    parser.parse_object = parse_object  # type: ignore[attr-defined]
    parser.scan_once = scanner.py_make_scanner(parser)  # type: ignore[attr-defined]
    try:
        parser.decode(text)
    except (ValueError, RecursionError):
        return None
    if not found:
        return None
    offset = found[0]
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
