"""Namespace IRIs used across amurkg, as plain strings (importing this costs nothing).

``amurkg.vocab`` builds the typo-proof rdflib namespaces from these for code that uses rdflib.
"""

from __future__ import annotations

import functools
import re

from amurkg.codedigest import of_module

#: this module's source as it was loaded (``amurkg.codedigest``)
SOURCE_DIGEST = of_module(__name__)

AKG = "https://w3id.org/amurkg/ontology#"
AMUR = "https://w3id.org/amurkg/id/"
GRAPH_BASE = "https://w3id.org/amurkg/graph/"
#: Records imported from field data (camera-trap packages, occurrence archives), one folder per package.
SURVEY = "https://w3id.org/amurkg/survey/"

#: Prefixes bound in every export and used to shorten IRIs in tables. Order is display order.
PREFIXES: dict[str, str] = {
    "akg": AKG,
    "amur": AMUR,
    "fact": AMUR + "fact/",
    "span": AMUR + "span/",
    "vocab": "https://w3id.org/amurkg/vocab/",
    "iucnrl": "https://w3id.org/amurkg/iucn/redlist/",
    "iucnth": "https://w3id.org/amurkg/iucn/threat/",
    "iucnst": "https://w3id.org/amurkg/iucn/stress/",
    "iucnhab": "https://w3id.org/amurkg/iucn/habitat/",
    "obo": "http://purl.obolibrary.org/obo/",
    "dwc": "http://rs.tdwg.org/dwc/terms/",
    "dwciri": "http://rs.tdwg.org/dwc/iri/",
    "schema": "https://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "oa": "http://www.w3.org/ns/oa#",
    "dcterms": "http://purl.org/dc/terms/",
    "survey": SURVEY,
    "geo": "http://www.opengis.net/ont/geosparql#",
    "geof": "http://www.opengis.net/def/function/geosparql/",
    "time": "http://www.w3.org/2006/time#",
    "wd": "http://www.wikidata.org/entity/",
    "wdt": "http://www.wikidata.org/prop/direct/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

XSD_STRING = PREFIXES["xsd"] + "string"
RDF_LANGSTRING = PREFIXES["rdf"] + "langString"


@functools.lru_cache(maxsize=65536)
def compact(iri: str) -> str:
    """Shorten an IRI with the longest matching prefix, or return it in angle brackets.

    Cached: a table repeats the same few taxa, places and deployments on thousands of rows."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            local = iri[len(ns) :]
            if local and _LOCAL.fullmatch(local) and not local.endswith("."):
                best = prefix
    if best:
        return f"{best}:{iri[len(PREFIXES[best]) :]}"
    return f"<{iri}>"


_LOCAL = re.compile(r"[\w.-]+")


def expand(name: str) -> str | None:
    """Expand a prefixed name such as ``amur:wild-boar``; None when the prefix is unknown."""
    prefix, sep, local = name.partition(":")
    if not sep or prefix not in PREFIXES or local.startswith("//"):
        return None
    return PREFIXES[prefix] + local
