"""One cause, one line: a package with a single fault is told that fault once, at its place, in the words of
the file rather than of Python, never buried under the problems it sets off in the rows after it. Found by
reviewers who imported damaged packages as users make them (a spreadsheet saved with semicolons, a header
with a stray space, an empty deployments table, the same unknown ID on every row, a 10,000-year deployment).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_packages import (
    _DWC_COLUMNS,
    DWC,
    copy_small,
    meta_xml,
    read_archive,
    read_rows,
    table_rows,
    write_archive,
    write_rows,
)
from test_survey import SMALL, run

HEALTH = [HealthCheck.function_scoped_fixture]
TABLES = ["deployments.csv", "media.csv", "observations.csv"]
#: what Python's own messages look like: none may reach a user
_PYTHON_WORDING = re.compile(r"timedelta|Exceeds the limit|field limit|isoformat|Traceback|Error\b")


def _plain(lines: list[str]) -> None:
    for line in lines:
        assert not _PYTHON_WORDING.search(line), line


# ====================================================================== Camtrap DP tables


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(file=st.sampled_from(TABLES), separator=st.sampled_from([";", "\t", "|"]))
def test_a_table_separated_otherwise_is_one_line_naming_the_separator(
    tmp_path_factory: pytest.TempPathFactory, file: str, separator: str
) -> None:
    """A table saved with semicolons (a spreadsheet in a comma-decimal locale), tabs or bars: one line at its
    header naming the separator, not one "missing column" line per required column."""
    package = copy_small(tmp_path_factory.mktemp("sep"))
    rows = table_rows(package / file)
    (package / file).write_text(
        "\r\n".join(separator.join(c.replace(",", " ") for c in cells) for cells in rows) + "\r\n", "utf-8"
    )
    found, _, _ = read_rows(package)
    assert len(found) == 1, found
    assert found[0].startswith(f"{package / file}:1: ") and f"separated by {separator!r}" in found[0], found


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(
    target=st.sampled_from(
        [
            ("deployments.csv", "deploymentID"),
            ("deployments.csv", "deploymentStart"),
            ("media.csv", "mediaID"),
            ("media.csv", "timestamp"),
            ("observations.csv", "observationID"),
            ("observations.csv", "observationType"),
        ]
    ),
    before=st.sampled_from(["", " ", "  ", "\t"]),
    after=st.sampled_from(["", " ", "\t "]),
    case=st.sampled_from([str, str.lower, str.upper, str.title]),
)
def test_a_required_column_named_with_spaces_or_another_case_is_named_with_its_fix(
    tmp_path_factory: pytest.TempPathFactory, target: tuple[str, str], before: str, after: str, case: object
) -> None:
    """'deploymentID ' or 'DeploymentId' for deploymentID: the one problem says which column it is and to rename
    it, rather than that the column is missing with no clue."""
    file, column = target
    written = before + case(column) + after  # type: ignore[operator]
    if written == column:
        return
    package = copy_small(tmp_path_factory.mktemp("near"))
    rows = table_rows(package / file)
    index = rows[0].index(column)
    rows[0][index] = written
    write_rows(package / file, rows)
    found, _, _ = read_rows(package)
    assert found == [
        f"{package / file}:1: missing required column {column!r}: column {index + 1} is {written!r}: rename it "
        f"{column!r} (names are exact, spaces and case count)"
    ]


@settings(max_examples=10, deadline=None, suppress_health_check=HEALTH)
@given(blank_lines=st.integers(0, 3))
def test_an_empty_deployments_table_is_said_once_per_file(
    tmp_path_factory: pytest.TempPathFactory, blank_lines: int
) -> None:
    """A deployments table with its header only: one line for it, one for each table pointing at it (with the
    count of its rows), where there was one foreign-key problem per row of media and observations."""
    package = copy_small(tmp_path_factory.mktemp("empty"))
    header = (package / "deployments.csv").read_text("utf-8").splitlines()[0]
    (package / "deployments.csv").write_text(header + "\r\n" * (1 + blank_lines), "utf-8")
    media, observations = (len(table_rows(package / f)) - 1 for f in ("media.csv", "observations.csv"))
    found, _, _ = read_rows(package)
    assert found == [
        f"{package / 'deployments.csv'}:2: the deployments table has no rows: a package needs at least one deployment",
        f"{package / 'media.csv'}:2:2 (deploymentID): deployments has no rows, so no row can name its deploymentID: "
        f"add them (the same in {media - 1} more row{'s' if media != 2 else ''})",
        f"{package / 'observations.csv'}:2:2 (deploymentID): deployments has no rows, so no row can name its "
        f"deploymentID: add them (the same in {observations - 1} more rows)",
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(
    wrong=st.dictionaries(st.integers(2, 12), st.sampled_from(["DX", "D9", "d1"]), min_size=1, max_size=11),
)
def test_an_unknown_id_repeated_is_one_line_with_its_count(
    tmp_path_factory: pytest.TempPathFactory, wrong: dict[int, str]
) -> None:
    """The same unknown deploymentID on many observation rows: one line per distinct value, at its first row,
    with how many more rows repeat it; two different unknown values are two lines."""
    package = copy_small(tmp_path_factory.mktemp("fk"))
    rows = table_rows(package / "observations.csv")
    column = rows[0].index("deploymentID")
    for row, value in wrong.items():
        rows[row - 1][column] = value
    write_rows(package / "observations.csv", rows)
    found, _, _ = read_rows(package)
    expected = []
    for value in dict.fromkeys(v for _, v in sorted(wrong.items())):
        places = sorted(r for r, v in wrong.items() if v == value)
        more = len(places) - 1
        expected.append(
            f"{package / 'observations.csv'}:{places[0]}:{column + 1} (deploymentID): {value!r} is not the "
            "deploymentID of any row of deployments: add it there or fix this one"
            + (f" (the same in {more} more row{'s' if more != 1 else ''})" if more else "")
        )
    assert found == expected


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(days=st.one_of(st.integers(10, 3653), st.integers(3654, 3_000_000)), seconds=st.integers(0, 86399))
def test_a_deployment_longer_than_ten_years_is_refused_at_its_end(
    tmp_path_factory: pytest.TempPathFactory, days: int, seconds: int
) -> None:
    """A mistyped year (a deployment of 10,000 years) is refused where its end is; ten years or less is read."""
    from datetime import datetime, timedelta

    package = copy_small(tmp_path_factory.mktemp("long"))
    rows = table_rows(package / "deployments.csv")
    start = datetime.fromisoformat(rows[1][rows[0].index("deploymentStart")])
    if start.year + days // 365 > 9990:
        return
    end = start + timedelta(days=days, seconds=seconds)
    rows[1][rows[0].index("deploymentEnd")] = end.isoformat()
    write_rows(package / "deployments.csv", rows)
    found, _, _ = read_rows(package)
    if days * 86400 + seconds <= 3653 * 86400:
        assert found == [], found
        return
    assert found == [
        f"{package / 'deployments.csv'}:2:8 (deploymentEnd): the deployment lasts {days:,} days, more than the ten "
        "years amurkg reads for one placement of a camera: check the years of its start and end"
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(
    hours=st.integers(0, 99),
    minutes=st.integers(0, 99),
    sign=st.sampled_from("+-"),
    colon=st.booleans(),
    column=st.sampled_from([("media.csv", "timestamp"), ("deployments.csv", "deploymentStart")]),
)
def test_an_impossible_utc_offset_is_said_in_plain_words(
    tmp_path_factory: pytest.TempPathFactory, hours: int, minutes: int, sign: str, colon: bool, column: tuple[str, str]
) -> None:
    """+25:00 or +10:75: one problem at the cell saying what an offset may be, never Python's timedelta bounds."""
    if hours <= 23 and minutes <= 59:
        return
    file, name = column
    package = copy_small(tmp_path_factory.mktemp("offset"))
    rows = table_rows(package / file)
    index = rows[0].index(name)
    offset = f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    rows[1][index] = rows[1][index][:19] + offset
    write_rows(package / file, rows)
    found, _, _ = read_rows(package)
    _plain(found)
    assert found == [
        f"{package / file}:2:{index + 1} ({name}): {rows[1][index]!r} is not a real date and time: the hours of a "
        f"UTC offset run 00 to 23 and its minutes 00 to 59, not {offset}"
    ]


@settings(max_examples=20, deadline=None, suppress_health_check=HEALTH)
@given(digits=st.integers(400, 6000), integer=st.booleans())
def test_a_number_of_thousands_of_digits_is_refused_in_plain_words(
    tmp_path_factory: pytest.TempPathFactory, digits: int, integer: bool
) -> None:
    """5,000 digits in a count (Python refuses to convert more than 4,300) or in a coordinate (a float of
    infinity): one plain problem at the cell."""
    file, name = ("observations.csv", "count") if integer else ("deployments.csv", "cameraHeight")
    package = copy_small(tmp_path_factory.mktemp("digits"))
    rows = table_rows(package / file)
    index = rows[0].index(name)
    rows[1][index] = "9" * digits
    write_rows(package / file, rows)
    found, _, _ = read_rows(package)
    _plain(found)
    assert len(found) == 1 and found[0].startswith(f"{package / file}:2:{index + 1} ({name}): '999"), found
    assert ("64-bit integer" if integer else "too large a number") in found[0], found


def test_a_cell_past_the_size_read_says_a_quote_may_be_open(tmp_path: Path) -> None:
    """A quote left open swallows the rest of the file into one cell: the problem says so, not Python's csv
    module's "field larger than field limit"."""
    package = copy_small(tmp_path)
    text = (package / "observations.csv").read_text("utf-8").splitlines()
    text[3] = text[3].replace(",", ',"', 1)
    (package / "observations.csv").write_text("\r\n".join([*text, "x" * 140_000]) + "\r\n", "utf-8")
    found, _, _ = read_rows(package)
    _plain(found)
    assert len(found) == 1 and "is a quote left open" in found[0] and "observations.csv:4" in found[0], found


# ====================================================================== Darwin Core Archives


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    skip=st.one_of(
        st.text(min_size=1, max_size=8).filter(lambda t: not re.fullmatch(r"\s*[0-9]{1,4}\s*", t)),
        st.integers(1001, 10**30).map(str),
    )
)
def test_ignore_header_lines_that_is_not_a_number_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, skip: str
) -> None:
    """ignoreHeaderLines='abc' (read as 0, the header then a row of data) or a huge one: refused at meta.xml."""
    from xml.sax.saxutils import quoteattr

    names = [t for t, _ in _DWC_COLUMNS]
    meta = meta_xml([(t, i) for i, t in enumerate(names)]).replace(
        'ignoreHeaderLines="1"', f"ignoreHeaderLines={quoteattr(skip)}"
    )
    folder = write_archive(tmp_path_factory.mktemp("dw") / "a", meta=meta)
    found = read_archive(folder)
    if skip.strip() == "" or any(not c.isprintable() for c in skip):
        assert len(found) == 1, found  # XML normalises some characters away; still one line
        return
    assert found == [
        f"{folder}/meta.xml: ignoreHeaderLines={skip.strip()[:20]!r} is not a number of header lines (0 to 1000): "
        "give 1 for a file with a header row, 0 for one without"
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(rows=st.integers(0, 8), skip=st.integers(0, 1000))
def test_an_archive_with_no_rows_after_its_header_lines_is_refused(
    tmp_path_factory: pytest.TempPathFactory, rows: int, skip: int
) -> None:
    """A header-only core, or one whose ignoreHeaderLines skips every row, imported as an empty package: now one
    line saying there is nothing to import; an archive with rows left after its header lines reads."""
    names = [t for t, _ in _DWC_COLUMNS]
    meta = meta_xml([(t, i) for i, t in enumerate(names)]).replace(
        'ignoreHeaderLines="1"', f'ignoreHeaderLines="{skip}"'
    )
    folder = tmp_path_factory.mktemp("dw") / "a"
    if rows:
        write_archive(folder, meta=meta, n=rows)
    else:
        write_archive(folder, rows=[], meta=meta)
    found = read_archive(folder)
    lines = rows + 1  # the header too
    if skip == 0:  # the header is then a row: its values are not an occurrence's
        assert found, found
    elif skip < lines:
        assert found == [], found
    else:
        assert found == [
            f"{folder}/occurrence.txt:{lines + 1}: no occurrence rows after the {skip:,} "
            f"line{'s' if skip != 1 else ''} ignoreHeaderLines skips: there is nothing to import"
        ]


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(term=st.sampled_from([t for t, _ in _DWC_COLUMNS]), second=st.integers(0, 20), namespace=st.booleans())
def test_a_term_declared_twice_is_refused(
    tmp_path_factory: pytest.TempPathFactory, term: str, second: int, namespace: bool
) -> None:
    """Two fields of one term (only one of them would be read, in silence): one line naming them."""
    names = [t for t, _ in _DWC_COLUMNS]
    other = ("http://example.org/terms/" if namespace else DWC) + term
    extra = f'<field index="{second}" term="{other}"/>'
    folder = write_archive(
        tmp_path_factory.mktemp("dw") / "a", meta=meta_xml([(t, i) for i, t in enumerate(names)], extra=extra)
    )
    found = read_archive(folder)
    said = f"{DWC + term!r} is declared twice" if not namespace else f"{DWC + term!r} and {other!r} are both declared"
    assert found == [f"{folder}/meta.xml: {said}: amurkg reads a term from one column; remove one of the two fields"]


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(char=st.characters(min_codepoint=0x7F, max_codepoint=0x9F), at=st.integers(0, 5))
def test_a_control_character_in_the_eml_title_is_refused(
    tmp_path_factory: pytest.TempPathFactory, char: str, at: int
) -> None:
    """eml.xml's title is shown and stored as datapackage.json's is: the same control characters are refused
    (XML 1.0 refuses the C0 controls itself, but lets DEL and the C1 controls through)."""
    folder = write_archive(tmp_path_factory.mktemp("dw") / "a")
    title = "small"[:at] + f"&#{ord(char)};" + "small"[at:]
    (folder / "eml.xml").write_text(f"<eml><dataset><title>{title}</title></dataset></eml>", "utf-8")
    found = read_archive(folder)
    if char.isspace():  # NEL (U+0085) is white space: a title's runs of white space are one space
        assert found == [], found
        return
    assert len(found) == 1 and found[0].startswith(f"{folder}/eml.xml: the dataset's title "), found
    assert f"U+{ord(char):04X} (a control character) at character {min(at, 5) + 1}" in found[0], found


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(years=st.integers(11, 5000), row=st.integers(1, 6))
def test_an_archive_deployment_longer_than_ten_years_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, years: int, row: int
) -> None:
    """A samplingEffort of centuries, repeated on every occurrence of its deployment: said once, at its first."""
    names = [t for t, _ in _DWC_COLUMNS]
    rows = [[value(k) for _, value in _DWC_COLUMNS] for k in range(1, 7)]
    effort = names.index("samplingEffort")
    parent = names.index("parentEventID")
    long = f"2023-01-01T00:00:00+10:00/{2023 + years}-01-11T00:00:00+10:00"
    for cells in rows:
        if cells[parent] == rows[row - 1][parent]:
            cells[effort] = long
    folder = write_archive(tmp_path_factory.mktemp("dw") / "a", rows)
    found = read_archive(folder)
    first = next(k for k in range(1, 7) if rows[k - 1][parent] == rows[row - 1][parent])
    assert len(found) == 1, found
    assert found[0].startswith(
        f"{folder}/occurrence.txt:{first + 1}:{effort + 1} (samplingEffort): the deployment lasts "
    )
    assert found[0].endswith("check the years of its start and end (the same in 2 more rows)"), found


# ====================================================================== the command line


def test_a_line_break_in_the_package_path_stays_inside_its_problem_line(tmp_path: Path) -> None:
    """A folder named with a line break: each problem is still one line on stderr, the break shown as \\x0a."""
    import shutil

    package = tmp_path / "survey\nsecond"
    shutil.copytree(SMALL, package)
    rows = table_rows(package / "deployments.csv")
    rows[0][0] = "deploymentID "
    write_rows(package / "deployments.csv", rows)
    result = run("import", str(package), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amurkg: error: ") and "survey\\x0asecond" in lines[0], lines


def test_a_taxon_correction_for_a_name_no_observation_records_is_refused(tmp_path: Path) -> None:
    """update-taxon --name Nope used to record a correction that could apply to nothing, and exit 0."""
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    result = run(
        "survey",
        "update-taxon",
        "--store",
        str(store),
        "--name",
        "Panthera pardus nope",
        "--taxon",
        "Lynx lynx",
        "--why",
        "x",
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "amurkg: error: no observation records the scientific name 'Panthera pardus nope': a correction names a "
        "name as recorded; amurkg survey names lists them"
    ]
    listed = run("survey", "corrections", "--store", str(store))
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 1, listed.stdout  # the header only
    names = table_rows(SMALL / "observations.csv")
    recorded = next(c[names[0].index("scientificName")] for c in names[1:] if c[names[0].index("scientificName")])
    ok = run(
        "survey",
        "update-taxon",
        "--store",
        str(store),
        "--name",
        f"  {recorded.upper()} ",
        "--taxon",
        "Lynx lynx",
        "--why",
        "x",
    )
    assert ok.exit_code == 0, ok.stderr


# ====================================================================== descriptors, links and zips


def _descriptor_with(package: Path, change: Callable[[dict[str, Any]], None]) -> None:
    import json

    descriptor = json.loads((package / "datapackage.json").read_text("utf-8"))
    change(descriptor)
    (package / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")


def _set_path(path: str) -> Callable[[dict[str, Any]], None]:
    def change(descriptor: dict[str, Any]) -> None:
        next(r for r in descriptor["resources"] if r["name"] == "media")["path"] = path

    return change


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    drive=st.sampled_from(["C:", "d:", "Z:", "\\\\server\\share"]),
    parts=st.lists(st.sampled_from(["data", "survey 2023", "m\u00e9dia"]), max_size=3),
    slash=st.sampled_from(["\\", "/"]),
)
def test_a_windows_path_in_the_descriptor_is_named_as_one(
    tmp_path_factory: pytest.TempPathFactory, drive: str, parts: list[str], slash: str
) -> None:
    """C:\\data\\media.csv was "a URL" (its drive read as a scheme); a relative path with backslashes was "not in
    the package". Each is one line saying what a Data Package path is."""
    package = copy_small(tmp_path_factory.mktemp("win"))
    relative = "\\".join([*parts, "media.csv"])
    absolute = drive + ("\\" if drive.startswith("\\") else slash) + relative
    for written, words in ((absolute, "is a Windows path"), (relative, "has \\ between folders")):
        if words.startswith("has") and "\\" not in written:
            continue
        _descriptor_with(package, _set_path(written))
        found, _, _ = read_rows(package)
        assert len(found) == 1 and found[0].startswith(f"{package / 'datapackage.json'}: resources[1] (media): ")
        assert f"the path {written!r} {words}" in found[0], found
        assert "URL" not in found[0], found


@pytest.mark.parametrize("links", [["media.csv"], ["a.csv", "media.csv"], ["a.csv", "b.csv", "media.csv"]])
def test_a_loop_of_links_is_named_as_one(tmp_path: Path, links: list[str]) -> None:
    """media.csv -> a.csv -> media.csv was "a link to a file outside the package"."""
    package = copy_small(tmp_path)
    (package / "media.csv").unlink()
    for here, there in zip(links, [*links[1:], links[0]], strict=True):
        (package / here).symlink_to(there)
    found, _, _ = read_rows(package)
    assert found == [
        f"{package / 'datapackage.json'}: resources[1] (media): media.csv is a link in a loop of links: it leads to no "
        "file"
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(keep=st.floats(0.05, 0.95))
def test_a_zip_cut_short_is_said_to_be_damaged(tmp_path_factory: pytest.TempPathFactory, keep: float) -> None:
    """A download cut short: "not a folder, zip or datapackage.json" said the wrong thing."""
    import zipfile

    base = tmp_path_factory.mktemp("zip")
    whole = base / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(SMALL.iterdir()):
            archive.write(file, file.name)
    data = whole.read_bytes()
    cut = base / "survey.zip"
    cut.write_bytes(data[: max(30, int(len(data) * keep))])
    found, _, _ = read_rows(cut)
    assert found == [
        f"{cut}: a zip that cannot be read (damaged, or cut short in a download): copy or download it again"
    ]


_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(value=_JSON_VALUES, where=st.sampled_from(["role", "samplingDesign", "created"]))
def test_a_profile_problem_shows_the_value_as_json(
    tmp_path_factory: pytest.TempPathFactory, value: object, where: str
) -> None:
    """The profile check's messages showed Python's reprs ({'a': [1, True, None]} is not one of ['contact', ...]);
    they now show the value as the descriptor has it, in JSON."""
    import json

    def change(descriptor: dict[str, Any]) -> None:
        if where == "role":
            descriptor["contributors"][0]["role"] = value
        elif where == "samplingDesign":
            descriptor["project"]["samplingDesign"] = value
        else:
            descriptor["created"] = value

    package = copy_small(tmp_path_factory.mktemp("profile"))
    _descriptor_with(package, change)
    found, _, _ = read_rows(package)
    profile = [line for line in found if ": $." in line and "holds U+" not in line]
    for line in profile:
        assert line.isprintable(), line
        outside_strings = re.sub(
            r'"(?:[^"\\]|\\.)*"', '""', line.split(": $.", 1)[1]
        )  # JSON's strings may say anything
        assert not re.search(r"\b(True|False|None)\b|\{'|\['", outside_strings), line  # Python's reprs
    shown = json.dumps(value, ensure_ascii=False)
    if profile and shown.isprintable() and len(shown) <= 60 and not isinstance(value, str):
        assert any(f": {shown} is not" in line for line in profile), (profile, shown)


def test_a_descriptor_of_another_name_is_read(tmp_path: Path) -> None:
    """survey.json given as the package: read as its descriptor (a Data Package reader takes any), where amurkg
    looked for datapackage.json beside it and said '.: no datapackage.json'."""
    package = copy_small(tmp_path)
    (package / "datapackage.json").rename(package / "survey.json")
    found, _, count = read_rows(package / "survey.json")
    assert found == [] and count > 0
    (package / "survey.json").write_text('{"name": [', "utf-8")
    found, _, _ = read_rows(package / "survey.json")
    assert len(found) == 1 and found[0].startswith(f"{package / 'survey.json'}:1:"), found


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(
    index=st.sampled_from(["\u00b2", "\u0663", "\uff11", "1\u00b9", "-1", "1.0", " 1", "9999999"]), on_id=st.booleans()
)
def test_a_column_index_that_is_not_ascii_digits_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, index: str, on_id: bool
) -> None:
    """Found by a reviewer: index="²" passed str.isdigit() and int() raised: a traceback, exit 1."""
    from xml.sax.saxutils import quoteattr

    names = [t for t, _ in _DWC_COLUMNS]
    meta = meta_xml([(t, i) for i, t in enumerate(names)])
    if on_id:
        meta = meta.replace('<id index="0"/>', f"<id index={quoteattr(index)}/>")
    else:
        meta = meta.replace(f'index="2" term="{DWC}{names[2]}"', f'index={quoteattr(index)} term="{DWC}{names[2]}"')
    folder = write_archive(tmp_path_factory.mktemp("dw") / "a", meta=meta)
    found = read_archive(folder)
    assert len(found) == 1 and found[0].startswith(f"{folder}/meta.xml: ") and "not a column number" in found[0], found


@settings(max_examples=20, deadline=None, suppress_health_check=HEALTH)
@given(titles=st.integers(1, 4), width=st.integers(1, 3))
def test_header_lines_of_another_width_are_skipped_before_the_width_is_read(
    tmp_path_factory: pytest.TempPathFactory, titles: int, width: int
) -> None:
    """Found by a reviewer: ignoreHeaderLines="2" (a title line, then the header) was refused, the width of the
    rows taken from the title line."""
    names = [t for t, _ in _DWC_COLUMNS]
    folder = write_archive(tmp_path_factory.mktemp("dw") / "a")
    text = (folder / "occurrence.txt").read_text("utf-8")
    lines = ["\t".join(["title"] * width)] * (titles - 1)
    (folder / "occurrence.txt").write_text("\n".join(lines) + ("\n" if lines else "") + text, "utf-8")
    meta = meta_xml([(t, i) for i, t in enumerate(names)]).replace(
        'ignoreHeaderLines="1"', f'ignoreHeaderLines="{titles}"'
    )
    (folder / "meta.xml").write_text(meta, "utf-8")
    assert read_archive(folder) == []


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(file=st.sampled_from(TABLES), row=st.integers(2, 12), how=st.sampled_from(["after", "open"]))
def test_a_row_that_is_not_csv_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, file: str, row: int, how: str
) -> None:
    """Found by a reviewer: one unclosed or misplaced quote in media.csv was one line, then fifty of observations
    pointing at the media after it (which were never read), and in deployments.csv it also said the table had no
    rows. The table's reading stops there, and the tables after it are not checked against the keys it lacks."""
    package = copy_small(tmp_path_factory.mktemp("quote"))
    lines = (package / file).read_text("utf-8").splitlines()
    row = min(row, len(lines))
    cells = lines[row - 1].split(",")
    cells[1] = f'"{cells[1]}"x' if how == "after" else f'"{cells[1]}'
    lines[row - 1] = ",".join(cells)
    (package / file).write_text("\r\n".join(lines) + "\r\n", "utf-8")
    found, _, _ = read_rows(package)
    _plain(found)
    assert len(found) == 1 and found[0].startswith(f"{package / file}:{row}: not valid CSV: "), found


@settings(max_examples=20, deadline=None, suppress_health_check=HEALTH)
@given(file=st.sampled_from(TABLES), separator=st.sampled_from([";", "\t"]))
def test_a_quoted_table_separated_otherwise_is_one_line_naming_the_separator(
    tmp_path_factory: pytest.TempPathFactory, file: str, separator: str
) -> None:
    """R's write.csv2 and spreadsheets quote every name ("a";"b"): the header is then not CSV at all, and the
    problem said Python's csv wording; it names the separator, as for an unquoted file."""
    import csv

    package = copy_small(tmp_path_factory.mktemp("sep"))
    rows = table_rows(package / file)
    with (package / file).open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=separator, quoting=csv.QUOTE_ALL).writerows(rows)
    found, _, _ = read_rows(package)
    assert found == [
        f"{package / file}:1: the header is separated by {separator!r}: Camtrap DP tables are separated by commas: "
        "save it as CSV with commas"
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(years=st.integers(1, 3), table=st.sampled_from(["media.csv", "observations.csv"]))
def test_a_clock_a_year_wrong_is_one_line_per_deployment(
    tmp_path_factory: pytest.TempPathFactory, years: int, table: str
) -> None:
    """Found by a reviewer: every media file of a camera whose clock was set a year wrong was a line of its own
    (fifty, then a count). One line per deployment and table now, with the count of the rows it holds for."""
    from datetime import datetime

    package = copy_small(tmp_path_factory.mktemp("clock"))
    rows = table_rows(package / table)
    columns = ["timestamp"] if table == "media.csv" else ["eventStart", "eventEnd"]
    moved = []
    for number, cells in enumerate(rows[1:], 2):
        if cells[rows[0].index("deploymentID")] != "D1":
            continue
        for column in columns:
            at = rows[0].index(column)
            when = datetime.fromisoformat(cells[at])
            cells[at] = when.replace(year=when.year + years).isoformat()
        moved.append(number)
    write_rows(package / table, rows)
    found, _, _ = read_rows(package)
    assert len(found) == 1, found
    more = len(moved) - 1
    assert found[0].startswith(f"{package / table}:{moved[0]}:"), found
    assert "is outside the interval of deployment 'D1'" in found[0], found
    assert found[0].endswith(f" (the same in {more} more row{'s' if more != 1 else ''})" if more else "true"), found


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(copies=st.integers(2, 11))
def test_an_id_repeated_on_many_rows_is_one_line(tmp_path_factory: pytest.TempPathFactory, copies: int) -> None:
    """One observationID on many rows: one duplicate line with the count, not one per copy."""
    package = copy_small(tmp_path_factory.mktemp("dup"))
    rows = table_rows(package / "observations.csv")
    column = rows[0].index("observationID")
    for cells in rows[1 : copies + 1]:
        cells[column] = "O-same"
    write_rows(package / "observations.csv", rows)
    found, _, _ = read_rows(package)
    more = copies - 2
    assert found == [
        f"{package / 'observations.csv'}:3:{column + 1} (observationID): 'O-same' is a duplicate: each observationID "
        "must be unique" + (f" (the same in {more} more row{'s' if more != 1 else ''})" if more else "")
    ]


@pytest.mark.parametrize("damage", ["one-row-differs", "no-end"])
def test_an_archive_deployment_effort_fault_is_one_line(tmp_path: Path, damage: str) -> None:
    """Found by a reviewer: one row's samplingEffort differing from its deployment's other rows made each of those
    rows a problem (with no column and no fix); a samplingEffort with no end put every event outside it."""
    names = [t for t, _ in _DWC_COLUMNS]
    rows = [[value(k) for _, value in _DWC_COLUMNS] for k in range(1, 9)]
    effort = names.index("samplingEffort")
    if damage == "one-row-differs":
        rows[2][effort] = "2023-01-01T00:00:00+10:00/2023-01-12T00:00:00+10:00"
    else:
        for cells in rows:
            if cells[names.index("parentEventID")] == "dep1":
                cells[effort] = "2023-01-01T00:00:00+10:00"
    folder = write_archive(tmp_path / "a", rows)
    found = read_archive(folder)
    assert len(found) == 1 and "(samplingEffort)" in found[0], found
    if damage == "one-row-differs":
        assert found[0].startswith(f"{folder}/occurrence.txt:4:{effort + 1} (samplingEffort): "), found
        assert "is not the samplingEffort of parentEventID 'dep1' on row 2" in found[0], found
    else:
        assert "it is one time: a deployment's samplingEffort is its start/end" in found[0], found


@settings(max_examples=10, deadline=None, suppress_health_check=HEALTH)
@given(bad=st.integers(1, 120), most=st.integers(1, 60))
def test_max_problems_holds_for_the_descriptor_too(
    tmp_path_factory: pytest.TempPathFactory, bad: int, most: int
) -> None:
    """Found by a reviewer: a descriptor with a hundred bad contributor roles listed fifty whatever
    --max-problems said, in text order ([0], [1], [10]...), with no count of the rest."""
    base = tmp_path_factory.mktemp("many")
    package = copy_small(base)

    def change(descriptor: dict[str, Any]) -> None:
        descriptor["contributors"] = [{"title": f"person {n}", "role": "nobody"} for n in range(bad)]

    _descriptor_with(package, change)
    result = run("import", str(package), "--store", str(base / "store"), "--max-problems", str(most))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    shown = min(bad, most)
    assert len(lines) == shown + (bad > most), lines
    indexes = [int(re.search(r"contributors\[(\d+)\]", line).group(1)) for line in lines[:shown]]  # type: ignore[union-attr]
    assert indexes == list(range(shown)), lines
    if bad > most:
        more = bad - most
        assert lines[-1] == f"amurkg: error: ... and {more:,} more problem{'s' if more != 1 else ''}", lines


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    part=st.sampled_from(
        [
            ("2023-13-02T11:00:00+10:00", "months run from 01 to 12"),
            ("2023-02-30T11:00:00+10:00", "that month has no such day"),
            ("2023-04-31T11:00:00+10:00", "that month has no such day"),
            ("2023-01-02T24:00:00+10:00", "hours run from 00 to 23"),
            ("2023-01-02T11:60:00+10:00", "minutes run from 00 to 59"),
            ("2023-01-02T11:00:60+10:00", "seconds run from 00 to 59"),
        ]
    ),
    dwca=st.booleans(),
)
def test_a_part_of_a_time_out_of_range_is_said_as_a_calendar_says_it(
    tmp_path_factory: pytest.TempPathFactory, part: tuple[str, str], dwca: bool
) -> None:
    """Found by a reviewer: 'hour must be in 0..23' and 'day is out of range for month' were Python's words."""
    text, said = part
    if dwca:
        rows = [[value(k) for _, value in _DWC_COLUMNS] for k in range(1, 7)]
        rows[1][[t for t, _ in _DWC_COLUMNS].index("eventDate")] = text
        found = read_archive(write_archive(tmp_path_factory.mktemp("dw") / "a", rows))
    else:
        package = copy_small(tmp_path_factory.mktemp("time"))
        rows = table_rows(package / "media.csv")
        rows[1][rows[0].index("timestamp")] = text
        write_rows(package / "media.csv", rows)
        found, _, _ = read_rows(package)
    _plain(found)
    assert len(found) == 1 and said in found[0] and "must be in" not in found[0], found


@settings(max_examples=15, deadline=None, suppress_health_check=HEALTH)
@given(zeros=st.integers(19, 5000))
def test_a_count_with_leading_zeros_is_its_value(tmp_path_factory: pytest.TempPathFactory, zeros: int) -> None:
    """Found by a reviewer: 1 written with 5,000 leading zeros was 'larger than a 64-bit integer'."""
    package = copy_small(tmp_path_factory.mktemp("zeros"))
    rows = table_rows(package / "observations.csv")
    rows[1][rows[0].index("count")] = "0" * zeros + "1"
    write_rows(package / "observations.csv", rows)
    found, _, count = read_rows(package)
    assert found == [] and count > 0, found


def test_zips_a_windows_tool_made_or_holding_two_packages_are_said_so(tmp_path: Path) -> None:
    """Found by a reviewer: a zip whose names have \\ between folders was 'an unsafe member name (absolute, a drive,
    '..' or a link)', and one holding two packages in folders was 'no datapackage.json at the top'."""
    import zipfile

    backslashes, two = tmp_path / "windows.zip", tmp_path / "two.zip"
    with zipfile.ZipFile(backslashes, "w") as archive:
        for file in sorted(SMALL.iterdir()):
            archive.write(file, f"survey\\{file.name}")
    with zipfile.ZipFile(two, "w") as archive:
        for folder in ("north", "south"):
            for file in sorted(SMALL.iterdir()):
                archive.write(file, f"{folder}/{file.name}")
    found, _, _ = read_rows(backslashes)
    assert len(found) == 1 and "has \\ between folders, which a zip may not" in found[0], found
    found, _, _ = read_rows(two)
    assert found == [
        f"{two}: holds 2 packages ('north/datapackage.json', 'south/datapackage.json'): import one at a time, each "
        "zipped or as its folder"
    ]


def test_an_archive_file_in_a_loop_of_links_is_said_so(tmp_path: Path) -> None:
    folder = write_archive(tmp_path / "a")
    (folder / "occurrence.txt").unlink()
    (folder / "occurrence.txt").symlink_to("rows.txt")
    (folder / "rows.txt").symlink_to("occurrence.txt")
    assert read_archive(folder) == [f"{folder}/occurrence.txt: a link in a loop of links: it leads to no file"]


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes only on Linux")
def test_a_folder_name_that_is_not_utf8_is_shown_by_its_bytes(tmp_path: Path) -> None:
    """Found by a reviewer: a folder named in bytes that are not UTF-8 was shown as \\udcff (Python's stand-in)."""
    import os
    import shutil

    package = Path(os.fsdecode(os.fsencode(tmp_path) + b"/survey\xff"))
    shutil.copytree(SMALL, package)
    rows = table_rows(package / "deployments.csv")
    rows[0][0] = "deploymentId"
    write_rows(package / "deployments.csv", rows)
    result = run("import", str(package), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2 and "survey\\xff/deployments.csv:1: missing required column" in result.stderr
    assert "\\udcff" not in result.stderr, result.stderr


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(
    date=st.sampled_from(["2020-02-30", "2021-02-29", "2020-13", "2020-04-31T10:00Z", "2020-01-01/2020-00-05"]),
    good=st.sampled_from(["2020-02-29", "2020-12", "2020", "2020-01-01/2020-01-05", "2020-04-30T10:00Z"]),
)
def test_an_occurrence_on_a_day_no_calendar_has_is_refused(
    tmp_path_factory: pytest.TempPathFactory, date: str, good: str
) -> None:
    """Found by a reviewer: a Darwin Core occurrence of no camera (no parentEventID) dated 2020-02-30 imported."""
    names = [t for t, _ in _DWC_COLUMNS]
    rows = [[value(k) for _, value in _DWC_COLUMNS] for k in range(1, 5)]
    for cells in rows[:2]:  # two occurrences that are not a camera's
        cells[names.index("parentEventID")] = cells[names.index("samplingEffort")] = ""
    rows[0][names.index("eventDate")] = good
    rows[1][names.index("eventDate")] = date
    found = read_archive(write_archive(tmp_path_factory.mktemp("dw") / "a", rows))
    assert len(found) == 1 and ":3:" in found[0] and "is not a real date" in found[0], found


# ====================================================================== Darwin Core defaults

_GOOD_DEFAULTS = {
    "eventDate": "2023-01-05T10:00:00+10:00",
    "samplingEffort": "2023-01-01T00:00:00+10:00/2023-01-11T00:00:00+10:00",
    "decimalLatitude": "43.2",
    "decimalLongitude": "131.5",
    "individualCount": "2",
    "basisOfRecord": "MachineObservation",
    "coordinateUncertaintyInMeters": "30",
}
_BAD_DEFAULTS = {
    "decimalLatitude": st.sampled_from(["999", "-90.5", "north", "1e2", "nan"]),
    "decimalLongitude": st.sampled_from(["181", "east", "-200", "inf"]),
    "individualCount": st.sampled_from(["-1", "two", "1.5", "9" * 19]),
    "basisOfRecord": st.sampled_from(["Photo", "machineObservation", "camera"]),
    "coordinateUncertaintyInMeters": st.sampled_from(["0", "-5", "far"]),
    # the archive gives parentEventID: an eventDate is then a date-time or interval with UTC offsets
    "eventDate": st.sampled_from(["2023-01-05", "2023-02-30T10:00:00+10:00", "soon"]),
    "samplingEffort": st.sampled_from(["garbage/x", "2023-01-01T00:00:00+10:00", "2023-01-01/2023-01-11"]),
}


def _archive_with_default(folder: Path, term: str, default: str) -> Path:
    """The small archive with ``term``'s column left out of the file and given as meta.xml's default instead."""
    kept = [(name, value) for name, value in _DWC_COLUMNS if name != term]
    rows = [[value(k) for _, value in kept] for k in range(1, 7)]
    names = [name for name, _ in kept]
    meta = meta_xml([(t, i) for i, t in enumerate(names)], extra=f'<field term="{DWC}{term}" default="{default}"/>')
    archive = write_archive(folder, rows=rows, meta=meta)
    (archive / "occurrence.txt").write_text("\n".join("\t".join(r) for r in [names, *rows]) + "\n", "utf-8")
    return archive


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(data=st.data(), term=st.sampled_from(sorted(_BAD_DEFAULTS)))
def test_a_wrong_default_in_meta_xml_is_one_line_there(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, term: str
) -> None:
    """A default stands in every row that leaves its column empty: a wrong one was blamed on each row."""
    default = data.draw(_BAD_DEFAULTS[term])
    archive = _archive_with_default(tmp_path_factory.mktemp("default"), term, default)
    found = read_archive(archive)
    assert len(found) == 1, found
    assert found[0].startswith(f"{archive / 'meta.xml'}: the default {default!r} of '{DWC}{term}' "), found
    assert found[0].endswith(": correct or remove it")
    _plain(found)


@pytest.mark.parametrize("term", sorted(_GOOD_DEFAULTS))
def test_a_right_default_reads_as_the_column_would(tmp_path: Path, term: str) -> None:
    assert read_archive(_archive_with_default(tmp_path / "a", term, _GOOD_DEFAULTS[term])) == []


# ====================================================================== one text, two Unicode forms


def _two_forms() -> st.SearchStrategy[tuple[str, str]]:
    """(NFC, NFD) of a word with at least one accented letter: the same text to a reader, not to a program."""
    import unicodedata

    letter = st.tuples(st.sampled_from("aeiouncAEOU"), st.sampled_from(["", "\u0301", "\u0300", "\u0308", "\u0303"]))
    word = st.lists(letter, min_size=1, max_size=6).map(lambda parts: "".join(a + b for a, b in parts))
    forms = word.map(lambda w: (unicodedata.normalize("NFC", "D-" + w), unicodedata.normalize("NFD", "D-" + w)))
    return forms.filter(lambda pair: pair[0] != pair[1])


def _rename(package: Path, file: str, column: str, old: str, new: str, rows: set[int] | None = None) -> None:
    table = table_rows(package / file)
    index = table[0].index(column)
    for number, row in enumerate(table):
        if number and row[index] == old and (rows is None or number in rows):
            row[index] = new
    write_rows(package / file, table)


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(forms=_two_forms(), nfd_first=st.booleans())
def test_two_ids_that_differ_only_in_their_unicode_form_are_one_problem(
    tmp_path_factory: pytest.TempPathFactory, forms: tuple[str, str], nfd_first: bool
) -> None:
    """Two deployments 'Café', one of them with a combining accent, were imported as two that no one can tell
    apart (the reviewer's 'counted as two')."""
    first, second = (forms[1], forms[0]) if nfd_first else forms
    package = copy_small(tmp_path_factory.mktemp("forms"))
    for file in TABLES:
        _rename(package, file, "deploymentID", "D1", first)
        _rename(package, file, "deploymentID", "D2", second)
    found, _, _ = read_rows(package)
    assert len(found) == 1, found
    assert found[0].startswith(f"{package / 'deployments.csv'}:3:1 (deploymentID): "), found
    assert "other Unicode characters" in found[0] and "write it one way" in found[0]


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(forms=_two_forms(), table=st.sampled_from(["media.csv", "observations.csv"]))
def test_a_reference_in_another_unicode_form_names_the_id_it_means(
    tmp_path_factory: pytest.TempPathFactory, forms: tuple[str, str], table: str
) -> None:
    nfc, nfd = forms
    package = copy_small(tmp_path_factory.mktemp("refs"))
    for file in TABLES:
        _rename(package, file, "deploymentID", "D1", nfc)
    _rename(package, table, "deploymentID", nfc, nfd, rows={1})
    found, _, _ = read_rows(package)
    assert len(found) == 1, found
    assert found[0].startswith(f"{package / table}:2:2 (deploymentID): "), found
    assert "of deployments written with other Unicode characters" in found[0]
    assert "write it as deployments does" in found[0]


def test_a_scientific_name_in_two_unicode_forms_is_one_name(tmp_path: Path) -> None:
    """An unmatched name written in both forms was two taxa of the package's own, counted apart."""
    import unicodedata

    name = "Felis caf\u00e9ensis"
    package = copy_small(tmp_path)
    table = table_rows(package / "observations.csv")
    column = table[0].index("scientificName")
    named = [row for row in table[1:] if row[column] and "Panthera" not in row[column]]
    assert len(named) >= 2
    for index, row in enumerate(named):
        row[column] = unicodedata.normalize("NFD" if index % 2 else "NFC", name)
    write_rows(package / "observations.csv", table)
    store = tmp_path / "store"
    result = run("import", str(package), "--store", str(store))
    assert result.exit_code == 0, result.stderr
    assert f"{name} ({len(named)})" in result.stderr, result.stderr
    listed = run("survey", "names", "--store", str(store))
    assert listed.exit_code == 0
    assert sum(unicodedata.normalize("NFC", line).count(name) for line in listed.stdout.splitlines()) == 1


@pytest.mark.parametrize("ascii_first", [True, False])
def test_a_form_whose_normal_form_is_ascii_is_caught_too(tmp_path: Path, ascii_first: bool) -> None:
    """The reviewer's case: the Kelvin sign (U+212A) is the letter K in Unicode's normal form, so 'DK1' and
    'D\u212a1' are one ID to a reader; the check looked at non-ASCII values only."""
    plain, kelvin = "DK1", "D\u212a1"
    first, second = (plain, kelvin) if ascii_first else (kelvin, plain)
    package = copy_small(tmp_path / "dup")
    for file in TABLES:
        _rename(package, file, "deploymentID", "D1", first)
        _rename(package, file, "deploymentID", "D2", second)
    found, _, _ = read_rows(package)
    assert len(found) == 1 and found[0].startswith(f"{package / 'deployments.csv'}:3:1 (deploymentID): "), found
    assert "other Unicode characters" in found[0]
    package = copy_small(tmp_path / "ref")
    for file in TABLES:
        _rename(package, file, "deploymentID", "D1", first)
    _rename(package, "media.csv", "deploymentID", first, second, rows={1})
    found, _, _ = read_rows(package)
    assert len(found) == 1 and found[0].startswith(f"{package / 'media.csv'}:2:2 (deploymentID): "), found
    assert f"{second!a} is the deploymentID {first!a} of deployments written with other Unicode characters" in found[0]


@pytest.mark.parametrize("term", ["decimalLatitude", "decimalLongitude"])
def test_one_coordinate_declared_without_the_other_is_one_line(tmp_path: Path, term: str) -> None:
    """Every row with a place would be refused for the coordinate meta.xml does not declare: said once, with a
    count; given as a default of the lone coordinate, said once in meta.xml."""
    other = "decimalLongitude" if term == "decimalLatitude" else "decimalLatitude"
    kept = [(name, value) for name, value in _DWC_COLUMNS if name != term]
    rows = [[value(k) for _, value in kept] for k in range(1, 40)]
    names = [name for name, _ in kept]
    archive = write_archive(tmp_path / "a", rows=rows, meta=meta_xml([(t, i) for i, t in enumerate(names)]))
    (archive / "occurrence.txt").write_text("\n".join("\t".join(r) for r in [names, *rows]) + "\n", "utf-8")
    found = read_archive(archive)
    assert len(found) == 1, found
    assert found[0].startswith(f"{archive / 'occurrence.txt'}:2 ({term}, which has no column): meta.xml declares no"), (
        found
    )
    assert found[0].endswith("(the same in 38 more rows)"), found
    kept = [(name, value) for name, value in _DWC_COLUMNS if name not in (term, other)]
    names = [name for name, _ in kept]
    rows = [[value(k) for _, value in kept] for k in range(1, 40)]
    meta = meta_xml([(t, i) for i, t in enumerate(names)], extra=f'<field term="{DWC}{other}" default="43.1"/>')
    archive = write_archive(tmp_path / "b", rows=rows, meta=meta)
    (archive / "occurrence.txt").write_text("\n".join("\t".join(r) for r in [names, *rows]) + "\n", "utf-8")
    found = read_archive(archive)
    assert len(found) == 1 and found[0].startswith(f"{archive / 'meta.xml'}: gives "), found
    assert f"declares no {term}" in found[0]


def test_what_darwin_core_allows_in_meta_xml_still_imports(tmp_path: Path) -> None:
    """The second reviewer's regressions: valid archives that imported before the meta.xml checks."""
    # samplingEffort is free text in Darwin Core: amurkg reads it as an interval only beside a parentEventID
    kept = [(name, value) for name, value in _DWC_COLUMNS if name not in ("parentEventID", "samplingEffort")]
    names = [name for name, _ in kept]
    rows = [[value(k) for _, value in kept] for k in range(1, 7)]
    extra = f'<field term="{DWC}samplingEffort" default="40 trap-nights"/>'
    archive = write_archive(
        tmp_path / "a", rows=rows, meta=meta_xml([(t, i) for i, t in enumerate(names)], extra=extra)
    )
    (archive / "occurrence.txt").write_text("\n".join("\t".join(r) for r in [names, *rows]) + "\n", "utf-8")
    assert read_archive(archive) == []
    # a coordinate column declared but empty, the other not declared: no row gives a lone coordinate
    kept = [(name, value) for name, value in _DWC_COLUMNS if name != "decimalLongitude"]
    names = [name for name, _ in kept]
    column = names.index("decimalLatitude")
    rows = [[value(k) if i != column else "" for i, (_, value) in enumerate(kept)] for k in range(1, 7)]
    archive = write_archive(tmp_path / "b", rows=rows, meta=meta_xml([(t, i) for i, t in enumerate(names)]))
    (archive / "occurrence.txt").write_text("\n".join("\t".join(r) for r in [names, *rows]) + "\n", "utf-8")
    assert read_archive(archive) == []


def test_a_parent_event_default_is_checked_in_meta_xml(tmp_path: Path) -> None:
    """The probe of a default gave every value a parentEventID and so overwrote that of the field checked."""
    archive = _archive_with_default(tmp_path / "a", "parentEventID", "dep&#x202e;1")
    found = read_archive(archive)
    assert len(found) == 1 and found[0].startswith(f"{archive / 'meta.xml'}: the default "), found


def test_an_unused_default_of_a_column_is_left_to_the_rows(tmp_path: Path) -> None:
    """A default stands in for a column's empty cells only: one that no row uses does not refuse the archive
    (the reviewer found such an archive, imported before, refused), and a row that uses it is named."""
    names = [name for name, _ in _DWC_COLUMNS]
    rows = [[value(k) for _, value in _DWC_COLUMNS] for k in range(1, 7)]
    column = names.index("decimalLatitude")
    extra = f'<field index="{column}" term="{DWC}decimalLatitude" default="NA"/>'
    fields = [(t, i) for i, t in enumerate(names) if t != "decimalLatitude"]
    archive = write_archive(tmp_path / "a", rows=rows, meta=meta_xml(fields, extra=extra))
    assert read_archive(archive) == []
    rows[2][column] = ""
    archive = write_archive(tmp_path / "b", rows=rows, meta=meta_xml(fields, extra=extra))
    found = read_archive(archive)
    assert len(found) == 1 and found[0].startswith(f"{archive / 'occurrence.txt'}:4:{column + 1} (decimalLatitude)")
