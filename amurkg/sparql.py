"""Reading SPARQL text the way the engines read it, and refusing what a local, read-only tool must not do.

The lexer below is transcribed from the terminal productions of the SPARQL 1.1 grammar (section 19.8 of
the recommendation), with each engine's documented deviations:

* pyoxigraph reads ``\\u``/``\\U`` escapes only inside IRIs and strings, and ends a comment at CR or LF;
* rdflib replaces every ``\\u``/``\\U`` escape in the whole text before it parses (with its own
  expression, which is reused here), accepts ``\\"`` as a local-name escape, and compares keywords with
  ``str.upper``, so a long s (U+017F) spells its SERVICE.

The check then runs on the tokens of exactly the text the engine will execute, parameters already bound:
a SERVICE or FROM keyword anywhere (subqueries, EXISTS, OPTIONAL...) is refused, and so is anything but a
read-only query form. Text the lexer cannot split into SPARQL tokens is a syntax error at that position, so
no token can hide in a spot where the engine would read something else. ``tests/test_query_guard.py``
checks the lexer against both engines with generated queries and a loopback listener.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import NamedTuple

from amurkg.errors import QuerySyntaxError, RefusedQueryError
from amurkg.results import Term

READ_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")
DIALECTS = ("oxigraph", "rdflib", "any")
#: The longest query text amurkg accepts (characters); longer text is refused before it is read.
MAX_QUERY_CHARS = 1_000_000

# --- terminals of the SPARQL 1.1 grammar ------------------------------------------------------------
_BASE_ASCII = "A-Za-z"
_BASE_WIDE = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_WIDE = "\u00b7\u0300-\u036f\u203f-\u2040"
_UESC = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"


def _plx(dialect: str) -> str:
    escapes = "_~.\\-!$&'()*+,;=/?#@%" + ('"' if dialect == "rdflib" else "")
    return f"%[0-9A-Fa-f]{{2}}|\\\\[{re.escape(escapes)}]"


#: White space and comments, skipped whole before each token (possessive: never given back, so no token is
#: ever read from inside a comment): one match per token, not one for the token and one for the space before it.
_SKIP = r"(?:[\x20\t\r\n]++|\#[^\r\n]*+)*+"
_SKIPPED = re.compile(_SKIP)


@cache
def _pattern(dialect: str, ascii_only: bool) -> re.Pattern[str]:
    """The lexer's expression for ``dialect``: white space and comments, then one token. Its character classes
    are the grammar's; with ``ascii_only`` they keep only their ASCII members, which matches ASCII text exactly
    as the full expression does and compiles in a fraction of the time (the full one takes about 35 ms, and is
    built only for text that needs it)."""
    base = _BASE_ASCII + ("" if ascii_only else _BASE_WIDE)
    u = base + "_"
    chars = u + r"\-0-9" + ("" if ascii_only else _CHARS_WIDE)
    varname = f"[{u}0-9][{u}0-9{'' if ascii_only else _CHARS_WIDE}]*"
    # a prefix is the whole run of name characters before a colon, not ending in a dot, read possessively (never
    # given back) and at most 256 characters long: a run with no colon after it ("a.a.a...", a megabyte of it) is
    # read that far from each of its tokens, not to its end (which took time growing with the square of its
    # length: 4 s for 40,000 characters). A longer prefix name is refused where the scan meets it (``_lex``):
    # read as the words and dots it is made of, it could give the query another form than the engine reads
    prefix = f"[{base}][{chars}.]{{0,{_MAX_PREFIX - 1}}}+(?<!\\.)"
    plx = _plx(dialect)
    uesc = f"|{_UESC}" if dialect == "oxigraph" else ""  # rdflib has expanded them already
    echar = rf"\\[tbnrf\\\"']{uesc}"
    local = f"(?:[{u}:0-9]|{plx})(?:(?:[{chars}.:]|{plx})*(?:[{chars}:]|{plx}))?"
    return re.compile(
        rf"""
        {_SKIP}
        (?:
        (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]{uesc})*>)
      | (?P<lstring>'''(?:(?:'|'')?(?:[^'\\]|{echar}))*'''|\"\"\"(?:(?:"|"")?(?:[^"\\]|{echar}))*\"\"\")
      | (?P<string>'(?:[^'\\\n\r]|{echar})*'|"(?:[^"\\\n\r]|{echar})*")
      | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*(?:--[a-zA-Z]+)?)
      | (?P<var>[?$]{varname})
      | (?P<bnode>_:[{u}0-9](?:[{chars}.]*[{chars}])?)
      | (?P<pname>(?:{prefix})?:(?:{local})?)
      | (?P<number>(?:\d+\.\d*[eE][+-]?\d+|\.\d+[eE][+-]?\d+|\d+[eE][+-]?\d+|\d*\.\d+|\d+))
      | (?P<word>[^\W\d]\w*)
      | (?P<punct>\^\^|&&|\|\||!=|<=|>=|<<|>>|\{{\||\|\}}|[{{}}()\[\];,.*/+\-!=<>?^|&~])
        )
        """,
        re.VERBOSE,
    )


#: The longest prefix name the lexer reads (``_pattern``)
_MAX_PREFIX = 256


@cache
def _long_runs(ascii_only: bool) -> re.Pattern[str]:
    """A maximal run of name characters (dots included) over ``_MAX_PREFIX`` long, followed by a colon: where a
    prefix name over the bound can be. Each run is read once (it starts where the character before is no name
    character), so finding them all takes time in proportion to the text."""
    chars = _name_chars(ascii_only)
    return re.compile(f"(?<![{chars}.])[{chars}.]{{{_MAX_PREFIX + 1},}}+:")


def _name_chars(ascii_only: bool) -> str:
    base = _BASE_ASCII + ("" if ascii_only else _BASE_WIDE)
    return base + "_" + r"\-0-9" + ("" if ascii_only else _CHARS_WIDE)


def _prefix_over_bound(read: str, start: int, run: tuple[int, int], ascii_only: bool) -> bool:
    """Whether the engine reads a prefixed name over the bound where the lexer read a word at ``start``: the word
    lies in a long run whose colon ends a prefix name from ``start`` (not ending with a dot) over the bound. (Only
    there does the lexer read otherwise than the engine: a prefix name within the bound it reads as the engine.)"""
    first, colon = run
    base = _BASE_ASCII + ("" if ascii_only else _BASE_WIDE)
    return (
        first <= start < colon
        and colon - start > _MAX_PREFIX
        and read[colon - 1] != "."
        and re.match(f"[{base}]", read[start]) is not None
    )


class Token(NamedTuple):
    """A lexical token with its kind, text, 1-based position and offset in the text as given."""

    kind: str
    text: str
    line: int
    column: int
    offset: int


class CheckedQuery(NamedTuple):
    """A query that passed the check, with the text the engine must run unchanged and its form; ``bound`` pairs
    each stand-in IRI of the text with the term the engine binds in its place (see ``bind_terms``)."""

    text: str
    form: str
    dialect: str
    bound: tuple[tuple[str, Term], ...] = ()


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@cache
def _rdflib_escapes() -> re.Pattern[str]:
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re

    return expandUnicodeEscapes_re


def _expand_like_rdflib(text: str, where: str) -> tuple[str, list[int]]:
    """The text as rdflib parses it (every escape replaced, with rdflib's own expression) and, for each
    character of it, its offset in the text as given."""
    pieces: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _rdflib_escapes().finditer(text):
        pieces.append(text[last : m.start()])
        origin.extend(range(last, m.start()))
        try:
            pieces.append(chr(int(m.group(1), 16)))
        except (ValueError, OverflowError):
            line, column = _position(text, m.start())
            raise QuerySyntaxError(
                f"{where}:{line}:{column}: {m.group()!r} is not a Unicode code point; write a valid \\u or \\U escape"
            ) from None
        origin.append(m.start())
        last = m.end()
    pieces.append(text[last:])
    origin.extend(range(last, len(text) + 1))
    return "".join(pieces), origin


def tokens(text: str, dialect: str = "oxigraph", where: str = "query") -> list[Token]:
    """Split SPARQL text into its significant tokens (whitespace and comments dropped) as ``dialect``'s
    engine reads it; text that is no SPARQL token is a syntax error naming line and column."""
    return list(_lex(text, dialect, where))


def _lex(text: str, dialect: str, where: str) -> Iterator[Token]:
    """The tokens of ``tokens`` one by one (a caller that needs only the first few reads only those); the
    syntax error, if any, comes when the scan reaches it."""
    if dialect == "rdflib":
        read, origin = _expand_like_rdflib(text, where)
    else:
        read, origin = text, []
    ascii_only = read.isascii()
    pattern = _pattern("rdflib" if dialect == "rdflib" else "oxigraph", ascii_only)
    # runs of name characters long enough to hold a prefix name over the bound, each with its colon
    long_runs = [(m.start(), m.end() - 1) for m in _long_runs(ascii_only).finditer(read)]
    run = 0
    # line and column are found as the scan goes (offsets only grow): one pass over the text, however many
    # tokens it holds (the server checks every query it is sent)
    line, line_start, counted = 1, 0, 0
    pos, size = 0, len(read)
    match = pattern.match
    while pos < size:
        m = match(read, pos)
        if m is None:
            pos = _SKIPPED.match(read, pos).end()  # type: ignore[union-attr]  # white space to the end, or an error
            break
        kind = m.lastgroup or "punct"
        pos = m.end()
        start = m.start(kind)
        at = origin[start] if origin else start
        newlines = text.count("\n", counted, at)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, at) + 1
        counted = at
        if long_runs and kind == "word":
            while run < len(long_runs) and long_runs[run][1] <= start:
                run += 1
            if run < len(long_runs) and _prefix_over_bound(read, start, long_runs[run], ascii_only):
                raise QuerySyntaxError(
                    f"{where}:{line}:{at - line_start + 1}: a prefix name is over {_MAX_PREFIX} characters long, "
                    f"more than amurkg reads; shorten it"
                )
        yield Token(kind, m.group(kind), line, at - line_start + 1, at)
    if pos < size:
        at = origin[pos] if origin else pos
        line, column = _position(text, at)
        raise QuerySyntaxError(f"{where}:{line}:{column}: SPARQL syntax error: {_unexpected(read, pos)}")


def _unexpected(text: str, pos: int) -> str:
    char = text[pos]
    if char in "'\"":
        return 'a string is not closed on its line, or holds an escape SPARQL does not have (use \\t \\n \\" \\\\ ...)'
    if char == "<":
        return "an IRI holds a character IRIs cannot have (space, quote, brace, backslash...)"
    if char == "\\":
        return "a backslash outside a string or IRI; local names allow only \\ before one of _~.-!$&'()*+,;=/?#@%"
    return f"unexpected character {char!r} (U+{ord(char):04X})"


def _refuse(where: str, tok: Token, message: str) -> RefusedQueryError:
    return RefusedQueryError(f"{where}:{tok.line}:{tok.column}: {message}")


def _form(toks: Iterable[Token], where: str) -> str:
    """The query form: the first word after the prologue (``PREFIX p: <iri>``, ``BASE <iri>``); reads no further."""
    each = iter(toks)
    first = next(each, None)
    while first is not None and first.kind == "word" and first.text.upper() in ("PREFIX", "BASE"):
        for _ in range(2 if first.text.upper() == "PREFIX" else 1):
            next(each, None)
        first = next(each, None)
    word = first.text.upper() if first is not None and first.kind == "word" else ""
    if word in READ_FORMS:
        return word
    if first is not None and word in UPDATE_WORDS:
        raise _refuse(
            where,
            first,
            f"{word} is a SPARQL UPDATE, and amurkg only reads the graph; "
            "to add facts, put them in a Turtle file and pass it with {opt:data}",
        )
    pos = f"{first.line}:{first.column}" if first else "1:1"
    raise QuerySyntaxError(
        f"{where}:{pos}: expected SELECT, ASK, CONSTRUCT or DESCRIBE"
        + (f", found {first.text[:40]!r}" if first else ", found an empty query")
    )


def _check_tokens(toks: list[Token], where: str) -> str:
    form = _form(toks, where)
    for tok in toks:
        if tok.kind != "word":
            continue
        upper = tok.text.upper()
        if upper == "SERVICE":
            raise _refuse(
                where,
                tok,
                "SERVICE is refused: local queries never reach the network; to query a remote endpoint, "
                "ask it directly with {opt:endpoint}",
            )
        if upper == "FROM":
            raise _refuse(
                where,
                tok,
                "FROM is refused: amurkg answers from its own graph and never loads other datasets; drop the "
                "FROM clause, or pass extra RDF files with {opt:data}",
            )
        if upper in ("LOAD", "INSERT", "DELETE", "CLEAR", "DROP"):
            raise _refuse(where, tok, f"{upper} is a SPARQL UPDATE, and amurkg only reads the graph")
    return form


#: The longest text ``check_query`` reads on its quick path (``_plainly_readable``)
_QUICK_CHARS = 64 * 1024
#: The words ``_check_tokens`` refuses anywhere in a query (the form's own words are ``_form``'s).
_REFUSED_WORDS = ("SERVICE", "FROM", "LOAD", "INSERT", "DELETE", "CLEAR", "DROP")


@cache
def _refused_scanner() -> re.Pattern[str]:
    """The oxigraph lexer for ASCII text, repeated over the whole text in one match: each token is an atomic group
    (the alternatives tried in the lexer's order, the first that matches kept, never taken back: what the lexer
    reads, token after token), and the word alternative refuses a refused word, so the match fails at one (no
    alternative after it, punctuation, starts with a letter). No named group, so no token object is made."""
    body = re.sub(r"\(\?P<\w+>", "(?:", _pattern("oxigraph", True).pattern)
    word = r"| (?:[^\W\d]\w*)"
    if body.count(word) != 1:  # never skipped (python -O drops asserts): without it, no word would be refused
        raise RuntimeError("the lexer's word alternative changed: update amurkg.sparql._refused_scanner")
    refused = "|".join(_REFUSED_WORDS)
    body = body.replace(word, rf"| (?!(?i:{refused})(?!\w)) {word[2:]}")
    return re.compile(rf"(?:(?>{body}))*+ {_SKIP}", re.VERBOSE)


def _bare_tokens(text: str) -> Iterator[Token]:
    """The tokens of ASCII text ``_plainly_readable`` passed, without their positions (the form needs only their
    kind and text; the full check finds positions for its messages)."""
    match, pos = _pattern("oxigraph", True).match, 0
    while (m := match(text, pos)) is not None:
        kind = m.lastgroup or "punct"
        pos = m.end()
        yield Token(kind, m.group(kind), 0, 0, pos)


def _plainly_readable(text: str) -> bool:
    """True when ``text`` (ASCII) is made of oxigraph's tokens, none of them a refused word: then the check needs
    from its tokens only the form. The whole scan is one ``fullmatch`` in the regular expression engine
    (``_refused_scanner``), reading the tokens the lexer reads; False sends the text through the full check, which
    says what and where. Non-ASCII text always goes there (case folding beyond ASCII is the full check's)."""
    return text.isascii() and _refused_scanner().fullmatch(text) is not None


def check_query(text: str, where: str = "query", dialect: str = "oxigraph") -> CheckedQuery:
    """Check the exact text an engine is about to run, read as that engine reads it.

    ``dialect`` is ``oxigraph``, ``rdflib`` or ``any`` (both readings must pass: for a remote store whose
    parser is unknown). Refuses updates, SERVICE, FROM and LOAD with line:column; text that is not made of
    SPARQL tokens is a syntax error at its first bad character.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SPARQL dialect {dialect!r}")
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"{where}: the query is {len(text):,} characters long, more than amurkg reads ({MAX_QUERY_CHARS:,}); "
            "shorten it (bind long lists with VALUES from a file of data instead)"
        )
    if "\x00" in text:
        line, column = _position(text, text.index("\x00"))
        raise QuerySyntaxError(f"{where}:{line}:{column}: the query holds a NUL character; remove it")
    # the quick path is one match in the regular expression engine, which holds the interpreter until it ends: for
    # texts up to _QUICK_CHARS only; a longer text is read token by token (amurkg serve has its worker check it)
    if (
        dialect == "oxigraph"
        and len(text) <= _QUICK_CHARS
        and _plainly_readable(text)
        and _long_runs(True).search(text) is None  # a prefix name over the bound: the full check says where
    ):
        try:
            return CheckedQuery(text, _form(_bare_tokens(text), where), dialect)
        except (QuerySyntaxError, RefusedQueryError):  # no form: the full check below says what and where
            pass
    readings = ("oxigraph", "rdflib") if dialect == "any" else (dialect,)
    forms = {_check_tokens(tokens(text, d, where), where) for d in readings}
    if len(forms) != 1:
        raise QuerySyntaxError(f"{where}: the query reads differently with \\u escapes expanded; remove them")
    return CheckedQuery(text, forms.pop(), dialect)


#: What a variable is bound to: one term, or several (a tuple: the variable takes each in turn, as rows of its
#: own ``VALUES ?x { t1 t2 }``; an empty tuple gives no row, so the query answers nothing).
Binding = Term | tuple[Term, ...]


def bind_values(text: str, bindings: Mapping[str, Binding]) -> str:
    """Pre-bind variables by inserting ``VALUES (?a ?b) { (t1 t2) }`` at the start of the WHERE group (and a
    ``VALUES ?c { t3 t4 }`` for each variable bound to several terms).

    Terms are written from checked ``Term`` objects in N-Triples syntax, never pasted from user text, so a
    value is one term: it cannot add a row, a clause or a second term (``Term.n3`` escapes what could end
    it). The whole result is checked again by ``check_query`` before any engine runs it. An inline VALUES
    block at the start of the group is joined before that group's FILTERs, so parameters used only in a
    FILTER work too.
    """
    if not bindings:
        return text
    toks = tokens(text)
    brace = None
    for i, tok in enumerate(toks):
        if tok.kind == "word" and tok.text.upper() == "WHERE":
            brace = next((t for t in toks[i + 1 :] if t.text == "{"), None)
            break
    if brace is None:
        form = next((i for i, t in enumerate(toks) if t.kind == "word" and t.text.upper() in READ_FORMS), None)
        if form is not None and toks[form].text.upper() != "CONSTRUCT":
            brace = next((t for t in toks[form:] if t.text == "{"), None)
    if brace is None:
        raise QuerySyntaxError("cannot bind parameters: the query has no WHERE { ... } group")
    for name in bindings:
        if not re.fullmatch(r"[A-Za-z_0-9]\w*", name):
            raise QuerySyntaxError(f"cannot bind {name!r}: not a SPARQL variable name")
    single = {name: term for name, term in bindings.items() if isinstance(term, Term)}
    blocks = []
    if single:
        names = " ".join(f"?{name}" for name in single)
        values = " ".join(term.n3() for term in single.values())
        blocks.append(f" VALUES ({names}) {{ ({values}) }}")
    for name, terms in bindings.items():
        if not isinstance(terms, Term):
            blocks.append(f" VALUES ?{name} {{ {' '.join(term.n3() for term in terms)} }}")
    cut = brace.offset + 1
    return f"{text[:cut]}{''.join(blocks)}{text[cut:]}"


#: Stand-in IRIs for bound terms start with this; each query gets a fresh random part, so no text can name one.
STAND_IN = "urn:amurkg:bound:"


def bind_terms(text: str, bindings: Mapping[str, Binding], dialect: str) -> tuple[str, tuple[tuple[str, Term], ...]]:
    """Pre-bind variables the way ``dialect``'s engine takes terms, never as the terms' own text where the
    engine would read that text differently.

    rdflib expands every ``\\u`` escape in the whole query before it parses, so no text can carry an IRI
    holding ``>`` (or a quote, a brace...) through it. For rdflib the VALUES block therefore holds stand-in
    IRIs of a fresh random name, and the engine puts the real terms in their place in the parsed algebra
    (``amurkg.engines.rdflib_prepare``): the terms are bound, never read back from text. Other engines get
    the terms written by ``Term.n3``, which escapes by the grammar."""
    if dialect != "rdflib" or not bindings:
        return bind_values(text, bindings), ()
    import secrets

    nonce = secrets.token_hex(12)
    count = iter(range(1 << 62))
    stand_ins: dict[str, Binding] = {}
    bound: list[tuple[str, Term]] = []
    for name, value in bindings.items():
        terms = (value,) if isinstance(value, Term) else value
        iris = tuple(Term.iri(f"{STAND_IN}{nonce}:{next(count)}") for _ in terms)
        bound += [(iri.value, term) for iri, term in zip(iris, terms, strict=True)]
        stand_ins[name] = iris[0] if isinstance(value, Term) else iris
    return bind_values(text, stand_ins), tuple(bound)


def declared_prefixes(toks: list[Token]) -> set[str]:
    """The prefixes a query declares in its prologue (``PREFIX p: <...>``)."""
    return {
        toks[i + 1].text[:-1]
        for i, tok in enumerate(toks[:-1])
        if tok.kind == "word" and tok.text.upper() == "PREFIX" and toks[i + 1].kind == "pname"
    }


def undeclared_prefixes(text: str, known: Mapping[str, str]) -> list[Token]:
    """Prefixed names whose prefix is neither declared by the query nor in ``known``, first one first."""
    try:
        toks = tokens(text)
    except QuerySyntaxError:
        return []
    declared = declared_prefixes(toks) | set(known)
    prologue_ends = next((i for i, t in enumerate(toks) if t.kind == "word" and t.text.upper() in READ_FORMS), 0)
    return [t for t in toks[prologue_ends:] if t.kind == "pname" and t.text.split(":", 1)[0] not in declared]


def explain_syntax_error(
    text: str, where: str, message: str, line: int | None = None, column: int | None = None
) -> QuerySyntaxError:
    """A short syntax error for a query an engine refused: an undeclared prefix is named as such (engines
    list every token they expected instead), otherwise the engine's own message and position."""
    from amurkg.namespaces import PREFIXES

    unknown = undeclared_prefixes(text, PREFIXES)
    if unknown:
        tok = unknown[0]
        prefix = tok.text.split(":", 1)[0]
        some = ", ".join(p + ":" for p in list(PREFIXES)[:8])
        return QuerySyntaxError(
            f"{where}:{tok.line}:{tok.column}: the prefix '{prefix[:40]}:' is not declared; add "
            f"PREFIX {prefix[:40]}: <IRI> to the query (amurkg declares {some} and {len(PREFIXES) - 8} more)"
        )
    if line is None:
        m = _ENGINE_POS.search(message)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
    if "\\u" not in text and "\\U" not in text:
        found = _fault_position(text)
        if found is not None:
            line, column = found
    if line is not None and column is not None:
        located = _located(text, where, line, column)
        if located is not None:
            return located
    return syntax_error(where, message, line, column)


def _fault_position(text: str) -> tuple[int, int] | None:
    """Where the fault of a query that does not parse lies, from both parsers' readings.

    rdflib's parser (pyparsing) names the token where reading stopped, or, when a whole construct failed, the
    start of that construct (a triple pattern, a FILTER, an ORDER BY). pyoxigraph's names the place just past
    the furthest token it read, often a token or a line beyond the fault. So: rdflib's token, unless it
    starts a construct and pyoxigraph read further, when the fault is the last token pyoxigraph read."""
    try:
        toks = tokens(text)
    except QuerySyntaxError:
        return None
    starts = [(t.line, t.column) for t in toks]
    ours = _rdflib_position(text)
    theirs = _oxigraph_position(text)
    r = next((i for i, at in enumerate(starts) if at >= ours), None) if ours else None
    o = max((i for i, at in enumerate(starts) if at <= theirs), default=None) if theirs else None
    if r is None:  # rdflib read every token: the query ends too early
        return ours if ours is not None else (theirs if o is None else starts[o])
    construct = toks[r].kind == "word" and toks[r].text.upper() in _CLAUSE_WORDS
    triple = toks[r].kind in ("var", "iri", "pname", "bnode") and (r == 0 or toks[r - 1].text in ("{", "."))
    if (construct or triple) and o is not None and o > r:
        return starts[o]
    return starts[r]


def _oxigraph_position(text: str) -> tuple[int, int] | None:
    """Where pyoxigraph stops reading ``text`` (on an empty store: nothing is evaluated over data)."""
    import pyoxigraph

    try:
        pyoxigraph.Store().query(text)
    except SyntaxError as exc:
        m = _ENGINE_POS.search(str(exc.msg or exc))
        return (int(m.group(1)), int(m.group(2))) if m else None
    except Exception:  # evaluation errors say nothing about syntax
        return None
    return None


def _rdflib_position(text: str) -> tuple[int, int] | None:
    """Where rdflib's SPARQL parser stops reading ``text``: (line, column), or None when it reads it all."""
    try:
        from pyparsing import ParseException
        from rdflib.plugins.sparql.parser import parseQuery
    except ImportError:  # pragma: no cover - rdflib is a dependency
        return None
    try:
        parseQuery(text)
    except ParseException as exc:
        return exc.lineno, exc.col
    except Exception:  # any other failure says nothing about where
        return None
    return None


_CLAUSE_WORDS = (
    "SELECT", "WHERE", "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "BIND", "VALUES", "GROUP", "BY", "HAVING",
    "ORDER", "ASC", "DESC", "LIMIT", "OFFSET", "DISTINCT", "REDUCED", "AS", "PREFIX", "BASE", "ASK", "CONSTRUCT",
    "DESCRIBE", "NOT", "EXISTS", "IN", "UNDEF", "COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT",
    "SEPARATOR", "STR", "LANG", "LANGMATCHES", "DATATYPE", "BOUND", "IRI", "URI", "BNODE", "IF", "COALESCE",
    "REGEX", "REPLACE", "CONTAINS", "STRSTARTS", "STRENDS", "LCASE", "UCASE", "CONCAT", "STRLEN", "SUBSTR",
)  # fmt: skip


def _located(text: str, where: str, line: int, column: int) -> QuerySyntaxError | None:
    """A syntax error at ``line:column`` of ``text``: what stands there, a short hint, and (``context``) the line
    with a caret under that place."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines) + 1:
        return None
    source = lines[line - 1] if line <= len(lines) else ""
    column = max(1, min(column, len(source) + 1))
    try:
        toks = tokens(text)
    except QuerySyntaxError:
        return None
    here = next((t for t in toks if (t.line, t.column) >= (line, column)), None)
    if here is None:
        what, hint = "the end of the query", "the query ends too early: close every {, ( and [ it opens"
        if source.strip() == "" and lines:  # point at the end of the last line that holds something
            line = max(i for i, text_line in enumerate(lines, 1) if text_line.strip()) if text.strip() else 1
            source = lines[line - 1]
            column = len(source) + 1
    else:
        line, column, source = here.line, here.column, lines[here.line - 1]
        what = repr(here.text[:40])
        hint = _hint(here)
    error = QuerySyntaxError(f"{where}:{line}:{column}: SPARQL syntax error at {what}: {hint}")
    shown = source.expandtabs(1)
    error.context = f"{shown[:200]}\n{' ' * (column - 1)}^"  # type: ignore[attr-defined]
    return error


def _hint(tok: Token) -> str:
    from amurkg.errors import did_you_mean

    if tok.text in (")", "]", "}"):
        return "it closes nothing here: check that brackets pair up and that patterns end with '.'"
    if tok.kind == "word":
        upper = tok.text.upper()
        if upper in _CLAUSE_WORDS:
            return (
                f"this {upper[:20]} (or what follows it) does not parse: check its brackets and operands, and the "
                "order SELECT ... WHERE { ... } GROUP BY ... ORDER BY ... LIMIT ..."
            )
        suggestion = did_you_mean(upper, _CLAUSE_WORDS)
        return f"{tok.text[:40]!r} is not a SPARQL keyword; {suggestion or 'check the spelling'}".rstrip("? ") + (
            "?" if suggestion else ""
        )
    if tok.kind in ("var", "iri", "pname", "string", "lstring", "number", "bnode"):
        return "a '.' or ';' may be missing before it, or AS in (expression AS ?name)"
    return "check the SPARQL near there"


_ENGINE_POS = re.compile(r"(?:error at |line[: ]\s*)(\d+)[:, ]\s*(?:col(?:umn)?[: ]\s*)?(\d+)")


def syntax_error(where: str, message: str, line: int | None = None, column: int | None = None) -> QuerySyntaxError:
    """Build a one-line syntax error from an engine's message, keeping its line and column."""
    message = " ".join(message.split())
    if line is None:
        m = _ENGINE_POS.search(message)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
    message = re.sub(r"^error at \d+:\d+:\s*", "", message)
    if len(message) > 200:
        message = message[:200].rsplit(" ", 1)[0] + " …"
    pos = f"{line}:{column}" if line is not None else "?"
    return QuerySyntaxError(f"{where}:{pos}: SPARQL syntax error: {message}")
