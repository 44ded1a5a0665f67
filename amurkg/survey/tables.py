"""Frictionless Table Schema checks for CSV files, read one row at a time, as the schema's own text says.

Only what the Camtrap DP 1.0 table schemas use is implemented (types string, number, integer, boolean,
datetime with a ``format``, any; constraints required, unique, enum, minimum, maximum, pattern;
``missingValues``; primary and foreign keys), and each is read as the Table Schema specification defines
it: a pattern must match the whole value, numbers are decimals (no ``1_000``, no ``inf``), booleans are
``true``/``false`` in three spellings or ``1``/``0``.

A problem is reported where it is: ``file:row:column (field)``, where the header is row 1 and columns
count from 1, like spreadsheet programs and frictionless.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)  # ASCII digits only
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)", re.ASCII)
_TRUE = {"true", "True", "TRUE", "1"}
_FALSE = {"false", "False", "FALSE", "0"}
#: Longest cell read: the csv module's own limit is 128 KiB; a longer cell is reported, not read into memory.
MAX_CELL = 131_072


class Problems:
    """Problems found so far, up to ``limit`` kept with their place; the rest only counted."""

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self.kept: list[str] = []
        self.count = 0

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        more = self.count - len(self.kept)
        return self.kept + ([f"... and {more:,} more problem{'s' if more != 1 else ''}"] if more else [])


@dataclass
class Field:
    """One column of a table schema, with its value parser."""

    name: str
    type: str
    required: bool = False
    unique: bool = False
    enum: frozenset[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: re.Pattern[str] | None = None
    parse: Callable[[str], Any] = field(default=str)


def _datetime(text: str) -> datetime:
    match = _DATETIME.fullmatch(text)
    if not match:
        raise ValueError("not a date and time like 2020-05-30T04:57:37+02:00 (ISO 8601 with a UTC offset or Z)")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a real date and time ({exc})") from None


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ValueError("not a number (digits, one optional '.', an optional exponent)")
    return float(text)


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("not an integer")
    return int(text)


def _boolean(text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not a boolean: use true or false")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "any": str,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "datetime": _datetime,
}


@dataclass
class TableSchema:
    """A Table Schema (JSON) read into checkers."""

    name: str
    fields: list[Field]
    missing: frozenset[str]
    primary_key: str | None
    foreign_keys: list[tuple[str, str, str]]  # (field, other resource, other field)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSchema:
        fields = []
        for spec in data["fields"]:
            c = spec.get("constraints", {})
            kind = spec.get("type", "string")
            fields.append(
                Field(
                    name=spec["name"],
                    type=kind,
                    required=bool(c.get("required")),
                    unique=bool(c.get("unique")),
                    enum=frozenset(c["enum"]) if "enum" in c else None,
                    minimum=c.get("minimum"),
                    maximum=c.get("maximum"),
                    pattern=re.compile(c["pattern"]) if "pattern" in c else None,
                    parse=_PARSERS.get(kind, str),
                )
            )
        keys = []
        for fk in data.get("foreignKeys", []):
            keys.append((fk["fields"], fk["reference"]["resource"], fk["reference"]["fields"]))
        return cls(data["name"], fields, frozenset(data.get("missingValues", [""])), data.get("primaryKey"), keys)


Row = dict[str, Any]


def _utf8_problem(path: Path, display: str) -> tuple[str, str] | None:
    """Where a file stops being UTF-8: ``file:row:column`` and the byte, or None when it is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, column, offset = 1, 1, 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                handle.seek(0)
                before = handle.read(bad)
                line = before.count(b"\n") + 1
                column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
                byte = handle.read(1)
                return (
                    f"{display}:{line}:{column}",
                    f"the file is not UTF-8 (byte {byte!r}): these files must be UTF-8; "
                    "re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                )
            offset += len(chunk)
    return None


def read_table(
    path: Path,
    display: str,
    schema: TableSchema,
    problems: Problems,
    keys: dict[str, set[str]],
) -> Iterator[tuple[int, Row]]:
    """Check ``path`` against ``schema`` while reading it: yields ``(row number, typed values)`` for the rows
    without problems, adds the others' problems. Values of the primary key go into ``keys[schema.name]``;
    a foreign key is checked against ``keys`` of the resource it names (read that one first)."""
    if (bad := _utf8_problem(path, display)) is not None:
        problems.add(*bad)
        return
    by_name = {f.name: f for f in schema.fields}
    own = keys.setdefault(schema.name, set()) if schema.primary_key else None
    uniques: dict[str, set[str]] = {f.name: set() for f in schema.fields if f.unique and f.name != schema.primary_key}
    csv.field_size_limit(MAX_CELL)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            problems.add(f"{display}:1", f"the header row is not valid CSV: {exc}")
            return
        if not header:
            problems.add(f"{display}:1", "the file is empty: it needs a header row naming the columns")
            return
        if header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        seen: dict[str, int] = {}
        for number, name in enumerate(header, 1):
            if name in seen:
                problems.add(f"{display}:1:{number}", f"column {name!r} appears twice (also column {seen[name]})")
            seen[name] = number
        missing = [f.name for f in schema.fields if f.required and f.name not in seen]
        for name in missing:
            problems.add(
                f"{display}:1", f"missing required column {name!r}: the {schema.name} table schema requires it"
            )
        if missing:
            return
        columns = [(i, by_name.get(name)) for i, name in enumerate(header)]
        width = len(header)
        missing_values = schema.missing
        fks = [(by_name[f], keys.get(res, set()), res, other) for f, res, other in schema.foreign_keys if f in by_name]
        row_number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.add(f"{display}:{row_number + 1}", f"not valid CSV: {exc}")
                return
            row_number += 1
            if len(cells) != width:
                if cells == [] or cells == [""] * len(cells):
                    continue  # a blank line
                problems.add(
                    f"{display}:{row_number}",
                    f"{len(cells)} cells where the header has {width}: quote values that contain commas",
                )
                continue
            row: Row = {}
            ok = True
            for (index, spec), text in zip(columns, cells, strict=True):
                if spec is None:
                    continue
                if text in missing_values:
                    if spec.required:
                        problems.add(f"{display}:{row_number}:{index + 1} ({spec.name})", "a value is required here")
                        ok = False
                    continue
                try:
                    value = spec.parse(text)
                except ValueError as exc:
                    problems.add(f"{display}:{row_number}:{index + 1} ({spec.name})", f"{_shown(text)} is {exc}")
                    ok = False
                    continue
                if not _constraints(spec, text, value, f"{display}:{row_number}:{index + 1}", problems):
                    ok = False
                    continue
                row[spec.name] = value
            if schema.primary_key and (key := row.get(schema.primary_key)) is not None:
                assert own is not None
                if key in own:
                    col = seen[schema.primary_key]
                    problems.add(
                        f"{display}:{row_number}:{col} ({schema.primary_key})",
                        f"{_shown(key)} is a duplicate: each {schema.primary_key} must be unique",
                    )
                    ok = False
                else:
                    own.add(key)
            for name, values in uniques.items():
                if (value := row.get(name)) is not None:
                    if value in values:
                        problems.add(f"{display}:{row_number}:{seen[name]} ({name})", f"{_shown(value)} is a duplicate")
                        ok = False
                    values.add(value)
            for spec, targets, resource, other in fks:
                if (value := row.get(spec.name)) is not None and value not in targets:
                    problems.add(
                        f"{display}:{row_number}:{seen[spec.name]} ({spec.name})",
                        f"{_shown(value)} is not the {other} of any row of {resource}: add it there or fix this one",
                    )
                    ok = False
            if ok:
                yield row_number, row


def _constraints(spec: Field, text: str, value: Any, where: str, problems: Problems) -> bool:
    where = f"{where} ({spec.name})"
    if spec.enum is not None and text not in spec.enum:
        from amurkg.errors import did_you_mean

        hint = did_you_mean(text, spec.enum)
        problems.add(where, f"{_shown(text)} is not one of {', '.join(sorted(spec.enum))}: {hint}".rstrip(": "))
        return False
    if spec.minimum is not None and value < spec.minimum:
        problems.add(where, f"{_shown(text)} is below the minimum {spec.minimum}")
        return False
    if spec.maximum is not None and value > spec.maximum:
        problems.add(where, f"{_shown(text)} is above the maximum {spec.maximum}")
        return False
    if spec.pattern is not None and not spec.pattern.fullmatch(text):
        problems.add(where, f"{_shown(text)} does not match the pattern {spec.pattern.pattern}")
        return False
    return True


def _shown(text: Any) -> str:
    """A value as quoted in a message, cut short."""
    text = str(text)
    return repr(text if len(text) <= 60 else text[:57] + "...")
