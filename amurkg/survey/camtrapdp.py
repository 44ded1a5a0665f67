"""Camera Trap Data Packages (Camtrap DP 1.0, TDWG): open a folder or zip, check it fully offline.

The package's ``datapackage.json`` is checked against the Camtrap DP profile (JSON Schema, with
``jsonschema``), and each table against its Camtrap DP table schema (``amurkg.survey.tables``). The
profile and table schemas of Camtrap DP 1.0.2 ship with amurkg (MIT licence, ``camtrap-dp-1.0.2/LICENSE``):
a package that names them by URL is checked against the local copies, so nothing is fetched. Packages of
1.0 and 1.0.1 are read with the 1.0.2 schemas, which only fixed errata. The generic Data Package schema and
GeoJSON schema that the profile refers to are not shipped: what Camtrap DP needs of them (resources with
a name and a relative path, ``spatial`` an object) is checked here.
"""

from __future__ import annotations

import errno
import itertools
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from amurkg import jsonsafe
from amurkg.errors import AmurkgError
from amurkg.survey.tables import (
    Finding,
    Problems,
    Row,
    TableSchema,
    deployment_too_long,
    read_table,
    text_problem,
)

SCHEMAS = Path(__file__).resolve().parent / "camtrap-dp-1.0.2"
TABLES = ("deployments", "media", "observations")
_SCHEMA_URL = re.compile(
    r"https://raw\.githubusercontent\.com/tdwg/camtrap-dp/(1\.0(?:\.1|\.2)?)/(camtrap-dp-profile|"
    r"deployments-table-schema|media-table-schema|observations-table-schema)\.json"
)
#: The largest descriptor read (the example's is 11 kB; a taxonomic list of 10,000 names is about 2 MB).
MAX_DESCRIPTOR = 32 * 1024 * 1024
#: A zip whose members would unpack to more than this (or 200 times their packed size) is refused.
MAX_UNPACKED = 64 * 1024**3


class PackageError(AmurkgError):
    """A data package cannot be read or does not follow its standard; the message lists each problem."""

    def __init__(self, problems: list[str], limited: bool = False) -> None:
        self.problems = problems
        #: whether the list was already cut to the --max-problems limit, the rest counted (``Problems.lines``)
        self.limited = limited
        super().__init__("\n".join(problems))


@cache
def table_schema(name: str) -> TableSchema:
    return TableSchema.from_json(json.loads((SCHEMAS / f"{name}-table-schema.json").read_text("utf-8")))


@dataclass
class CameraTrapPackage:
    """An opened package: its descriptor and the local path of each table."""

    source: Path
    descriptor: dict[str, Any]
    tables: dict[str, Path]
    display: dict[str, str]  # how errors name each table's file
    warnings: list[str] = field(default_factory=list)  # what was kept although doubtful, counted (``rows``)
    #: each table's path inside the package, as its descriptor gives it (POSIX): two tables in different
    #: folders may share a file name (``deployments/data.csv``, ``media/data.csv``)
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def identifier(self) -> str:
        """The package's ``id`` if it has one, else its ``name``, else the folder or zip name."""
        for key in ("id", "name"):
            value = self.descriptor.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return self.source.stem

    @property
    def named(self) -> bool:
        """Whether the descriptor names the package (``id`` or ``name``); else it goes by its folder's name."""
        return any(isinstance(self.descriptor.get(k), str) and self.descriptor[k].strip() for k in ("id", "name"))

    def rows(self, problems: Problems) -> Iterator[tuple[str, int, Row]]:
        """``(table, row number, values)`` of every row without problems, deployments first (foreign keys
        point at them), then media, then observations; problems of all three go into ``problems``.

        Times are checked against each other: a deployment or event that ends before it starts is a
        problem, and so is a media file or an observation outside its deployment's interval, unless the
        deployment says ``timestampIssues`` (Camtrap DP: its media timestamps are known to be wrong, e.g. an
        unknown time zone or an am/pm switch), when it is kept and counted in ``warnings``."""
        keys: dict[str, set[str]] = {}
        times = _Times()
        for name in TABLES:
            rows = read_table(
                self.tables[name], self.display[name], table_schema(name), problems, keys, times.checker(name)
            )
            for number, row in rows:
                yield name, number, row
            if name == "deployments":
                no_deployments(keys, self.display[name], problems)
        self.warnings.extend(times.warnings(self.display))


def no_deployments(keys: dict[str, set[str]], display: str, problems: Problems) -> None:
    """Add the problem of a deployments table read whole that has no row: a package without a deployment has
    nothing to import (its media and observations each name one)."""
    if "deployments" in keys and not keys["deployments"]:
        problems.add(f"{display}:2", "the deployments table has no rows: a package needs at least one deployment")


class _Times:
    """The time checks between rows: each deployment's interval, then media and observations against it."""

    def __init__(self) -> None:
        self.deployments: dict[str, tuple[datetime, datetime, bool]] = {}
        self.outside: dict[str, int] = {"media": 0, "observations": 0}  # kept: their deployment has timestampIssues

    def checker(self, table: str) -> Callable[[Row], Finding | None]:
        return {"deployments": self._deployment, "media": self._media, "observations": self._observation}[table]

    def _deployment(self, row: Row) -> Finding | None:
        start, end = row.get("deploymentStart"), row.get("deploymentEnd")
        if start is None or end is None:
            return None
        if end < start:
            return (
                "deploymentEnd",
                f"{end.isoformat()} is before the deploymentStart {start.isoformat()}: a deployment ends after it "
                "starts; correct the two times (swapped?)",
            )
        if (why := deployment_too_long(start, end)) is not None:
            return "deploymentEnd", why
        self.deployments[row["deploymentID"]] = (start, end, row.get("timestampIssues") is True)
        return None

    def _outside(self, table: str, row: Row, column: str) -> Finding | None:
        """The problem of a time outside its deployment's interval, or None when that deployment says
        timestampIssues (then it is counted)."""
        start, end, issues = self.deployments[row["deploymentID"]]
        if issues:
            self.outside[table] += 1
            return None
        return (  # said once for a deployment: a clock set a year wrong puts every row of it outside
            column,
            f"{row[column].isoformat()} is outside the interval of deployment {row['deploymentID'][:60]!r} "
            f"({start.isoformat()} to {end.isoformat()}): correct the time or the deployment's start and end; "
            "if the camera's clock is known to be wrong, set that deployment's timestampIssues to true",
            f"outside {row['deploymentID']}",
        )

    def _media(self, row: Row) -> Finding | None:
        known = self.deployments.get(row.get("deploymentID", ""))
        if known is None or (value := row.get("timestamp")) is None or known[0] <= value <= known[1]:
            return None
        return self._outside("media", row, "timestamp")

    def _observation(self, row: Row) -> Finding | None:
        if row.get("observationLevel") == "media" and row.get("mediaID") is None:
            # Camtrap DP: a media-based observation is one directly associated with a media file (its mediaID)
            return (
                "mediaID",
                "a media-based observation (observationLevel media) classifies one media file, and this row names "
                "none: give that file's mediaID, or set observationLevel to event if it classifies the whole event",
                "media-based without mediaID",
            )
        start, end = row.get("eventStart"), row.get("eventEnd")
        if start is not None and end is not None and end < start:
            return (
                "eventEnd",
                f"{end.isoformat()} is before the eventStart {start.isoformat()}: an event ends after it starts; "
                "correct the two times (swapped?)",
            )
        known = self.deployments.get(row.get("deploymentID", ""))
        if known is None or start is None or end is None:  # both are required: a missing one was reported
            return None
        # start <= end here, so two comparisons tell whether both are inside (aware datetimes of different
        # offsets compare slowly: this check is on every row)
        if known[0] <= start and end <= known[1]:
            return None
        return self._outside("observations", row, "eventStart" if not known[0] <= start <= known[1] else "eventEnd")

    def warnings(self, display: dict[str, str]) -> list[str]:
        return [
            f"{display[table]}: {n:,} row{'s' if n != 1 else ''} outside {'their' if n != 1 else 'its'} deployment's "
            "interval, kept as given: the deployment says timestampIssues (its clock is known to be wrong)"
            for table, n in self.outside.items()
            if n
        ]


@contextmanager
def open_package(path: Path) -> Iterator[CameraTrapPackage]:
    """Open a Camtrap DP package (a folder holding ``datapackage.json``, the descriptor itself, or a zip of
    them) and check its descriptor; the tables are checked as they are read (``rows``)."""
    path = Path(path)
    if not path.exists():
        raise PackageError([f"{path}: no such file or folder: give a Camtrap DP folder, zip or datapackage.json"])
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="amurkg-package-") as tmp:
            root = _unzip(path, Path(tmp))
            yield _open_folder(root, path, display_base=f"{path}!")
        return
    if path.is_dir():
        yield _open_folder(path, path, display_base="")
    elif path.name.endswith(".json"):  # the descriptor, whatever its name (a Data Package reader takes any)
        yield _open_folder(path.parent, path.parent, display_base="", descriptor_name=path.name)
    elif _starts_as_zip(path):
        raise PackageError(
            [f"{path}: a zip that cannot be read (damaged, or cut short in a download): copy or download it again"]
        )
    else:
        raise PackageError([f"{path}: not a folder, zip or datapackage.json"])


def _starts_as_zip(path: Path) -> bool:
    """Whether ``path`` begins as a zip does (its first local header), whatever its end says."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def check_members(archive: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip holding a member that would land outside the folder it is unpacked into (an absolute
    name, a drive, ``..``, a backslash), a symbolic link, or a name twice (which copy counts is the
    unpacker's choice)."""
    seen: set[str] = set()
    for m in members:
        name = PurePosixPath(m.filename)
        if (
            "\\" in m.filename
            and not re.match(r"^[A-Za-z]:|^\\", m.filename)
            and ".." not in re.split(r"[\\/]", m.filename)
        ):
            raise PackageError(
                [
                    f"{archive}!{m.filename[:120]!r}: has \\ between folders, which a zip may not (some Windows tools "
                    "write them): make the zip again with another tool, or unpack it and give the folder"
                ]
            )
        if (
            name.is_absolute()
            or ".." in name.parts
            or "\\" in m.filename
            or re.match(r"^[A-Za-z]:", m.filename)
            or (m.external_attr >> 28) == 0xA
        ):
            raise PackageError(
                [f"{archive}!{m.filename[:120]!r}: an unsafe member name (absolute, a drive, '..' or a link): refused"]
            )
        if m.filename in seen:
            raise PackageError([f"{archive}!{m.filename[:120]!r}: the zip holds two members of this name: refused"])
        seen.add(m.filename)
        if m.flag_bits & 0x1:
            raise PackageError(
                [f"{archive}!{m.filename[:120]!r}: the member is encrypted: zip the package again without a password"]
            )
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            raise PackageError(
                [
                    f"{archive}!{m.filename[:120]!r}: compressed by method {m.compress_type}, which amurkg does not "
                    "read: zip the package again with the usual compression (deflate)"
                ]
            )


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, its links followed, is inside the folder ``root`` (links followed too)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def _loops(path: Path) -> bool:
    """Whether following the links of ``path`` goes round in a loop."""
    try:
        path.resolve()
    except RuntimeError:  # Python 3.11 and 3.12 say a loop so
        return True
    except OSError as exc:  # Python 3.13 says ELOOP
        return exc.errno == errno.ELOOP
    return False


def _unzip(archive: Path, into: Path) -> Path:
    """Extract a zip safely: no member outside ``into``, no links, bounded size; the folder holding
    ``datapackage.json`` (at the top or one level down)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            packed = sum(m.compress_size for m in members)
            unpacked = sum(m.file_size for m in members)
            if unpacked > MAX_UNPACKED or unpacked > 200 * max(packed, 1) + 10_000_000:
                raise PackageError([f"{archive}: the zip would unpack to {unpacked:,} bytes: refused as a zip bomb"])
            check_members(archive, members)
            zf.extractall(into)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # a bad CRC, damaged data, a cut file
        if isinstance(exc, OSError) and exc.errno is not None:  # the disk, not the zip (bz2 and lzma say no errno)
            raise
        raise PackageError([f"{archive}: not a readable zip: {' '.join(str(exc).split())[:120]}"]) from None
    if (into / "datapackage.json").is_file():
        return into
    found = sorted(into.glob("*/datapackage.json"))
    if len(found) == 1:
        return found[0].parent
    if found:
        named = ", ".join(repr(f.relative_to(into).as_posix()) for f in found[:3]) + (", ..." if len(found) > 3 else "")
        raise PackageError(
            [f"{archive}: holds {len(found)} packages ({named}): import one at a time, each zipped or as its folder"]
        )
    raise PackageError([f"{archive}: no datapackage.json at the top of the zip (or in one folder inside it)"])


def _open_folder(
    root: Path, source: Path, display_base: str, descriptor_name: str = "datapackage.json"
) -> CameraTrapPackage:
    descriptor_path = root / descriptor_name
    shown = f"{display_base}{descriptor_name}" if display_base else str(descriptor_path)
    if not descriptor_path.is_file():
        raise PackageError([f"{source}: no datapackage.json: a Camtrap DP package needs its descriptor"])
    if not inside(root, descriptor_path):
        raise PackageError([f"{shown}: a link to a file outside the package: refused; copy the file into the package"])
    if descriptor_path.stat().st_size > MAX_DESCRIPTOR:
        raise PackageError([f"{shown}: larger than {MAX_DESCRIPTOR:,} bytes: not a package descriptor"])
    with descriptor_path.open("rb") as handle:
        raw = handle.read(MAX_DESCRIPTOR + 1)
    try:  # bounded in size and depth, a key twice is an error: amurkg.jsonsafe
        descriptor = jsonsafe.loads(shown, raw, MAX_DESCRIPTOR)
    except jsonsafe.JsonError as exc:
        raise PackageError([str(exc)]) from None
    if not isinstance(descriptor, dict):
        raise PackageError([f"{shown}:1:1: the descriptor must be a JSON object"])
    problems = check_descriptor(descriptor, shown)
    tables: dict[str, Path] = {}
    display: dict[str, str] = {}
    paths: dict[str, str] = {}
    named: set[str] = set()  # tables a resource names, read or not
    first: dict[str, int] = {}  # each resource name, at its first resource
    for index, resource in enumerate(descriptor.get("resources") or []):
        if isinstance(resource, dict) and isinstance(resource.get("name"), str):
            if resource["name"] in first:  # readers disagree on which counts: the last one won the hash check
                problems.append(
                    f"{shown}: resources[{index}] ({resource['name'][:60]}): resources[{first[resource['name']]}] "
                    "has this name already: a Data Package's resource names are unique; remove or rename one"
                )
                continue
            first[resource["name"]] = index
        if not isinstance(resource, dict) or resource.get("name") not in TABLES:
            continue
        name = resource["name"]
        named.add(name)
        where = f"{shown}: resources[{index}] ({name})"
        rel = resource.get("path")
        if isinstance(rel, list) and len(rel) == 1:
            rel = rel[0]
        if not isinstance(rel, str) or not rel:
            problems.append(f"{where}: 'path' must name one CSV file of the package")
            continue
        if (why := text_problem("id", rel)) is not None:  # it names the file in every message: printable only
            problems.append(f"{where}: the path {why}")
            continue
        if re.match(r"^[a-zA-Z]:[\\/]|^\\\\", rel):
            problems.append(
                f"{where}: the path {rel!r} is a Windows path: a resource's path is relative to the package, with "
                "/ between folders (media.csv, data/media.csv)"
            )
            continue
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", rel):
            problems.append(f"{where}: the path {rel!r} is a URL: amurkg reads local files only; download it first")
            continue
        if "\\" in rel:
            problems.append(
                f"{where}: the path {rel!r} has \\ between folders: a Data Package path has / "
                f"({rel.replace(chr(92), '/')!r})"
            )
            continue
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            problems.append(f"{where}: the path {rel!r} leaves the package folder")
            continue
        file = root / pure
        if file.is_symlink() and _loops(file):
            problems.append(f"{where}: {rel} is a link in a loop of links: it leads to no file")
            continue
        if (file.exists() or file.is_symlink()) and not inside(root, file):
            # never read: its content is not the package's, so no message may show it
            problems.append(f"{where}: {rel} is a link to a file outside the package: refused; copy the file in")
            continue
        if not file.is_file():
            there = file.exists() or file.is_symlink()
            problems.append(f"{where}: {rel} is {'not a regular file' if there else 'not in the package'}")
            continue
        if resource.get("encoding", "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
            problems.append(f"{where}: encoding {resource['encoding']!r}: Camtrap DP tables are UTF-8")
            continue
        schema = resource.get("schema")
        if isinstance(schema, str):
            match = _SCHEMA_URL.fullmatch(schema)
            if not match or match.group(2) != f"{name}-table-schema":
                problems.append(
                    f"{where}: schema {schema!r} is not a Camtrap DP 1.0 {name} table schema URL "
                    f"(https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/{name}-table-schema.json)"
                )
                continue
        declared = _declared_size_and_hash(resource, f"{shown}: $.resources[{index}]", name, rel, file)
        if declared:
            problems.extend(declared)
            continue
        tables[name] = file
        display[name] = f"{display_base}{rel}" if display_base else str(file)
        paths[name] = pure.as_posix()
    for name in TABLES:
        if name not in named:
            problems.append(
                f"{shown}: no '{name}' resource: a Camtrap DP package has deployments, media and observations"
            )
    if problems:
        raise PackageError(problems)
    return CameraTrapPackage(source, descriptor, tables, display, paths=paths)


#: The hashes a Data Package may declare (``"algorithm:hex"``; bare hex is MD5), and their lengths in hex.
_HASHES = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}


def _declared_size_and_hash(resource: dict[str, Any], where: str, name: str, rel: str, file: Path) -> list[str]:
    """Problems of a table file against the ``bytes`` and ``hash`` its resource declares (Data Package
    v1): nothing is checked that is not declared."""
    import hashlib

    problems = []
    size = resource.get("bytes")
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(f"{where}.bytes ({name}): {str(size)[:40]!r} is not a size in bytes: write a whole number")
        elif size != (actual := file.stat().st_size):
            problems.append(
                f"{where}.bytes ({name}): {rel} has {actual:,} bytes, the descriptor declares {size:,}: the file "
                "was changed or cut short; restore it, or correct 'bytes'"
            )
    declared = resource.get("hash")
    if declared is not None:
        algorithm, _, digest = declared.rpartition(":") if isinstance(declared, str) else ("", "", "")
        algorithm = algorithm.lower() or "md5"
        if algorithm not in _HASHES or not re.fullmatch(rf"[0-9a-fA-F]{{{_HASHES.get(algorithm, 0)}}}", digest):
            problems.append(
                f"{where}.hash ({name}): {str(declared)[:80]!r} is not a hash amurkg can check: write 'md5:HEX', "
                "'sha1:HEX', 'sha256:HEX' or 'sha512:HEX'"
            )
        else:
            computed = hashlib.new(algorithm)
            with file.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    computed.update(chunk)
            if computed.hexdigest() != digest.lower():
                problems.append(
                    f"{where}.hash ({name}): the {algorithm} of {rel} is {computed.hexdigest()}, the descriptor "
                    f"declares {digest.lower()}: the file was changed or damaged; restore it, or correct 'hash'"
                )
    return problems


@cache
def _profile_validator() -> Any:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    profile = json.loads((SCHEMAS / "camtrap-dp-profile.json").read_text("utf-8"))
    profile["$defs"]["version"] = {"pattern": r"/1\.0(\.1|\.2)?/"}
    # the Data Package schema (not shipped, so not read) makes 'created' a date-time (RFC 3339)
    profile["allOf"][1]["properties"]["created"].update({"type": "string", "format": "date-time"})
    # the formats the profile declares are checked (jsonschema only notes them unless given a checker, and its
    # own checkers depend on which optional packages are installed): the same on every machine
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("date")(_is_date)
    formats.checks("date-time")(_is_date_time)
    permissive = Resource.from_contents({}, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resources(
        [
            ("https://specs.frictionlessdata.io/schemas/data-package.json", permissive),
            ("http://json.schemastore.org/geojson.json", permissive),
        ]
    )
    cls = jsonschema.validators.validator_for(profile)
    return cls(profile, registry=registry, format_checker=formats)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


#: How messages name the formats the profile declares.
_FORMATS = {
    "date": "a date as YYYY-MM-DD (such as 2020-05-21)",
    "date-time": "a date and time as RFC 3339 writes it (such as 2023-02-06T11:23:03Z)",
}


def _is_date(value: Any) -> bool:
    """Whether ``value`` is a day of the calendar as ISO 8601 writes it (YYYY-MM-DD); a value of another type is
    the type check's to refuse."""
    if not isinstance(value, str):
        return True
    try:
        return bool(_DATE.fullmatch(value)) and date.fromisoformat(value) is not None
    except ValueError:
        return False


def _is_date_time(value: Any) -> bool:
    """Whether ``value`` is a date and time as RFC 3339 writes it (2023-02-06T11:23:03Z), its offset left out
    too (some tools write none)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        day, clock = value[:10], value[11:19]
        date.fromisoformat(day)
        hour, minute, second = (int(part) for part in clock.split(":"))
        offset = value[19:].lstrip(".0123456789").upper()
        if offset not in ("", "Z") and not (int(offset[1:3]) <= 23 and int(offset[4:6]) <= 59):
            return False
        return hour <= 23 and minute <= 59 and second <= 60  # 60: a leap second
    except ValueError:
        return False


def json_path(path: str, part: str | int) -> str:
    """``path`` extended by a key or index, as messages show it: a key that is not a plain name is quoted
    with its characters escaped, so no key of a package can put a line break or escape sequence in one."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,59}", part):
        return f"{path}.{part}"
    return f"{path}[{part[:60]!a}]"


def _text_problems(descriptor: dict[str, Any], shown: str, told: set[str]) -> list[str]:
    """Control characters in the descriptor's text: its ``id`` and ``name`` and the taxa's names and IDs are
    identifiers (printable characters only), every other string and key is free text (no control
    characters but tabs and line breaks). Walked without recursion: the depth is bounded, but not by much. The
    path of each value told of goes into ``told``."""
    problems: list[str] = []
    stack: list[tuple[str, Any]] = [("$", descriptor)]
    while stack and len(problems) < 20:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if (why := text_problem("id", key)) is not None:
                    problems.append(f"{shown}: {path}: the key {why}")
                stack.append((json_path(path, key), item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, str):
            identifier = path in ("$.id", "$.name") or re.fullmatch(
                r"\$\.taxonomic\[\d+\]\.(scientificName|taxonID)", path
            )
            if (why := text_problem("id" if identifier else "free", value)) is not None:
                problems.append(f"{shown}: {path}: {why}")
                told.add(path)
    return sorted(problems)


def check_descriptor(descriptor: dict[str, Any], shown: str) -> list[str]:
    """Problems of a descriptor against the Camtrap DP profile (and the Data Package basics), each with the
    JSON path of the value."""
    problems = []
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not resources:
        problems.append(f"{shown}: $.resources: must be a list of the package's tables")
    profile = descriptor.get("profile")
    if not (isinstance(profile, str) and _SCHEMA_URL.fullmatch(profile) and profile.endswith("profile.json")):
        problems.append(
            f"{shown}: $.profile: {profile!r} is not a Camtrap DP 1.0 profile URL "
            "(https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/camtrap-dp-profile.json)"
        )
    # a value with a control character is told that once: not also that it is no date or none of a list
    told: set[str] = set()
    problems.extend(_text_problems(descriptor, shown, told))
    # in the descriptor's order: resources[2] before resources[10]
    errors = sorted(
        itertools.islice(_profile_validator().iter_errors(descriptor), 10_000),
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path],
    )
    for error in errors:
        path = "$"
        for part in error.absolute_path:
            path = json_path(path, part)
        if path in told and error.validator in ("format", "enum", "pattern"):
            continue
        message = _profile_message(error)
        message = message if len(message) < 300 else message[:297] + "..."
        problems.append(f"{shown}: {path}: {message}")
    return problems


def _json_value(value: Any, most: int = 60) -> str:
    """A descriptor's value as JSON writes it (not as Python's repr), cut short."""
    text = json.dumps(value, ensure_ascii=False, default=str)  # JSON escapes C0 controls only: the others too
    text = "".join(
        c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in text
    )
    return text if len(text) <= most else text[: most - 3] + "..."


def _profile_message(error: Any) -> str:
    """What a profile check found, in JSON's words: jsonschema's own messages show Python's reprs ({'a': 1},
    True, None) of the value."""
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "enum" and isinstance(expected, list):
        return f"{_json_value(value)} is not one of {', '.join(_json_value(v) for v in expected)}"
    if kind == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"{_json_value(value)} is not {' or '.join(('an ' if k[0] in 'aeiou' else 'a ') + k for k in kinds)}"
    if kind == "required" and isinstance(value, dict) and isinstance(expected, list):
        missing = [k for k in expected if k not in value]
        return f"{', '.join(_json_value(k) for k in missing)} {'is' if len(missing) == 1 else 'are'} required here"
    if kind == "format" and expected == "date" and isinstance(value, str) and _DATE.fullmatch(value):
        return f"{_json_value(value)} names no day of the calendar: write the day meant, as YYYY-MM-DD"
    if kind == "format" and expected in _FORMATS:
        return f"{_json_value(value)} is not {_FORMATS[expected]}"
    if kind == "additionalProperties" and isinstance(value, dict):
        return str(error.message).replace("'", '"')  # names of properties only
    shown = repr(value)
    message = str(error.message)
    return _json_value(value) + message[len(shown) :] if message.startswith(shown) else message
