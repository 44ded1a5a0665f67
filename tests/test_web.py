"""The web interface of amurkg serve: a real server with a hostile --data file, asked over HTTP, then driven in
headless Chromium (through chromedriver's W3C WebDriver protocol) as a person would use it."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM_FLAGS, REPO, SHARED, tool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_remote import free_port, wait_for

import amurkg
from amurkg.results import format_result
from amurkg.survey.sensitive import Grid

XSS = "<img src=x onerror=alert(1)>"
HOSTILE_TTL = f"""
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
<https://example.org/my/xss-deer> rdfs:label "{XSS}"@en .
<https://w3id.org/amurkg/id/amur-leopard> obo:RO_0002439 <https://example.org/my/xss-deer> .
"""
XSS_IRI = "https://example.org/my/xss-deer"
#: Where the tests leave their screenshots for the README (set AMURKG_SCREENSHOTS=docs/screenshots to refresh).
SCREENSHOTS = os.environ.get("AMURKG_SCREENSHOTS")


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """amurkg serve with a user's --data file holding a script in a label, and the owner's documents."""
    folder = tmp_path_factory.mktemp("web")
    data = folder / "mine.ttl"
    data.write_text(HOSTILE_TTL, encoding="utf-8")
    args = ["--data", str(data), "--timeout", "600"]
    if (SHARED / "seed").is_dir():
        args += ["--sources", str(SHARED)]
    yield from serving(args)


def serving(args: list[str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "amurkg", "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, 60)
        base = f"http://127.0.0.1:{port}"
        assert get(base + "/")[0] == 200  # the workers have loaded the graph
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def page_json(base: str, path: str, expected: int = 200) -> Any:
    status, headers, body = get(base + path)
    assert status == expected, body[:300]
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


# ---------------------------------------------------------------------------------------------- over HTTP


def test_every_page_is_html_with_a_strict_policy_and_a_json_twin(site: str) -> None:
    for path in ("/", "/search?q=boar", "/queries/prey", "/entity?iri=amur:wild-boar", "/source", "/editor"):
        status, headers, body = get(site + path)
        assert status == 200, (path, body[:300])
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
        html = body.decode()
        assert "<script>" not in html and " on" + "load=" not in html  # no inline script anywhere
        assert not re.search(r"(src|href)=\"(https?:)?//", html.split("<main>")[0])  # no CDN, no external font
        twin = path.replace("?", ".json?", 1) if "?" in path else (path.rstrip("/") or "/index") + ".json"
        assert isinstance(page_json(site, twin), dict)


def test_search_forgives_typos_and_format_json_is_the_twin_too(site: str) -> None:
    found = page_json(site, "/search?q=leapord&format=json")["matches"]
    assert "https://w3id.org/amurkg/id/amur-leopard" in [m["iri"] for m in found[:5]]
    found = page_json(site, "/search.json?q=wild%20bor")["matches"]
    assert found[0]["iri"] == "https://w3id.org/amurkg/id/wild-boar"
    names = page_json(site, "/names.json?q=wild")["names"]
    assert "wild boar" in names


def test_external_identifiers_are_links(site: str) -> None:
    data = page_json(site, "/entity.json?iri=amur:leopard")
    links = {x["name"]: x["url"] for x in data["external"]}
    assert links["skos:exactMatch"] == "http://www.wikidata.org/entity/Q34706"
    assert links["NCBI Taxonomy"].endswith("id=9691")
    _, _, body = get(site + "/entity?iri=amur:leopard")
    assert 'href="http://www.wikidata.org/entity/Q34706"' in body.decode()


def test_the_sparql_endpoint_stays_at_sparql(site: str) -> None:
    status, _, body = get(site + "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}))
    assert status == 200 and b"true" in body
    status, _, body = get(site + "/?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}))
    assert status == 200 and b"true" in body  # the endpoint's old address still answers queries


def test_home_counts_equal_the_library(site: str, kg: amurkg.KnowledgeGraph) -> None:
    home = page_json(site, "/index.json")
    local = kg.stats()
    assert home["counts"]["facts"] == local["facts"]
    assert home["counts"]["triples"] > local["triples"]  # plus the user's file
    names = [q["name"] for topic in home["topics"] for q in topic["queries"]]
    assert sorted(names) == sorted(q.name for q in amurkg.list_queries())  # every canned query, once


def test_the_query_page_answers_as_the_library_and_its_downloads_match(site: str, kg: amurkg.KnowledgeGraph) -> None:
    answer = page_json(site, "/queries/prey.json?predator=amur%3Aamur-leopard")
    local = kg.run("prey", {"predator": "amur:amur-leopard"})
    assert isinstance(local, amurkg.SelectResult)
    assert answer["answer"]["variables"] == local.variables
    assert len(answer["answer"]["rows"]) == len(local.rows) + 1  # plus the user's prey
    wild_boar = next(r for r in answer["answer"]["rows"] if r[0]["value"].endswith("/wild-boar"))
    assert wild_boar[0]["label"] == "wild boar"
    status, headers, body = get(site + "/queries/conservation-status?download=csv")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    assert body.decode() == format_result(kg.run("conservation-status"), "csv")  # type: ignore[arg-type]
    for fmt in ("tsv", "json"):
        status, _, body = get(site + f"/queries/conservation-status?download={fmt}")
        assert body.decode() == format_result(kg.run("conservation-status"), fmt)  # type: ignore[arg-type]


def test_a_bad_parameter_shows_the_form_again_with_the_librarys_message(site: str) -> None:
    status, _, body = get(site + "/queries/detection-rate?interval=7")
    assert status == 400
    assert "is not one of" in body.decode()
    assert 'name="interval"' in body.decode()  # the form is still there


def test_the_entity_page_holds_every_fact_with_its_quoted_span(site: str, kg: amurkg.KnowledgeGraph) -> None:
    data = page_json(site, "/entity.json?iri=amur:amur-leopard")
    described = kg.describe("amur:amur-leopard")
    assert data["facts"] == len(described.rows) + 1  # plus the user's prey
    if not data["quotes"]:
        pytest.skip("the owner's documents are absent (they sit beside the checkout only in development and CI)")
    seed = (SHARED / "seed" / "000_0a866dfb5b4830f3.txt").read_text(encoding="utf-8")
    spans = [s for g in data["groups"] for f in g["facts"] for s in f["spans"] if "seed" in s["documentDisplay"]]
    assert spans
    for span in spans:
        assert span["quote"]["text"] == seed[span["start"] : span["end"]]


def test_a_script_in_a_users_label_is_text(site: str) -> None:
    for path in ("/entity?iri=" + urllib.parse.quote(XSS_IRI), "/queries/prey", "/search?q=img"):
        _, _, body = get(site + path)
        html = body.decode()
        assert XSS not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, path


def test_the_editor_has_the_endpoints_guard(site: str) -> None:
    for query, fragment in (
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "UPDATE"),
        ("SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }", "SERVICE"),
        ("SELECT * WHERE { ?s ?p ?o ", "query:1:"),
    ):
        editor = page_json(site, "/editor.json?" + urllib.parse.urlencode({"query": query}), 400)
        _, _, endpoint = get(site + "/sparql?" + urllib.parse.urlencode({"query": query}))
        assert editor["error"] == endpoint.decode().strip()
        assert fragment.lower() in editor["error"].lower()
    ok = page_json(site, "/editor.json?" + urllib.parse.urlencode({"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"}))
    assert len(ok["answer"]["rows"]) == 3


def test_the_source_page_lists_the_facts_of_a_span(site: str, kg: amurkg.KnowledgeGraph) -> None:
    data = page_json(site, "/source.json?document=amur:source-seed&start=1921&end=2031")
    local = kg.run("facts-in-span", {"start": "1921", "end": "2031"})
    assert isinstance(local, amurkg.SelectResult)
    assert len(data["selected"]["rows"]) == len(local.rows) > 0
    assert data["spans"] and all(s["start"] < s["end"] for s in data["spans"])


def test_unknown_things_are_404_and_static_files_stay_in_their_folder(site: str) -> None:
    assert get(site + "/entity?iri=amur:no-such-thing")[0] == 404
    assert get(site + "/queries/no-such-query")[0] == 404
    assert get(site + "/nowhere")[0] == 404
    for name in ("../__init__.py", "..%2F__init__.py", "%2e%2e/data.py", "style.css/.."):
        assert get(site + "/static/" + name)[0] == 404
    assert get(site + "/static/style.css")[0] == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/search?q=", "/entity?iri=", "/queries/prey?predator=", "/editor?query=", "/source?start="]),
    value=st.text(max_size=60),
)
def test_any_value_is_answered_and_escaped(site: str, path: str, value: str) -> None:
    status, headers, body = get(site + path + urllib.parse.quote(value, safe=""))
    assert status in (200, 400, 404), body[:200]
    if headers.get("Content-Type", "").startswith("text/html"):
        marker = "<zq"
        if marker in value:
            assert marker not in body.decode()


# ---------------------------------------------------------------------------------------------- in a browser


class WebDriver:
    """The few W3C WebDriver commands the tests need, spoken to chromedriver over HTTP."""

    def __init__(self, base: str, session: str) -> None:
        self.base, self.session = base, session

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        request = urllib.request.Request(
            f"{self.base}/session/{self.session}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as err:
            raise WebDriverError(json.loads(err.read())["value"]["error"]) from None

    def go(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        found = self.call("POST", "/element", {"using": "css selector", "value": css})
        return str(next(iter(found.values())))

    def find_all(self, css: str) -> list[str]:
        found = self.call("POST", "/elements", {"using": "css selector", "value": css})
        return [str(next(iter(e.values()))) for e in found]

    def script(self, text: str, *args: Any) -> Any:
        return self.call("POST", "/execute/sync", {"script": text, "args": list(args)})

    def screenshot(self, name: str, folder: Path) -> bytes:
        png = base64.b64decode(self.call("GET", "/screenshot"))
        (folder / f"{name}.png").write_bytes(png)
        if SCREENSHOTS:
            Path(REPO / SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            (REPO / SCREENSHOTS / f"{name}.png").write_bytes(png)
        return png


class WebDriverError(Exception):
    pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium = tool("chromium")
    driver = shutil.which("chromedriver")
    if driver is None:
        tool_missing = "this test needs chromedriver, which is not installed (apt-get install chromium-driver)"
        from conftest import missing

        missing(tool_missing, "chromium")
    port = free_port()
    proc = subprocess.Popen([str(driver), f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, 30)
        base = f"http://127.0.0.1:{port}"
        profile = tmp_path_factory.mktemp("chromium-profile")
        capabilities = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,1400"],
                    },
                }
            }
        }
        request = urllib.request.Request(
            base + "/session", data=json.dumps(capabilities).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as resp:
            session = json.loads(resp.read())["value"]["sessionId"]
        web = WebDriver(base, session)
        try:
            yield web
        finally:
            with contextlib.suppress(OSError, WebDriverError):
                web.call("DELETE", "")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def not_blank(png: bytes) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size[0] >= 800
    low, high = image.getextrema()
    assert high - low > 100  # text on a background, not one flat colour
    histogram = image.histogram()
    assert max(histogram) < 0.98 * sum(histogram)


def until(condition: Any, seconds: float = 60) -> None:
    """Wait for the browser to get somewhere (a bound on waiting, not a measure of speed)."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the browser did not get there"
        time.sleep(0.1)


def click(web: WebDriver, element: str) -> None:
    """Click as a person does; a completion list that still covers the element is closed first."""
    try:
        web.call("POST", f"/element/{element}/click")
    except WebDriverError as exc:
        if "intercepted" not in str(exc):
            raise
        web.call(
            "POST",
            "/actions",
            {
                "actions": [
                    {
                        "type": "key",
                        "id": "k",
                        "actions": [{"type": "keyDown", "value": "\ue00c"}, {"type": "keyUp", "value": "\ue00c"}],
                    }
                ]
            },
        )
        web.call("POST", f"/element/{element}/click")


def no_alert(web: WebDriver) -> None:
    with pytest.raises(WebDriverError, match="no such alert"):
        web.call("GET", "/alert/text")


@pytest.mark.tools  # headless Chromium through chromedriver
def test_a_person_fills_a_form_follows_a_link_and_reads_the_source(
    site: str, browser: WebDriver, tmp_path: Path
) -> None:
    browser.go(site + "/")
    not_blank(browser.screenshot("home", tmp_path))
    browser.go(site + "/queries/prey")
    field = browser.find("input[name=predator]")
    browser.call("POST", f"/element/{field}/clear")
    browser.call("POST", f"/element/{field}/value", {"text": "Amur leopard"})
    until(lambda: browser.script("return document.querySelectorAll('#names-predator option').length") > 0)
    browser.call("POST", f"/element/{field}/value", {"text": "\ue00c"})  # Escape: close the completion list
    click(browser, browser.find("#run"))
    until(lambda: "predator=Amur+leopard" in browser.call("GET", "/url"))  # a shareable address that re-runs it
    cells = [browser.call("GET", f"/element/{e}/text") for e in browser.find_all("#answer td a.entity")]
    assert "wild boar" in cells
    not_blank(browser.screenshot("query", tmp_path))
    boar = next(
        e for e in browser.find_all("#answer td a.entity") if browser.call("GET", f"/element/{e}/text") == "wild boar"
    )
    click(browser, boar)
    until(lambda: "/entity?" in browser.call("GET", "/url"))
    assert browser.call("GET", f"/element/{browser.find('#label')}/text") == "wild boar"
    not_blank(browser.screenshot("entity", tmp_path))
    marks = browser.script(
        "return Array.from(document.querySelectorAll('blockquote.cite')).filter(b => b.querySelector('mark'))"
        ".map(b => [b.dataset.document, +b.dataset.start, +b.dataset.end, b.querySelector('mark').textContent])"
    )
    if not (SHARED / "seed").is_dir():
        pytest.skip("the owner's documents are absent: no quotes to check")
    seed = (SHARED / "seed" / "000_0a866dfb5b4830f3.txt").read_text(encoding="utf-8")
    seeded = [m for m in marks if m[0].endswith("source-seed")]
    assert seeded
    for _, start, end, text in seeded:
        assert text == seed[start:end]
    browser.go(site + "/source?document=amur%3Asource-seed")
    span = browser.find_all(".document a.span")[3]
    start, end = (int(browser.call("GET", f"/element/{span}/attribute/data-{k}")) for k in ("start", "end"))
    click(browser, span)
    until(lambda: "start=" in browser.call("GET", "/url"))
    assert browser.call("GET", f"/element/{browser.find('#selected-text')}/text") == " ".join(seed[start:end].split())
    assert browser.find_all("#selected td")  # the facts drawn from that stretch
    not_blank(browser.screenshot("source", tmp_path))


@pytest.mark.tools  # headless Chromium through chromedriver
def test_a_script_in_a_label_does_not_run_in_the_browser(site: str, browser: WebDriver, tmp_path: Path) -> None:
    browser.go(site + "/entity?iri=" + urllib.parse.quote(XSS_IRI, safe=""))
    no_alert(browser)
    assert browser.call("GET", f"/element/{browser.find('#label')}/text") == XSS
    assert browser.script("return document.querySelectorAll('img').length") == 0
    browser.go(site + "/queries/prey")
    no_alert(browser)
    assert XSS in [browser.call("GET", f"/element/{e}/text") for e in browser.find_all("#answer td a.entity")]
    assert browser.script("return document.querySelectorAll('main img').length") == 0


@pytest.mark.tools  # headless Chromium through chromedriver
def test_entity_completion_fills_the_datalist(site: str, browser: WebDriver) -> None:
    browser.go(site + "/queries/prey")
    field = browser.find("input[name=predator]")
    browser.call("POST", f"/element/{field}/value", {"text": "wild"})
    options: list[str] = []
    for _ in range(50):
        options = browser.script(
            "return Array.from(document.querySelectorAll('#names-predator option')).map(o => o.value)"
        )
        if options:
            break
        browser.script("return new Promise(r => setTimeout(r, 100))")
    assert "wild boar" in options


def test_inferred_facts_are_marked_and_explained() -> None:
    """On a reasoned graph (amurkg serve --reason), an inferred fact carries the explain derivation down to the
    asserted, sourced fact it rests on."""
    from amurkg.web import data

    kg = amurkg.load(reason=True)
    data.prepare(kg, {})
    page = data.entity(kg, {"iri": "amur:wild-boar"}, 10_000)
    inferred = [f for g in page["groups"] for f in g["facts"] if f["inferred"]]
    assert inferred and not any(f["spans"] for f in inferred)  # an entailment claims no span of its own
    eating = ("http://purl.obolibrary.org/obo/RO_0002458", "http://purl.obolibrary.org/obo/RO_0002471")
    leopard = [
        f
        for f in inferred
        if f["value"]["value"].endswith("/amur-leopard") and f.get("derivation") and f["property"]["value"] in eating
    ]
    assert leopard
    for fact in leopard:  # what the wild boar is to the leopard as prey rests on the sourced "preys on" fact
        assert "amur:amur-leopard obo:RO_0002439 amur:wild-boar (seed " in fact["derivation"]
    sustains = [f for f in inferred if f["property"]["value"].endswith("#sustains")]
    assert sustains and all("akg:sustainsThroughoutYear" in f["derivation"] for f in sustains)
    asserted = [f for g in page["groups"] for f in g["facts"] if not f["inferred"]]
    assert all("derivation" not in f for f in asserted)


# ---------------------------------------------------------------------------------------------- survey dashboard


@pytest.fixture(scope="module")
def survey_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the small hand-checked package, with a script as a location name, and a synthetic one."""
    from typer.testing import CliRunner

    from amurkg.cli import app
    from amurkg.survey.generate import generate

    folder = tmp_path_factory.mktemp("survey")
    small = folder / "small"
    shutil.copytree(REPO / "tests" / "data" / "survey-small", small)
    deployments = small / "deployments.csv"
    # on D2, which recorded no threatened taxon: D1's name (a leopard's camera) is withheld, never shown
    deployments.write_text(deployments.read_text().replace('"stream, upper"', XSS), encoding="utf-8")
    store = folder / "store"
    for package in (small, generate(folder / "synthetic", 800, 3)):
        result = CliRunner().invoke(app, ["import", str(package), "--store", str(store)])
        assert result.exit_code == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def survey_site(survey_store: Path) -> Iterator[str]:
    yield from serving(["--store", str(survey_store), "--timeout", "600"])


def test_the_dashboard_counts_as_the_survey_library_does(survey_site: str, survey_store: Path) -> None:
    """The dashboard reads the detection series computed at import; the library counts independent detections
    from every observation: they agree, deployment by deployment and taxon by taxon."""
    from amurkg.survey.filters import SurveyFilter, detections
    from amurkg.survey.patterns import independent

    kg = amurkg.KnowledgeGraph(store=survey_store)
    try:
        for package in ("amurkg-test-survey-2023", "synthetic-amur-survey-800-3"):
            for interval in (0, 30):
                data = page_json(survey_site, f"/survey.json?package={package}&interval={interval}")
                counted: dict[tuple[str, str], int] = {}
                for d in independent(detections(kg, SurveyFilter(packages=(package,))), interval):
                    if d.taxon is not None:
                        counted[(d.deployment.iri, d.taxon)] = counted.get((d.deployment.iri, d.taxon), 0) + 1
                shown = {(d["iri"], t): n for d in data["deployments"] for t, n in d["detections"].items() if n}
                assert shown == counted, (package, interval)
    finally:
        kg.close()
    data = page_json(survey_site, "/survey.json?package=amurkg-test-survey-2023")
    by_id = {d["deploymentID"]: d for d in data["deployments"]}
    assert by_id["D1"]["cameraDays"] == 10 and by_id["D2"]["cameraDays"] == 4.5  # from the rows, by hand
    leopard = next(t for t in data["taxa"] if t["name"] == "Panthera pardus orientalis")
    assert leopard["rai"] == round(leopard["detections"] * 100 / data["cameraDays"], 3)


def test_what_the_dashboard_keeps_of_a_served_store_gives_the_answers_it_would_read_afresh(
    survey_store: Path,
) -> None:
    """The survey pages keep what they read of a served store (read-only while served) for the next visit: every
    page, asked in any order of packages, intervals, scales and taxa, is the page a fresh read gives."""
    from amurkg.web import data

    kg = amurkg.KnowledgeGraph(store=survey_store)
    leopard, boar = kg.resolve("amur:amur-leopard").value, kg.resolve("amur:wild-boar").value
    marten = kg.resolve("Martes zibellina", "taxon").value
    visits = [
        ("survey", {"package": "synthetic-amur-survey-800-3", "interval": 30}),
        ("survey", {"package": "amurkg-test-survey-2023", "interval": 0}),
        ("survey", {"interval": 60, "taxon": "Sus scrofa"}),
        ("survey-activity", {"package": "synthetic-amur-survey-800-3", "interval": 30}),
        ("survey-activity", {"package": "synthetic-amur-survey-800-3", "interval": 0, "scale": "solar"}),
        ("survey-activity", {"package": "synthetic-amur-survey-800-3", "interval": 30, "taxon": "Martes zibellina"}),
        ("survey-activity", {"interval": 60, "taxon": "amur:wild-boar"}),
        ("survey-activity", {"package": "synthetic-amur-survey-800-3", "interval": 30}),
    ]
    try:
        data.prepare(kg, {})  # no served store: nothing is kept
        fresh = [data._PAGES[name](kg, args, 100_000) for name, args in visits]
        assert not data._MEMO
        data.prepare(kg, {"store": str(survey_store)})
        assert data._MEMO["sensitive"] and data._MEMO["deployments"]  # read once, before any worker forks
        assert list(data._MEMO["series"]) == [(str(survey_store), 30)]  # the default interval's counts too
        assert [key[1] for key in data._MEMO["activity-series"]] == [""]  # and the activity page's, all packages
        kept = [data._PAGES[name](kg, args, 100_000) for name, args in visits]
        assert set(data._MEMO) == {"sensitive", "deployments", "series", "activity-series"}
        # the activity page's series: one read per package and choice of taxon, whatever the interval and scale
        assert sorted((key[1], key[2][0]) for key in data._MEMO["activity-series"]) == sorted(
            [
                ("", leopard),
                ("synthetic-amur-survey-800-3", leopard),
                ("synthetic-amur-survey-800-3", marten),
                ("", boar),
            ]
        )
        assert len(data._MEMO["deployments"]) == 3  # all packages, and each of the two asked for
        assert sorted(key[1] for key in data._MEMO["series"]) == [0, 30, 60]  # each interval asked, read once
    finally:
        data.prepare(kg, {})
        kg.close()
    for (name, args), a, b in zip(visits, fresh, kept, strict=True):
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), (name, args)


def test_deployments_with_threatened_taxa_are_generalised_on_the_map(survey_site: str) -> None:
    data = page_json(survey_site, "/survey.json?package=amurkg-test-survey-2023")
    d1 = next(d for d in data["deployments"] if d["deploymentID"] == "D1")  # a leopard was seen there
    assert d1["generalised"] and (d1["latitude"], d1["longitude"]) == Grid().point(43.1, 131.5)
    assert (d1["latitude"], d1["longitude"]) != (43.1, 131.5)
    # D2 recorded no threatened taxon and lies a whole cell from D1: exports keep its place, so does the page
    # (it was judged on D1's generalised place, 0.05 degree away, and moved as well)
    d2 = next(d for d in data["deployments"] if d["deploymentID"] == "D2")
    assert not d2["generalised"] and (d2["latitude"], d2["longitude"]) == (43.2, 131.6)
    status, _, body = get(survey_site + "/survey?package=amurkg-test-survey-2023")
    html = body.decode()
    assert status == 200 and "43.1<" not in html and "131.5<" not in html
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html  # a package's text is escaped
    assert d1["location"] == "L1" and "ridge trail" not in json.dumps(data) and "ridge trail" not in html


def test_the_dashboards_figures_are_svg_with_a_scale_and_a_north_arrow(survey_site: str) -> None:
    import xml.etree.ElementTree as ET

    for path, figure in (
        ("/survey", "map"),
        ("/survey", "rai"),
        ("/survey", "effort"),
        ("/survey/activity", "activity"),
    ):
        status, headers, body = get(survey_site + f"{path}.svg?figure={figure}")
        assert status == 200 and headers["Content-Type"].startswith("image/svg+xml"), body[:200]
        root = ET.fromstring(body)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
        if figure == "map":
            assert any(t.endswith(" km") for t in texts) and "N" in texts
        if figure == "activity":
            assert any("hour of day" in t for t in texts)
            assert root.find("{http://www.w3.org/2000/svg}polyline") is not None
    data = page_json(survey_site, "/survey/activity.json?package=synthetic-amur-survey-800-3")
    assert data["overlaps"] and any(o["overlap"] is not None for o in data["overlaps"])
    for pair in data["overlaps"]:
        assert pair["overlap"] is None or 0 < pair["overlap"] <= 1


def test_the_dashboard_needs_a_store(site: str) -> None:
    assert get(site + "/survey")[0] == 404


@pytest.mark.tools  # headless Chromium through chromedriver
def test_the_dashboard_in_a_browser(survey_site: str, browser: WebDriver, tmp_path: Path) -> None:
    browser.go(survey_site + "/survey?package=synthetic-amur-survey-800-3")
    no_alert(browser)
    assert len(browser.find_all("section.figure svg")) >= 3
    not_blank(browser.screenshot("survey", tmp_path))
    click(browser, browser.find("#activity"))
    until(lambda: "/survey/activity" in browser.call("GET", "/url"))
    assert len(browser.find_all("section.figure svg")) >= 2  # the day's curves, the leopard beside a prey
    not_blank(browser.screenshot("activity", tmp_path))
    browser.go(survey_site + "/survey?package=amurkg-test-survey-2023")
    no_alert(browser)
    assert browser.script("return document.querySelectorAll('main img').length") == 0


def test_the_home_page_lists_the_imported_packages_without_local_paths(survey_site: str, tmp_path: Path) -> None:
    home = page_json(survey_site, "/index.json")
    assert {p["identifier"] for p in home["packages"]} == {"amurkg-test-survey-2023", "synthetic-amur-survey-800-3"}
    assert all(p["observations"] > 0 for p in home["packages"])
    _, _, body = get(survey_site + "/")
    assert "synthetic-amur-survey-800-3" in body.decode()
    assert str(tmp_path.parent.parent) not in body.decode()  # where the packages were read from stays private


def test_figures_for_reports_are_amurgks_own_plots(survey_site: str, survey_store: Path) -> None:
    """PNG and PDF downloads come from the function behind `amurkg survey plot`, under the server's limits."""
    from amurkg.survey.figures import PlotOptions, plot
    from amurkg.survey.filters import SurveyFilter

    package = "synthetic-amur-survey-800-3"
    status, headers, body = get(survey_site + f"/survey/plot.png?kind=rai&package={package}")
    assert status == 200 and headers["Content-Type"] == "image/png", body[:200]
    not_blank(body)
    kg = amurkg.KnowledgeGraph(store=survey_store)
    try:
        expected = plot(kg, "rai", SurveyFilter(packages=(package,)), "png", PlotOptions(interval=30))
    finally:
        kg.close()
    from PIL import Image, ImageChops

    served, local = (Image.open(io.BytesIO(b)).convert("RGB") for b in (body, expected))
    assert served.size == local.size and ImageChops.difference(served, local).getbbox() is None
    status, headers, body = get(survey_site + f"/survey/plot.pdf?kind=map&package={package}")
    assert status == 200 and body.startswith(b"%PDF")
    assert get(survey_site + "/survey/plot.png?kind=nothing")[0] == 404


def test_an_entity_with_more_links_than_the_row_limit_still_has_a_page(kg: amurkg.KnowledgeGraph) -> None:
    """A taxon that a million observations point at: its own facts come first, then the first links to it."""
    from amurkg.web import data

    data.prepare(kg, {})
    whole = data.entity(kg, {"iri": "amur:amur-leopard"}, 10_000)
    cut = data.entity(kg, {"iri": "amur:amur-leopard"}, 20)
    assert not whole["truncated"] and cut["truncated"]
    assert 0 < cut["facts"] < whole["facts"]
    assert all(g["direction"] == "out" for g in cut["groups"])  # the entity's own facts are kept first


def test_a_long_group_of_facts_is_cut_on_the_page_and_whole_in_its_json(survey_site: str) -> None:
    data = page_json(survey_site, "/entity.json?iri=amur:siberian-roe-deer")
    long = [g for g in data["groups"] if len(g["facts"]) > 100]
    assert long  # the observations of the survey that name it
    _, _, body = get(survey_site + "/entity?iri=amur:siberian-roe-deer")
    html = body.decode()
    for group in long:
        assert f"and {len(group['facts']) - 100} more" in html


def test_a_dated_survey_query_page_shows_the_text_that_answers_it(survey_site: str) -> None:
    """detection-rate with a date range is answered from the detections: its page shows that text (the one
    run), and the counts' own text without one."""
    dated = get(survey_site + "/queries/detection-rate?since=2023-01-03&taxon=Amur+leopard")
    assert dated[0] == 200, dated[2][:500]
    assert "answered from the detections themselves" in dated[2].decode()
    assert "7.583333" in dated[2].decode()  # D1 from January 3 (survey-small)
    whole = get(survey_site + "/queries/detection-rate?taxon=Amur+leopard")
    assert whole[0] == 200 and "answered from the detections themselves" not in whole[2].decode()
