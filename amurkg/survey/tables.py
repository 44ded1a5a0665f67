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
from datetime import datetime, timedelta
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
        #: problems said once however often they recur (``once``): the index of their kept line, and how many
        #: more times they came
        self.repeats: dict[Any, list[int]] = {}

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(f"{where}: {message}")

    def once(self, key: Any, where: str, message: str) -> None:
        """Add a problem that other rows may repeat (the same unknown ID, a table with no rows that every row
        points at): said once, at its first place, with a count of the rows that repeat it, so that one cause
        does not bury the others."""
        seen = self.repeats.get(key)
        if seen is not None:
            seen[1] += 1
            return
        self.repeats[key] = [len(self.kept) if len(self.kept) < self.limit else -1, 0]
        self.add(where, message)

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        kept = list(self.kept)
        for index, again in self.repeats.values():
            if index >= 0 and again:
                kept[index] += f" (the same in {again:,} more row{'s' if again != 1 else ''})"
        more = self.count - len(self.kept)
        return kept + ([f"... and {more:,} more problem{'s' if more != 1 else ''}"] if more else [])


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
    text: str | None = None  # for text columns: how strictly they are read (``text_kind``)


def read_datetime(text: str) -> datetime:
    """A date and time with its UTC offset (ISO 8601, as Camtrap DP and Darwin Core write them); ValueError
    saying in plain words what is wrong."""
    match = _DATETIME.fullmatch(text)
    if not match:
        raise ValueError("not a date and time like 2020-05-30T04:57:37+02:00 (ISO 8601 with a UTC offset or Z)")
    offset = match.group(7)
    if offset != "Z" and (int(offset[1:3]) > 23 or int(offset[-2:]) > 59):
        raise ValueError(
            f"not a real date and time: the hours of a UTC offset run 00 to 23 and its minutes 00 to 59, not {offset}"
        )
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:  # the day, hour, minute or second out of range: said as the calendar says it
        raise ValueError(f"not a real date and time: {_RANGES.get(str(exc), 'a part of it is out of range')}") from None
    return convertible(value)


#: Python's words for a part of a date or time out of its range, and a person's.
_RANGES = {
    "month must be in 1..12": "months run from 01 to 12",
    "day is out of range for month": "that month has no such day",
    "hour must be in 0..23": "hours run from 00 to 23",
    "minute must be in 0..59": "minutes run from 00 to 59",
    "second must be in 0..59": "seconds run from 00 to 59",
    "year 0 is out of range": "there is no year 0000",
}


_datetime = read_datetime

#: The longest deployment read: one placement of a camera between visits lasts days to months (its batteries
#: and cards run out); ten years is a mistyped year, and a survey analysis would walk every day of it.
MAX_DEPLOYMENT = timedelta(days=3653)


def deployment_too_long(start: datetime, end: datetime) -> str | None:
    """Why a deployment from ``start`` to ``end`` is refused for its length, or None."""
    if end - start <= MAX_DEPLOYMENT:
        return None
    return (
        f"the deployment lasts {(end - start).days:,} days, more than the ten years amurkg reads for one placement "
        "of a camera: check the years of its start and end"
    )


def csv_problem(exc: Exception) -> str:
    """What a ``csv.Error`` means, in the words of the file rather than of Python's csv module."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (
            f"a value longer than {MAX_CELL // 1024} KiB, the most amurkg reads in one cell: is a quote left open "
            "on this row or the one above?"
        )
    if "unexpected end of data" in text:
        return "the file ends inside a quoted value: a quote is left open"
    if "expected after '\"'" in text:
        return (
            'text follows a quoted value before the next separator (as in "a"b): quote the whole value, and write '
            'a quote inside it twice ("")'
        )
    return text


def convertible(value: datetime) -> datetime:
    """``value``, where it can be written in any time zone: in year 1 or 9999 a change of offset leaves the years
    Python counts (0001-01-01T00:00:00+14:00 is in year 0 in UTC), so such a time is refused where it is read."""
    if not 1 < value.year < 9999:
        raise ValueError(f"the year {value.year} is outside the years 2 to 9998 that amurkg can convert to any offset")
    return value


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ValueError("not a number (digits, one optional '.', an optional exponent)")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("too large a number: beyond the largest a double-precision number holds (about 1.8e308)")
    return value


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("not an integer")
    # more than 19 significant digits is out of range whatever they are (and Python converts at most 4,300)
    digits = text.lstrip("+-").lstrip("0") or "0"
    value = int(("-" if text.startswith("-") else "") + digits) if len(digits) <= 19 else 1 << 64
    if not -(1 << 63) <= value < 1 << 63:  # SPARQL engines sum and compare 64-bit integers: SUM would be unbound
        raise ValueError("larger than a 64-bit integer: not a count or measure a camera records")
    return value


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
                    text=text_kind(spec["name"]) if kind in ("string", "any") else None,
                )
            )
        keys = []
        for fk in data.get("foreignKeys", []):
            keys.append((fk["fields"], fk["reference"]["resource"], fk["reference"]["fields"]))
        return cls(data["name"], fields, frozenset(data.get("missingValues", [""])), data.get("primaryKey"), keys)


Row = dict[str, Any]
#: What a check between a row's columns finds: (column, message), or (column, message, key) for a problem that
#: other rows may repeat (said once, with their count: ``Problems.once``)
Finding = tuple[str, str] | tuple[str, str, str]

#: Bidirectional embedding, override and isolate controls: they make text display other than it reads.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FREE_TEXT = frozenset({"habitat", "behavior", "exifData", "occurrenceRemarks", "eventRemarks"})
_IDENTIFIERS = frozenset({"scientificName", "filePath", "fileName", "fileMediatype", "occurrenceID"})


def text_kind(name: str) -> str:
    """How strictly a text column is read: ``id`` (identifiers and scientific names: printable characters
    only), ``free`` (comments: line breaks and tabs allowed) or ``line`` (names, tags, codes)."""
    if name.endswith("ID") or name in _IDENTIFIERS:
        return "id"
    if name.endswith("Comments") or name in _FREE_TEXT:
        return "free"
    return "line"


def text_problem(kind: str, text: str) -> str | None:
    """Why ``text`` is refused in a column of ``kind`` (a control character, say which and where), or None.

    Every kind refuses control characters (C0, DEL, C1), except tab and line breaks in free text; names
    and identifiers also refuse line and paragraph separators and bidirectional controls, and identifiers
    every invisible format character (zero-width spaces, joiners, soft hyphens, byte-order marks): two IDs
    that look the same must be the same."""
    if text.isprintable():
        return None
    import unicodedata

    for index, char in enumerate(text, 1):
        category = unicodedata.category(char)
        if category == "Cc":
            if kind == "free" and char in "\t\n\r":
                continue
            what = "a control character"
        elif kind != "free" and category in ("Zl", "Zp"):
            what = "a line or paragraph separator"
        elif kind != "free" and char in _BIDI:
            what = "a bidirectional text control"
        elif kind == "id" and category in ("Cf", "Cs"):
            what = "an invisible format character"
        else:
            continue
        rule = {"id": "identifiers are printable text; ", "line": "names are printable text on one line; "}
        return f"{_shown(text)} holds U+{ord(char):04X} ({what}) at character {index}: {rule.get(kind, '')}remove it"
    return None


def encoding_problem(path: Path, display: str) -> tuple[str, str] | None:
    """Why a file is not UTF-8 text (``file:row:column`` and what, with the fix for the encoding it looks
    like), or None when it is UTF-8. Read chunk by chunk: a file of any size costs one chunk of memory."""
    with path.open("rb") as handle:
        head = handle.read(4096)
        if (utf16 := utf16_problem(head, display)) is not None:
            return utf16
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset, line, line_start = 0, 1, 0  # bytes before this chunk; the line there and where it starts
        while True:
            chunk = handle.read(1 << 20)
            pending = decoder.getstate()[0]  # the start of a character cut by the last chunk: never a newline
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data, data_start = pending + chunk, offset - len(pending)
                newline = data.rfind(b"\n", 0, exc.start)
                at_line = line + data.count(b"\n", 0, exc.start)
                start = data_start + newline + 1 if newline >= 0 else line_start
                handle.seek(start)
                before = handle.read(data_start + exc.start - start)
                column = len(before.decode("utf-8", "replace")) + 1
                window = data[max(0, exc.start - 2000) : exc.start + 2000]
                return f"{display}:{at_line}:{column}", not_utf8(data[exc.start], window)
            if not chunk:
                return None
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                line += chunk.count(b"\n")
                line_start = offset + newline + 1
            offset += len(chunk)


def utf16_problem(head: bytes, display: str) -> tuple[str, str] | None:
    """The first bytes of a file that is UTF-16 or UTF-32 (a byte-order mark, or the zero bytes every other
    byte that ASCII text has in UTF-16): where and what, or None."""
    boms = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}
    found = next((name for bom, name in boms.items() if head.startswith(bom)), None)
    if found is None and len(head) >= 4 and head[:64].count(0) * 3 >= min(len(head), 64):
        found = "UTF-32" if head[:4].count(0) == 3 else "UTF-16"
    if found is None:
        return None
    return (
        f"{display}:1:1",
        f"the file is {found}, not UTF-8 (spreadsheet programs write it as 'Unicode Text'): re-save it as "
        f"'CSV UTF-8', or convert it: iconv -f {found.lower()} -t utf-8",
    )


def not_utf8(byte: int, window: bytes) -> str:
    """What to say of a byte that is not UTF-8, by what the text around it reads as."""
    try:
        as_cp1252 = window.decode("cp1252")
    except UnicodeDecodeError:
        as_cp1252 = None
    if as_cp1252 is not None and not any(unicodedata_category(c) == "Cc" and c not in "\t\r\n" for c in as_cp1252):
        char = bytes([byte]).decode("cp1252")
        return (
            f"not UTF-8: byte 0x{byte:02x} is {char!r} in Windows-1252/Latin-1, the encoding this file looks like; "
            "re-save it as UTF-8 ('CSV UTF-8'), or convert it: iconv -f cp1252 -t utf-8"
        )
    return f"not UTF-8 (byte 0x{byte:02x}), and not text in Latin-1 either: export the table again as CSV UTF-8"


def unicodedata_category(char: str) -> str:
    import unicodedata

    return unicodedata.category(char)


#: One item of a table as ``open_table`` reads it: ``(row number, cells)`` of a row of the header's width, or
#: ``(row number, (where, message))`` of a row that is not (the problem, in its place among the rows').
Item = tuple[int, "list[str] | tuple[str, str]"]


class _Collected(list[tuple[str, str]]):
    """Problems of one row, collected where they are found to be added (in order) by whoever owns the
    ``Problems``: a row's cells may be checked in another process than the one that counts them."""

    def add(self, where: str, message: str) -> None:
        self.append((where, message))


@dataclass
class RowCheck:
    """The checks of one row's cells against the schema that need nothing but the row (types, constraints,
    control characters). Holds no state, so that rows can be checked in any process, in any order."""

    display: str
    columns: list[tuple[int, Field | None]]
    missing: frozenset[str]
    primary_key: str | None

    def cells(self, number: int, cells: list[str]) -> tuple[Row, list[tuple[str, str]], str | None]:
        """The typed values of the cells that passed; the problems (``where``, ``message``), in column
        order; and the text of the primary key when that was refused for its characters (it still counts
        as seen, so rows that name it are not reported again)."""
        display, missing_values = self.display, self.missing
        row: Row = {}
        found = _Collected()
        refused_key = None
        for (index, spec), text in zip(self.columns, cells, strict=True):
            if spec is None:
                continue
            if text in missing_values:
                if spec.required:
                    found.add(f"{display}:{number}:{index + 1} ({spec.name})", "a value is required here")
                continue
            if spec.text is not None and not text.isprintable() and (why := text_problem(spec.text, text)):
                found.add(f"{display}:{number}:{index + 1} ({spec.name})", why)
                if spec.name == self.primary_key:
                    refused_key = text
                continue
            try:
                value = spec.parse(text)
            except ValueError as exc:
                found.add(f"{display}:{number}:{index + 1} ({spec.name})", f"{_shown(text)} is {exc}")
                continue
            if (spec.enum is not None or spec.minimum is not None or spec.maximum is not None or spec.pattern) and (
                not _constraints(spec, text, value, f"{display}:{number}:{index + 1}", found)
            ):
                continue
            row[spec.name] = value
        return row, found, refused_key


#: What two IDs that look the same but differ in their characters are (Unicode's canonical equivalence).
_ANOTHER_FORM = (
    "written with other Unicode characters (such as a letter followed by a combining accent against the accented "
    "letter as one character; shown as escapes to tell them apart): the same text to a reader, a different ID to "
    "every program"
)


def _nfc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", text)


class TableKeys:
    """The checks of a row that need the rows before it, made in file order by one process: the primary key
    and unique columns (no value twice) and the foreign keys (a value of a table read before)."""

    def __init__(self, schema: TableSchema, display: str, seen: dict[str, int], keys: dict[str, set[str]]) -> None:
        self.display, self.seen, self.primary_key = display, seen, schema.primary_key
        by_name = {f.name: f for f in schema.fields}
        self.own = keys.setdefault(schema.name, set()) if schema.primary_key else None
        self.uniques: dict[str, set[str]] = {
            f.name: set() for f in schema.fields if f.unique and f.name != schema.primary_key
        }
        self.fks = [(f, keys[res], res, other) for f, res, other in schema.foreign_keys if f in by_name and res in keys]
        #: of the non-ASCII values of the primary key and unique columns: the NFC form -> the value as first written
        self.forms: dict[str, dict[str, str]] = {}
        self.target_forms: dict[str, dict[str, str]] = {}  # the same of the tables pointed at (``_other_form``)
        #: the columns these checks read, in a fixed order (what another process sends back of each row)
        self.needed = tuple(
            dict.fromkeys([*([self.primary_key] if self.primary_key else []), *self.uniques, *(f[0] for f in self.fks)])
        )

    def _other_form(self, value: str, resource: str, targets: set[str]) -> str | None:
        """The key of ``resource`` (its keys: ``targets``) that ``value`` is in another Unicode form (NFC against
        NFD), or None. The forms of the keys that are not ASCII are found on the first miss; an ASCII value can
        be one of them in another form too (the Kelvin sign's NFC is the letter K)."""
        if (forms := self.target_forms.get(resource)) is None:
            forms = self.target_forms[resource] = {_nfc(t): t for t in targets if not t.isascii()}
        if value.isascii():
            return forms.get(value)
        nfc = _nfc(value)
        return (nfc if nfc in targets else None) if nfc.isascii() else forms.get(nfc)

    def _one_form(self, name: str, value: str, known: set[str], number: int, problems: Problems) -> bool:
        """Whether ``value`` (new in column ``name``, whose values so far are ``known``) differs from every earlier
        one in more than its Unicode form: two deployments 'Café', one with a combining accent, are one to a reader
        and were counted as two. An ASCII value costs one look in a dict that stays empty while every value is
        ASCII."""
        if value.isascii():
            forms = self.forms.get(name)
            if not forms or (first := forms.get(value)) is None or first == value:
                return True
        else:
            nfc = _nfc(value)
            first = self.forms.setdefault(name, {}).setdefault(nfc, value)
            if first == value:
                if nfc == value or not nfc.isascii() or nfc not in known:
                    return True
                first = nfc  # an earlier ASCII value that this one is in another form
        problems.once(
            (self.display, name, "form", first),
            f"{self.display}:{number}:{self.seen[name]} ({name})",
            f"{value[:60]!a} is {first[:60]!a} of an earlier row {_ANOTHER_FORM}: write it one way, or make "
            f"them different {name}s",
        )
        return False

    def settle(
        self,
        number: int,
        row: Row,
        ok: bool,
        refused_key: str | None,
        problems: Problems,
        check: Callable[[Row], Finding | None] | None,
    ) -> bool:
        """Add the problems of the row numbered ``number`` (its cells' problems already added: ``ok`` says
        whether there were none) that earlier rows show; then, if it is still without problems, what ``check``
        finds between its columns. Whether the row has no problem."""
        display, seen = self.display, self.seen
        if refused_key is not None and self.own is not None:
            self.own.add(refused_key)
        if self.primary_key and (key := row.get(self.primary_key)) is not None:
            assert self.own is not None
            if key in self.own:
                col = seen[self.primary_key]
                problems.once(
                    (display, self.primary_key, key),
                    f"{display}:{number}:{col} ({self.primary_key})",
                    f"{_shown(key)} is a duplicate: each {self.primary_key} must be unique",
                )
                ok = False
            else:
                self.own.add(key)
                ok = self._one_form(self.primary_key, key, self.own, number, problems) and ok
        for name, values in self.uniques.items():
            if (value := row.get(name)) is not None:
                if value in values:
                    where = f"{display}:{number}:{seen[name]} ({name})"
                    problems.once((display, name, value), where, f"{_shown(value)} is a duplicate")
                    ok = False
                else:
                    ok = self._one_form(name, value, values, number, problems) and ok
                values.add(value)
        for spec, targets, resource, other in self.fks:
            if (value := row.get(spec)) is not None and value not in targets:
                where = f"{display}:{number}:{seen[spec]} ({spec})"
                if (written := self._other_form(value, resource, targets)) is not None:
                    problems.once(
                        (display, spec, value),
                        where,
                        f"{value[:60]!a} is the {other} {written[:60]!a} of {resource} {_ANOTHER_FORM}: write it "
                        f"as {resource} does",
                    )
                elif not targets:  # the table it points at has no rows: one cause, said once
                    problems.once(
                        (display, spec), where, f"{resource} has no rows, so no row can name its {other}: add them"
                    )
                else:
                    problems.once(
                        (display, spec, value),
                        where,
                        f"{_shown(value)} is not the {other} of any row of {resource}: add it there or fix this one",
                    )
                ok = False
        if ok and check is not None and (found := check(row)) is not None:
            column = found[0]  # a column the table may leave out (mediaID): then the row is the place
            where = f"{display}:{number}:{seen[column]} ({column})" if column in seen else f"{display}:{number}"
            if len(found) == 3:
                problems.once((display, found[2]), where, found[1])
            else:
                problems.add(where, found[1])
            ok = False
        return ok


def open_table(
    path: Path, display: str, schema: TableSchema, problems: Problems, keys: dict[str, set[str]]
) -> tuple[RowCheck, TableKeys, _Items] | None:
    """Check a table's encoding and header; then how to check its rows, and its rows as they are read
    (``Item``), or None (the problem added) when its rows cannot be read."""
    if (bad := encoding_problem(path, display)) is not None:
        problems.add(*bad)
        return None
    csv.field_size_limit(MAX_CELL)
    handle = path.open(encoding="utf-8", newline="")
    try:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            with path.open(encoding="utf-8", newline="") as first:
                line = first.readline(MAX_CELL)
            separator = _separator_of(line) if line.count(",") < 1 else None
            if separator is not None:  # quoted names separated otherwise ("a";"b"), as R and spreadsheets write
                problems.add(
                    f"{display}:1",
                    f"the header is separated by {separator!r}: Camtrap DP tables are separated by commas: save it "
                    "as CSV with commas",
                )
            else:
                problems.add(f"{display}:1", f"the header row is not valid CSV: {csv_problem(exc)}")
            handle.close()
            return None
        if not header:
            problems.add(f"{display}:1", "the file is empty: it needs a header row naming the columns")
            handle.close()
            return None
        if header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        seen: dict[str, int] = {}
        for number, name in enumerate(header, 1):
            if name in seen:
                problems.add(f"{display}:1:{number}", f"column {name!r} appears twice (also column {seen[name]})")
            seen[name] = number
        missing = [f.name for f in schema.fields if f.required and f.name not in seen]
        if missing and len(header) == 1 and (separator := _separator_of(header[0])) is not None:
            problems.add(
                f"{display}:1",
                f"the header is one column holding {separator!r}: the file seems separated by {separator!r}, and "
                f"Camtrap DP tables are separated by commas: save it as CSV with commas",
            )
            missing = []
            header_read = False
        else:
            header_read = True
        near = {" ".join(name.split()).casefold(): (number, name) for name, number in seen.items()}
        for name in missing:
            hint = f"the {schema.name} table schema requires it"
            if (other := near.get(name.casefold())) is not None:
                hint = f"column {other[0]} is {other[1]!r}: rename it {name!r} (names are exact, spaces and case count)"
            problems.add(f"{display}:1", f"missing required column {name!r}: {hint}")
        if missing or not header_read:
            handle.close()
            return None
    except BaseException:
        handle.close()
        raise
    by_name = {f.name: f for f in schema.fields}
    checker = RowCheck(
        display, [(i, by_name.get(name)) for i, name in enumerate(header)], schema.missing, schema.primary_key
    )
    # keys only of a table whose header could be read: the foreign keys of a table that could not be read at
    # all are not checked, so its one problem is not buried under one per row pointing at it
    table_keys = TableKeys(schema, display, seen, keys)
    return checker, table_keys, _Items(handle, reader, display, len(header))


class _Items:
    """The rows of an open table file, as ``Item``; closes the file when done or closed."""

    def __init__(self, handle: Any, reader: Any, display: str, width: int) -> None:
        self.handle, self.reader, self.display, self.width = handle, reader, display, width
        self.cut = False  # a row that is not CSV ended the reading: the rows after it were not read

    def __iter__(self) -> Iterator[Item]:
        with self.handle:
            row_number = 1
            while True:
                try:
                    cells = next(self.reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    self.cut = True
                    yield row_number + 1, (f"{self.display}:{row_number + 1}", f"not valid CSV: {csv_problem(exc)}")
                    return
                row_number += 1
                if len(cells) != self.width:
                    if cells == [] or cells == [""] * len(cells):
                        continue  # a blank line
                    yield (
                        row_number,
                        (
                            f"{self.display}:{row_number}",
                            f"{len(cells)} cells where the header has {self.width}: quote values that contain commas",
                        ),
                    )
                    continue
                yield row_number, cells

    def close(self) -> None:
        self.handle.close()


def read_table(
    path: Path,
    display: str,
    schema: TableSchema,
    problems: Problems,
    keys: dict[str, set[str]],
    check: Callable[[Row], Finding | None] | None = None,
) -> Iterator[tuple[int, Row]]:
    """Check ``path`` against ``schema`` while reading it: yields ``(row number, typed values)`` for the rows
    without problems, adds the others' problems. Values of the primary key go into ``keys[schema.name]``;
    a foreign key is checked against ``keys`` of the resource it names (read that one first). ``check``
    sees each row whose cells passed and returns what is wrong between them, ``(column, message)``, or None.

    The same three steps, with the first two in other processes, are what ``amurkg.survey.chunks`` runs."""
    opened = open_table(path, display, schema, problems, keys)
    if opened is None:
        return
    checker, table_keys, items = opened
    try:
        yield from checked_rows(checker, table_keys, items, problems, check)
    finally:
        items.close()
    forget_if_cut(items, schema.name, keys)


def forget_if_cut(items: _Items, name: str, keys: dict[str, set[str]]) -> None:
    """After reading a table: where a row that is not CSV ended it, its keys are only those of the rows before, so
    the tables read next are not checked against them (each of their rows pointing past the break would be one
    more problem of the same cause)."""
    if items.cut:
        keys.pop(name, None)


def checked_rows(
    checker: RowCheck,
    table_keys: TableKeys,
    items: _Items,
    problems: Problems,
    check: Callable[[Row], Finding | None] | None = None,
) -> Iterator[tuple[int, Row]]:
    """The rows of an opened table (``open_table``) whose cells and keys pass, checked in this process, in
    file order; the others' problems go into ``problems``."""
    for number, cells in items:
        if isinstance(cells, tuple):
            problems.add(*cells)
            continue
        row, found, refused_key = checker.cells(number, cells)
        for where, message in found:
            problems.add(where, message)
        if table_keys.settle(number, row, not found, refused_key, problems, check):
            yield number, row


def _constraints(spec: Field, text: str, value: Any, where: str, problems: Problems | _Collected) -> bool:
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


def _separator_of(header: str) -> str | None:
    """The character that seems to separate a header read as one column (``;``, a tab, ``|``), if any."""
    found = [(header.count(c), c) for c in ";\t|" if c in header]
    return max(found)[1] if found else None


def _shown(text: Any) -> str:
    """A value as quoted in a message, cut short."""
    text = str(text)
    return repr(text if len(text) <= 60 else text[:57] + "...")
