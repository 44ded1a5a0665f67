"""Small drawings computed on the server and written as SVG by the templates (escaped there): no script."""

from __future__ import annotations

import itertools
import math
from typing import Any

#: Neighbours drawn around an entity at most; the page's table lists all of them.
MAX_NEIGHBOURS = 14


def _short(text: str, width: int = 26) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def neighbourhood(data: dict[str, Any], size: int = 520) -> dict[str, Any]:
    """The entity in the middle, its linked entities on a circle, each line labelled with the relation (read
    from the entity's side); neighbours reached by several relations are drawn once, with the first."""
    from amurkg.web import url

    centre = size / 2
    sides: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for group in data["groups"]:
        if group["property"]["value"].endswith("#type"):
            continue
        for fact in group["facts"]:
            value = fact["value"]
            if value["kind"] != "uri":
                continue
            sides[group["direction"] == "out"].append(
                {
                    "iri": value["value"],
                    "label": _short(value.get("label") or value["display"]),
                    "href": url("/entity", iri=value["value"]),
                    "relation": _short(group["label"], 22),
                    "out": group["direction"] == "out",
                }
            )
    seen: dict[str, dict[str, Any]] = {}
    for pair in itertools.zip_longest(sides[True], sides[False]):  # both directions, in turn
        for node in pair:
            if node is not None and node["iri"] not in seen and len(seen) < MAX_NEIGHBOURS:
                seen[node["iri"]] = node
    count = max(1, len(seen))
    radius = size * 0.36
    nodes, edges = [], []
    for i, node in enumerate(seen.values()):
        angle = 2 * math.pi * i / count - math.pi / 2
        x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        nodes.append({**node, "x": round(x, 1), "y": round(y, 1)})
        edges.append(
            {
                "x1": centre,
                "y1": centre,
                "x2": round(x, 1),
                "y2": round(y, 1),
                "lx": round(centre + 0.55 * radius * math.cos(angle), 1),
                "ly": round(centre + 0.55 * radius * math.sin(angle), 1),
                "label": node["relation"],
                "out": node["out"],
            }
        )
    return {
        "size": size,
        "centre": {"x": centre, "y": centre, "label": _short(data["label"], 30)},
        "nodes": nodes,
        "edges": edges,
        "more": sum(1 for g in data["groups"] for f in g["facts"] if f["value"]["kind"] == "uri") - len(nodes),
    }
