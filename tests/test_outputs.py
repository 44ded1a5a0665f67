"""Every output has readers to protect: spreadsheets (formulas in CSV/TSV cells), terminals (escape
sequences in tables and messages), and whoever reads a file that a full disk or a signal interrupted."""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amurkg.output import spreadsheet_cell, terminal_safe
from amurkg.results import SelectResult, Term, format_result

XSD = "http://www.w3.org/2001/XMLSchema#"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
texts = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-1.5", "+3", "-"]
)


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# ------------------------------------------------------------------------------------ spreadsheets


@given(st.lists(texts, min_size=1, max_size=5))
def test_spreadsheet_safe_csv_runs_no_formula_and_keeps_numbers(values: list[str]) -> None:
    result = SelectResult(["v"], [(Term.literal(v),) for v in values])
    safe = parse_csv(format_result(result, "csv", spreadsheet_safe=True))[1:]
    exact = parse_csv(format_result(result, "csv"))[1:]
    assert [row[0] for row in exact] == values  # the W3C form: the values, exactly
    for (cell,), value in zip(safe, values, strict=True):
        if NUMBER.fullmatch(value):
            assert cell == value  # -1.5 stays a number
        else:
            assert not cell.startswith(FORMULA_START)
            assert cell in (value, "'" + value)  # nothing else changes


@given(texts)
def test_spreadsheet_safe_tsv_runs_no_formula(value: str) -> None:
    result = SelectResult(["v"], [(Term.literal(value),)])
    cell = format_result(result, "tsv", spreadsheet_safe=True).split("\n")[1]
    assert NUMBER.fullmatch(value) or not cell.startswith(FORMULA_START)


def test_typed_numbers_stay_numbers() -> None:
    result = SelectResult(["n"], [(Term.literal("-1.5", XSD + "decimal"),), (Term.literal("-3", XSD + "integer"),)])
    assert parse_csv(format_result(result, "csv", spreadsheet_safe=True))[1:] == [["-1.5"], ["-3"]]


def test_a_file_is_safe_and_stdout_exact_unless_told(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "hostile.ttl"
    data.write_text(
        '<http://example.org/d> <http://www.w3.org/2000/01/rdf-schema#label> "=HYPERLINK(\\"http://evil\\")" .\n'
        "<http://example.org/d> <http://example.org/n> -1.5 .\n"
    )
    query = "SELECT ?l ?n WHERE { <http://example.org/d> rdfs:label ?l ; <http://example.org/n> ?n }"
    piped = cli("sparql", query, "-d", str(data), "-f", "csv")
    assert piped.exit_code == 0 and parse_csv(piped.stdout)[1] == ['=HYPERLINK("http://evil")', "-1.5"]
    target = tmp_path / "answer.csv"
    written = cli("sparql", query, "-d", str(data), "-o", str(target))
    assert written.exit_code == 0 and parse_csv(target.read_text())[1] == ['\'=HYPERLINK("http://evil")', "-1.5"]
    exact = cli("sparql", query, "-d", str(data), "-o", str(target), "--exact-csv")
    assert exact.exit_code == 0 and parse_csv(target.read_text())[1] == ['=HYPERLINK("http://evil")', "-1.5"]
    safe = cli("sparql", query, "-d", str(data), "-f", "tsv", "--spreadsheet-safe")
    assert safe.exit_code == 0 and safe.stdout.splitlines()[1] == '\'=HYPERLINK("http://evil")\t-1.5'


def test_detection_histories_are_safe() -> None:
    from amurkg.survey.history import DetectionHistory

    rows = [("p", "=cmd|'/C calc'!A0", [1.0]), ("p", "@SUM(A1)", [0.0])]
    history = DetectionHistory(1.0, "deployment", rows, [datetime(2023, 1, 1, tzinfo=UTC)] * 2)  # type: ignore[arg-type]
    assert parse_csv(history.to_csv()) == [["deploymentID", "o1"], ["'=cmd|'/C calc'!A0", "1"], ["'@SUM(A1)", "0"]]


# ------------------------------------------------------------------------------------ terminals

CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_tables_show_control_characters_as_escapes(value: str) -> None:
    result = SelectResult(["v"], [(Term.literal(value),), (Term.iri("http://example.org/" + value),)])
    for fmt in ("table", "md"):
        assert CONTROL.search(format_result(result, fmt, width=80)) is None
    assert CONTROL.search(terminal_safe(value)) is None and "\n" not in terminal_safe(value)


def test_describe_and_messages_escape_what_data_holds(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "esc.ttl"
    data.write_text('<http://example.org/e> <http://www.w3.org/2000/01/rdf-schema#label> "wipe\\u001b[2Jout" .\n')
    shown = cli("describe", "<http://example.org/e>", "-d", str(data), "-f", "table")
    assert shown.exit_code == 0 and "\x1b" not in shown.stdout and "wipe\\x1b[2Jout" in shown.stdout
    missing = cli("describe", "nothing\x1b]0;owned\x07here")
    assert missing.exit_code == 2 and "\x1b" not in missing.output and "\x07" not in missing.output


def test_spreadsheet_cell_and_terminal_safe_by_example() -> None:
    assert spreadsheet_cell("=1+1") == "'=1+1" and spreadsheet_cell("-1.5") == "-1.5"
    assert spreadsheet_cell("-") == "'-" and spreadsheet_cell("plain") == "plain"
    assert terminal_safe("a\x1b[2Jb") == "a\\x1b[2Jb" and terminal_safe("a\nb", keep_lines=True) == "a\nb"
    assert terminal_safe("\u202egnp.exe") == "\\u202egnp.exe"


# ------------------------------------------------------------------------------------ full disks and signals


STORE_COMMANDS = [
    ["export", "--store", "{store}"],
    ["export", "--store", "{store}", "-f", "jsonld"],
    ["survey", "detection-history", "--store", "{store}", "--taxon", "Amur leopard"],
]
COMMANDS = [
    ["export"],
    ["export", "-f", "nq", "--reason"],
    ["query", "prey", "-f", "csv"],
    ["sparql", "SELECT * WHERE { ?s ?p ?o } LIMIT 50", "-f", "json"],
    ["sparql", "CONSTRUCT WHERE { ?s a akg:Country }"],
    ["describe", "wild boar", "-f", "tsv"],
    ["stats"],
    ["check"],
    ["viz", "-f", "dot"],
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from amurkg.survey.importer import import_package

    folder = tmp_path_factory.mktemp("store") / "s"
    import_package(folder, Path(__file__).parent / "data" / "survey-small")
    return folder


def _args(args: list[str], store: Path) -> list[str]:
    return [str(store) if a == "{store}" else a for a in args]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is a Linux device")
@pytest.mark.parametrize("args", COMMANDS + STORE_COMMANDS)
def test_standard_output_on_a_full_disk_is_one_line(args: list[str], store: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "amurkg", *_args(args, store)], stdout=full, stderr=subprocess.PIPE, timeout=120
        )
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("\n") == 1 and "no space left on device" in err, err


class _FullDisk(io.RawIOBase):
    """A file whose every write fails as on a full file system."""

    def __init__(self, raw: io.FileIO) -> None:
        self.raw = raw

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        self.raw.close()
        super().close()


@pytest.mark.parametrize("args", [a for a in COMMANDS if a[0] != "stats"] + STORE_COMMANDS)
def test_a_file_on_a_full_disk_is_one_line_and_nothing(  # type: ignore[no-untyped-def]
    args: list[str], store: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: io.BufferedWriter(_FullDisk(real(fd, mode))))
    suffix = {"json": ".json", "csv": ".csv", "tsv": ".tsv", "jsonld": ".jsonld", "nq": ".nq", "dot": ".dot"}
    ext = next((suffix[a] for a in args if a in suffix), ".csv" if args[0] == "survey" else ".ttl")
    if args[0] == "check":
        ext = ".txt"
    target = tmp_path / "out" / f"answer{ext}"
    target.parent.mkdir()
    done = cli(*_args(args, store), "-o", str(target))
    assert done.exit_code == 2, done.output
    assert done.output.count("\n") == 1 and "no space left on device" in done.output
    assert list(target.parent.iterdir()) == []  # nothing half-written, no temporary file


STOPPED = """
import os, sys, time
ready = sys.argv[1]
def blocked(fd):  # the output is complete and about to be renamed into place: say so, and wait for the signal
    open(ready, "w").close()
    time.sleep(600)
os.fsync = blocked
sys.argv = ["amurkg", *sys.argv[2:]]
from amurkg.__main__ import main
main()
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize(
    "args",
    [
        ["export", "--store", "{store}", "-o", "out.nt"],
        ["export", "-o", "out.ttl"],
        ["query", "prey", "-o", "out.csv"],
        ["survey", "detection-history", "--store", "{store}", "-o", "out.csv"],
        ["viz", "-f", "dot", "-o", "out.dot"],
        ["check", "-o", "out.txt"],
    ],
)
def test_a_signal_while_writing_leaves_no_temporary_file(
    args: list[str], sig: signal.Signals, store: Path, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", STOPPED, str(ready), *_args(args, store)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        while not ready.exists():  # waits for the program to reach the point, not for a time
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert [p.name for p in work.iterdir() if p.name.endswith(".part")]  # the temporary file is there
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 128 + sig, err
    assert "nothing was left half-written" in err.decode() and "Traceback" not in err.decode()
    assert list(work.iterdir()) == []


# ------------------------------------------------------------------------------------ formats


def test_an_explicit_format_wins_over_the_extension(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "prey.csv"
    done = cli("query", "prey", "-f", "json", "-o", str(target))
    assert done.exit_code == 0 and target.read_text().startswith("{")
    graph = tmp_path / "graph.txt"
    done = cli("export", "-f", "nt", "-o", str(graph))
    assert done.exit_code == 0 and graph.read_text().startswith("<")
    unknown = cli("export", "-o", str(tmp_path / "graph.csv"))  # without -f, the extension must name a format
    assert unknown.exit_code == 2 and "does not name a format for RDF" in unknown.output


def test_a_device_is_written_in_place_with_the_format_asked() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "amurkg", "export", "-f", "nt", "-o", "/dev/stdout"], capture_output=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.startswith(b"<") and done.stderr == b""
    assert os.path.islink("/dev/stdout") or os.path.exists("/dev/stdout")  # still the device, not a file


def test_a_link_is_followed_not_replaced(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "answer.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert cli("query", "prey", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and real.read_text().startswith("prey,")


# ------------------------------------------------------------------------------------ tables people can read

SURVEY_IRI = "https://w3id.org/amurkg/survey/my-survey/deployment/D1"


def test_tables_show_short_names_unless_asked_for_iris() -> None:
    result = SelectResult(
        ["deployment", "taxon"], [(Term.iri(SURVEY_IRI), Term.iri("https://w3id.org/amurkg/id/wild-boar"))]
    )
    for fmt in ("table", "md"):
        short = format_result(result, fmt)
        assert "survey:my-survey/deployment/D1" in short and "amur:wild-boar" in short and "https://" not in short
        full = format_result(result, fmt, iris=True)
        assert SURVEY_IRI in full and "https://w3id.org/amurkg/id/wild-boar" in full
    assert SURVEY_IRI in format_result(result, "csv")  # data formats keep whole IRIs


def test_the_iris_option(cli) -> None:  # type: ignore[no-untyped-def]
    query = "SELECT ?d WHERE { VALUES ?d { <https://w3id.org/amurkg/survey/my-survey/deployment/D1> } }"
    short = cli("sparql", query, "-f", "table")
    assert short.exit_code == 0 and "survey:my-survey/deployment/D1" in short.stdout and "https" not in short.stdout
    full = cli("sparql", query, "-f", "table", "--iris")
    assert full.exit_code == 0 and SURVEY_IRI in full.stdout


def test_as_dicts_gives_numbers_as_numbers(kg) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    row = kg.query(
        "SELECT (3 AS ?i) (-1.5 AS ?d) (2.5e0 AS ?f) (true AS ?b) ('x' AS ?s) "
        "(<https://w3id.org/amurkg/id/wild-boar> AS ?e) WHERE {}"
    ).as_dicts()[0]
    assert row == {"i": 3, "d": Decimal("-1.5"), "f": 2.5, "b": True, "s": "x", "e": "amur:wild-boar"}
    assert type(row["i"]) is int and type(row["b"]) is bool
    text = kg.query("SELECT (3 AS ?i) WHERE {}").as_text_dicts()[0]
    assert text == {"i": "3"}


def test_viz_without_output_refuses_to_fill_a_terminal() -> None:
    from test_terminal import on_terminal

    code, shown = on_terminal("viz")
    assert code == 2 and "-o FILE.html" in shown and "<html" not in shown.lower()


def test_reports_for_people_escape_what_data_holds(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "esc.ttl"
    data.write_text(
        "@prefix amur: <https://w3id.org/amurkg/id/> .\n@prefix akg: <https://w3id.org/amurkg/ontology#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'amur:wipe a akg:Country ; rdfs:label "wipe\\u001b[2Jout"@de, "x\\u001b]0;owned\\u0007" .\n'
    )
    report = cli("validate", "-d", str(data))  # the report quotes the labels of the entity it names
    assert report.exit_code == 1 and "wipe\\x1b[2Jout" in report.stdout
    assert "\x1b" not in report.stdout and "\x07" not in report.stdout
    metrics = cli("stats", "--graph", "-d", str(data))
    assert metrics.exit_code == 0 and "\x1b" not in metrics.stdout
