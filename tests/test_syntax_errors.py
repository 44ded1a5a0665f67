"""A syntax error points at the fault on both engines: the right line and column, what stands there, a short
hint instead of a list of expected tokens, and on a terminal the line itself with a caret."""

from __future__ import annotations

import pytest

import amurkg
from amurkg.errors import QuerySyntaxError

#: (query, line:column of the fault, a word of the hint)
FAULTS = [
    ("SELECT ?s\nWHERE {\n  ?s ?p ?o ) .\n  ?s ?q ?r\n}\n", "3:12", "closes nothing"),
    ("SELECT ?s WHERE {\n ?s ?p ?o\n ?s ?q ?r }", "3:2", "'.' or ';' may be missing"),
    ("SELECT ?s WHERE { ?s ?p ?o . }}", "1:31", "closes nothing"),
    ("SELECT ?s WHRE { ?s ?p ?o }", "1:11", "did you mean 'WHERE'"),
    ("SELECT (COUNT(?s) ?n) WHERE { ?s ?p ?o }", "1:19", "AS in"),
    ("SELECT ?s WHERE { ?s ?p ?o ", "1:28", "ends too early"),
    ("SELECT ?s WHERE {\n  ?s ?p \n}", "3:1", "closes nothing"),
    ("SELECT ?s WHERE { ?s ?p ?o . ?s ?p }", "1:36", "closes nothing"),
    ("SELECT ?s WHERE { ?s ?p ?o } ORDER ?s", "1:36", "'.' or ';'"),
    ("SELECT ?s WHERE { ?s ?p ?o . FILTER(?o > 3 }", "1:44", "closes nothing"),
]


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
@pytest.mark.parametrize(("query", "where", "hint"), FAULTS)
def test_the_fault_is_where_it_is(engine: str, query: str, where: str, hint: str) -> None:
    kg = amurkg.load(engine=engine)
    with pytest.raises(QuerySyntaxError) as caught:
        kg.query(query)
    message = str(caught.value)
    assert message.startswith(f"query:{where}: SPARQL syntax error at "), message
    assert hint in message and "\n" not in message and "expected one of" not in message
    line, column = (int(n) for n in where.split(":"))
    context = caught.value.context  # type: ignore[attr-defined]
    source, caret = context.split("\n")
    assert source == query.split("\n")[line - 1].rstrip("\n")[:200] or query.strip().endswith(source.strip())
    assert caret == " " * (column - 1) + "^"


def test_the_command_line_shows_one_line_to_programs(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("sparql", "SELECT ?s\nWHERE {\n  ?s ?p ?o ) .\n  ?s ?q ?r\n}\n")
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        "amurkg: error: query:3:12: SPARQL syntax error at ')': it closes nothing here: check that brackets pair "
        "up and that patterns end with '.'"
    ]


def test_a_terminal_sees_the_line_and_a_caret() -> None:
    from test_terminal import on_terminal

    code, shown = on_terminal("sparql", "SELECT ?s\nWHERE {\n  ?s ?p ?o ) .\n  ?s ?q ?r\n}\n")
    lines = [line.rstrip("\r") for line in shown.splitlines()]
    assert code == 2 and "    ?s ?p ?o ) ." in lines and "             ^" in lines


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("SELECT * {}#word`\n`", "2:1"),  # the comment is skipped whole: its word is never read as a token
        ("SELECT * {} # x\n  \t# y\n  `", "3:3"),
        ("SELECT * {}\n#last`", None),  # white space and comments to the end: no error
    ],
)
def test_white_space_and_comments_are_skipped_whole(text: str, where: str | None) -> None:
    from amurkg.sparql import tokens

    if where is None:
        assert [t.text for t in tokens(text)] == ["SELECT", "*", "{", "}"]
        return
    with pytest.raises(QuerySyntaxError, match=f"query:{where}: SPARQL syntax error: unexpected character '`'"):
        tokens(text)
