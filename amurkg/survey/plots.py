"""Pictures of activity: curves over the day, and a predator's curve against each prey's with their overlap
shaded (matplotlib, the ``viz`` extra). SVG or PNG, the same bytes for the same data (no dates, fixed ids).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from amurkg.errors import ParameterError, require
from amurkg.survey.activity import activity_density
from amurkg.survey.patterns import ActivityCurve, PreyOverlapTable

FORMATS = ("svg", "png")
_COLOURS = ("#1b6ca8", "#c0392b", "#2e8b57", "#8e44ad")


def plot_format(path: str) -> str:
    """The picture format a file name asks for (its extension), or ParameterError."""
    ext = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if ext not in FORMATS:
        raise ParameterError(f"{path}: a plot is written as .svg or .png: name the file so")
    return ext


def _text(value: str, width: int = 60) -> str:
    """Label text as matplotlib shows it literally (no mathtext), shortened."""
    text = " ".join(str(value).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _figure(rows: int, cols: int) -> tuple[Any, Any]:
    require("matplotlib", "viz", "drawing activity plots")
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "amurkg"
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    return fig, axes


def _save(fig: Any, fmt: str) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _axes(ax: Any, scale: str) -> None:
    ax.set_xlim(0, 24)
    ax.set_xticks([0, 6, 12, 18, 24])
    ax.set_xlabel("solar time (sunrise 6, sunset 18)" if scale == "solar" else "hour of day (camera's local time)")
    ax.set_ylabel("density per hour")
    ax.set_ylim(bottom=0)


def activity_plot(curves: Sequence[ActivityCurve], fmt: str = "svg", title: str = "") -> bytes:
    """One panel with each curve, labelled with its taxon and number of detections."""
    if fmt not in FORMATS:
        raise ParameterError(f"unknown plot format {fmt!r}: use svg or png")
    if not curves:
        raise ParameterError("no activity curve to draw")
    fig, axes = _figure(1, 1)
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
    _axes(ax, curves[0].scale)
    ax.legend(frameon=False, fontsize=9)
    ax.set_title(_text(title or "Activity over the day", 90), fontsize=11)
    return _save(fig, fmt)


def prey_overlap_plot(table: PreyOverlapTable, fmt: str = "svg") -> bytes:
    """A panel per package and prey with an estimate: the predator's curve and the prey's, the area under both
    shaded, the estimate and its interval in the panel's title."""
    if fmt not in FORMATS:
        raise ParameterError(f"unknown plot format {fmt!r}: use svg or png")
    rows = [r for r in table.rows if r.overlap is not None and r.times_predator and r.times_prey]
    if not rows:
        raise ParameterError("no prey has enough detections for an overlap: nothing to draw")
    cols = min(3, len(rows))
    fig, axes = _figure(math.ceil(len(rows) / cols), cols)
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
        _axes(ax, table.scale)
        ax.legend(frameon=False, fontsize=8)
    for index in range(len(rows), len(axes) * cols):
        axes[index // cols][index % cols].axis("off")
    return _save(fig, fmt)
