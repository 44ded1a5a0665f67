"""The ``amurkg`` command line: each command parses its options, calls the library, formats the answer."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from amurkg import __version__
from amurkg.errors import AmurkgError, ParameterError
from amurkg.survey.options import with_filters, with_filters_taxa

# Typer may use click or its own vendored copy; take the exception classes from whichever it uses.
_ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class _OneLineError(_ClickException):  # type: ignore[misc,valid-type]
    """A usage error shown as a single line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        from amurkg.output import terminal_safe

        typer.echo(f"amurkg: error: {terminal_safe(self.message)}", err=True)


#: The stores a command opened through _load, closed when it ends.
_OPENED: list[Any] = []


class _Group(TyperGroup):
    """Turns library errors and usage errors into one line on stderr and an exit code; no traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return self._invoke(ctx)
        finally:  # the stores the command opened: an in-process caller (a test, a notebook) may import next
            while _OPENED:
                _OPENED.pop().close()

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AmurkgError as exc:
            from amurkg.output import terminal_safe

            for line in exc.cli_lines():  # a package check lists one problem per line
                typer.echo(f"amurkg: error: {terminal_safe(line)}", err=True)
            context = getattr(exc, "context", None)
            if context and sys.stderr.isatty():  # a person reads it: the offending line, a caret under the fault
                for line in context.splitlines():
                    typer.echo(f"  {terminal_safe(line)}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except _UsageError as exc:
            sub = getattr(exc, "ctx", None)
            # the path below the program, named 'amurkg' however the program was started (python -m, a runner)
            path = " ".join(["amurkg", *sub.command_path.split(" ")[1:]]) if sub is not None else ""
            where = f" (see '{path} --help')" if sub is not None and sub.parent is not None else ""
            raise _OneLineError(exc.format_message() + where) from None  # type: ignore[attr-defined]
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except KeyboardInterrupt as exc:  # Ctrl-C (or SIGTERM, which import and push turn into it): Typer ends silently
            from amurkg.errors import KeptInterrupt
            from amurkg.output import terminal_safe

            # one that came after the change was committed says what stands
            said = f": {terminal_safe(str(exc))}" if isinstance(exc, KeptInterrupt) else ""
            typer.echo(f"amurkg: interrupted{said}", err=True)
            raise typer.Exit(130) from None
        except ModuleNotFoundError as exc:  # an optional part not installed: say which extra brings it
            from amurkg.errors import missing_extra

            error = missing_extra(exc, "this command")
            if error is None:
                raise
            typer.echo(f"amurkg: error: {error.for_cli()}", err=True)
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion: commands, options, query names, entities
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Engine(StrEnum):
    """Query engines."""

    oxigraph = "oxigraph"
    rdflib = "rdflib"


class ResultFormat(StrEnum):
    """Formats for SELECT and ASK answers."""

    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    xml = "xml"
    md = "md"


class ReportFormat(StrEnum):
    """Formats of a validation report."""

    text = "text"
    json = "json"
    ttl = "ttl"


class View(StrEnum):
    """Graph views."""

    story = "story"
    instance = "instance"
    schema = "schema"
    focus = "focus"


class VizFormat(StrEnum):
    """Formats of a graph view."""

    png = "png"
    svg = "svg"
    html = "html"
    graphml = "graphml"
    gexf = "gexf"
    dot = "dot"
    cytoscape = "cytoscape"


class ExportFormat(StrEnum):
    """What amurkg export writes: the RDF formats and Darwin Core Archives."""

    ttl = "ttl"
    nt = "nt"
    nq = "nq"
    trig = "trig"
    jsonld = "jsonld"
    xml = "xml"
    dwca = "dwca"
    camtrapdp = "camtrapdp"


class RdfFormat(StrEnum):
    """RDF serialisations."""

    ttl = "ttl"
    nt = "nt"
    nq = "nq"
    trig = "trig"
    jsonld = "jsonld"
    xml = "xml"


DataOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        "-d",
        help="Extra RDF file layered on the shipped graph (.ttl .nt .nq .trig .rdf .owl .xml .jsonld .json); "
        "repeatable.",
    ),
]
ReasonOpt = Annotated[
    bool,
    typer.Option(
        "--reason",
        help="First add what OWL RL entails (amurkg's own reasoner): superclasses, inverse relations, transitive "
        "containment. Canned queries that need it apply it anyway.",
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="Ask this SPARQL endpoint instead of the local graph (credentials from AMURKG_ENDPOINT_USER and "
        "AMURKG_ENDPOINT_PASSWORD).",
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="AMURKG_STORE",
        help="Answer from this on-disk store (made by amurkg import) instead of the shipped graph in memory.",
    ),
]
GraphOpt = Annotated[str | None, typer.Option("--graph", help="With --endpoint: the named graph to query.")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds the query may take (locally it is stopped then; with --endpoint, the whole exchange).",
        min=0.001,
    ),
]
MaxRowsOpt = Annotated[
    int, typer.Option("--max-rows", help="Stop with an error when the answer has more rows (or triples).", min=1)
]
MaxMemoryOpt = Annotated[
    int | None,
    typer.Option(
        "--max-memory",
        help="Stop with an error when the process needs more memory, in MiB (default: half the RAM, at most 4096).",
        min=16,
    ),
]
RawOpt = Annotated[
    bool,
    typer.Option("--raw", help="TSV with terms in N-Triples syntax (the W3C SPARQL TSV form), not plain values."),
]
IrisOpt = Annotated[
    bool, typer.Option("--iris", help="Tables show whole IRIs instead of short names (amur:wild-boar).")
]
SpreadsheetOpt = Annotated[
    bool | None,
    typer.Option(
        "--spreadsheet-safe/--exact-csv",
        help="CSV/TSV cells a spreadsheet would run as formulas (starting with = + - @, tab, CR) get a leading ' "
        "(numbers stay numbers); default: safe when writing a file with -o, exact W3C CSV/TSV on stdout.",
    ),
]
EngineOpt = Annotated[Engine, typer.Option("--engine", "-e", help="Query engine.", case_sensitive=False)]
OutOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout.")
]
FormatOpt = Annotated[
    ResultFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Result format; default: table on a terminal, else TSV (or from the -o extension).",
        case_sensitive=False,
    ),
]
RdfFormatOpt = Annotated[
    RdfFormat | None,
    typer.Option(
        "--rdf-format",
        help="RDF format for CONSTRUCT/DESCRIBE answers; default Turtle (or from the -o extension).",
        case_sensitive=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amurkg {__version__}")
        raise typer.Exit()


#: Commands that manage signals themselves (serve's workers, the store's own transactions) or only send.
_OWN_SIGNALS = ("serve", "import", "push")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Ask the Amur leopard knowledge graph questions: where it lives and lived, what it eats, how many
    are left, what threatens it and what is done about it. Every fact carries the span of source text
    that states it.

    Exit codes: 0 success, 1 violations found, 2 error (bad input, query or file, or an engine fault).
    """
    import warnings

    from amurkg.progress import enable_on_terminal

    enable_on_terminal()
    if ctx.invoked_subcommand == "import":
        import signal

        # SIGTERM stops an import as Ctrl-C does: it removes its staged files and its graph, and keeps the store
        signal.signal(signal.SIGTERM, _interrupt)
    if ctx.invoked_subcommand not in _OWN_SIGNALS:
        from amurkg.limits import supervise

        supervise()  # before any engine starts threads: a signal is then always taken by the supervisor

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        from amurkg.output import terminal_safe

        typer.echo(f"amurkg: warning: {terminal_safe(str(message))}", err=True)

    warnings.showwarning = show  # one line, like errors, without a source line of amurkg's own code


def _load(
    data: list[Path] | None,
    engine: Engine,
    reason: bool = False,
    endpoint: str | None = None,
    graph: str | None = None,
    timeout: float = 60.0,
    store: Path | None = None,
) -> Any:
    from amurkg.graph import KnowledgeGraph

    if endpoint is None:
        if graph is not None:
            raise ParameterError("--graph goes with --endpoint; the local graph has no named graphs to choose from")
        kg = KnowledgeGraph(data or [], engine.value, reason, store=store)
        if store is not None:  # its lock is released when the command ends (_Group.invoke), not when collected
            _OPENED.append(kg)
        return kg
    if store is not None:
        raise ParameterError("--store and --endpoint cannot be combined: choose where the answers come from")
    if data or reason:
        raise ParameterError(
            "--data and --reason work on the local graph; to ask a store, push them first (amurkg push)"
        )
    return KnowledgeGraph.remote(endpoint, timeout, graph)


def _stdout_is_terminal() -> bool:
    """Whether answers go to a person (table) or to a program (TSV)."""
    return sys.stdout.isatty()


def _table_width(chosen: str, output: Path | None) -> int | None:
    """The terminal's width when a table goes to it (tables are fitted to it), else None."""
    import shutil

    if chosen != "table" or output is not None or not _stdout_is_terminal():
        return None
    return shutil.get_terminal_size().columns


def _wrote(path: Path | None, what: str = "", detail: str = "") -> None:
    """Say on stderr that the output was written, as every command says it (``amurkg.output.wrote_message``)."""
    from amurkg.output import wrote_message

    typer.echo(wrote_message(path, what, detail), err=True)


def _complete_queries(incomplete: str) -> list[str]:
    from amurkg.catalog import query_names

    return [name for name in query_names() if name.startswith(incomplete)]


def _complete_entities(incomplete: str) -> list[str]:
    from amurkg.graph import KnowledgeGraph

    # bash gets them escaped (wild\ boar: amurkg.completion.escape_for_bash)
    return sorted(n for n in KnowledgeGraph().entity_names() if n.startswith(incomplete))[:200]


def _limits(what: str, timeout: float, max_memory: int | None, endpoint: str | None = None) -> Any:
    from amurkg.limits import default_max_memory_mb, limits

    if endpoint is not None:  # the exchange's own deadline speaks first, naming the endpoint; this is a backstop
        from amurkg.remote import shown_url

        what, timeout = f"{what} at {shown_url(endpoint)}", timeout + 5
    return limits(what, timeout, max_memory or default_max_memory_mb())


def _answer_format(form: str, fmt: ResultFormat | None, rdf_format: RdfFormat | None, output: Path | None) -> str:
    """The format to write an answer of this form in; a format or output extension that does not fit the
    kind of answer is an error, found before the query runs and before any file is created."""
    from amurkg.errors import FormatError
    from amurkg.output import RDF_FORMAT_BY_EXTENSION, RESULT_FORMAT_BY_EXTENSION, choose_format

    if form in ("CONSTRUCT", "DESCRIBE"):
        if fmt is not None:
            raise FormatError(
                "CONSTRUCT and DESCRIBE give RDF, not result rows: use --rdf-format (ttl, nt, nq, trig, jsonld, xml)"
            )
        return choose_format(rdf_format.value if rdf_format else None, output, RDF_FORMAT_BY_EXTENSION, "ttl", "RDF")
    if rdf_format is not None:
        raise FormatError("--rdf-format is for CONSTRUCT and DESCRIBE; SELECT and ASK answers take --format")
    default = "table" if output is None and _stdout_is_terminal() else "tsv"
    return choose_format(fmt.value if fmt else None, output, RESULT_FORMAT_BY_EXTENSION, default, "query results")


def _write_answer(
    answer: Any,
    chosen: str,
    output: Path | None,
    *,
    max_rows: int,
    where: str,
    raw: bool,
    width: int | None = None,
    spreadsheet: bool | None = None,
    iris: bool = False,
) -> None:
    """Write an answer as it is read (rows stream in the W3C formats; RDF is sorted, so read first)."""
    from amurkg.output import emit, open_output, spreadsheet_safe_default
    from amurkg.results import AskResult, GraphResult, GraphStream, SelectStream, format_graph, limited, write_result

    if isinstance(answer, GraphStream | GraphResult):
        triples = list(limited(answer.triples, max_rows, where, "triples"))
        emit(format_graph(GraphResult(triples), chosen), output)
        return
    if not isinstance(answer, AskResult):
        answer = SelectStream(answer.variables, limited(answer.rows, max_rows, where))
    safe = spreadsheet_safe_default(output) if spreadsheet is None else spreadsheet
    with open_output(output) as out:
        write_result(answer, chosen, out, raw=raw, width=width, spreadsheet_safe=safe, iris=iris)


def _params(pairs: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParameterError(
                f"bad parameter {pair!r}: write -p NAME=VALUE, for example -p predator=amur:amur-leopard"
            )
        params[name.strip()] = value
    return params


@app.command("queries")
def queries_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="List as JSON (name, title, description, parameters, reasoning).")
    ] = False,
    show: Annotated[
        str | None,
        typer.Option(
            "--show",
            help="Print this query's SPARQL (header included), to copy and adapt.",
            autocompletion=_complete_queries,
        ),
    ] = None,
) -> None:
    """List the canned queries: name, title, parameters, description, and which apply reasoning.

    Example: amurkg queries --show prey"""
    import shutil

    from amurkg.catalog import get_query, list_queries
    from amurkg.output import emit
    from amurkg.report import queries_json, queries_table

    if show is not None:
        emit(get_query(show).text, None)
        return
    canned = list_queries()
    width = shutil.get_terminal_size().columns if _stdout_is_terminal() else 100
    emit(queries_json(canned) if as_json else queries_table(canned, width), None)


@app.command("query")
def query_command(
    name: Annotated[
        str, typer.Argument(help="Name of a canned query (see 'amurkg queries').", autocompletion=_complete_queries)
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter as NAME=VALUE; repeatable.")
    ] = None,
    fmt: FormatOpt = None,
    output: OutOpt = None,
    data: DataOpt = None,
    store: StoreOpt = None,
    engine: EngineOpt = Engine.oxigraph,
    reason: ReasonOpt = False,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    max_rows: MaxRowsOpt = 1_000_000,
    max_memory: MaxMemoryOpt = None,
    raw: RawOpt = False,
    spreadsheet: SpreadsheetOpt = None,
    iris: IrisOpt = False,
) -> None:
    """Run a canned query by name, with parameters bound safely (never pasted into the query text).

    Example: amurkg query places-in-country -p country=China -f csv -o places.csv"""
    chosen = _answer_format("SELECT", fmt, None, output)  # every canned query is a SELECT
    params = _params(param)
    with _limits(f"query {name!r}", timeout, max_memory, endpoint):
        answer = _load(data, engine, reason, endpoint, graph, timeout, store=store).run_stream(name, params)
        _write_answer(
            answer,
            chosen,
            output,
            max_rows=max_rows,
            where=name,
            raw=raw,
            width=_table_width(chosen, output),
            spreadsheet=spreadsheet,
            iris=iris,
        )


@app.command("sparql")
def sparql_command(
    query: Annotated[str | None, typer.Argument(help="SPARQL query text, or - to read it from stdin.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-q", help="Read the query from this file.")] = None,
    fmt: FormatOpt = None,
    rdf_format: RdfFormatOpt = None,
    output: OutOpt = None,
    data: DataOpt = None,
    store: StoreOpt = None,
    engine: EngineOpt = Engine.oxigraph,
    reason: ReasonOpt = False,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    max_rows: MaxRowsOpt = 1_000_000,
    max_memory: MaxMemoryOpt = None,
    raw: RawOpt = False,
    exact_locations: Annotated[
        bool,
        typer.Option(
            "--exact-locations",
            help="With --store: see the exact coordinates of cameras that recorded a threatened taxon (withheld "
            "by default, and always from serve); a warning says not to publish the answer.",
        ),
    ] = False,
    spreadsheet: SpreadsheetOpt = None,
    iris: IrisOpt = False,
) -> None:
    """Run your own SELECT, ASK, CONSTRUCT or DESCRIBE query (CONSTRUCT and DESCRIBE give RDF). The prefixes
    amurkg shows (amur:, akg:, dwc:, obo:, skos:, rdfs: ...) are declared for you; your own PREFIX wins.

    Example: amurkg sparql 'SELECT ?country WHERE { ?country a akg:Country }'"""
    from amurkg.report import read_query_text

    text, where = read_query_text(query, file)
    with _limits("the query", timeout, max_memory, endpoint):
        kg = _load(data, engine, reason, endpoint, graph, timeout, store=store)
        if exact_locations:
            if store is None:
                raise ParameterError("--exact-locations goes with --store: only a store withholds locations")
            from amurkg.survey.sensitive import EXACT_WARNING

            typer.echo(f"amurkg: warning: {EXACT_WARNING}", err=True)
            kg.engine.handle.exact_locations = True
        checked = kg.check(text, where=where)
        chosen = _answer_format(checked.form, fmt, rdf_format, output)
        width = _table_width(chosen, output)
        answer = kg.execute(checked, where)
        _write_answer(
            answer,
            chosen,
            output,
            max_rows=max_rows,
            where=where,
            raw=raw,
            width=width,
            spreadsheet=spreadsheet,
            iris=iris,
        )


@app.command("export")
@with_filters
def export_command(
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="RDF format, dwca (a Darwin Core Archive of imported surveys, needs --store) or camtrapdp "
            "(a Camtrap DP "
            "package, -o DIR or .zip); default Turtle "
            "(or from the -o extension: .zip is dwca).",
            case_sensitive=False,
        ),
    ] = None,
    output: OutOpt = None,
    data: DataOpt = None,
    store: StoreOpt = None,
    reason: Annotated[
        bool,
        typer.Option(
            "--reason", help="Write the full graph: add what OWL RL entails (a separate named graph in TriG/N-Quads)."
        ),
    ] = False,
    grid: Annotated[
        float,
        typer.Option(
            "--grid",
            help="Degrees of the grid that the locations of cameras which recorded a threatened taxon are "
            "generalised to (-f dwca). Example: --grid 0.25",
        ),
    ] = 0.1,
    exact_locations: Annotated[
        bool,
        typer.Option(
            "--exact-locations",
            help="Write the exact coordinates of threatened taxa too (-f dwca; with a warning): not for publishing.",
        ),
    ] = False,
    flt: Any = None,
) -> None:
    """Write the whole graph (ontology + data + your --data files, or a store); the same bytes on every run.

    The default is the base graph (asserted triples only); --reason writes the full graph. With --store, what
    the store holds, streamed; -f dwca writes its camera-trap observations as a Darwin Core Archive for GBIF
    (the record filters choose which: without any, every event-level animal observation).

    Example: amurkg export -o amurkg.ttl ; amurkg export --store S -f dwca --since 2023-01-01 -o dwca.zip"""
    from amurkg.output import RDF_FORMAT_BY_EXTENSION, choose_format, emit, open_output
    from amurkg.survey.filters import SurveyFilter

    if fmt is None and output is not None and output.suffix.lower() == ".zip":
        fmt = ExportFormat.dwca
    chosen_records = None if flt == SurveyFilter() else flt  # no filter option given: every record
    if chosen_records is not None and fmt not in (ExportFormat.dwca, ExportFormat.camtrapdp):
        raise ParameterError(
            "the record filters (--taxon, --since, --until, --deployment, --location, --package, "
            "--observation-type, --include-timelapse) choose the records of -f dwca and -f camtrapdp; the RDF "
            "formats write whole graphs"
        )
    if fmt is ExportFormat.camtrapdp:
        if store is None or output is None:
            raise ParameterError(
                "-f camtrapdp writes an imported survey: name the store (--store DIR) and -o DIR or .zip"
            )
        from amurkg.survey.camtrapdp_write import write_package
        from amurkg.survey.sensitive import EXACT_WARNING, Grid

        chosen_grid = None if exact_locations else Grid(grid)
        if exact_locations:
            typer.echo(f"amurkg: warning: {EXACT_WARNING}", err=True)
        with _load(None, Engine.oxigraph, store=store) as kg:
            write_package(kg, output, chosen_grid, chosen_records)
        _wrote(output, "a Camtrap DP package")
        return
    if fmt is ExportFormat.dwca:
        if store is None:
            raise ParameterError("-f dwca exports imported surveys: name the store with --store DIR")
        from amurkg.output import terminal_safe
        from amurkg.survey.dwca import summary, write_archive_report
        from amurkg.survey.sensitive import EXACT_WARNING, Grid

        chosen_grid = None if exact_locations else Grid(grid)
        if exact_locations:
            typer.echo(f"amurkg: warning: {EXACT_WARNING}", err=True)
        with _load(None, Engine.oxigraph, store=store) as kg:
            archive, coverage = write_archive_report(kg, chosen_grid, chosen_records)
        emit(archive, output)
        for line in coverage.renamed:  # IDs that several packages use, made unique as survey merge does
            typer.echo(f"amurkg: renamed: {terminal_safe(line)}", err=True)
        _wrote(output, "a Darwin Core Archive", summary(coverage, chosen_grid))
        return
    chosen = choose_format(fmt.value if fmt else None, output, RDF_FORMAT_BY_EXTENSION, "ttl", "RDF")
    if store is not None:
        if data:
            raise ParameterError("--data and --store cannot be combined: import the files into the store")
        from amurkg.serialize import write_store
        from amurkg.store import Store

        with Store.open(store) as handle, open_output(output) as out:
            write_store(out, chosen, handle, reason)
        return
    from amurkg.rdfio import read_rdf
    from amurkg.serialize import export_graph

    sources = [read_rdf(p) for p in data or []]
    emit(export_graph(chosen, sources, reason), output)


@app.command("describe")
def describe_command(
    entity: Annotated[
        str,
        typer.Argument(
            help="The entity: IRI, prefixed name (amur:wild-boar), local name or label.",
            autocompletion=_complete_entities,
        ),
    ],
    fmt: FormatOpt = None,
    output: OutOpt = None,
    quote: Annotated[
        bool, typer.Option("--quote", help="Add the text of each cited span (needs the source documents).")
    ] = False,
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="Folder holding the source documents (seed/, reference/); or $AMURKG_SOURCES."),
    ] = None,
    data: DataOpt = None,
    store: StoreOpt = None,
    engine: EngineOpt = Engine.oxigraph,
    reason: ReasonOpt = False,
    raw: RawOpt = False,
    spreadsheet: SpreadsheetOpt = None,
) -> None:
    """Show everything the graph says about an entity, one row per fact with the source spans that state it;
    incoming facts read from the entity's side ("← preyed on by Amur leopard"), inferred ones are marked.

    Example: amurkg describe 'wild boar' --quote --sources ~/amur-leopard-sources"""
    from amurkg.output import RESULT_FORMAT_BY_EXTENSION, choose_format, emit, spreadsheet_safe_default
    from amurkg.report import description_table
    from amurkg.results import format_result

    default = "table" if output is None and _stdout_is_terminal() else "tsv"
    chosen = choose_format(fmt.value if fmt else None, output, RESULT_FORMAT_BY_EXTENSION, default, "query results")
    result = _load(data, engine, reason, store=store).describe(entity, quote=quote, sources=sources)
    if chosen in ("table", "md"):
        result = description_table(result)
    safe = spreadsheet_safe_default(output) if spreadsheet is None else spreadsheet
    emit(format_result(result, chosen, raw=raw, width=_table_width(chosen, output), spreadsheet_safe=safe), output)


@app.command("stats")
def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as a JSON object.")] = False,
    graph: Annotated[
        bool,
        typer.Option(
            "--graph", help="Network metrics of the instance graph instead: nodes, edges, components, central entities."
        ),
    ] = False,
    data: DataOpt = None,
    store: StoreOpt = None,
    engine: EngineOpt = Engine.oxigraph,
) -> None:
    """Count triples, classes, properties, individuals, facts, sourced facts, spans and documents, and link
    coverage; or, with --graph, which entities hold the web together.

    Example: amurkg stats --graph"""
    from amurkg.output import emit

    kg = _load(data, engine, store=store)
    if graph:
        from amurkg.output import terminal_safe
        from amurkg.viz import format_metrics, graph_metrics, to_networkx

        emit(terminal_safe(format_metrics(graph_metrics(to_networkx(kg)), as_json), keep_lines=True), None)
        return
    from amurkg.report import stats_text

    emit(stats_text(kg.stats(), as_json), None)


@app.command("viz")
def viz_command(
    view: Annotated[
        View | None,
        typer.Option("--view", help="story, instance, schema or focus (default: see above).", case_sensitive=False),
    ] = None,
    fmt: Annotated[
        VizFormat | None,
        typer.Option(
            "--format", "-f", help="Output format; default from the -o extension, else html.", case_sensitive=False
        ),
    ] = None,
    output: OutOpt = None,
    focus: Annotated[
        str | None,
        typer.Option("--focus", help="Entity at the centre of the focus view.", autocompletion=_complete_entities),
    ] = None,
    depth: Annotated[int, typer.Option("--depth", help="How many links away from the focus to go.")] = 1,
    prop: Annotated[
        list[str] | None, typer.Option("--property", help="Follow only this property in the focus view; repeatable.")
    ] = None,
    cls: Annotated[
        list[str] | None, typer.Option("--class", help="Keep only nodes of this class in the focus view; repeatable.")
    ] = None,
    provenance: Annotated[
        bool, typer.Option("--provenance", help="Keep facts, spans and source documents in the instance view.")
    ] = False,
    data: DataOpt = None,
    store: StoreOpt = None,
    engine: EngineOpt = Engine.oxigraph,
) -> None:
    """Draw the graph or export it for Gephi, Graphviz and Cytoscape: the story of the Amur leopard at a
    glance (the default for pictures and pages), every individual (--view instance, the default for the
    other formats), the schema, or the neighbourhood of one entity (--focus ENTITY --depth N). Large views
    are drawn as overviews, and the command says so.

    Example: amurkg viz --focus 'Amur leopard' --depth 2 -o leopard.png"""
    from amurkg.output import emit
    from amurkg.viz import Notes, render_view

    chosen = fmt.value if fmt else (output.suffix.lower().lstrip(".") if output else "html")
    if chosen == "json":
        chosen = "cytoscape"
    notes = Notes()
    data_bytes = render_view(
        _load(data, engine, store=store),
        view.value if view else None,
        chosen,
        focus=focus,
        depth=depth,
        properties=prop or [],
        classes=cls or [],
        provenance=provenance,
        to_terminal=output is None and _stdout_is_terminal(),
        notes=notes,
    )
    emit(data_bytes, output)
    from amurkg.errors import render_settings

    for note in notes:
        from amurkg.output import terminal_safe

        typer.echo(f"amurkg: {terminal_safe(render_settings(note, cli=True))}", err=True)


@app.command("validate")
def validate_command(
    data: DataOpt = None,
    shapes: Annotated[
        list[Path] | None, typer.Option("--shapes", help="Extra SHACL shapes file, added to the shipped shapes.")
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.", case_sensitive=False)] = (
        ReportFormat.text
    ),
    output: OutOpt = None,
) -> None:
    """Check the graph and your --data files against the SHACL shapes: exit 0 conforms, 1 violations, 2 error.

    Example: amurkg validate -d my-sightings.ttl -f json"""
    from amurkg.output import emit
    from amurkg.progress import step
    from amurkg.rdfio import read_rdf
    from amurkg.validate import format_report, validate

    with step("validating the graph against the SHACL shapes"):
        report = validate([read_rdf(p) for p in data or []], shapes or [])
    text = format_report(report, fmt.value)
    if fmt.value == "text":  # a report for people quotes values from the data: no control character goes raw
        from amurkg.output import terminal_safe

        text = terminal_safe(text, keep_lines=True)
    emit(text, output)
    raise typer.Exit(report.exit_code)


@app.command("check")
def check_command(
    data: DataOpt = None,
    store: StoreOpt = None,
    engine: EngineOpt = Engine.oxigraph,
    output: OutOpt = None,
) -> None:
    """Run every *-violation query (rules SHACL cannot express well): exit 0 when all return nothing, else 1.

    Example: amurkg check -d my-sightings.ttl"""
    from amurkg.check import format_checks, run_checks
    from amurkg.output import emit

    outcomes = run_checks(_load(data, engine, store=store))
    emit(format_checks(outcomes), output)
    raise typer.Exit(0 if all(o.passed for o in outcomes) else 1)


@app.command("docs")
def docs_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write index.html into.")] = Path(
        "amurkg-docs"
    ),
) -> None:
    """Write browsable HTML documentation of the ontology (pyLODE), with examples from the graph; works offline.

    Example: amurkg docs -o site && open site/index.html"""
    from amurkg.docs import write_docs

    target = write_docs(output)
    _wrote(target, "the ontology's documentation")


@app.command("push")
def push_command(
    endpoint: Annotated[str, typer.Option("--endpoint", help="The store's SPARQL query endpoint (for the check).")],
    graph: Annotated[str, typer.Option("--graph", help="Named graph to replace with the graph.")] = (
        "https://w3id.org/amurkg/graph"
    ),
    gsp_url: Annotated[
        str | None,
        typer.Option("--gsp-url", help="Graph Store Protocol URL; default: /store beside the endpoint (Oxigraph)."),
    ] = None,
    reason: Annotated[bool, typer.Option("--reason", help="Push the full graph, with OWL RL entailments.")] = False,
    data: DataOpt = None,
    store: StoreOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each request.")] = 60.0,
) -> None:
    """Publish the graph (plus --data, or an on-disk --store) to a triple store through the SPARQL 1.1 Graph
    Store HTTP Protocol, replacing the named graph, in batches of bounded size, then count it on the server.

    Example: amurkg push --endpoint http://127.0.0.1:7878/query"""
    from amurkg.rdfio import read_rdf
    from amurkg.remote import push
    from amurkg.serialize import export_graph

    if store is not None:
        if data:
            raise ParameterError("--data and --store cannot be combined: import the files into the store")
        from amurkg.store import Store

        with Store.open(store) as handle:
            report = push(handle.ntriples(reason), endpoint, graph, gsp_url, timeout)
    else:
        data_nt = export_graph("nt", [read_rdf(p) for p in data or []], reason)
        report = push(data_nt.splitlines(), endpoint, graph, gsp_url, timeout)
    typer.echo(
        f"pushed {report.sent} triples in {report.batches} batch(es) to <{report.graph}> at {report.store}; "
        f"the store now holds {report.on_server} triples in that graph",
        err=True,
    )
    if report.on_server != report.sent:
        typer.echo("amurkg: error: the store holds a different number of triples than were sent", err=True)
        raise typer.Exit(2)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; only this machine by default.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).", min=0, max=65535)] = 7878,
    data: DataOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds a query may wait and run before it is stopped (503).")
    ] = 5.0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Most query worker processes (they share the graph's memory; one per CPU at first, more on demand).",
            min=1,
            max=256,
        ),
    ] = 16,
    queue: Annotated[
        int, typer.Option("--queue", help="Queries that may wait for a worker; beyond, 503 with Retry-After.", min=0)
    ] = 64,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Largest answer, in rows or triples.", min=1)] = 10_000,
    max_answer: Annotated[
        int, typer.Option("--max-answer", help="Largest answer, in bytes (streamed, cut at the limit).", min=1)
    ] = 16 * 1024 * 1024,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body, in bytes.", min=1)] = 1_000_000,
    max_connections: Annotated[
        int, typer.Option("--max-connections", help="Open connections; beyond, the oldest idle one is closed.", min=1)
    ] = 512,
    client_timeout: Annotated[
        float,
        typer.Option("--client-timeout", help="Seconds a client has to send each request and to take each answer."),
    ] = 10.0,
    cors: Annotated[
        str | None, typer.Option("--cors", help="Allow browser pages from this origin (or *) to query.")
    ] = None,
    reason: Annotated[bool, typer.Option("--reason", help="Serve the full graph, with OWL RL entailments.")] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Also answer requests whose Host header is NAME (a reverse proxy's name; repeatable). By default "
            "only the bound address, localhost, 127.0.0.1 and [::1] with the port are answered; others get 400.",
        ),
    ] = None,
    store: StoreOpt = None,
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            help="Folder holding the source documents (seed/, reference/), for the web pages' quotes; "
            "or $AMURKG_SOURCES.",
        ),
    ] = None,
    web: Annotated[
        bool, typer.Option("--web/--no-web", help="Also serve the web interface at / (needs amurkg[web]).")
    ] = True,
) -> None:
    """Serve the graph (plus --data, or an on-disk --store) as a read-only SPARQL 1.1 Protocol endpoint at
    /sparql: updates, SERVICE, LOAD and FROM refused, each query time-limited, answers and request bodies
    size-limited, slow clients dropped; and a web interface at / for reading it in a browser. Stops cleanly on
    SIGTERM (exit 0) or Ctrl-C (exit 130).

    Example: amurkg serve --port 7878 --sources ~/amur-leopard-sources"""
    import math

    from amurkg.serve import ServeOptions, bound_address, describe_limits, open_socket, serve

    for name, value in (("--timeout", timeout), ("--client-timeout", client_timeout)):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive number of seconds")
    if cors is not None and (len(cors) > 200 or any(c in cors for c in "\r\n\x00")):
        raise ParameterError("--cors must be one origin such as https://example.org, or *")
    from amurkg.serve.protocol import is_host_name

    for name in allow_host or []:
        if not is_host_name(name):
            raise ParameterError(f"--allow-host {name[:80]!r}: give a host name or address, e.g. kg.example.org")
    options = ServeOptions(
        tuple(data or []),
        workers,
        timeout,
        max_rows,
        max_body,
        max_answer,
        cors,
        reason,
        queue,
        max_connections,
        client_timeout,
        store=store,
        allow_hosts=tuple(allow_host or []),
    )
    if store is not None and data:
        raise ParameterError("--data and --store cannot be combined: import the files into the store")
    site = None
    web_missing = False
    if web:
        import importlib.util
        import os

        web_missing = importlib.util.find_spec("jinja2") is None
    if web and not web_missing:
        from amurkg.web import Site

        folder = sources or (Path(os.environ["AMURKG_SOURCES"]) if os.environ.get("AMURKG_SOURCES") else None)
        if folder is not None and not folder.is_dir():
            raise ParameterError(f"--sources {folder}: no such folder; give the folder that holds seed/ and reference/")
        site = Site(options, folder)
    sock = open_socket(host, port)

    def announce() -> None:
        url = f"http://{bound_address(sock)}/sparql"
        typer.echo(f"amurkg: serving {url} {describe_limits(options)}", err=True)
        if site is not None:
            typer.echo(f"amurkg: serving http://{bound_address(sock)}/ to open in a browser (web interface)", err=True)
        elif web_missing:
            typer.echo("amurkg: no web interface: it needs the 'web' extra (pip install 'amurkg[web]')", err=True)

    import signal

    stopped_by = serve(options, sock, announce, site)
    name = "Ctrl-C" if stopped_by == signal.SIGINT else signal.Signals(stopped_by).name
    typer.echo(f"amurkg: stopped by {name}; every worker closed", err=True)
    raise typer.Exit(130 if stopped_by == signal.SIGINT else 0)


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Camtrap DP packages (folder, zip or datapackage.json) or Darwin Core Archives (folder or zip).",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", envvar="AMURKG_STORE", help="The store folder; created when missing (required)."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the packages the store holds, and stop.")] = False,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Remove this package (identifier or IRI); repeatable.")
    ] = None,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", help="Replace the curated graph of a store made by another amurkg version.")
    ] = False,
    max_problems: Annotated[
        int, typer.Option("--max-problems", help="Problems listed before the rest are only counted.", min=1)
    ] = 50,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace an earlier import of the package even by another kind of package or fewer observations.",
        ),
    ] = False,
    fmt: FormatOpt = None,
    grid: Annotated[
        float | None,
        typer.Option(
            "--grid",
            help="Degrees of the grid the store generalises the cameras of threatened taxa to [default: 0.1]; "
            "with --upgrade, for every package it holds. Example: --grid 0.25",
        ),
    ] = None,
    compact: Annotated[
        bool | None,
        typer.Option(
            "--compact/--no-compact",
            help="Compact the store's database after the imports (or now, with no package), or not [default: once "
            "what imports loaded since the last compaction is a quarter of the store].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check field data and add it to an on-disk store: camera-trap packages (Camtrap DP 1.0) and occurrence
    archives (Darwin Core). Nothing is written unless the whole package passes; importing a package again
    replaces it (with --replace only where the earlier import was of another kind or had more observations).
    Then query it with --store (or AMURKG_STORE) on any command.

    Example: amurkg import survey-2024.zip --store leopard-store && amurkg query detection-rate --store leopard-store"""
    if store is None:
        raise ParameterError("give the store folder with --store DIR (or AMURKG_STORE)")
    if not (paths or list_ or remove or upgrade or compact):
        raise ParameterError("name a package to import, or use --list, --remove, --upgrade or --compact")
    if grid is not None and not (paths or upgrade):
        raise ParameterError("--grid applies to the packages imported, or with --upgrade to every package held")
    if replace and not paths:
        raise ParameterError("--replace applies to the packages imported: name one")
    if grid is not None:
        from amurkg.survey.sensitive import Grid

        Grid(grid)  # a bad grid is refused before the store changes
    from amurkg.survey.importer import compact_store, import_package, list_imports, remove_package

    if upgrade:
        from amurkg.store import Store
        from amurkg.survey.importer import reprotect

        with Store.open(store, write=True, upgrade=True, doing="amurkg import --upgrade"):
            typer.echo(f"amurkg: {store}: the curated graph is this amurkg's", err=True)
        protected = reprotect(store, grid)
        counted = f"{protected} record{'s' if protected != 1 else ''}"
        typer.echo(f"amurkg: {store}: {counted} of threatened taxa generalised, as this graph decides", err=True)
        from amurkg.survey.corrections import recount

        # what this amurkg's importer computes beside the records (an older one may not have: the detection
        # lists the activity curves read, the time-lapse marks and lists), with the corrections in force
        changed = recount(store, remark=True)  # the time-lapse marks too, made again from the media
        typer.echo(f"amurkg: {store}: the counts computed at import recomputed ({changed:,} triples changed)", err=True)
    for name in remove or []:
        typer.echo(f"amurkg: removed {remove_package(store, name)} from {store}", err=True)
    for path in paths or []:
        from amurkg.progress import step

        with step(f"checking and importing {path}"):
            # --compact compacts once, after the last import
            when = False if compact else compact
            report = import_package(store, path, limit=max_problems, replace=replace, grid=grid, compact=when)
        from amurkg.output import terminal_safe

        for line in report.summary():
            typer.echo(f"amurkg: {terminal_safe(line)}", err=True)
    if compact:
        from amurkg.progress import step

        with step(f"compacting {store}"):
            compact_store(store)
        typer.echo(f"amurkg: {store}: compacted", err=True)
    if list_:
        from amurkg.results import SelectResult, Term

        records = list_imports(store)
        names = ["package", "identifier", "kind", "observations", "triples", "imported", "source"]
        rows: list[tuple[Term | None, ...]] = [
            (
                Term.iri(r.package),
                Term.literal(r.identifier),
                Term.literal(r.kind),
                Term.literal(str(r.observations), "http://www.w3.org/2001/XMLSchema#integer"),
                Term.literal(str(r.triples), "http://www.w3.org/2001/XMLSchema#integer"),
                Term.literal(r.imported, "http://www.w3.org/2001/XMLSchema#dateTime"),
                Term.literal(r.source),
            )
            for r in records
        ]
        chosen = _answer_format("SELECT", fmt, None, None)
        answer = SelectResult(names, rows)
        _write_answer(
            answer, chosen, None, max_rows=10**9, where="import --list", raw=False, width=_table_width(chosen, None)
        )


survey_app = typer.Typer(
    no_args_is_help=True,
    help="Summaries of imported camera-trap surveys for other tools (occupancy models).",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(survey_app, name="survey")


class Origin(StrEnum):
    deployment = "deployment"
    survey = "survey"


OccasionOpt = Annotated[float, typer.Option("--occasion", help="Occasion length in days.", min=0.001)]
OriginOpt = Annotated[
    Origin,
    typer.Option("--origin", help="Where occasions start: each deployment's own start, or the survey's first for all."),
]
MergeOpt = Annotated[
    bool, typer.Option("--merge", help="Merge the packages of the store into one table (rows named by package).")
]
IntervalOpt = Annotated[
    float, typer.Option("--interval", help="Minutes that must separate two detections to count both.", min=0)
]
PlotOpt = Annotated[
    Path | None, typer.Option("--plot", help="Also draw it into this .svg or .png file (needs amurkg[viz]).")
]
SolarOpt = Annotated[
    bool, typer.Option("--solar", help="Solar time: sunrise at 06:00 and sunset at 18:00 at each camera, each day.")
]
EstimatorOpt = Annotated[
    str, typer.Option("--estimator", help="dhat1, dhat4, dhat5, or auto (dhat4 when both samples exceed 50).")
]
CiOpt = Annotated[float, typer.Option("--ci", help="Confidence level of the bootstrap interval.", min=0.5, max=0.999)]
NBootOpt = Annotated[int, typer.Option("--n-boot", help="Smoothed-bootstrap resamples.", min=10, max=100000)]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Seed of the resampling: the same seed, the same interval.", min=0)
]


@survey_app.command("detection-history")
@with_filters
def detection_history_command(
    occasion: OccasionOpt = 1.0,
    origin: OriginOpt = Origin.deployment,
    merge: MergeOpt = False,
    effort: Annotated[
        Path | None, typer.Option("--effort", help="Also write the days active per cell (unmarked's obsCovs) here.")
    ] = None,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write an occupancy-style detection history as CSV: one row per deployment, one column per occasion;
    1 detected, 0 not detected, NA camera not active (unmarked's y; camtrapR, RPresence). The taxon is the
    Amur leopard unless --taxon says otherwise.

    Example: amurkg survey detection-history --store leopard-store --occasion 7 -o y.csv --effort effort.csv"""
    from amurkg.output import emit
    from amurkg.survey.history import detection_history

    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    history = detection_history(kg, None, occasion, flt=flt, origin=origin.value, merge=merge)
    if effort is not None and history.effort is not None:
        emit(history.effort.to_csv(), effort)
    emit(history.to_csv(), output)


@survey_app.command("effort")
@with_filters
def effort_command(
    occasion: OccasionOpt = 1.0,
    origin: OriginOpt = Origin.deployment,
    by_day: Annotated[
        bool, typer.Option("--by-day", help="camtrapR's camera operation: one column per local calendar day.")
    ] = False,
    merge: MergeOpt = False,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write the camera effort as CSV: days active per deployment and occasion (NA: not active), or with
    --by-day the fraction of each calendar day (camtrapR's cameraOperation matrix).

    Example: amurkg survey effort --store leopard-store --occasion 7 --since 2023-01-01 -o effort.csv"""
    from amurkg.output import emit
    from amurkg.survey.effort import camera_operation, effort_matrix

    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    if by_day:
        emit(camera_operation(kg, flt, merge).to_csv(), output)
    else:
        emit(effort_matrix(kg, flt, occasion, origin.value, merge).to_csv(), output)


@survey_app.command("individuals")
@with_filters
def individuals_command(
    interval: IntervalOpt = 0,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write counts per deployment and taxon as CSV: independent detections, individuals (sum of count),
    distinct individualIDs, camera-days, and the RAI of detections and of individuals per 100 camera-days.

    Example: amurkg survey individuals --store leopard-store --taxon 'wild boar' --interval 30"""
    from amurkg.output import emit
    from amurkg.survey.effort import individual_counts, individual_counts_csv

    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    emit(individual_counts_csv(individual_counts(kg, flt, interval)), output)


@survey_app.command("activity")
@with_filters
def activity_command(
    solar: SolarOpt = False,
    interval: IntervalOpt = 30,
    points: Annotated[int, typer.Option("--points", help="Points of the curve over the day.", min=2, max=100000)] = 97,
    plot: PlotOpt = None,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write the activity curve of a taxon as CSV (hour, density per hour): a von Mises kernel density of
    its independent detections' times of day, in clock or solar time; the number of detections goes to stderr.

    Example: amurkg survey activity --store leopard-store --taxon 'Amur leopard' --solar -o leopard.csv"""
    from amurkg.output import emit
    from amurkg.survey.figures import plot_format
    from amurkg.survey.patterns import activity_curve

    picture = plot_format(str(plot)) if plot is not None else None  # a bad name fails before any work
    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    curve = activity_curve(kg, flt, "solar" if solar else "clock", interval, points)
    skipped = f"; {curve.no_sun} without sunrise or sunset left out" if curve.no_sun else ""
    typer.echo(f"amurkg: {curve.n} independent detections, {curve.scale} time{skipped}", err=True)
    if plot is not None and picture is not None:
        from amurkg.survey.figures import activity_plot

        emit(activity_plot([curve], picture, f"Activity of {curve.taxon}"), plot)
    emit(curve.to_csv(), output)


@survey_app.command("prey-activity-overlap")
@with_filters
def prey_activity_overlap_command(
    estimator: EstimatorOpt = "auto",
    ci: CiOpt = 0.95,
    n_boot: NBootOpt = 999,
    seed: SeedOpt = 0,
    solar: SolarOpt = False,
    interval: IntervalOpt = 30,
    plot: PlotOpt = None,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write, per package, the activity overlap (Ridout & Linkie's coefficient, with a bootstrap interval)
    of the predator with each prey the curated graph gives it, as CSV. The predator is the Amur leopard
    unless --taxon names another.

    Example: amurkg survey prey-activity-overlap --store leopard-store --n-boot 999 --seed 1"""
    from amurkg.survey.patterns import PreyOverlapTable, prey_activity_overlap

    predator = flt.taxon or "amur:amur-leopard"
    _overlap_out(
        lambda kg: prey_activity_overlap(
            kg, flt, predator, estimator, ci, n_boot, seed, "solar" if solar else "clock", interval
        ),
        PreyOverlapTable.HEADER,
        plot,
        store,
        endpoint,
        graph,
        timeout,
        output,
    )


@survey_app.command("overlap")
@with_filters
def overlap_command(
    other: Annotated[str, typer.Option("--with", help="The taxon to compare with --taxon (name, label or IRI).")],
    estimator: EstimatorOpt = "auto",
    ci: CiOpt = 0.95,
    n_boot: NBootOpt = 999,
    seed: SeedOpt = 0,
    solar: SolarOpt = False,
    interval: IntervalOpt = 30,
    plot: PlotOpt = None,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write, per package, the activity overlap of two taxa (--taxon and --with, each with the taxa below it) as
    CSV: Ridout & Linkie's coefficient with a smoothed-bootstrap interval.

    Example: amurkg survey overlap --store leopard-store --taxon 'Amur leopard' --with 'wild boar' --solar"""
    from amurkg.survey.patterns import PreyOverlapTable, taxon_overlap

    if flt.taxon is None:
        raise ParameterError("name the first taxon with --taxon and the other with --with")
    _overlap_out(
        lambda kg: taxon_overlap(
            kg, flt, flt.taxon, other, estimator, ci, n_boot, seed, "solar" if solar else "clock", interval
        ),
        PreyOverlapTable.PAIR_HEADER,
        plot,
        store,
        endpoint,
        graph,
        timeout,
        output,
    )


def _overlap_out(
    compute: Any,
    header: tuple[str, ...],
    plot: Path | None,
    store: Path | None,
    endpoint: str | None,
    graph: str | None,
    timeout: float,
    output: Path | None,
) -> None:
    """The shared body of the overlap commands: check the plot's name before any work, load the store, compute
    the table, draw it if asked, write it as CSV."""
    from amurkg.output import emit
    from amurkg.survey.figures import plot_format

    picture = plot_format(str(plot)) if plot is not None else None  # a bad name fails before any work
    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    table = compute(kg)
    if plot is not None and picture is not None:
        from amurkg.survey.figures import prey_overlap_plot

        emit(prey_overlap_plot(table, picture), plot)
    emit(_overlap_csv(table, header), output)


def _overlap_csv(table: Any, header: tuple[str, ...]) -> str:
    from amurkg.survey.effort import safe_cell

    lines = [",".join(header)]
    lines += [",".join(_csv_cell(safe_cell(v)) for v in row) for row in table.as_rows()]
    return "\n".join(lines) + "\n"


GridOpt = Annotated[
    float,
    typer.Option(
        "--grid",
        help="Degrees of the grid that the locations of cameras which recorded a threatened taxon are "
        "generalised to. Example: --grid 0.25",
    ),
]
ExactOpt = Annotated[
    bool,
    typer.Option(
        "--exact-locations",
        help="Show the exact locations of cameras that recorded a threatened taxon (with a warning): not for "
        "publishing.",
    ),
]


@survey_app.command("plot")
@with_filters_taxa
def plot_command(
    kind: Annotated[str, typer.Argument(help="The figure: activity, rai, effort, map or overlap.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The figure file: .png, .svg or .pdf (written atomically).")
    ],
    solar: SolarOpt = False,
    interval: IntervalOpt = 30,
    grid: GridOpt = 0.1,
    exact_locations: ExactOpt = False,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    flt: Any = None,
    taxa: tuple[str, ...] = (),
) -> None:
    """Draw a survey figure for a report or paper (one 80 mm column): activity curves (one per --taxon, the
    Amur leopard by default), rai (detections per 100 camera-days per deployment), effort (when each camera
    ran), map (the cameras, sized by the RAI of one --taxon if given; locations of threatened taxa generalised)
    or overlap (two --taxon curves, the shared area shaded, Ridout & Linkie's overlap in the title).

    Example: amurkg survey plot overlap --store leopard-store --taxon 'Amur leopard' --taxon 'wild boar' -o overlap.svg
    """
    from amurkg.output import emit
    from amurkg.survey.figures import PlotOptions, check_kind, figure_format, plot

    check_kind(kind)
    fmt = figure_format(output)
    if exact_locations:
        from amurkg.survey.sensitive import EXACT_WARNING

        typer.echo(f"amurkg: warning: {EXACT_WARNING}", err=True)
    else:
        from amurkg.survey.sensitive import Grid

        Grid(grid)
    options = PlotOptions(taxa, solar, interval, None if exact_locations else grid)
    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    emit(plot(kg, kind, flt, fmt, options), output)
    _wrote(output)


@survey_app.command("geojson")
@with_filters
def geojson_command(
    interval: IntervalOpt = 30,
    grid: GridOpt = 0.1,
    exact_locations: ExactOpt = False,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    graph: GraphOpt = None,
    timeout: TimeoutOpt = 60.0,
    output: OutOpt = None,
    flt: Any = None,
) -> None:
    """Write the cameras as GeoJSON (RFC 7946: WGS84, longitude first) for QGIS or Leaflet: a Point per
    deployment with its IDs, dates, camera-days, and detections and RAI per taxon. Cameras that recorded a
    threatened taxon are at the centre of their --grid cell unless --exact-locations (with a warning).

    Example: amurkg survey geojson --store leopard-store --taxon 'Amur leopard' -o cameras.geojson"""
    from amurkg.output import emit
    from amurkg.survey.geojson import deployments_geojson, to_text

    if exact_locations:
        from amurkg.survey.sensitive import EXACT_WARNING

        typer.echo(f"amurkg: warning: {EXACT_WARNING}", err=True)
    kg = _load(None, Engine.oxigraph, endpoint=endpoint, graph=graph, timeout=timeout, store=store)
    emit(to_text(deployments_geojson(kg, flt, None if exact_locations else grid, interval)), output)


@survey_app.command("merge")
def merge_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The merged package: a folder, or a .zip file.")],
    package: Annotated[
        list[str] | None,
        typer.Option("--package", help="Merge only these imported packages (id or name; two or more)."),
    ] = None,
    grid: GridOpt = 0.1,
    exact_locations: ExactOpt = False,
    store: StoreOpt = None,
) -> None:
    """Merge the packages of a store into one Camtrap DP package (camtrapdp's merge_camtrapdp), naming on stderr
    each conflict resolved: identifiers used by several packages, locations, licences, projects, precision.

    Example: amurkg survey merge --store survey-store -o merged.zip"""
    from amurkg.output import terminal_safe
    from amurkg.survey.merge import merge_store
    from amurkg.survey.sensitive import EXACT_WARNING, Grid

    if store is None:
        raise ParameterError("survey merge merges the packages of a store: name it with --store DIR")
    chosen_grid = None if exact_locations else Grid(grid)
    if exact_locations:
        typer.echo(f"amurkg: warning: {EXACT_WARNING}", err=True)
    with _load(None, Engine.oxigraph, store=store) as kg:
        conflicts = merge_store(kg, output, package or None, chosen_grid)
    for conflict in conflicts:
        typer.echo(f"amurkg: merged: {terminal_safe(str(conflict))}", err=True)
    _wrote(output, "a merged Camtrap DP package")


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


WhyOpt = Annotated[str, typer.Option("--why", help="Why (kept with the correction).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who makes the correction [default: your user name].")]
WriteStoreOpt = Annotated[Path, typer.Option("--store", help="The store to correct.", envvar="AMURKG_STORE")]


def _corrections_csv(items: list[Any]) -> str:
    from amurkg.survey.effort import safe_cell

    head = ["id", "kind", "package", "target", "value", "by", "at", "reason", "withdrawn", "withdrawnNote"]
    lines = [",".join(head)]
    for c in items:
        values = [
            c.id,
            c.kind,
            c.package,
            c.target,
            float(c.value) if c.kind == "clock" else c.value,
            c.by,
            c.at,
            c.reason,
            c.undone_at or "",
            c.undone_note or "",
        ]
        lines.append(",".join(_csv_cell(safe_cell(v)) for v in values))
    return "\n".join(lines) + "\n"


@survey_app.command("correct-clock")
def correct_clock_command(
    deployment: Annotated[list[str], typer.Option("--deployment", help="The deploymentIDs whose clock was wrong.")],
    offset: Annotated[str, typer.Option("--offset", help="Seconds to add: +HH:MM[:SS], 1h, -30m, 2d or seconds.")],
    why: WhyOpt,
    store: WriteStoreOpt,
    by: ByOpt = None,
    package: Annotated[str | None, typer.Option("--package", help="The package, where IDs repeat.")] = None,
) -> None:
    """Record a camera clock correction: every time of the deployments moves by the offset in every survey
    analysis. Recorded with who, when and why; withdrawn with `amurkg survey undo-correction`.

    Example: amurkg survey correct-clock --store leopard-store --deployment D1 --offset=-1h --why 'summer time'"""
    from amurkg.output import emit
    from amurkg.survey.corrections import shift_time
    from amurkg.survey.filters import split_values

    emit(_corrections_csv(shift_time(store, list(split_values(deployment)), offset, why, by, package)), None)


@survey_app.command("update-taxon")
def update_taxon_command(
    name: Annotated[str, typer.Option("--name", help="The scientific name as recorded in the package.")],
    taxon: Annotated[
        str, typer.Option("--taxon", help="The taxon it means (name, label or IRI).", autocompletion=_complete_entities)
    ],
    why: WhyOpt,
    store: WriteStoreOpt,
    by: ByOpt = None,
    package: Annotated[str | None, typer.Option("--package", help="Only in this package [default: all].")] = None,
) -> None:
    """Record that a recorded scientific name means another taxon: its observations count as that taxon in
    every survey analysis. Recorded with who, when and why; withdrawn with `amurkg survey undo-correction`.

    Example: amurkg survey update-taxon --store leopard-store --name 'Lynx' --taxon 'Lynx lynx' --why 'one only'"""
    from amurkg.output import emit
    from amurkg.survey.corrections import update_taxon

    emit(_corrections_csv([update_taxon(store, name, taxon, why, by, package)]), None)


@survey_app.command("undo-correction")
def undo_correction_command(
    correction: Annotated[str, typer.Argument(help="The id of the correction (amurkg survey corrections).")],
    why: WhyOpt,
    store: WriteStoreOpt,
    by: ByOpt = None,
) -> None:
    """Withdraw a correction: it stays on record, marked withdrawn with who, when and why.

    Example: amurkg survey undo-correction 0b6c... --store leopard-store --why 'wrong camera'"""
    from amurkg.output import emit
    from amurkg.survey.corrections import undo

    emit(_corrections_csv([undo(store, correction, why, by)]), None)


@survey_app.command("corrections")
def corrections_command(
    store: StoreOpt = None,
    output: OutOpt = None,
) -> None:
    """List the corrections recorded in a store (withdrawn ones too) as CSV.

    Example: amurkg survey corrections --store leopard-store"""
    from amurkg.output import emit
    from amurkg.survey.corrections import corrections

    kg = _load(None, Engine.oxigraph, store=store)
    emit(_corrections_csv(corrections(kg)), output)


@survey_app.command("names")
def names_command(
    package: Annotated[str | None, typer.Option("--package", help="Only this package.")] = None,
    store: StoreOpt = None,
    output: OutOpt = None,
) -> None:
    """The name-matching report of the imported packages as CSV: each recorded scientific name, its
    observations, how it matched the curated taxa (exact, synonym, higherrank, none) and any correction.

    Example: amurkg survey names --store leopard-store --package my-survey"""
    from amurkg.output import emit
    from amurkg.survey.corrections import name_matches
    from amurkg.survey.effort import safe_cell

    kg = _load(None, Engine.oxigraph, store=store)
    head = ["package", "scientificName", "observations", "matchType", "matched", "correctedTo", "taxon"]
    lines = [",".join(head)]
    for m in name_matches(kg, package):
        values = [m.package, m.name, m.observations, m.match_type, m.matched_name, m.corrected_to, m.taxon]
        lines.append(",".join(_csv_cell(safe_cell(v)) for v in values))
    emit("\n".join(lines) + "\n", output)
