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


# ---------------------------------------------------------------------------------------------- survey figures
# Each figure is a list of SVG elements (tag, attributes, text) that the template writes out, escaping every
# value; the tags and attribute names are the ones written here. Colours: Okabe-Ito (colour-blind safe).

OKABE_ITO = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000")


def _el(tag: str, text: str = "", **attrs: Any) -> dict[str, Any]:
    return {"tag": tag, "attrs": {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}, "text": text}


def _figure(width: int, height: int, title: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"width": width, "height": height, "title": title, "elements": elements}


def _nice(value: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten not above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(max(m * power for m in (1, 2, 5) if m * power <= value))


def deployment_map(data: dict[str, Any], width: int = 560, height: int = 420) -> dict[str, Any]:
    """Deployments at their coordinates (equirectangular, scaled by the cosine of the mean latitude), each a
    circle whose area follows the chosen taxon's RAI there (a cross where it was not detected), with a scale bar
    in kilometres and a north arrow."""
    taxon = data["taxon"]
    placed = [d for d in data["deployments"] if d["latitude"] is not None and d["longitude"] is not None]
    els: list[dict[str, Any]] = []
    title = f"Deployments, sized by the RAI of {data['taxonLabel'] or 'the chosen taxon'}"
    if not placed:
        els.append(_el("text", "no deployment has coordinates", x=20, y=40, font_size=13))
        return _figure(width, height, title, els)
    lats = [d["latitude"] for d in placed]
    lons = [d["longitude"] for d in placed]
    mid = math.radians(sum(lats) / len(lats))
    km_lat = 111.32
    km_lon = 111.32 * math.cos(mid)
    xs = [lon * km_lon for lon in lons]
    ys = [lat * km_lat for lat in lats]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    margin = 50
    scale = min((width - 2 * margin) / span, (height - 2 * margin - 30) / span)  # pixels per km
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    top = max((d["rai"].get(taxon) or 0) for d in placed) or 1.0
    els.append(_el("rect", x=0, y=0, width=width, height=height, fill="#f7fafa", stroke="#c8d2d5"))
    for d, x, y in zip(placed, xs, ys, strict=True):
        px = round(width / 2 + (x - cx) * scale, 1)
        py = round(height / 2 - 15 - (y - cy) * scale, 1)
        rai = d["rai"].get(taxon) or 0
        if rai > 0:
            r = round(4 + 18 * math.sqrt(rai / top), 1)
            els.append(_el("circle", cx=px, cy=py, r=r, fill="#d55e00", fill_opacity="0.55", stroke="#7a3500"))
        else:
            els.append(
                _el(
                    "path",
                    d=f"M{px - 4},{py - 4}L{px + 4},{py + 4}M{px - 4},{py + 4}L{px + 4},{py - 4}",
                    stroke="#0072b2",
                    stroke_width=1.5,
                )
            )
        label = d["deploymentID"] + (" *" if d["generalised"] else "")
        els.append(_el("text", label, x=px + 7, y=py - 6, font_size=10, fill="#333"))
    # scale bar: a round number of kilometres about a quarter of the width
    km = _nice((width / 4) / scale)
    bar = km * scale
    y0 = height - 22
    els.append(
        _el("path", d=f"M20,{y0}h{bar:.1f}M20,{y0 - 5}v10M{20 + bar:.1f},{y0 - 5}v10", stroke="#000", stroke_width=2)
    )
    els.append(_el("text", f"{km:g} km", x=20 + bar / 2, y=y0 - 8, font_size=11, text_anchor="middle"))
    # north arrow
    els.append(_el("path", d=f"M{width - 30},20l8,22h-16z", fill="#000"))
    els.append(_el("text", "N", x=width - 30, y=58, font_size=13, text_anchor="middle", font_weight="bold"))
    els.append(
        _el(
            "text",
            f"circle area ∝ RAI (max {top:g} per 100 camera-days); × not detected",
            x=width - 12,
            y=height - 8,
            font_size=10,
            text_anchor="end",
            fill="#444",
        )
    )
    return _figure(width, height, title, els)


def bars(
    rows: list[tuple[str, float]], title: str, unit: str, width: int = 560, colour: str = "#0072b2"
) -> dict[str, Any]:
    """Horizontal bars, one per (label, value), with the value written at the bar's end."""
    height = 30 + 22 * max(1, len(rows))
    left = 190
    top = max((v for _, v in rows), default=0) or 1.0
    els = [_el("text", unit, x=width - 10, y=14, font_size=10, text_anchor="end", fill="#444")]
    for i, (label, value) in enumerate(rows):
        y = 24 + 22 * i
        length = round((width - left - 70) * value / top, 1)
        els.append(_el("text", _short(label, 30), x=left - 8, y=y + 12, font_size=11, text_anchor="end"))
        els.append(_el("rect", x=left, y=y, width=max(length, 0.5), height=15, fill=colour))
        els.append(_el("text", f"{value:g}", x=left + length + 5, y=y + 12, font_size=11))
    return _figure(width, height, title, els)


def curves(series: list[dict[str, Any]], title: str, scale: str, width: int = 560, height: int = 260) -> dict[str, Any]:
    """Activity curves over the day: density per hour against the hour (0-24), one line per series, a legend."""
    left, right, top, bottom = 62, 15, 20, 40
    w, h = width - left - right, height - top - bottom
    peak = max((max(s["density"]) / 24 for s in series if s.get("density")), default=0) or 1.0
    ymax = peak * 1.15
    els = [_el("rect", x=left, y=top, width=w, height=h, fill="#fff", stroke="#c8d2d5")]
    for hour in range(0, 25, 6):
        x = left + w * hour / 24
        els.append(_el("path", d=f"M{x:.1f},{top}v{h}", stroke="#e3e8ea"))
        els.append(_el("text", f"{hour:02d}:00", x=round(x, 1), y=top + h + 16, font_size=10, text_anchor="middle"))
    for frac in (0, 0.5, 1):
        y = top + h - h * frac
        els.append(_el("text", f"{ymax * frac:.3g}", x=left - 5, y=round(y + 4, 1), font_size=10, text_anchor="end"))
    clock = "solar time (sunrise 06:00, sunset 18:00)" if scale == "solar" else "local clock time of each camera"
    els.append(_el("text", f"hour of day, {clock}", x=left + w / 2, y=height - 5, font_size=11, text_anchor="middle"))
    els.append(
        _el(
            "text",
            "density per hour",
            x=12,
            y=top + h / 2,
            font_size=11,
            text_anchor="middle",
            transform=f"rotate(-90 12 {top + h / 2})",
        )
    )
    for i, s in enumerate(series):
        if not s.get("density"):
            continue
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        points = " ".join(
            f"{left + w * x:.1f},{top + h - h * min(y / 24, ymax) / ymax:.1f}"
            for x, y in zip(s["x"], s["density"], strict=True)
        )
        els.append(
            _el(
                "polyline",
                points=points,
                fill="none",
                stroke=colour,
                stroke_width=2,
                stroke_dasharray="" if i == 0 else "6 3",
            )
        )
        els.append(
            _el("text", f"{s['label']} (n={s['n']})", x=left + 8, y=top + 14 + 14 * i, font_size=11, fill=colour)
        )
    return _figure(width, height, title, els)
