"""Matplotlib figures rendered to PNG data URIs, so a report is one self-contained file.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg canvas directly
instead of through ``pyplot``: importing this module must not switch the process-wide backend
(that would break plotting in a notebook that also imports tuneforge), and a figure that
pyplot never registered cannot leak or pile up across many reports.
"""

from __future__ import annotations

import functools
import io
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from .markup import data_uri

_DPI = 100
_TICK_CHARS = 24  # longer label names are cut in tick labels; tables show them in full
_MAX_ANNOTATED = 20  # above this many labels the per-cell counts become unreadable


# Fonts tried in order for every glyph: DejaVu Sans (matplotlib's own) for Latin, then the
# first CJK font installed (Debian's fonts-noto-cjk, which the set-up installs), so Chinese
# labels and examples render instead of as empty boxes.
LATIN_FONT = "DejaVu Sans"
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "WenQuanYi Zen Hei")
_F = TypeVar("_F", bound=Callable)


@functools.cache
def font_families() -> tuple[str, ...]:
    """The font list figures are drawn with: Latin first, then a CJK font if one is installed."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return (LATIN_FONT, *[f for f in CJK_FONTS if f in installed][:1])


@functools.cache
def _warn_no_cjk_font() -> None:
    print(
        "warning: plots hold Chinese/Japanese/Korean text but no CJK font is installed, so it "
        "is drawn as boxes; install one (apt-get install fonts-noto-cjk).",
        file=sys.stderr,
    )


@contextmanager
def cjk_capable() -> Iterator[None]:
    """Figures made inside draw with :func:`font_families` (their text keeps the fonts it was
    made with, so they may be rendered later); says once when CJK glyphs had no font. A
    context, not a process-wide setting: a notebook importing tuneforge keeps its own fonts."""
    from matplotlib import rc_context

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with rc_context({"font.family": list(font_families())}):
            yield
    missing = [w for w in caught if "missing from font" in str(w.message)]
    if missing and len(font_families()) == 1:
        _warn_no_cjk_font()
    for w in caught:
        if w not in missing:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def plot_fonts(build: _F) -> _F:
    """A figure builder run inside :func:`cjk_capable`."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        with cjk_capable():
            return build(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure on its own Agg canvas, never registered with pyplot."""
    fig = Figure(figsize=(width, height), dpi=_DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def figure_data_uri(fig: Figure, tight: bool = False) -> str:
    """Render as PNG and release the figure's artists (the caller keeps no reference).

    ``tight`` grows the canvas around whatever sticks out (long tick labels) instead of
    shrinking the axes to make room for it.
    """
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight" if tight else None)
    finally:
        fig.clear()
    return data_uri(buf.getvalue())


def _finite(record: dict, *keys: str) -> bool:
    """A record is plottable only if every key holds a finite number (a killed run may not)."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value):
            return False
    return True


def moving_average(values: list[float], window: int) -> np.ndarray:
    """Trailing mean over ``window`` points; the first points average what exists so far,
    so the smoothed line covers the whole x range instead of starting ``window`` steps late."""
    data = np.asarray(values, dtype=float)
    if window < 2 or data.size == 0:
        return data
    cumsum = np.cumsum(np.insert(data, 0, 0.0))
    idx = np.arange(1, data.size + 1)
    start = np.maximum(idx - window, 0)
    return (cumsum[idx] - cumsum[start]) / (idx - start)


def _short(label: str) -> str:
    """Cut in the middle: labels often share a prefix (or a suffix), and keeping both ends
    keeps cut labels told apart."""
    label = str(label)
    if len(label) <= _TICK_CHARS:
        return label
    head = (_TICK_CHARS - 1) // 2
    return label[:head] + "…" + label[-(_TICK_CHARS - 1 - head) :]


def plottable(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Training records by step and validation records by epoch, each with finite values (the
    report's images and the dashboard's charts draw the same points)."""
    train = sorted(
        (r for r in records if r.get("split") == "train" and _finite(r, "step", "loss")),
        key=lambda r: r["step"],
    )
    val = sorted(
        (
            r
            for r in records
            if r.get("split") == "val" and _finite(r, "epoch", "loss", "accuracy", "macro_f1")
        ),
        key=lambda r: r["epoch"],
    )
    return train, val


def _plot_training_loss(ax: Axes, train: list[dict]) -> None:
    """Raw loss per step, with a moving average when there are enough points to smooth."""
    if not train:
        ax.text(0.5, 0.5, "no training records", ha="center", transform=ax.transAxes)
        return
    steps = [r["step"] for r in train]
    losses = [r["loss"] for r in train]
    ax.plot(steps, losses, color="#9ecae1", lw=1, label="loss")
    window = max(2, len(losses) // 15)
    if len(losses) > window:
        ax.plot(
            steps,
            moving_average(losses, window),
            color="#08519c",
            lw=2,
            label=f"moving average ({window})",
        )
    ax.legend(fontsize=8)


def best_record(val: list[dict], best_step: int | None) -> dict:
    """The validation record of the kept checkpoint: the one at ``best_step`` when present,
    else by the trainer's rule (highest macro-F1, ties to the lower validation loss)."""
    kept = [r for r in val if best_step is not None and r.get("step") == best_step]
    return kept[-1] if kept else max(val, key=lambda r: (r["macro_f1"], -r["loss"]))


def _plot_validation(
    ax_loss: Axes, ax_scores: Axes, val: list[dict], best_step: int | None
) -> None:
    """Validation loss, accuracy and macro-F1 by epoch, with the best macro-F1 point ringed."""
    if not val:
        for ax in (ax_loss, ax_scores):
            ax.text(0.5, 0.5, "no validation records", ha="center", transform=ax.transAxes)
        return
    epochs = [r["epoch"] for r in val]
    ax_loss.plot(epochs, [r["loss"] for r in val], marker="o", color="#d94801")
    ax_scores.plot(epochs, [r["accuracy"] for r in val], marker="o", label="accuracy")
    ax_scores.plot(epochs, [r["macro_f1"] for r in val], marker="s", label="macro-F1")
    best = best_record(val, best_step)
    ax_scores.scatter(
        [best["epoch"]],
        [best["macro_f1"]],
        s=160,
        facecolors="none",
        edgecolors="red",
        linewidths=2,
        zorder=5,
        label=f"best macro-F1 {best['macro_f1']:.3f}",
    )
    ax_scores.legend(fontsize=8)


@plot_fonts
def training_curves_png(records: list[dict], best_step: int | None = None) -> str | None:
    """Training loss by step, validation loss, validation accuracy/macro-F1 by epoch.

    The best validation macro-F1 point is ringed: the one at ``best_step`` (the checkpoint the
    trainer kept) when given and present, else the highest macro-F1 (ties: lower loss).
    Returns ``None`` when there is nothing to plot, so the page can say so instead.
    """
    train, val = plottable(records)
    if not train and not val:
        return None
    fig = new_figure(12, 3.2)
    axes = fig.subplots(1, 3)
    _plot_training_loss(axes[0], train)
    axes[0].set(title="training loss", xlabel="step")
    _plot_validation(axes[1], axes[2], val, best_step)
    axes[1].set(title="validation loss", xlabel="epoch")
    axes[2].set(title="validation accuracy / macro-F1", xlabel="epoch")
    for ax in axes:
        ax.grid(alpha=0.3)
    return figure_data_uri(fig)


@plot_fonts
def confusion_heatmap_png(confusion: list[list[int]], labels: list[str]) -> str:
    """Row-normalised confusion matrix (rows = true label, columns = predicted).

    Colour is each row's share (square-root scale) so that rare classes and small
    confusions are as visible as frequent ones; counts
    are written in the cells only up to 20 labels. Figure size grows with the label count
    (capped) and the tick font shrinks with the space each label gets, which keeps 2 to ~80
    labels legible; the canvas then grows around long tick labels. Raises ``ValueError`` if
    the matrix does not match the labels.
    """
    matrix = np.asarray(confusion, dtype=float)
    n = len(labels)
    if n == 0 or matrix.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {matrix.shape} does not match {n} labels")
    rows = matrix.sum(axis=1, keepdims=True)
    norm = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = min(max(3.5, 0.3 * n), 16.0)  # side of the matrix itself, in inches
    font = min(10.0, max(4.0, 0.6 * size * 72 / n))
    fig = new_figure(size * 1.15, size, layout=None)
    ax = fig.subplots()
    # Square-root colour scale: a 5% confusion is still visible next to a 95% diagonal.
    image = ax.imshow(norm, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=1), aspect="equal")
    ticks = [_short(label) for label in labels]
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    # parse_math=False: a label such as "$5 off" must print as written, not as TeX.
    if n <= _MAX_ANNOTATED:
        ax.set_xticklabels(
            ticks,
            rotation=45,
            ha="right",
            rotation_mode="anchor",
            fontsize=font,
            parse_math=False,
        )
    else:
        ax.set_xticklabels(ticks, rotation=90, fontsize=font, parse_math=False)
    ax.set_yticklabels(ticks, fontsize=font, parse_math=False)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (row-normalised)", fontsize=10)
    if n <= _MAX_ANNOTATED:
        for i, j in zip(*np.nonzero(matrix)):
            ax.text(
                j,
                i,
                int(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=font,
                color="white" if norm[i, j] > 0.3 else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, shrink=0.8)
    return figure_data_uri(fig, tight=True)


@plot_fonts
def tradeoff_png(variants: list[dict], recommended: str) -> str:
    """Accuracy against single-request latency; point area proportional to size on disk."""
    fig = new_figure(7, 4.2)
    ax = fig.subplots()
    sizes = [max(r["size_mb"], 1.0) for r in variants]
    scale = 900 / max(sizes)
    points = []
    for r, size in zip(variants, sizes):
        colour = (
            "#1a7f37"
            if r["variant"] == recommended
            else ("#08519c" if r["within_tolerance"] else "#cf222e")
        )
        xy = (r["p50_ms"], 100 * r["accuracy"])
        ax.scatter(*xy, s=size * scale, alpha=0.5, color=colour)
        radius = (size * scale) ** 0.5 / 2  # marker area is in points²
        points.append((xy, radius, f"{r['variant']} ({r['size_mb']:.0f} MB)"))
    ax.set(
        xlabel="p50 latency, one short request (ms)",
        ylabel="test accuracy (%)",
        title="accuracy vs latency (area = size on disk; green = recommended)",
    )
    ax.margins(x=0.18, y=0.3)  # room for labels beside the outermost points
    ax.grid(alpha=0.3)
    place_labels(fig, ax, points)
    return figure_data_uri(fig)


# Directions a label may take from its point (unit steps, alignment), nearest first.
_DIRECTIONS = [
    ((0, 1), "center", "bottom"),
    ((1, 0), "left", "center"),
    ((-1, 0), "right", "center"),
    ((0, -1), "center", "top"),
    ((0.7, 0.7), "left", "bottom"),
    ((-0.7, 0.7), "right", "bottom"),
    ((0.7, -0.7), "left", "top"),
    ((-0.7, -0.7), "right", "top"),
]


def place_labels(fig, ax, points: list[tuple[tuple[float, float], float, str]]) -> None:
    """Label each ``(xy, radius in points, text)`` at the first spot around its bubble that
    overlaps no bubble and no label placed so far and stays inside the axes; a leader line
    joins labels that had to move away from their bubble.

    Variants often sit almost on top of each other (the same accuracy, latencies a fraction of
    a millisecond apart), where fixed offsets print every label over the others. A greedy pass
    over a few rings of candidate spots is enough for the handful of variants a chart has.
    """
    ax.autoscale_view()
    ax.set(xlim=ax.get_xlim(), ylim=ax.get_ylim())  # fixed now: labels are placed in pixels
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_pixels = fig.dpi / 72
    obstacles = []
    for xy, radius, _ in points:
        cx, cy = ax.transData.transform(xy)
        r = radius * to_pixels
        obstacles.append(Bbox.from_extents(cx - r, cy - r, cx + r, cy + r))
    for (xy, radius, text), own in zip(points, obstacles):
        others = [o for o in obstacles if o is not own]
        label, gap = _first_free_spot(ax, renderer, frame, xy, radius, text, others)
        if gap > 4:
            ax.annotate(
                "",
                xy,
                xytext=label.xyann,
                textcoords="offset points",
                arrowprops={"arrowstyle": "-", "color": "#888", "lw": 0.6, "shrinkB": radius},
            )
        obstacles.append(label.get_window_extent(renderer).expanded(1.04, 1.1))


def _first_free_spot(ax, renderer, frame, xy, radius, text, obstacles):
    """The label annotation at the nearest free spot (or the first one if none is free), and
    how far beyond the bubble's edge it sits."""
    for gap in (3, 14, 26, 40):
        for (dx, dy), ha, va in _DIRECTIONS:
            offset = (dx * (radius + gap), dy * (radius + gap))
            label = ax.annotate(
                text,
                xy,
                xytext=offset,
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=8,
                parse_math=False,
            )
            box = label.get_window_extent(renderer)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(o) for o in obstacles):
                return label, gap
            label.remove()
    label = ax.annotate(
        text,
        xy,
        xytext=(0, radius + 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=8,
        parse_math=False,
    )
    return label, 3
