"""Publication figures of imported camera-trap surveys (``amurkg survey plot``): activity curves, overlap,
relative abundance, effort and a map of the cameras, as PNG, SVG or PDF bytes, sized for a journal page; and, at
the end of this module, the quick pictures of ``survey activity --plot`` and of the overlap commands' ``--plot``
(``activity_plot``, ``prey_overlap_plot``), drawn from curves and tables already computed.

Every figure is drawn for one column of a journal page (80 mm, 3.15 inches wide) with text of 7 points or more,
labelled axes with their units, the time scale stated (each camera's local clock time, with its UTC offset, or
solar time), the Okabe & Ito (2008) colour-blind-safe palette, and a caption line that names the data (the
packages and the dates of their records) and the day the figure was drawn. The functions take a
``KnowledgeGraph`` over a store and return bytes, so the command line and the web dashboard draw the same
figures; they import nothing of either.

Maps are drawn offline and without a base map: each deployment at its coordinates, with a scale bar and a north
arrow, in an equirectangular frame whose aspect is that of the map's middle latitude (distances are true near
it). No country borders are drawn: none of the well-kept packages amurkg depends on ships them. The locations of
cameras that recorded a threatened taxon are generalised to a grid (``amurkg.survey.sensitive``) unless exact
locations are asked for; the caption says which was done.

Needs matplotlib (``pip install 'amurkg[viz,survey]'``).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amurkg.errors import ParameterError
from amurkg.survey.filters import Deployment, SurveyFilter, deployments

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from amurkg.survey.patterns import ActivityCurve, PreyOverlapTable

#: The kinds of figure ``amurkg survey plot`` draws.
KINDS = ("activity", "rai", "effort", "map", "overlap")
#: Output formats by file extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: One journal column (80 mm) in inches.
WIDTH = 80 / 25.4
#: The smallest text size, in points.
FONT = 7.0
#: The taxon a figure is of when none is given (as ``survey detection-history``).
DEFAULT_TAXON = "amur:amur-leopard"
_MAX_BARS = 40
_DAY = 86400.0

_LABEL = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dwc: <http://rs.tdwg.org/dwc/terms/>
SELECT ?label ?name WHERE { OPTIONAL { ?entity rdfs:label ?label } OPTIONAL { ?entity dwc:scientificName ?name } }
ORDER BY ?label ?name LIMIT 1"""


def figure_format(path: Path | str) -> str:
    """``png``, ``svg`` or ``pdf`` from a file name's extension, or ParameterError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(
            f"{str(path)!r}: a figure is written as .png, .svg or .pdf; name the file with one of them"
        )
    return FORMATS[suffix]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ParameterError(f"unknown plot {kind!r}: use one of {', '.join(KINDS)}")
    return kind


@dataclass(frozen=True)
class PlotOptions:
    """What a figure shows besides the records the filter keeps.

    ``taxa``: the taxa (names, labels or IRIs); ``solar``: solar rather than clock time; ``interval``: minutes
    that separate independent detections; ``grid``: degrees that sensitive locations are generalised to, or
    ``None`` for the exact locations; ``drawn``: the date in the caption (today by default)."""

    taxa: tuple[str, ...] = ()
    solar: bool = False
    interval: float = 30
    grid: float | None = 0.1
    drawn: date | None = None


def plot(
    kg: Any, kind: str, flt: SurveyFilter | None = None, fmt: str = "svg", options: PlotOptions | None = None
) -> bytes:
    """The figure ``kind`` (one of ``KINDS``) of the store behind ``kg`` as ``fmt`` bytes (png, svg or pdf)."""
    check_kind(kind)
    if fmt not in FORMATS.values():
        raise ParameterError(f"unknown figure format {fmt!r}: use png, svg or pdf")
    flt = flt or SurveyFilter()
    options = options or PlotOptions()
    draw = {
        "activity": activity_figure,
        "rai": rai_figure,
        "effort": effort_figure,
        "map": map_figure,
        "overlap": overlap_figure,
    }[kind]
    from amurkg.errors import require

    require("matplotlib", "viz", "drawing survey figures")
    import matplotlib

    with matplotlib.rc_context(_style()):  # sizes and colours are read when the artists are made
        return render(draw(kg, flt, options), fmt)


# ------------------------------------------------------------------ drawing helpers


def _style() -> Any:
    from cycler import cycler

    return {
        "font.size": FONT + 1,
        "axes.titlesize": FONT + 1,
        "axes.labelsize": FONT + 1,
        "xtick.labelsize": FONT,
        "ytick.labelsize": FONT,
        "legend.fontsize": FONT,
        "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "text.parse_math": False,  # a name with a $ is shown as written, not read as mathtext
        "svg.fonttype": "none",  # text stays text: searchable, and editable in a drawing program
        "svg.hashsalt": "amurkg",  # the same ids on every run
        "pdf.fonttype": 42,
    }


def _new_figure(height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, height), layout="constrained")


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as ``fmt`` bytes, the same on every run (no creation date in the file)."""
    buffer = io.BytesIO()
    choices: dict[str, dict[str, Any]] = {
        "png": {"Software": "amurkg"},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None},
    }
    metadata = choices[fmt]
    fig.savefig(buffer, format=fmt, dpi=300, metadata=metadata)
    return buffer.getvalue()


def _caption(fig: Figure, kg: Any, flt: SurveyFilter, options: PlotOptions, extra: str = "") -> None:
    """The caption line: the packages and the dates of their records, what was generalised, the day drawn."""
    cameras = deployments(kg, flt)
    packages = sorted({d.package for d in cameras if d.package})
    if cameras:
        first = min(datetime.fromtimestamp(d.start, UTC).date() for d in cameras)
        last = max(datetime.fromtimestamp(d.end, UTC).date() for d in cameras)
        span = f" ({first.isoformat()} to {last.isoformat()})"
    else:
        span = ""
    shown = ", ".join(packages[:3]) + (f" and {len(packages) - 3} more" if len(packages) > 3 else "")
    drawn = (options.drawn or datetime.now(UTC).date()).isoformat()
    text = f"Data: {shown or 'the store'}{span}. {extra}Drawn {drawn} with amurkg."
    caption = fig.supxlabel("\n".join(textwrap.wrap(text, 56)), x=0.01, ha="left", fontsize=FONT, color="#333333")
    caption.set_gid("caption")


def _label(kg: Any, taxon: str) -> tuple[str, str]:
    """The taxon's IRI and its label (or scientific name); ParameterError for an unknown taxon."""
    term = kg.resolve(taxon, "taxon")
    rows = kg.query(_LABEL, {"entity": term}, where="taxon label").rows
    label = next((t.value for row in rows for t in row if t is not None), None)
    return term.value, str(label or taxon)


def _taxa(options: PlotOptions, default: str | None = DEFAULT_TAXON) -> tuple[str, ...]:
    taxa = options.taxa or ((default,) if default else ())
    if len(taxa) > len(OKABE_ITO):
        raise ParameterError(f"{len(taxa)} taxa: a figure shows at most {len(OKABE_ITO)} (one colour each)")
    return tuple(taxa)


def _offsets(cameras: Sequence[Deployment]) -> str:
    """``UTC+10:00`` where every camera kept the same clock, else ``each camera's UTC offset``."""
    found = {d.offset for d in cameras}
    if len(found) != 1:
        return "each camera's own UTC offset"
    minutes = int(next(iter(found)) / timedelta(minutes=1))
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _time_axis(ax: Axes, kg: Any, flt: SurveyFilter, solar: bool) -> None:
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 6))
    ax.set_xticks(range(0, 25, 3), minor=True)
    if solar:
        ax.set_xlabel("Solar time (h; sunrise 06:00, sunset 18:00)")
    else:
        ax.set_xlabel(f"Local clock time (h, {_offsets(deployments(kg, flt))})")
    ax.set_ylabel("Activity density (per hour)")
    ax.set_ylim(bottom=0)


def _legend(fig: Figure, ax: Axes) -> None:
    """The legend above the axes, where it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=2, frameon=False)


# ------------------------------------------------------------------ the figures


def activity_figure(kg: Any, flt: SurveyFilter, options: PlotOptions) -> Figure:
    """Activity curves (von Mises kernel densities, per hour) of each taxon, with a rug of its detections."""
    from amurkg.survey.patterns import activity_curve, independent_of

    scale = "solar" if options.solar else "clock"
    fig = _new_figure(2.4)
    ax = fig.add_subplot()
    skipped = 0
    labelled = [_label(kg, taxon) for taxon in _taxa(options)]
    read = independent_of(kg, flt, [iri for iri, _ in labelled], options.interval)  # every taxon in one read
    for i, (iri, name) in enumerate(labelled):
        curve = activity_curve(kg, flt.with_taxon(iri), scale, options.interval, read=read[iri])
        skipped += curve.no_sun
        colour = OKABE_ITO[i]
        ax.plot(
            [x * 24 for x in curve.x],
            [y / 24 for y in curve.density],
            color=colour,
            lw=1.2,
            label=f"{name} (n = {curve.n})",
            gid=f"curve-{i}",
        )
        ax.plot(
            [t * 24 for t in curve.times], [0.0] * len(curve.times), "|", color=colour, ms=5, mew=0.6, clip_on=False
        )
    _time_axis(ax, kg, flt, options.solar)
    ax.set_title(f"Activity ({scale} time)")
    _legend(fig, ax)
    extra = f"Kernel densities of detections {options.interval:g} min apart. "
    extra += f"{skipped} detections without sunrise or sunset left out. " if skipped else ""
    _caption(fig, kg, flt, options, extra)
    return fig


#: The interval the overlap figure shows: 95 %, from 999 smoothed-bootstrap resamples drawn with seed 0 (the
#: defaults of ``survey prey-activity-overlap``), so the same store always draws the same figure.
OVERLAP_CI = 0.95
OVERLAP_BOOT = 999
OVERLAP_SEED = 0


def _overlap_parts(kg: Any, flt: SurveyFilter, options: PlotOptions) -> tuple[list[Any], list[str], list[str], Any]:
    """The two taxa's activity curves, their IRIs and names, and their overlap with its bootstrap interval."""
    from amurkg.survey.activity import activity_overlap
    from amurkg.survey.patterns import activity_curve, independent_of

    taxa = options.taxa
    if len(taxa) != 2:
        raise ParameterError(f"an overlap plot compares two taxa: give --taxon twice (got {len(taxa)})")
    scale = "solar" if options.solar else "clock"
    labelled = [_label(kg, taxon) for taxon in taxa]
    read = independent_of(kg, flt, [iri for iri, _ in labelled], options.interval)  # both taxa in one read
    curves = [activity_curve(kg, flt.with_taxon(iri), scale, options.interval, read=read[iri]) for iri, _ in labelled]
    result = activity_overlap(
        curves[0].times, curves[1].times, "auto", ci=OVERLAP_CI, n_boot=OVERLAP_BOOT, seed=OVERLAP_SEED
    )
    return curves, [iri for iri, _ in labelled], [name for _, name in labelled], result


def _overlap_title(result: Any, scale: str) -> str:
    """``Overlap Δ̂₁ = 0.41, 95% CI 0.22-0.61 (clock time)``, an en dash between the bounds."""
    index = "\u2080\u2081\u2082\u2083\u2084\u2085"[int(result.estimator[-1])]  # a subscript digit, as large as the text
    shown = f"Overlap \u0394\u0302{index} = {result.estimate:.2f}"
    if result.lower is not None and result.upper is not None:
        shown += f", {result.ci * 100:g}% CI {result.lower:.2f}\u2013{result.upper:.2f}"
    else:
        shown += ", no interval (the resamples gave no estimate)"
    return f"{shown} ({scale} time)"


def _overlap_note(result: Any) -> str:
    """How the interval was computed, for the caption."""
    return (
        f"Interval: {result.interval} of {result.n_boot} smoothed-bootstrap resamples (seed {result.seed}), as R's "
        "overlap. "
    )


def overlap_data(kg: Any, flt: SurveyFilter, options: PlotOptions) -> dict[str, Any]:
    """The overlap figure's numbers, as JSON can carry them (its twin for web pages): each taxon (IRI, name, number
    of detections), the estimator, Δ̂ and its interval (level, type, bounds, resamples, seed, bootstrap mean), the
    time scale, and the title the figure shows. The same store gives the same numbers (a seeded bootstrap)."""
    curves, iris, names, result = _overlap_parts(kg, flt, options)
    scale = "solar" if options.solar else "clock"
    return {
        "kind": "overlap",
        "scale": scale,
        "independence_minutes": options.interval,
        "taxa": [{"iri": i, "name": n, "n": c.n} for i, n, c in zip(iris, names, curves, strict=True)],
        "overlap": result.as_dict(),
        "title": _overlap_title(result, scale),
        "note": _overlap_note(result).strip(),
    }


def overlap_figure(kg: Any, flt: SurveyFilter, options: PlotOptions) -> Figure:
    """Two activity curves with the area under both shaded, and in the title the coefficient of overlapping
    (Ridout & Linkie's Δ̂1 or Δ̂4, chosen by sample size as ``overlap`` recommends) with its smoothed-bootstrap
    interval (``OVERLAP_CI``, seeded: the same figure every time); the caption says how the interval was made."""
    import numpy as np

    from amurkg.survey.activity import activity_density

    curves, _, names, result = _overlap_parts(kg, flt, options)
    scale = "solar" if options.solar else "clock"
    fig = _new_figure(2.4)
    ax = fig.add_subplot()
    grid = np.linspace(0.0, 1.0, 289)
    densities = [np.asarray(activity_density(c.times, n_grid=289)[1]) / 24 for c in curves]
    hours = grid * 24
    for i, (curve, name, density) in enumerate(zip(curves, names, densities, strict=True)):
        ax.plot(hours, density, color=OKABE_ITO[i], lw=1.2, ls=("-", "--")[i], label=f"{name} (n = {curve.n})")
    ax.fill_between(
        hours,
        0,
        np.minimum(*densities),
        color="#999999",
        alpha=0.45,
        lw=0,
        label="overlap",
        gid="overlap-area",
        zorder=0,
    )
    _time_axis(ax, kg, flt, options.solar)
    ax.set_title(_overlap_title(result, scale))
    _legend(fig, ax)
    extra = f"Kernel densities, {options.interval:g} min independence. {_overlap_note(result)}"
    _caption(fig, kg, flt, options, extra)
    return fig


def _active(kg: Any, flt: SurveyFilter) -> list[Deployment]:
    found = [d for d in deployments(kg, flt.with_taxon(None)) if d.end > d.start]
    if not found:
        raise ParameterError("no deployment was active in this selection: widen the filters")
    return found


def _names(cameras: Sequence[Deployment]) -> list[str]:
    several = len({d.package for d in cameras}) > 1
    return [f"{d.package}/{d.deployment_id}" if several else d.deployment_id for d in cameras]


def rai_figure(kg: Any, flt: SurveyFilter, options: PlotOptions) -> Figure:
    """Relative abundance index per deployment: independent detections per 100 camera-days, one bar per taxon."""
    from amurkg.survey.patterns import independent_of

    cameras = _active(kg, flt)
    taxa = _taxa(options)
    rai: list[tuple[str, list[float]]] = []
    labelled = [_label(kg, taxon) for taxon in taxa]
    read = independent_of(kg, flt, [iri for iri, _ in labelled], options.interval)  # every taxon in one read
    for iri, name in labelled:
        counts = {d.iri: len(starts) for d, starts in read[iri].parts}
        rai.append((name, [counts.get(c.iri, 0) * 100 * _DAY / (c.end - c.start) for c in cameras]))
    order = sorted(range(len(cameras)), key=lambda k: (-sum(v[k] for _, v in rai), k))[:_MAX_BARS]
    labels = [_names(cameras)[k] for k in order]
    fig = _new_figure(1.6 + 0.16 * len(order) * max(1, len(taxa) * 0.6))
    ax = fig.add_subplot()
    height = 0.8 / len(taxa)
    for i, (name, values) in enumerate(rai):
        ys = [j + (i - (len(taxa) - 1) / 2) * height for j in range(len(order))]
        ax.barh(ys, [values[k] for k in order], height=height, color=OKABE_ITO[i], label=name, gid=f"bars-{i}")
    ax.set_yticks(range(len(order)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("RAI (detections per 100 camera-days)")
    ax.set_ylabel("Deployment")
    ax.set_title("Relative abundance index")
    _legend(fig, ax)
    shown = f"Independent detections: {options.interval:g} min apart. "
    if len(order) < len(cameras):
        shown += f"{len(order)} of {len(cameras)} deployments shown (highest RAI). "
    _caption(fig, kg, flt, options, shown)
    return fig


def effort_figure(kg: Any, flt: SurveyFilter, options: PlotOptions) -> Figure:
    """When each camera was active: one bar per deployment from its start to its end (UTC dates)."""
    import importlib

    dates: Any = importlib.import_module("matplotlib.dates")  # untyped in matplotlib's stubs

    cameras = _active(kg, flt)
    order = cameras[:_MAX_BARS]
    fig = _new_figure(1.0 + 0.16 * len(order))
    ax = fig.add_subplot()
    for j, d in enumerate(order):
        start = dates.date2num(datetime.fromtimestamp(d.start, UTC))
        end = dates.date2num(datetime.fromtimestamp(d.end, UTC))
        ax.broken_barh([(start, end - start)], (j - 0.35, 0.7), facecolors=OKABE_ITO[0], gid=f"deployment-{j}")
    ax.set_yticks(range(len(order)), _names(order))
    ax.invert_yaxis()
    locator = dates.AutoDateLocator(maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_xlabel("Date (UTC)")
    ax.set_ylabel("Deployment")
    days = sum(d.end - d.start for d in cameras) / _DAY
    ax.set_title(f"Effort: {days:,.1f} camera-days, {len(cameras)} deployments")
    shown = f"First {len(order)} of {len(cameras)} deployments shown. " if len(order) < len(cameras) else ""
    _caption(fig, kg, flt, options, shown)
    return fig


@dataclass(frozen=True)
class Located:
    """A deployment where a published map may put it."""

    deployment: Deployment
    latitude: float
    longitude: float
    generalised: bool


def map_locations(kg: Any, flt: SurveyFilter, grid: float | None = 0.1) -> tuple[list[Located], int]:
    """The deployments with coordinates, those of cameras that recorded a threatened taxon generalised to
    ``grid`` degrees (``None``: exact), and how many had no coordinates."""
    from amurkg.survey.sensitive import Grid, exact_view, sensitive_deployments

    cells = Grid(grid) if grid is not None else None
    with exact_view(kg):
        cameras = deployments(kg, flt.with_taxon(None))
        sensitive = sensitive_deployments(kg) if cells is not None else {}
    out, missing = [], 0
    for d in cameras:
        if d.latitude is None or d.longitude is None or not (math.isfinite(d.latitude) and math.isfinite(d.longitude)):
            missing += 1
            continue
        lat, lon, moved = d.latitude, d.longitude, False
        if cells is not None and d.iri in sensitive:
            (lat, lon), moved = cells.point(lat, lon), True
            d = replace(d, latitude=lat, longitude=lon)
        out.append(Located(d, lat, lon, moved))
    return out, missing


def _nice(value: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``value``."""
    power = 10 ** math.floor(math.log10(value))
    return float(max(m * power for m in (1, 2, 5) if m * power <= value))


def map_figure(kg: Any, flt: SurveyFilter, options: PlotOptions) -> Figure:
    """The cameras on a plain map (no base map, no borders) with a scale bar and a north arrow; with a taxon,
    each marker's area is proportional to its RAI and deployments without a detection are open circles."""
    from amurkg.survey.patterns import independent_of

    located, missing = map_locations(kg, flt, options.grid)
    if not located:
        raise ParameterError("no deployment in this selection has coordinates: nothing to map")
    lats = [p.latitude for p in located]
    lons = [p.longitude for p in located]
    middle = (min(lats) + max(lats)) / 2
    stretch = 1 / max(math.cos(math.radians(middle)), 0.05)
    span = max(max(lons) - min(lons), (max(lats) - min(lats)) * stretch, 0.02)
    pad = span * 0.2
    fig = _new_figure(WIDTH * 0.95)
    ax = fig.add_subplot()
    ax.set_aspect(stretch)
    ax.set_xlim((min(lons) + max(lons)) / 2 - span / 2 - pad, (min(lons) + max(lons)) / 2 + span / 2 + pad)
    half_lat = (span / 2 + pad) / stretch
    ax.set_ylim(middle - half_lat, middle + half_lat)
    sizes: list[float] = [14.0] * len(located)
    filled = [True] * len(located)
    title = f"Camera deployments (n = {len(located)})"
    if options.taxa:
        if len(options.taxa) > 1:
            raise ParameterError("a map shows one taxon's RAI: give --taxon once (or not at all)")
        iri, name = _label(kg, options.taxa[0])
        counts = {d.iri: len(starts) for d, starts in independent_of(kg, flt, [iri], options.interval)[iri].parts}
        rai = [
            counts.get(p.deployment.iri, 0) * 100 * _DAY / max(p.deployment.end - p.deployment.start, 1.0)
            for p in located
        ]
        top = max(rai) or 1.0
        sizes = [8 + 80 * r / top for r in rai]
        filled = [r > 0 for r in rai]
        title = f"{name}: RAI (max {top:.1f} per 100 camera-days)"
    ax.scatter(
        lons,
        lats,
        s=sizes,
        c=[OKABE_ITO[1] if f else "none" for f in filled],
        edgecolors=OKABE_ITO[0],
        linewidths=0.7,
        zorder=3,
        gid="deployments",
    )
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel("Longitude (° E, WGS84)")
    ax.set_ylabel("Latitude (° N, WGS84)")
    ax.set_title("\n".join(textwrap.wrap(title, 48)))
    ax.grid(True, color="#dddddd", lw=0.4)
    _scale_bar(ax, middle)
    _north_arrow(ax)
    generalised = sum(p.generalised for p in located)
    extra = ""
    if generalised:
        extra += f"{generalised} location(s) of threatened taxa generalised to a {options.grid:g}° grid. "
    elif options.grid is None:
        extra += "Exact locations: not for publishing. "
    if missing:
        extra += f"{missing} deployment(s) without coordinates not shown. "
    _caption(fig, kg, flt, options, extra + "No base map or borders. ")
    return fig


def _scale_bar(ax: Axes, latitude: float) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km_per_degree = 111.32 * math.cos(math.radians(latitude))
    length_km = _nice((x1 - x0) * km_per_degree / 4)
    length = length_km / km_per_degree
    left, bottom = x0 + (x1 - x0) * 0.05, y0 + (y1 - y0) * 0.04
    ax.plot([left, left + length], [bottom, bottom], color="black", lw=2, solid_capstyle="butt", gid="scale-bar")
    text = f"{length_km:g} km"
    ax.text(left + length / 2, bottom + (y1 - y0) * 0.015, text, ha="center", va="bottom", fontsize=FONT)


def _north_arrow(ax: Axes) -> None:
    ax.annotate(
        "N",
        xy=(0.93, 0.95),
        xytext=(0.93, 0.78),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=FONT + 1,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.0},
        gid="north-arrow",
    )


# ------------------------------------------------------------------ quick pictures of computed curves and tables
# (``survey activity --plot``, ``survey prey-activity-overlap --plot``, ``survey activity-overlap --plot``): SVG
# or PNG, the same bytes for the same data (no dates, fixed ids), at screen size rather than a journal column.

#: The picture formats of the quick pictures.
PLOT_FORMATS = ("svg", "png")
_COLOURS = ("#1b6ca8", "#c0392b", "#2e8b57", "#8e44ad")


def plot_format(path: str) -> str:
    """The picture format a file name asks for (its extension), or ParameterError."""
    ext = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if ext not in PLOT_FORMATS:
        raise ParameterError(f"{path}: a plot is written as .svg or .png: name the file so")
    return ext


def _text(value: str, width: int = 60) -> str:
    """Label text as matplotlib shows it literally (no mathtext), shortened."""
    text = " ".join(str(value).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _quick_figure(rows: int, cols: int) -> tuple[Any, Any]:
    from amurkg.errors import require

    require("matplotlib", "viz", "drawing activity plots")
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "amurkg"
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    return fig, axes


def _quick_save(fig: Any, fmt: str) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _hour_axes(ax: Any, scale: str) -> None:
    ax.set_xlim(0, 24)
    ax.set_xticks([0, 6, 12, 18, 24])
    ax.set_xlabel("solar time (sunrise 6, sunset 18)" if scale == "solar" else "hour of day (camera's local time)")
    ax.set_ylabel("density per hour")
    ax.set_ylim(bottom=0)


def activity_plot(curves: Sequence[ActivityCurve], fmt: str = "svg", title: str = "") -> bytes:
    """One panel with each curve, labelled with its taxon and number of detections."""
    if fmt not in PLOT_FORMATS:
        raise ParameterError(f"unknown plot format {fmt!r}: use svg or png")
    if not curves:
        raise ParameterError("no activity curve to draw")
    fig, axes = _quick_figure(1, 1)
    ax = axes[0][0]
    for i, curve in enumerate(curves):
        hours = [x * 24 for x in curve.x]
        ax.plot(
            hours,
            [y / 24 for y in curve.density],
            color=_COLOURS[i % len(_COLOURS)],
            label=f"{_text(curve.taxon)} (n = {curve.n})",
        )
        ax.plot([t * 24 for t in curve.times], [0.0] * len(curve.times), "|", color=_COLOURS[i % len(_COLOURS)])
    _hour_axes(ax, curves[0].scale)
    ax.legend(frameon=False, fontsize=9)
    ax.set_title(_text(title or "Activity over the day", 90), fontsize=11)
    return _quick_save(fig, fmt)


def prey_overlap_plot(table: PreyOverlapTable, fmt: str = "svg") -> bytes:
    """A panel per package and prey with an estimate: the predator's curve and the prey's, the area under both
    shaded, the estimate and its interval in the panel's title."""
    from amurkg.survey.activity import activity_density

    if fmt not in PLOT_FORMATS:
        raise ParameterError(f"unknown plot format {fmt!r}: use svg or png")
    rows = [r for r in table.rows if r.overlap is not None and r.times_predator and r.times_prey]
    if not rows:
        raise ParameterError("no prey has enough detections for an overlap: nothing to draw")
    cols = min(3, len(rows))
    fig, axes = _quick_figure(math.ceil(len(rows) / cols), cols)
    for index, row in enumerate(rows):
        ax = axes[index // cols][index % cols]
        assert row.overlap is not None
        x, a = activity_density(row.times_predator, n_grid=193)
        _, b = activity_density(row.times_prey, n_grid=193)
        hours = [v * 24 for v in x]
        pa, pb = [v / 24 for v in a], [v / 24 for v in b]
        ax.plot(hours, pa, color=_COLOURS[0], label=f"{_text(table.predator, 30)} (n = {row.n_predator})")
        ax.plot(hours, pb, color=_COLOURS[1], linestyle="--", label=f"{_text(row.prey_name, 30)} (n = {row.n_prey})")
        ax.fill_between(hours, [min(p, q) for p, q in zip(pa, pb, strict=True)], color="#999999", alpha=0.35)
        o = row.overlap
        interval = f" [{o.lower:.2f}, {o.upper:.2f}]" if o.lower is not None and o.upper is not None else ""
        name = {"dhat1": "Δ̂1", "dhat4": "Δ̂4", "dhat5": "Δ̂5"}.get(o.estimator, o.estimator)
        ax.set_title(f"{_text(row.package, 40)}: {name} = {o.estimate:.2f}{interval}", fontsize=10)
        _hour_axes(ax, table.scale)
        ax.legend(frameon=False, fontsize=8)
    for index in range(len(rows), len(axes) * cols):
        axes[index // cols][index % cols].axis("off")
    return _quick_save(fig, fmt)
