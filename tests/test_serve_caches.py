"""What `amurkg serve` keeps between requests to answer faster: the query guard's verdicts per text (bounded,
refusals never kept, the same answer as checking afresh) and the lexer's positions (found in one pass)."""

from __future__ import annotations

import pytest
from hostile import ELEMENTS, FRAGMENTS
from hypothesis import given
from hypothesis import strategies as st

from amurkg.errors import QuerySyntaxError
from amurkg.serve import ServeOptions
from amurkg.serve import http as serve_http
from amurkg.serve.http import Server
from amurkg.serve.protocol import Job, Reply, plan
from amurkg.sparql import tokens

PIECES = ["SELECT", "ASK", "FROM <x:g>", "SERVICE <x:s> {}", "INSERT DATA {}", "# c\n", "\r\n", "\n", " ", "?s",
          "'a\\'\n", '"""x\ny"""', "<x:a#b>", "{", "}", "WHERE", "é", "\\u0041", "@en", "1.5", "(", ")",
          "`"]  # fmt: skip
SOUP = [p.replace("URL", "<http://127.0.0.1:9/x>") for p in FRAGMENTS + ELEMENTS]
ACCEPTS = st.sampled_from(["", "text/csv", "application/json", "text/turtle", "image/png", "*/*;q=0", "text/*"])


def _server() -> Server:
    return Server(ServeOptions(), None, "127.0.0.1:7878")  # type: ignore[arg-type]  # planning needs no pool


def _naive(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1)


@given(st.lists(st.sampled_from(PIECES + SOUP), max_size=30).map("".join))
def test_token_positions_are_the_offsets_line_and_column(text: str) -> None:
    """Lines and columns found as the lexer goes are those the offsets name, in both engines' readings."""
    for dialect in ("oxigraph", "rdflib"):
        try:
            found = tokens(text, dialect)
        except QuerySyntaxError:
            continue
        for tok in found:
            line, column = _naive(text, tok.offset)
            assert (tok.line, tok.column) == (line, column + 1)
            if dialect == "oxigraph":
                assert text[tok.offset : tok.offset + len(tok.text)] == tok.text


@given(st.lists(st.tuples(st.lists(st.sampled_from(PIECES + SOUP), max_size=12).map("".join), ACCEPTS), max_size=40))
def test_a_kept_verdict_answers_as_the_guard_does(asked: list[tuple[str, str]]) -> None:
    """Asked in any order, any number of times, with any Accept: the server's plan is the guard's own, and
    only texts the guard passed are kept."""
    server = _server()
    for text, accept in asked * 2:
        assert server._plan(text, accept) == plan(text, accept)
        assert all(isinstance(plan(kept, ""), Job) for kept in server.verdicts)
    assert server.verdict_chars == sum(len(t) for t in server.verdicts)


def test_refused_queries_are_never_kept() -> None:
    server = _server()
    for text in ("SELECT * FROM <x:g> WHERE {}", "SELECT * { SERVICE <x:s> {} }", "INSERT DATA {}", "SELECT `"):
        for _ in range(3):
            assert isinstance(server._plan(text, ""), Reply)
    assert not server.verdicts


def test_verdicts_are_bounded_in_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood of distinct texts (a counter in a comment) keeps at most the bound, newest first; a text over
    the per-text size is checked every time and never kept."""
    monkeypatch.setattr(serve_http, "_VERDICT_CHARS", 10_000)
    monkeypatch.setattr(serve_http, "_VERDICT_TEXT", 2_000)
    server = _server()
    texts = [f"ASK {{}} # {i:06d}" for i in range(5_000)]
    for text in texts:
        assert isinstance(server._plan(text, ""), Job)
    assert 0 < server.verdict_chars <= 10_000
    assert server.verdict_chars == sum(len(t) for t in server.verdicts)
    assert list(server.verdicts) == texts[-len(server.verdicts) :]
    long = "ASK {} #" + "x" * 3_000
    assert isinstance(server._plan(long, ""), Job)
    assert long not in server.verdicts
