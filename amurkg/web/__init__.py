"""The web interface of ``amurkg serve``: server-rendered pages for people, each with a JSON twin.

The pages live beside the SPARQL endpoint (``/sparql``) in the same server: their data is computed by the
same query workers, under the same admission control, time limit and row limit (``amurkg.web.data``); this
module routes requests, renders Jinja2 templates (autoescaped) and serves the static files shipped in the
package. Nothing is fetched from elsewhere: no CDN, no external font, and a Content-Security-Policy that
allows scripts from this server only (never inline).

Pages: ``/`` (home), ``/search``, ``/queries/NAME``, ``/entity?iri=``, ``/source?document=``, ``/editor``
(SPARQL); add ``.json`` to the path, or ``format=json`` to the query string, for the page's data as JSON.
"""

from __future__ import annotations

import collections
import json
import urllib.parse
from pathlib import Path
from typing import Any

from amurkg.errors import EngineFaultError
from amurkg.serve.pool import Answer, SaturatedError, TruncatedError, UnavailableError
from amurkg.serve.protocol import SECURITY_HEADERS, Reply, plan  # every answer of serve carries them

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".txt": "text/plain"}
_MAX_FIELDS = 40
#: Page data kept for repeat visits (the graph does not change while it is served): pages up to 4 MB, 32 MB in all
#: (the dashboard's data of a 1M-observation store, 1,010 deployments and 11 taxa, is 2.1 MB).
_CACHEABLE = 4 * 1024 * 1024
_CACHE_BYTES = 32 * 1024 * 1024
#: Topics of the canned queries on the home page; a query not named here is listed under "More".
TOPICS: dict[str, tuple[str, ...]] = {
    "The leopard and its prey": ("prey", "prey-ungulates", "predators", "taxa", "class-examples", "dispersal"),
    "Range and places": (
        "range-countries",
        "range-regions",
        "historical-range",
        "historical-range-lost",
        "range-comparison",
        "range-contraction",
        "places-in-country",
        "countries-of-places",
        "protected-areas",
        "habitat",
    ),
    "Threats and conservation": (
        "threats",
        "threat-consequences",
        "human-pressures",
        "decline-drivers",
        "conservation-status",
        "conservation-actions",
        "population-estimate",
        "periods",
    ),
    "Climate": ("climate", "climate-adaptations"),
    "Camera-trap surveys (with --store)": (
        "detection-rate",
        "detection-rate-any",
        "prey-detection-rate",
        "survey-effort",
        "activity-pattern",
        "activity-pattern-any",
        "co-detections",
        "co-detections-any",
        "detections-near",
    ),
    "Sources and provenance": ("sources", "entity-facts", "entity-sources", "facts-in-span", "explain"),
    "About the graph": ("graph-statistics", "link-coverage"),
}


class Site:
    """Routes a request to a page; ``pages`` tells the zygote which module computes page data."""

    def __init__(self, options: Any, sources: Path | None = None) -> None:
        import jinja2

        self.options = options
        self.pool: Any = None  # set by amurkg.serve once the workers are up
        self.pages: dict[str, Any] = {
            "module": "amurkg.web.data",
            "sources": str(sources) if sources is not None else None,
            "store": str(options.store) if options.store is not None else None,
            "packages": _packages(options.store) if options.store is not None else [],
        }
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=True,  # every value from the graph, a package or a request is escaped
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["url"] = url
        self.env.globals["has_store"] = options.store is not None
        self.env.filters["url"] = url
        self.cache: collections.OrderedDict[str, tuple[str, bytes]] = collections.OrderedDict()
        self.cache_bytes = 0

    # ------------------------------------------------------------------------------ routing

    async def handle(self, method: str, target: str, headers: dict[str, str]) -> Reply | None:
        """The page for this request, or None when it is the SPARQL endpoint's."""
        path, _, query_string = target.partition("?")
        if path in ("/sparql", "/query"):
            return None
        try:
            params = urllib.parse.parse_qs(query_string, errors="strict", max_num_fields=_MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            return _text(400, "the address is not valid UTF-8 URL-encoding, or has too many fields")
        if path == "/" and "query" in params:
            return None  # a SPARQL request sent to / (the endpoint's old address)
        if method not in ("GET", "HEAD"):
            return _text(405, "pages are read with GET", [("Allow", "GET, HEAD")])
        args = {k: v[-1] for k, v in params.items()}
        as_json = args.pop("format", "") == "json"
        if path.endswith(".json") and path != "/names.json":
            path, as_json = path[: -len(".json")], True
        if path in ("/survey.svg", "/survey/activity.svg"):
            path, args["figure"] = (
                path[: -len(".svg")],
                args.get("figure") or ("map" if path == "/survey.svg" else "activity"),
            )
        if path.startswith("/static/"):
            return _static(path[len("/static/") :])
        if path in ("/survey/plot.png", "/survey/plot.pdf", "/survey/plot.svg"):
            try:
                return await self.plot(path.rsplit(".", 1)[1], args)
            except _PageFailedError as exc:
                return self.error(exc.status, exc.message, False)
        routes = {
            "/": self.home,
            "/index": self.home,
            "/search": self.search,
            "/names": self.names,
            "/names.json": self.names,
            "/entity": self.entity,
            "/source": self.source,
            "/editor": self.editor,
            "/survey": self.survey,
            "/survey/activity": self.survey_activity,
        }
        try:
            if path in routes:
                return await routes[path](args, as_json)
            if path.startswith("/queries/"):
                return await self.query(path[len("/queries/") :], args, as_json)
            if path == "/queries":
                return await self.home(args, as_json)
        except _PageFailedError as exc:
            return self.error(exc.status, exc.message, as_json)
        except Exception as exc:  # a fault of ours: one line for the operator, a plain 500 for the client
            import sys

            print(f"amurkg: error on {path[:200]!r}: {type(exc).__name__}: {exc}", file=sys.stderr)  # noqa: T201
            return _text(500, "the server could not make this page; the operator's log says why")
        return self.error(
            404,
            f"no page {path[:80]!r}: the pages are /, /search, /queries/NAME, /entity, "
            "/source, /editor; the SPARQL endpoint is /sparql",
            as_json,
        )

    # ------------------------------------------------------------------------------ helpers

    async def data(self, name: str, args: dict[str, Any]) -> Any:
        """A page's data from a query worker (cached: the graph never changes while it is served)."""
        _, body = await self.raw(name, args)
        return json.loads(body)

    async def raw(self, name: str, args: dict[str, Any]) -> tuple[str, bytes]:
        spec = {"name": name, "args": args}
        key = json.dumps(spec, sort_keys=True)
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.move_to_end(key)
            return hit
        try:
            answer = await self.pool.answer("", "SELECT", "json", "application/json", page=spec)
        except EngineFaultError as exc:
            raise _PageFailedError(500, str(exc)) from None
        except (SaturatedError, UnavailableError) as exc:
            raise _PageFailedError(503, str(exc)) from None
        try:
            body = await _whole(answer)
        except (TruncatedError, UnavailableError) as exc:
            raise _PageFailedError(400, str(exc)) from None
        if answer.status != 200:
            raise _PageFailedError(answer.status, body.decode("utf-8", "replace").strip())
        if len(body) <= _CACHEABLE:
            self.cache[key] = (answer.media_type, body)
            self.cache_bytes += len(body)
            while self.cache_bytes > _CACHE_BYTES:
                _, (_, old) = self.cache.popitem(last=False)
                self.cache_bytes -= len(old)
        return answer.media_type, body

    def render(self, template: str, context: dict[str, Any], as_json: bool, status: int = 200) -> Reply:
        if as_json:
            body = json.dumps(context, ensure_ascii=False, indent=1).encode("utf-8")
            return Reply(status, [("Content-Type", "application/json; charset=utf-8"), *SECURITY_HEADERS], body)
        html = self.env.get_template(template).render(**context, read_only=True)
        return Reply(status, [("Content-Type", "text/html; charset=utf-8"), *SECURITY_HEADERS], html.encode("utf-8"))

    def error(self, status: int, message: str, as_json: bool) -> Reply:
        return self.render("error.html", {"status": status, "error": message}, as_json, status)

    # ------------------------------------------------------------------------------ pages

    async def home(self, args: dict[str, str], as_json: bool) -> Reply:
        from amurkg.catalog import list_queries

        data = await self.data("home", {})
        canned = {q.name: q for q in list_queries()}
        topics: list[dict[str, Any]] = []
        placed: set[str] = set()
        for topic, names in TOPICS.items():
            items = [_query_summary(canned[n]) for n in names if n in canned]
            placed |= {n for n in names if n in canned}
            topics.append({"topic": topic, "queries": items})
        checks = [_query_summary(q) for n, q in canned.items() if n not in placed and q.is_violation_check]
        more = [_query_summary(q) for n, q in canned.items() if n not in placed and not q.is_violation_check]
        if more:
            topics.append({"topic": "More", "queries": more})
        topics.append({"topic": "Checks (each finds nothing on a healthy graph)", "queries": checks})
        data["topics"] = topics
        data["title"] = "The Amur leopard knowledge graph"
        return self.render("home.html", data, as_json)

    async def search(self, args: dict[str, str], as_json: bool) -> Reply:
        data = await self.data("search", {"q": args.get("q", "")[:200]})
        data["title"] = f"Search: {data['q']}"
        return self.render("search.html", data, as_json)

    async def names(self, args: dict[str, str], as_json: bool) -> Reply:
        data = await self.data("names", {"q": args.get("q", "")[:200]})
        return self.render("error.html", data, True)

    async def entity(self, args: dict[str, str], as_json: bool) -> Reply:
        iri = args.get("iri", "")
        if not iri:
            raise _PageFailedError(400, "give the entity: /entity?iri=amur:amur-leopard (an IRI, prefixed name, label)")
        data = await self.data("entity", {"iri": iri[:2000]})
        if not as_json:
            from amurkg.web.svg import neighbourhood

            data["drawing"] = neighbourhood(data)
        data["title"] = data["label"]
        return self.render("entity.html", data, as_json)

    async def source(self, args: dict[str, str], as_json: bool) -> Reply:
        asked: dict[str, Any] = {"document": args.get("document", "amur:source-seed")[:2000]}
        if "start" in args or "end" in args:
            try:
                start, end = int(args.get("start", "")), int(args.get("end", ""))
            except ValueError:
                raise _PageFailedError(400, "start and end are character offsets: whole numbers such as 120") from None
            if not 0 <= start <= end <= 100_000_000:
                raise _PageFailedError(400, "give 0 <= start <= end (character offsets into the document)")
            asked |= {"start": start, "end": end}
        data = await self.data("source", asked)
        if not as_json:
            data["pieces"] = pieces(data.get("text"), data["spans"], data.get("selected"))
        data["title"] = f"Source: {data['label']}"
        return self.render("source.html", data, as_json)

    async def query(self, name: str, args: dict[str, str], as_json: bool) -> Reply:
        from amurkg.catalog import get_query
        from amurkg.errors import QueryNotFoundError

        download = args.pop("download", None)
        if download is None and name.endswith((".csv", ".tsv")):
            name, download = name[:-4], name[-3:]
        try:
            canned = get_query(name)
        except QueryNotFoundError as exc:
            raise _PageFailedError(404, str(exc)) from None
        given = {p.name: args[p.name] for p in canned.parameters if args.get(p.name, "").strip()}
        params = {k: v[:2000] for k, v in given.items()}
        if download is not None:
            media, body = await self.raw("download", {"name": name, "params": params, "fmt": download})
            return _attachment(f"{media}; charset=utf-8", f"{name}.{download}", body)
        missing = [p.name for p in canned.parameters if p.required and p.name not in params]
        context: dict[str, Any] = {
            "title": canned.title,
            "query": _query_summary(canned),
            "text": canned.text_for(params)[0],  # the text that answers them (from the detections for a date range)
            "values": params,
            "missing": missing,
            "answer": None,
            "error": None,
        }
        if not missing:
            try:
                context["answer"] = await self.data("query", {"name": name, "params": params})
            except _PageFailedError as exc:
                if exc.status == 503 or (exc.status == 404 and not params):
                    raise
                context["error"] = exc.message  # a bad value: show the form again with the message
        context["share"] = f"/queries/{name}?" + urllib.parse.urlencode(params) if params else f"/queries/{name}"
        status = 400 if context["error"] else 200
        return self.render("query.html", context, as_json, status)

    async def editor(self, args: dict[str, str], as_json: bool) -> Reply:
        from amurkg.catalog import list_queries
        from amurkg.namespaces import PREFIXES

        text = args.get("query", "")
        prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in sorted(PREFIXES.items()))
        context: dict[str, Any] = {
            "title": "SPARQL",
            "text": text or prologue + "\nSELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10\n",
            "prologue": prologue,
            "examples": [
                {"name": q.name, "title": q.title, "text": q.text}
                for q in list_queries()
                if not q.is_violation_check and not q.reasoning and not any(p.required for p in q.parameters)
            ],
            "answer": None,
            "error": None,
            "limits": {"timeout_s": self.options.timeout, "max_rows": self.options.max_rows},
        }
        if text:
            context["answer"], context["error"] = await self.run_sparql(text)
        return self.render("editor.html", context, as_json, 200 if not context["error"] else 400)

    def _survey_args(self, args: dict[str, str]) -> dict[str, Any]:
        if self.options.store is None:
            raise _PageFailedError(404, "the survey dashboard reads an on-disk store: start amurkg serve --store DIR")
        asked: dict[str, Any] = {
            "package": args.get("package", "")[:200],
            "taxon": args.get("taxon", "")[:300],
            "scale": args.get("scale", "clock") if args.get("scale") in ("clock", "solar") else "clock",
        }
        interval = args.get("interval", "30")
        if interval not in ("0", "1", "2", "5", "10", "15", "30", "60", "120", "360", "720", "1440"):
            raise _PageFailedError(400, "interval is one of 0 1 2 5 10 15 30 60 120 360 720 1440 (minutes)")
        asked["interval"] = int(interval)
        return asked

    def _figure_reply(self, figures: dict[str, Any], wanted: str) -> Reply:
        if wanted not in figures:
            raise _PageFailedError(404, f"no figure {wanted[:40]!r}: the figures are {', '.join(figures)}")
        body = self.env.get_template("figure.svg").render(fig=figures[wanted], standalone=True).encode("utf-8")
        return _attachment("image/svg+xml; charset=utf-8", f"survey-{wanted}.svg", body)

    async def survey(self, args: dict[str, str], as_json: bool) -> Reply:
        """Map, effort and relative abundance, from the detection series computed at import (quick at any size)."""
        from amurkg.web import svg

        asked = self._survey_args(args)
        data = await self.data("survey", asked)
        data["title"] = "Survey: " + (data["package"] or "all packages")
        if as_json or "empty" in data:
            return self.render("survey.html", data, as_json)
        which = data["package"] or "all packages"
        figures = {
            "map": svg.deployment_map(data),
            "rai": svg.bars(
                [(t["label"], t["rai"] or 0) for t in data["taxa"]],
                f"Relative abundance index per taxon, {which}",
                "independent detections per 100 camera-days",
            ),
            "effort": svg.bars(
                [(d["deploymentID"], d["cameraDays"]) for d in data["deployments"]],
                f"Effort per deployment, {which}",
                "camera-days",
                colour="#009e73",
            ),
        }
        if args.get("figure"):
            return self._figure_reply(figures, args["figure"])
        data["figures"] = figures
        data["query"] = {k: v for k, v in asked.items() if v not in ("", None)}
        return self.render("survey.html", data, as_json)

    async def plot(self, fmt: str, args: dict[str, str]) -> Reply:
        """A figure for reports, as ``amurkg survey plot`` draws it (PNG, PDF or SVG)."""
        asked = self._survey_args(args)
        kind = args.get("kind", "map")
        if kind not in ("activity", "rai", "effort", "map", "overlap"):
            raise _PageFailedError(404, "kind is one of activity, rai, effort, map, overlap")
        media, body = await self.raw("plot", {**asked, "kind": kind, "fmt": fmt})
        return _attachment(media, f"survey-{kind}.{fmt}", body)

    async def survey_activity(self, args: dict[str, str], as_json: bool) -> Reply:
        """Activity curves and the leopard beside each prey, from each taxon's detections (slower on big stores)."""
        from amurkg.web import svg

        asked = self._survey_args(args)
        data = await self.data("survey-activity", asked)
        data["title"] = "Activity: " + (data["package"] or "all packages")
        if as_json:
            return self.render("activity.html", data, as_json)
        which = data["package"] or "all packages"
        figures = {
            "activity": svg.curves(
                [c for c in data["curves"] if "density" in c], f"Activity over the day, {which}", data["scale"]
            )
        }
        for i, pair in enumerate(data["overlaps"]):
            leopard, prey = pair.get("predatorCurve"), pair["curve"]
            if leopard is not None and prey is not None and "density" in leopard and "density" in prey:
                prey = {**prey, "label": pair["preyName"]}
                title = f"Amur leopard and {pair['preyName']} ({pair['package']}): overlap {pair['overlap']}"
                figures[f"prey{i}"] = svg.curves([leopard, prey], title, data["scale"])
                pair["figure"] = f"prey{i}"
        if args.get("figure"):
            return self._figure_reply(figures, args["figure"])
        data["figures"] = figures
        data["query"] = {k: v for k, v in asked.items() if v not in ("", None)}
        return self.render("activity.html", data, as_json)

    async def run_sparql(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        """Run a query from the editor exactly as /sparql does: the same check, workers and limits."""
        if len(text.encode("utf-8")) > self.options.max_body:
            return None, f"the query is over this endpoint's limit of {self.options.max_body:,} bytes"
        job = plan(text, "application/sparql-results+json, text/turtle;q=0.9")
        if isinstance(job, Reply):
            return None, job.body.decode("utf-8", "replace").strip()
        try:
            answer = await self.pool.answer(job.text, job.form, job.fmt, job.media_type)
        except (SaturatedError, UnavailableError, EngineFaultError) as exc:
            return None, str(exc)
        try:
            body = await _whole(answer)
        except (TruncatedError, UnavailableError) as exc:
            return None, str(exc)
        if answer.status != 200:
            return None, body.decode("utf-8", "replace").strip()
        if job.fmt != "json":
            return {"form": job.form, "graph": body.decode("utf-8")}, None
        results = json.loads(body)
        if "boolean" in results:
            return {"form": "ASK", "ask": results["boolean"]}, None
        variables = results["head"]["vars"]
        rows = [[_sparql_json_cell(binding.get(v)) for v in variables] for binding in results["results"]["bindings"]]
        return {"form": job.form, "variables": variables, "rows": rows}, None


class _PageFailedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def url(path: str, /, **params: Any) -> str:
    """A link within the site: ``url('/entity', iri=X)``; values are URL-encoded (and escaped by the template)."""
    given = {k: v for k, v in params.items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(given) if given else "")


def _packages(store: Path) -> list[dict[str, Any]]:
    """The packages imported into a store, read before the server opens it (its registry)."""
    import dataclasses

    from amurkg.survey.importer import list_imports

    shown = ("identifier", "kind", "imported", "triples", "observations")  # not the local paths it came from
    return [{k: v for k, v in dataclasses.asdict(record).items() if k in shown} for record in list_imports(store)]


def _query_summary(q: Any) -> dict[str, Any]:
    return {
        "name": q.name,
        "title": q.title,
        "description": q.description,
        "reasoning": q.reasoning,
        "parameters": [
            {
                "name": p.name,
                "kind": p.kind,
                "default": p.default,
                "required": p.required,
                "optional": p.optional,
                "choices": list(p.choices),
                "description": p.description,
            }
            for p in q.parameters
        ],
    }


def _sparql_json_cell(binding: dict[str, str] | None) -> dict[str, Any] | None:
    from amurkg.namespaces import compact

    if binding is None:
        return None
    kind = {"uri": "uri", "bnode": "bnode"}.get(binding.get("type", ""), "literal")
    value = binding.get("value", "")
    out: dict[str, Any] = {"kind": kind, "value": value, "display": compact(value) if kind == "uri" else value}
    if "datatype" in binding:
        out["datatype"] = compact(binding["datatype"])
    if "xml:lang" in binding:
        out["lang"] = binding["xml:lang"]
    return out


def pieces(text: str | None, spans: list[dict[str, Any]], selected: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A document cut into plain stretches and cited spans (overlapping spans merged into one mark that links
    to the facts of the whole merged stretch)."""
    if text is None:
        return []
    merged: list[list[int]] = []
    for span in sorted(spans, key=lambda s: (s["start"], s["end"])):
        start, end = max(0, span["start"]), min(len(text), span["end"])
        if start >= end:
            continue
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[dict[str, Any]] = []
    at = 0
    chosen = (selected["start"], selected["end"]) if selected else None
    for start, end in merged:
        if start > at:
            out.append({"text": text[at:start]})
        out.append({"text": text[start:end], "start": start, "end": end, "selected": chosen == (start, end)})
        at = end
    if at < len(text):
        out.append({"text": text[at:]})
    return out


async def _whole(answer: Answer) -> bytes:
    """The whole body of a worker's answer, its streamed rest included (raises what the stream raises)."""
    if answer.rest is None:
        return answer.body
    parts = [answer.body]
    async for chunk in answer.rest:
        parts.append(chunk)
    return b"".join(parts)


def _attachment(media: str, filename: str, body: bytes) -> Reply:
    """A file to save: its media type, the name to save it as, and its bytes."""
    headers = [("Content-Type", media), ("Content-Disposition", f'attachment; filename="{filename}"')]
    return Reply(200, [*headers, *SECURITY_HEADERS], body)


def _text(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), *SECURITY_HEADERS, *(headers or [])],
        (message + "\n").encode(),
    )


def _static(name: str) -> Reply:
    """A file shipped in amurkg/web/static (plain names only: no folders, no way out of it)."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in _STATIC_TYPES or not path.is_file():
        return _text(404, f"no static file {name[:80]!r}")
    headers = [
        ("Content-Type", f"{_STATIC_TYPES[path.suffix]}; charset=utf-8"),
        ("Cache-Control", "max-age=3600"),
        *SECURITY_HEADERS,
    ]
    return Reply(200, headers, path.read_bytes())
