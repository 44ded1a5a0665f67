"""What each web page shows, computed in a query worker of ``amurkg serve`` (where the graph lives).

The server sends a page job (``{"name": ..., "args": {...}}``) through the same worker pool, time limit and
row limit as a SPARQL request; ``page`` answers it with JSON (or a download's bytes), which the server
renders with a template or sends as the page's JSON twin. Every query here goes through the library's own
API (``KnowledgeGraph.run``, ``resolve``, ``derivation``), with parameters bound as terms.
"""

from __future__ import annotations

import collections
import difflib
import json
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from amurkg.errors import AmurkgError, EntityNotFoundError, LimitError, MissingExtraError, QueryNotFoundError
from amurkg.namespaces import PREFIXES
from amurkg.params import is_iri
from amurkg.results import AskResult, SelectResult, Term

#: Settings from the server (the source documents' folder, the store) and caches shared by every fork.
_STATE: dict[str, Any] = {}
#: What the survey pages read from a served store, by kind and the arguments that change it (``_once``).
_MEMO: dict[str, collections.OrderedDict[tuple[Any, ...], Any]] = {}
#: Entries kept of each kind. What the zygote reads before it forks is shared by every worker; what a worker
#: reads itself lasts only while it lives, and serve ends a worker after a query that ran long at low priority
#: (``amurkg.serve.pool``). The activity page keeps the detection series it read (``amurkg.survey.series``: the
#: starts and gaps of the leopard's and its prey's detections, about 10 MB at a million observations), the same
#: at every interval and time scale: the last four choices of package and taxon.
_MEMO_ENTRIES: dict[str, int] = {"activity-series": 4}
_T = TypeVar("_T")

#: External identifiers kept as plain values in the graph, and where each one can be looked up.
ID_LINKS = {
    "http://www.wikidata.org/prop/direct/P685": (
        "NCBI Taxonomy",
        "https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id={}",
    ),
    "http://www.wikidata.org/prop/direct/P846": ("GBIF", "https://www.gbif.org/species/{}"),
    "http://www.wikidata.org/prop/direct/P1566": ("GeoNames", "https://www.geonames.org/{}"),
    "http://www.wikidata.org/prop/direct/P297": ("ISO 3166-1 alpha-2", ""),
    "http://www.wikidata.org/prop/direct/P830": ("Encyclopedia of Life", "https://eol.org/pages/{}"),
    "http://www.wikidata.org/prop/direct/P627": ("IUCN taxon", "https://apiv3.iucnredlist.org/api/v3/taxonredirect/{}"),
}
#: Properties whose values are links to the same thing in another knowledge base.
MATCH_PROPERTIES = {
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
    "http://www.w3.org/2002/07/owl#sameAs",
}
_RDFS_LABEL = PREFIXES["rdfs"] + "label"
_RDF_TYPE = PREFIXES["rdf"] + "type"
#: Rows of an entity's facts shown when there are more than the server's row limit (outgoing facts come first).
ENTITY_ROWS = 2_000
#: Characters of context shown around a cited span at most, on each side.
CONTEXT = 240


class PageError(AmurkgError):
    """A page cannot be shown for these arguments; ``http_status`` says how the server answers."""

    http_status = 400


class PageNotFoundError(PageError):
    """No such entity, query or document."""

    http_status = 404


def prepare(kg: Any, settings: dict[str, Any]) -> None:
    """Run in the zygote before it forks: remember the settings and read what every page needs (names)."""
    _STATE.clear()
    _STATE.update(settings)
    _STATE["names"] = _names(kg)
    _STATE["library"] = None
    _MEMO.clear()
    if settings.get("store"):  # the survey analyses' imports (NumPy, SciPy), once for every fork
        import contextlib

        with contextlib.suppress(ImportError):
            # SciPy's special functions are imported where they are first used: 0.3 s of CPU that each fresh
            # worker paid on its first activity page, which then ran past the pool's DEMOTE_AFTER at low priority
            import scipy.special  # noqa: F401

            import amurkg.survey.activity
            import amurkg.survey.patterns
            import amurkg.survey.series
            import amurkg.survey.sun  # noqa: F401
        with contextlib.suppress(AmurkgError):  # what every dashboard visit reads, read once for every fork
            _survey_deployments(kg, "")
            _sensitive(kg)
            _series_counts(kg, 30)  # the dashboard's default interval
        with contextlib.suppress(AmurkgError, ImportError):  # the activity page's series, for every interval,
            survey_activity(kg, {"scale": "solar"}, 0)  # and the sunrise and sunset of their camera-days
    if settings.get("sources"):
        from amurkg.documents import Library

        _STATE["library"] = Library(kg, settings["sources"])


def page(kg: Any, job: dict[str, Any]) -> tuple[str, bytes]:
    """Answer a page job: (media type, body)."""
    spec = job["page"]
    name, args, max_rows = spec["name"], spec.get("args", {}), job["max_rows"]
    try:
        if name == "download":
            return _download(kg, args, max_rows)
        if name == "plot":
            return _plot(kg, args)
        handler = _PAGES.get(name)
        if handler is None:
            raise PageNotFoundError(f"no page {name!r}")
        data = handler(kg, args, max_rows)
    except (EntityNotFoundError, QueryNotFoundError) as exc:
        raise PageNotFoundError(str(exc)) from None
    except LimitError:
        raise PageError(
            f"the answer has more rows than this server's limit of {max_rows:,}; narrow the question"
        ) from None
    return "application/json", json.dumps(data, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------------------------- helpers


def _once(kind: str, key: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
    """``compute()``, kept for the next page that asks with the same ``key`` while a store is served.

    A served store is read-only (the zygote opens it so, for every worker), so what was read from it stays true
    until the server ends; ``prepare`` starts afresh for each served store. Without a served store (a graph in
    memory, which a caller may change) nothing is kept. Each kind keeps its ``_MEMO_ENTRIES`` (16 by default)
    most recent entries; an error is never kept."""
    store = _STATE.get("store")
    if not store:
        return compute()
    entries = _MEMO.setdefault(kind, collections.OrderedDict())
    full = (store, *key)
    if full in entries:
        entries.move_to_end(full)
        value: _T = entries[full]
        return value
    value = compute()
    entries[full] = value
    while len(entries) > _MEMO_ENTRIES.get(kind, 16):
        entries.popitem(last=False)
    return value


def _remember(kind: str, key: tuple[Any, ...]) -> Callable[[Callable[[], _T]], _T]:
    """``_once`` for a library function that is handed the computation (``remember(compute)``)."""
    return lambda compute: _once(kind, key, compute)


def _names(kg: Any) -> list[tuple[str, str]]:
    """(IRI, name) for every labelled entity, the names ``resolve`` accepts."""
    return [(t.value, name) for t, name in kg._all_names()]  # the same names describe resolves


def cell(term: Term | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """A term for a template: its kind, value, short form, label (IRIs) and datatype or language."""
    if term is None:
        return None
    out: dict[str, Any] = {"kind": term.kind, "value": term.value, "display": term.display()}
    if term.kind == "uri" and term.value in labels:
        out["label"] = labels[term.value]
    if term.datatype:
        out["datatype"] = Term.iri(term.datatype).display()
    if term.lang:
        out["lang"] = term.lang
    return out


def labels_of(kg: Any, iris: set[str]) -> dict[str, str]:
    """English (or plain) rdfs:label of each IRI that has one, in one query with the IRIs bound as terms."""
    wanted = sorted(i for i in iris if is_iri(i))
    labels: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        values = " ".join(Term.iri(i).n3() for i in wanted[start : start + 500])
        answer = kg.query(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            f"SELECT ?e ?l WHERE {{ VALUES ?e {{ {values} }} ?e rdfs:label ?l "
            'FILTER(LANG(?l) = "" || LANGMATCHES(LANG(?l), "en")) }',
            where="labels",
        )
        assert isinstance(answer, SelectResult)
        for e, label in answer.rows:
            if e is not None and label is not None:
                labels.setdefault(e.value, label.value)
    return labels


def _result(result: SelectResult | AskResult, kg: Any) -> dict[str, Any]:
    if isinstance(result, AskResult):
        return {"ask": result.value, "variables": [], "rows": []}
    iris = {t.value for row in result.rows for t in row if t is not None and t.kind == "uri"}
    labels = labels_of(kg, iris)
    rows = [[cell(t, labels) for t in row] for row in result.rows]
    return {"variables": list(result.variables), "rows": rows}


def sentence(text: str, start: int, end: int) -> tuple[str, str, str]:
    """The text before a span (back to its sentence's start), the span, and after it (to the sentence's end),
    each side at most ``CONTEXT`` characters."""
    lo = max(0, start - CONTEXT)
    before = text[lo:start]
    for mark in ("\n", ". ", "! ", "? "):
        cut = before.rfind(mark)
        if cut >= 0:
            before = before[cut + len(mark) :]
    after = text[end : end + CONTEXT]
    stops = [i + 1 for i in (after.find(m) for m in (".", "!", "?", "\n")) if i >= 0]
    if stops:
        after = after[: min(stops)]
    return before, text[start:end], after


def _quote(document: str, start: int, end: int) -> dict[str, str] | None:
    library = _STATE.get("library")
    if library is None:
        return None
    try:
        text = library.text(document)
    except AmurkgError as exc:
        return {"error": str(exc)}
    if not 0 <= start <= end <= len(text):
        return {"error": f"the span {start}-{end} lies outside the document ({len(text):,} characters)"}
    before, span, after = sentence(text, start, end)
    return {"before": before, "text": span, "after": after}


# ---------------------------------------------------------------------------------------------- pages


def home(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """Counts, source documents and imported packages."""
    counts = kg.stats()
    sources = kg.run("sources", max_rows=max_rows)
    packages: list[dict[str, Any]] = _STATE.get("packages") or []
    return {
        "counts": counts,
        "sources": _result(sources, kg),
        "packages": packages,
        "quotes": _STATE.get("library") is not None,
    }


def search(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """Entities whose names hold the words typed, then names close to them in spelling (typos)."""
    q = str(args.get("q", "")).strip()[:200]
    names: list[tuple[str, str]] = _STATE.get("names") or _names(kg)
    if not q:
        return {"q": q, "matches": []}
    wanted = q.casefold()
    found: dict[str, tuple[float, str]] = {}
    for iri, name in names:
        folded = name.casefold()
        local = iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if wanted in (folded, local):
            score = 3.0
        elif wanted in folded or wanted in local:
            score = 2.0 - len(folded) / 1000
        else:
            continue
        if score > found.get(iri, (0.0, ""))[0]:
            found[iri] = (score, name)
    words = wanted.split()
    if len(found) < 10 and words and len(wanted) <= 100:  # a typo in a word of a longer name ("leapord")
        for iri, name in names:
            parts = name.casefold().split()
            if len(parts) < 2 or iri in found:
                continue
            ratios = [max(difflib.SequenceMatcher(None, w, p).ratio() for p in parts) for w in words]
            if min(ratios) >= 0.7:
                found[iri] = (sum(ratios) / len(ratios) - 0.2, name)
    if len(found) < 10:
        by_name: dict[str, list[str]] = {}
        for iri, name in names:
            by_name.setdefault(name.casefold(), []).append(iri)
        for close in difflib.get_close_matches(wanted, list(by_name), n=10, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, wanted, close).ratio()
            for iri in by_name[close]:
                if iri not in found:
                    found[iri] = (ratio, next(n for i, n in names if i == iri and n.casefold() == close))
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[1][1].casefold()))[:50]
    labels = labels_of(kg, {iri for iri, _ in ranked})
    matches = [
        {"iri": iri, "display": Term.iri(iri).display(), "name": name, "label": labels.get(iri, name)}
        for iri, (_, name) in ranked
    ]
    return {"q": q, "matches": matches}


def names(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """Up to 30 names starting with (then containing) what was typed: an entity field's completions."""
    q = str(args.get("q", "")).strip().casefold()[:200]
    all_names = sorted({name for _, name in _STATE.get("names") or _names(kg)})
    starting = [n for n in all_names if n.casefold().startswith(q)]
    holding = [n for n in all_names if q and q in n.casefold() and n not in starting]
    return {"q": q, "names": (starting + holding)[:30]}


def query(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """A canned query's answer, with labels for its IRIs."""
    result = kg.run(str(args["name"]), dict(args.get("params", {})), max_rows=max_rows)
    return _result(result, kg)


def _download(kg: Any, args: dict[str, Any], max_rows: int) -> tuple[str, bytes]:
    from amurkg.results import format_result

    fmt = str(args.get("fmt"))
    media = {"csv": "text/csv", "tsv": "text/tab-separated-values", "json": "application/sparql-results+json"}
    if fmt not in media:
        raise PageError(f"downloads are csv, tsv or json, not {fmt[:20]!r}")
    try:
        result = kg.run(str(args["name"]), dict(args.get("params", {})), max_rows=max_rows)
    except (EntityNotFoundError, QueryNotFoundError) as exc:
        raise PageNotFoundError(str(exc)) from None
    except LimitError:
        raise PageError(f"the answer has more rows than this server's limit of {max_rows:,}") from None
    assert isinstance(result, SelectResult | AskResult)
    return media[fmt], format_result(result, fmt).encode("utf-8")


def _plot(kg: Any, args: dict[str, Any]) -> tuple[str, bytes]:
    """A survey figure for reports, drawn by ``amurkg survey plot``'s own function (matplotlib)."""
    from amurkg.survey.filters import SurveyFilter

    media = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}
    fmt, kind = str(args.get("fmt")), str(args.get("kind"))
    if fmt not in media:
        raise PageError(f"figures are png, pdf or svg, not {fmt[:20]!r}")
    try:
        from amurkg.survey.figures import PlotOptions, plot
    except ImportError:
        raise PageError("figures for reports need the 'viz' extra: pip install 'amurkg[viz]'") from None
    package = str(args.get("package") or "")
    flt = SurveyFilter(packages=(package,) if package else ())
    taxon = str(args.get("taxon") or "")
    options = PlotOptions(
        taxa=(taxon,) if taxon else (), solar=args.get("scale") == "solar", interval=float(args.get("interval", 30))
    )
    try:
        return media[fmt], plot(kg, kind, flt, fmt, options)
    except MissingExtraError:  # matplotlib is not installed: the page says so rather than losing its worker
        raise PageError("figures for reports need the 'viz' extra: pip install 'amurkg[viz]'") from None


def entity(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """Every fact about an entity, in and out, grouped by property, each with its cited spans (quoted from the
    source documents when the server has them), external identifiers as links, inferred facts explained."""
    from amurkg.catalog import get_query

    term = kg.resolve(str(args.get("iri", "")))
    canned = get_query("entity-facts")
    truncated = False
    try:
        result = kg.query(canned.text, {"entity": term}, where=str(canned.path), max_rows=max_rows)
    except LimitError:  # a taxon a million observations point at: its own facts first, then the first links in
        shown = min(max_rows, ENTITY_ROWS)
        text = f"{canned.text.rstrip()}\nLIMIT {shown}"
        result = kg.query(text, {"entity": term}, where=str(canned.path), max_rows=max_rows)
        truncated = True
    assert isinstance(result, SelectResult)
    index = {v: i for i, v in enumerate(result.variables)}
    iris = {term.value}
    iris |= {t.value for row in result.rows for t in row if t is not None and t.kind == "uri"}
    labels = labels_of(kg, iris)
    facts: dict[tuple[str, str, Term], dict[str, Any]] = {}
    for row in result.rows:

        def get(name: str, row: tuple[Term | None, ...] = row) -> Term | None:
            return row[index[name]] if name in index else None

        direction, prop, value = get("direction"), get("property"), get("value")
        if direction is None or prop is None or value is None:
            continue
        key = (direction.value, prop.value, value)
        fact = facts.get(key)
        if fact is None:
            plabel = get("propertyLabel")
            inferred = get("inferred")
            fact = facts[key] = {
                "direction": direction.value,
                "property": cell(prop, {}),
                "propertyLabel": plabel.value if plabel is not None and plabel.value else prop.display(),
                "value": cell(value, labels),
                "inferred": inferred is not None and inferred.value == "true",
                "judged": False,
                "support": None,
                "spans": [],
            }
        if get("judged") is not None:
            fact["judged"] = True
        support = get("support")
        if support is not None:
            fact["support"] = support.value
        doc, start, end = get("document"), get("start"), get("end")
        if doc is not None and start is not None and end is not None:
            span: dict[str, Any] = {
                "document": doc.value,
                "documentDisplay": doc.display(),
                "documentLabel": labels.get(doc.value, doc.display()),
                "start": int(start.value),
                "end": int(end.value),
            }
            if span not in fact["spans"]:
                span["quote"] = _quote(doc.value, span["start"], span["end"])
                fact["spans"].append(span)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    external: list[dict[str, str]] = []
    types: list[dict[str, Any]] = []
    for (way, prop_iri, value), fact in facts.items():
        if fact["inferred"] and value.kind == "uri":
            s, o = (term, value) if way == "out" else (value, term)
            fact["derivation"] = kg.derivation(s, Term.iri(prop_iri), o)
        if way == "out" and prop_iri in ID_LINKS and value.kind == "literal":
            name, link = ID_LINKS[prop_iri]
            # the identifier is one path segment or query value of the site's address, never more of it
            url = link.format(urllib.parse.quote(value.value, safe="")) if link else ""
            external.append({"name": name, "value": value.value, "url": url})
        elif way == "out" and prop_iri in MATCH_PROPERTIES and value.kind == "uri":
            # only web addresses are links: a javascript: or data: IRI in a --data file stays text
            web = value.value.lower().startswith(("https://", "http://"))
            external.append(
                {"name": Term.iri(prop_iri).display(), "value": value.display(), "url": value.value if web else ""}
            )
        if way == "out" and prop_iri == _RDF_TYPE:
            types.append(fact["value"])
        group = groups.setdefault(
            (way, prop_iri),
            {"direction": way, "property": fact["property"], "label": fact["propertyLabel"], "facts": []},
        )
        group["facts"].append(fact)
    ordered = sorted(groups.values(), key=lambda g: (g["direction"] != "out", g["label"].casefold()))
    return {
        "entity": cell(term, labels),
        "label": labels.get(term.value, term.display()),
        "types": types,
        "external": external,
        "groups": ordered,
        "quotes": _STATE.get("library") is not None,
        "facts": len(facts),
        "truncated": truncated,
    }


def source(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """A source document with every cited span, and (with start and end) the facts drawn from that stretch."""
    document = kg.resolve(str(args.get("document", "amur:source-seed")))
    spans_answer = kg.query(
        "PREFIX dcterms: <http://purl.org/dc/terms/>\nPREFIX oa: <http://www.w3.org/ns/oa#>\n"
        "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
        "SELECT ?start ?end (COUNT(DISTINCT ?fact) AS ?facts) WHERE {\n"
        "  ?span dcterms:isPartOf ?document ; oa:start ?start ; oa:end ?end .\n"
        "  OPTIONAL { ?fact prov:wasDerivedFrom ?span }\n"
        "} GROUP BY ?start ?end ORDER BY ?start ?end",
        {"document": document},
        where="spans",
        max_rows=max_rows,
    )
    assert isinstance(spans_answer, SelectResult)
    spans = [
        {"start": int(s.value), "end": int(e.value), "facts": int(n.value)}
        for s, e, n in spans_answer.rows
        if s is not None and e is not None and n is not None
    ]
    labels = labels_of(kg, {document.value})
    out: dict[str, Any] = {
        "document": cell(document, labels),
        "label": labels.get(document.value, document.display()),
        "spans": spans,
        "text": None,
        "error": None,
    }
    library = _STATE.get("library")
    if library is not None:
        try:
            out["text"] = library.text(document.value)
        except AmurkgError as exc:
            out["error"] = str(exc)
    if "start" in args and "end" in args:
        params = {"document": document.value, "start": str(args["start"]), "end": str(args["end"])}
        chosen = kg.run("facts-in-span", params, max_rows=max_rows)
        out["selected"] = {"start": int(args["start"]), "end": int(args["end"]), **_result(chosen, kg)}
        if isinstance(out["text"], str):
            out["selected"]["text"] = out["text"][int(args["start"]) : int(args["end"])]
    return out


_PAGES = {"home": home, "search": search, "names": names, "query": query, "entity": entity, "source": source}


def survey(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """The survey dashboard's data: deployments with their effort, independent detections and RAI of each taxon,
    and activity curves of the chosen taxon and of the leopard beside each of its prey, for one package or all.

    A deployment that recorded a threatened taxon (the curated graph's IUCN category decides) is placed at the
    centre of its 0.1 degree grid cell, as exports place it (``amurkg.survey.sensitive``): served pages leave
    the machine like exports do."""
    from amurkg.errors import ParameterError
    from amurkg.survey.sensitive import Grid

    package = str(args.get("package") or "")
    interval = int(args.get("interval", 30))
    scale = str(args.get("scale", "clock"))
    try:
        found_deployments = _survey_deployments(kg, package)
    except ParameterError as exc:
        return {"empty": str(exc), "package": package}
    kept = {d.iri for d in found_deployments}
    names: dict[str, str] = {}
    counts: dict[tuple[str, str], int] = {}
    for deployment, taxon, name, number in _series_counts(kg, interval):
        if deployment not in kept:
            continue
        names.setdefault(taxon, name)
        counts[(deployment, taxon)] = counts.get((deployment, taxon), 0) + number
    labels = labels_of(kg, set(names))
    totals = {t: sum(n for (_, taxon), n in counts.items() if taxon == t) for t in names}
    taxa = sorted(names, key=lambda t: (-totals[t], names[t]))
    leopard = kg.resolve("amur:amur-leopard").value
    asked = str(args.get("taxon") or "")
    chosen = next((t for t in taxa if asked in (t, names[t], labels.get(t))), None)
    if chosen is None:
        chosen = leopard if leopard in names else (taxa[0] if taxa else "")
    effort_total = 0.0
    sensitive = _sensitive(kg)
    grid = Grid()
    rows: list[dict[str, Any]] = []
    for d in found_deployments:
        days = max(0.0, (d.end - d.start) / 86400)
        effort_total += days
        lat, lon, generalised = d.latitude, d.longitude, False
        if d.iri in sensitive and lat is not None and lon is not None:
            (lat, lon), generalised = grid.point(lat, lon), True
        detected = {t: counts.get((d.iri, t), 0) for t in taxa}
        rows.append(
            {
                "iri": d.iri,
                "deploymentID": d.deployment_id,
                "package": d.package,
                # a protected camera's place name is withheld with its coordinates (Chapman 2020)
                "location": (None if d.iri in sensitive else d.location_name) or d.location_id or "",
                "latitude": lat,
                "longitude": lon,
                "generalised": generalised,
                "cameraDays": round(days, 3),
                "detections": detected,
                "rai": {t: round(n * 100 / days, 3) if days else None for t, n in detected.items()},
            }
        )
    table = [
        {
            "taxon": t,
            "name": names[t],
            "label": labels.get(t, names[t]),
            "detections": totals[t],
            "deployments": sum(1 for r in rows if r["detections"][t]),
            "rai": round(totals[t] * 100 / effort_total, 3) if effort_total else None,
        }
        for t in taxa
    ]
    out: dict[str, Any] = {
        "package": package,
        "packages": sorted({d.package for d in _survey_deployments(kg, "")}),
        "interval": interval,
        "scale": scale,
        "taxon": chosen,
        "taxonLabel": labels.get(chosen, names.get(chosen, "")),
        "deployments": rows,
        "cameraDays": round(effort_total, 3),
        "taxa": table,
        "generalised": any(r["generalised"] for r in rows),
        "grid": grid.text(),
    }
    return out


def _series_counts(kg: Any, interval: int) -> list[tuple[str, str, str, int]]:
    """(deployment, taxon, its name, independent detections) of every detection series counted at import for
    ``interval`` minutes: the dashboard's figures for one interval, whatever its package (0.4 s at 1M
    observations, so read once per interval while a store is served)."""

    def compute() -> list[tuple[str, str, str, int]]:
        series = kg.query(_SERIES, {"interval": Term.literal(str(interval), PREFIXES["xsd"] + "integer")}, "series")
        assert isinstance(series, SelectResult)
        return [
            (deployment.value, taxon.value, name.value if name is not None else taxon.display(), int(number.value))
            for deployment, taxon, name, number in series.rows
            if deployment is not None and taxon is not None and number is not None
        ]

    return _once("series", (interval,), compute)


def _survey_deployments(kg: Any, package: str) -> list[Any]:
    """The deployments of one package (all with ``""``), as ``amurkg.survey.filters.deployments`` reads them."""
    from amurkg.survey.filters import SurveyFilter, deployments

    flt = SurveyFilter(packages=(package,) if package else ())
    return _once("deployments", (package,), lambda: deployments(kg, flt))


def _sensitive(kg: Any) -> set[str]:
    """The deployments whose places are sensitive (``amurkg.survey.sensitive``), judged on their exact places
    as exports judge them (a camera near a leopard's generalised place is not near the leopard); only that set
    leaves the exact view, the places shown are public."""
    from amurkg.survey.sensitive import exact_view, sensitive_deployments

    def compute() -> set[str]:
        with exact_view(kg):
            return set(sensitive_deployments(kg))

    return _once("sensitive", (), compute)


def survey_activity(kg: Any, args: dict[str, Any], max_rows: int) -> dict[str, Any]:
    """Activity curves of a taxon and of the leopard, and the leopard's overlap with each prey the curated graph
    gives it, in each package: from each taxon's independent detections (``amurkg.survey``).

    The detections come from the series the import computed (``amurkg.survey.series``: a few hundred rows, not
    every observation's properties), and their solar times from one sunrise and sunset per camera-day
    (``amurkg.survey.sun``); a store whose series cannot say them is read as before (``detections_of``)."""
    from amurkg.survey.filters import SurveyFilter, detections_of
    from amurkg.survey.patterns import independent
    from amurkg.survey.series import Independent, independent_series

    package = str(args.get("package") or "")
    interval = int(args.get("interval", 30))
    scale = str(args.get("scale", "clock"))
    flt = SurveyFilter(packages=(package,) if package else ())
    leopard = kg.resolve("amur:amur-leopard").value
    chosen = kg.resolve(str(args.get("taxon") or leopard), "taxon").value
    prey = kg.run("prey", {"predator": leopard})
    assert isinstance(prey, SelectResult)
    wanted = list(dict.fromkeys([chosen, leopard, *(r[0].value for r in prey.rows if r[0] is not None)]))
    # the store's part (the series read, 0.5 s at 1M observations) is the same at every interval and time scale
    by_taxon = independent_series(kg, flt, wanted, interval, _remember("activity-series", (package, tuple(wanted))))
    if by_taxon is None:
        read = detections_of(kg, flt, wanted)  # the store once, not once per taxon
        by_taxon = {t: Independent.of(independent(read[t], interval)) for t in wanted}
    names = {t: Term.iri(t).display() for t in wanted}
    labels = labels_of(kg, set(wanted))
    out: dict[str, Any] = {
        "package": package,
        "interval": interval,
        "scale": scale,
        "taxon": chosen,
        "taxonLabel": labels.get(chosen, names[chosen]),
        "curves": [],
        "overlaps": [],
        "analyses": None,
    }
    try:
        _activity(by_taxon, prey, out, chosen, leopard, scale, labels, names)
    except (ImportError, MissingExtraError):
        out["analyses"] = "activity curves need the 'survey' extra: pip install 'amurkg[survey]'"
    return out


def _activity(
    by_taxon: dict[str, Any],
    prey: SelectResult,
    out: dict[str, Any],
    chosen: str,
    leopard: str,
    scale: str,
    labels: dict[str, str],
    names: dict[str, str],
) -> None:
    """Activity curves of the chosen taxon and the leopard, and the leopard's overlap with each prey the curated
    graph gives it, in each package: from the independent detections read once (``amurkg.survey``'s functions).
    Each taxon's times and curve in each package are computed once, however many pairs show them."""

    from amurkg.errors import ParameterError
    from amurkg.survey.activity import activity_density, activity_overlap, distinct
    from amurkg.survey.series import Independent, times_together

    curves: dict[tuple[str, str | None], dict[str, Any]] = {}
    packages = sorted({p for found in by_taxon.values() for p in found.packages()})
    # every sample the page shows, its times computed together (each camera-day's sunrise and sunset once)
    samples: dict[tuple[str, str | None], Independent] = {}
    for taxon, package in [
        *((t, None) for t in (chosen, leopard) if t),
        *((t, p) for p in packages for t in [leopard, *(r[0].value for r in prey.rows if r[0] is not None)]),
    ]:
        found: Independent = by_taxon.get(taxon) or Independent()
        samples[(taxon, package)] = found if package is None else found.in_package(package)
    times_of = dict(zip(samples, (t for t, _ in times_together(list(samples.values()), scale)), strict=True))

    def times(taxon: str, package: str | None) -> Any:
        return times_of[(taxon, package)]

    def curve(taxon: str, package: str | None) -> dict[str, Any]:
        if (taxon, package) in curves:
            return curves[(taxon, package)]
        label = labels.get(taxon, names.get(taxon, Term.iri(taxon).display()))
        values = times(taxon, package)
        n = int(values.size)
        if not distinct(values):
            made: dict[str, Any] = {"taxon": taxon, "label": label, "n": n, "note": "fewer than 2 different times"}
        else:
            try:
                x, density = activity_density(values, n_grid=97)
                made = {"taxon": taxon, "label": label, "n": n, "x": x, "density": density}
            except ParameterError as exc:
                made = {"taxon": taxon, "label": label, "n": n, "note": str(exc)}
        curves[(taxon, package)] = made
        return made

    out["curves"] = [curve(t, None) for t in dict.fromkeys([chosen, leopard]) if t]
    for package in packages:
        a = times(leopard, package)
        for row in prey.rows:
            if row[0] is None or row[1] is None:
                continue
            b = times(row[0].value, package)
            pair: dict[str, Any] = {
                "package": package,
                "prey": row[0].value,
                "preyName": row[1].value,
                "nPredator": int(a.size),
                "nPrey": int(b.size),
                "estimator": None,
                "overlap": None,
                "note": "",
                "curve": None,
            }
            if not (distinct(a) and distinct(b)):
                pair["note"] = "too few detections for an estimate"
            else:
                try:
                    result = activity_overlap(a, b, "auto")
                    pair["estimator"], pair["overlap"] = result.estimator, round(result.estimate, 3)
                    pair["curve"] = curve(row[0].value, package)
                    pair["predatorCurve"] = curve(leopard, package)
                except ParameterError as exc:
                    pair["note"] = str(exc)
            out["overlaps"].append(pair)


_PAGES["survey"] = survey
_PAGES["survey-activity"] = survey_activity

#: The detection series computed at import (what ``detection-rate`` reads): independent detections of each
#: taxon at each deployment, for one independence interval.
_SERIES = """
PREFIX akg: <https://w3id.org/amurkg/ontology#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
PREFIX dwciri: <http://rs.tdwg.org/dwc/iri/>
SELECT ?deployment ?taxon ?name ?detections WHERE {
  ?count akg:interval ?interval ; akg:detections ?detections ; akg:deployment ?deployment ; dwciri:toTaxon ?taxon .
  OPTIONAL { ?count dwc:scientificName ?name }
}"""
