"""Independent review of the web interface: links built from a user's --data file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import amurkg
from amurkg.web.data import entity

_TTL = """@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix wdt: <http://www.wikidata.org/prop/direct/> .
<https://example.org/x> skos:exactMatch <javascript:alert(document.domain)> ,
    <data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==> , <https://www.gbif.org/species/5219436> ;
  wdt:P846 %s .
"""


def _external(tmp: Path, gbif: str) -> list[dict[str, str]]:
    data = tmp / "mine.ttl"
    literal = '"' + gbif.replace("\\", "\\\\").replace('"', '\\"') + '"'
    data.write_text(_TTL % literal, encoding="utf-8")
    with amurkg.KnowledgeGraph(data=[data]) as kg:
        return list(entity(kg, {"iri": "https://example.org/x"}, 1000)["external"])


def test_only_web_addresses_become_links(tmp_path: Path) -> None:
    """A skos:exactMatch to javascript: or data: stays text: no href the browser would run or open (the
    Content-Security-Policy would stop the script; the page should not offer it either)."""
    links = {x["value"]: x["url"] for x in _external(tmp_path, "5219436")}
    assert links["<https://www.gbif.org/species/5219436>"] == "https://www.gbif.org/species/5219436"
    assert all(not url or url.startswith(("https://", "http://")) for url in links.values()), links
    assert any("javascript:" in value and not url for value, url in links.items())


@settings(max_examples=25)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30))
def test_an_identifier_stays_inside_its_sites_path(tmp_path_factory, gbif: str) -> None:  # type: ignore[no-untyped-def]
    """A GBIF id such as '1?x=y', '../../evil' or '1#frag' is one path segment of gbif.org/species/."""
    (link,) = [x["url"] for x in _external(tmp_path_factory.mktemp("w"), gbif) if x["name"] == "GBIF"]
    rest = link.removeprefix("https://www.gbif.org/species/")
    assert link.startswith("https://www.gbif.org/species/") and not any(c in rest for c in "/?#&")
