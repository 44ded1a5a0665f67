"""What a Camtrap DP package declares is checked for what the standard says it is. Found by a reviewer: a
descriptor 'created' "yesterday" and a temporal.start "garbage" were imported (the profile declares the formats
date and date-time, which jsonschema only notes unless it is given a checker), and a media-based observation
without the mediaID of the file it classifies was accepted."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_packages import copy_small, read_rows, table_rows, write_rows
from test_survey import SMALL, _state, run

from amurkg.survey.camtrapdp import check_descriptor

HEALTH = [HealthCheck.function_scoped_fixture]
DESCRIPTOR = json.loads((SMALL / "datapackage.json").read_text("utf-8"))


def _with(**changes: object) -> dict:
    descriptor = json.loads(json.dumps(DESCRIPTOR))
    for dotted, value in changes.items():
        target = descriptor
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return descriptor


def test_the_small_package_declares_valid_values() -> None:
    assert check_descriptor(DESCRIPTOR, "datapackage.json") == []


@settings(max_examples=150, deadline=None)
@given(day=st.dates(min_value=date(1, 1, 1)), end=st.dates(min_value=date(1, 1, 1)))
def test_every_calendar_day_is_a_date(day: date, end: date) -> None:
    assert check_descriptor(_with(temporal__start=day.isoformat(), temporal__end=end.isoformat()), "d") == []


@settings(max_examples=150, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC) | st.none()),
    separator=st.sampled_from("Tt "),
    zone=st.sampled_from(["Z", "z", "+02:00", "-11:30", "+00:00", ""]),
    fraction=st.sampled_from(["", ".5", ".123", ".123456", ".1234567890"]),  # RFC 3339: any number of digits
)
def test_every_rfc_3339_moment_is_a_date_time(moment: datetime, separator: str, zone: str, fraction: str) -> None:
    text = f"{moment.year:04d}" + moment.strftime(f"-%m-%d{separator}%H:%M:%S") + fraction + zone
    assert check_descriptor(_with(created=text), "d") == []


def _not_a_date(text: str) -> bool:
    try:
        return len(text) != 10 or date.fromisoformat(text) is None
    except ValueError:
        return True


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=30).filter(_not_a_date)
    | st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)).filter(
        _not_a_date
    ),
    where=st.sampled_from(["start", "end"]),
)
def test_a_temporal_value_that_is_no_date_is_one_problem_at_its_place(text: str, where: str) -> None:
    found = check_descriptor(_with(**{f"temporal__{where}": text}), "datapackage.json")
    assert len(found) == 1, found
    assert found[0].startswith(f"datapackage.json: $.temporal.{where}: "), found
    assert "YYYY-MM-DD" in found[0] or "control character" in found[0]  # the value's first fault, once
    assert "'date'" not in found[0]  # not jsonschema's own words


@settings(max_examples=100, deadline=None)
@given(
    text=st.sampled_from(["yesterday", "", "2023-02-06", "2023-02-30T10:00:00Z", "2023-02-06T25:00:00Z"])
    | st.text(max_size=25).filter(lambda t: not t[:4].isdigit())
)
def test_a_created_that_is_no_date_time_is_one_problem(text: str) -> None:
    found = check_descriptor(_with(created=text), "datapackage.json")
    assert len(found) == 1 and found[0].startswith("datapackage.json: $.created: "), found
    assert "RFC 3339" in found[0] or "control character" in found[0]


def test_formats_are_refused_through_the_command_line(tmp_path: Path) -> None:
    package = copy_small(tmp_path)
    descriptor = _with(created="yesterday", temporal__start="2021-02-30")
    (package / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    store = tmp_path / "store"
    result = run("import", str(package), "--store", str(store))
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f'amurkg: error: {package / "datapackage.json"}: $.created: "yesterday" is not a date and time as RFC 3339 '
        "writes it (such as 2023-02-06T11:23:03Z)",
        f'amurkg: error: {package / "datapackage.json"}: $.temporal.start: "2021-02-30" names no day of the '
        "calendar: write the day meant, as YYYY-MM-DD",
    ]
    assert not store.exists()


# ====================================================================== media-based observations


def _media_based(rows: list[list[str]]) -> list[int]:
    header = rows[0]
    level = header.index("observationLevel")
    return [i for i, row in enumerate(rows) if i and row[level] == "media"]


def test_the_small_package_has_media_based_observations() -> None:
    assert _media_based(table_rows(SMALL / "observations.csv"))


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(data=st.data())
def test_a_media_based_observation_without_its_media_is_named_once(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    package = copy_small(tmp_path_factory.mktemp("level"))
    rows = table_rows(package / "observations.csv")
    column = rows[0].index("mediaID")
    chosen = sorted(data.draw(st.sets(st.sampled_from(_media_based(rows)), min_size=1, max_size=12)))
    for index in chosen:
        rows[index][column] = ""
    write_rows(package / "observations.csv", rows)
    found, _, _ = read_rows(package)
    assert len(found) == 1, found
    first = chosen[0] + 1  # the line of the file: the header is line 1
    assert found[0].startswith(f"{package / 'observations.csv'}:{first}:{column + 1} (mediaID): "), found
    assert "observationLevel" in found[0]
    more = len(chosen) - 1
    assert (f"(the same in {more} more row" in found[0]) == bool(more), found


def test_an_event_based_observation_needs_no_media(tmp_path: Path) -> None:
    """The check is the level's: event-based observations, which classify a whole event, name no media file."""
    package = copy_small(tmp_path)
    rows = table_rows(package / "observations.csv")
    level, media = rows[0].index("observationLevel"), rows[0].index("mediaID")
    for row in rows[1:]:
        if row[level] == "event":
            row[media] = ""
    write_rows(package / "observations.csv", rows)
    found, _, count = read_rows(package)
    assert found == [] and count


def test_a_media_based_observation_without_media_through_the_command_line(tmp_path: Path) -> None:
    package = copy_small(tmp_path)
    rows = table_rows(package / "observations.csv")
    rows[_media_based(rows)[0]][rows[0].index("mediaID")] = ""
    write_rows(package / "observations.csv", rows)
    store = tmp_path / "store"
    assert run("import", str(SMALL), "--store", str(store)).exit_code == 0
    before = _state(store)
    result = run("import", str(package), "--store", str(store), "--replace")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "(mediaID): a media-based observation (observationLevel media) classifies one media file" in result.stderr
    assert _state(store) == before


def test_a_table_without_the_media_column_names_the_row(tmp_path: Path) -> None:
    """The reviewer's crash: observations.csv may leave out the optional mediaID column; its media-based rows
    then name no media either, and the check's column was looked up in the header (KeyError, a traceback)."""
    package = copy_small(tmp_path)
    rows = table_rows(package / "observations.csv")
    column = rows[0].index("mediaID")
    first = _media_based(rows)[0]
    write_rows(package / "observations.csv", [row[:column] + row[column + 1 :] for row in rows])
    result = run("import", str(package), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, lines
    assert lines[0].startswith(f"amurkg: error: {package / 'observations.csv'}:{first + 1}: a media-based"), lines
