"""An HTML page of the monitored series: traffic, label shares, drift, confidence and latency.

A window without predictions is a gap in every line (NaN: matplotlib draws neither a point nor
a segment through it) and is shaded, never drawn as 0 ms or 0 % low confidence — an outage must
not look healthy. PSI has its own panel, apart from the shares; the run's reference shares and
each alert rule's threshold are lines named in the legends, so the page shows what the rules
evaluate. The page uses the run report's stylesheet and escaping (report/markup.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..report.markup import CSS, escape, num, table
from ..report.plots import figure_data_uri, new_figure, plot_fonts
from .drift import Profile
from .rules import Rule

TRAFFIC, SHARES, PSI, CONFIDENCE, LATENCY = (
    "predictions per window",
    "label shares",
    "label drift (PSI)",
    "low-confidence share",
    "latency",
)
RULE_PANEL = {
    "count": TRAFFIC,
    "label_share": SHARES,
    "psi": PSI,
    "low_confidence_share": CONFIDENCE,
    "p50_latency_ms": LATENCY,
    "p95_latency_ms": LATENCY,
}
PSI_NOTABLE = 0.2  # the usual "notable shift" mark, drawn as a guide
MAX_LABELS = 10  # above this many labels only those that moved most are drawn
GAP_COLOUR, RULE_COLOUR = "#d0d7de", "#cf222e"


def values(points: Sequence[dict], key: str) -> np.ndarray:
    """One statistic per window, NaN where the window has none (no predictions, no profile)."""
    return np.array([np.nan if p.get(key) is None else float(p[key]) for p in points])


def share_values(points: Sequence[dict], label: str) -> np.ndarray:
    """A label's share per window: NaN where the window is empty, 0 where it had traffic but
    not this label (without a reference profile a window lists only the labels it saw)."""
    shares = [p["label_shares"].get(label, 0.0) if p["count"] else None for p in points]
    return np.array([np.nan if s is None else float(s) for s in shares])


def rule_condition(rule: Rule) -> str:
    """``bearish > 0.4``, ``psi > 0.2``: what the rule compares, as the legend and table say."""
    subject = rule.label if rule.metric == "label_share" else rule.metric
    return f"{subject} {rule.op} {rule.threshold:g}"


def rule_label(rule: Rule) -> str:
    return f"{rule.name}: {rule_condition(rule)}"


def tick_labels(points: Sequence[dict]) -> list[str]:
    """Window ends as times of day, with the date when the windows span more than one day."""
    ends = [dt.datetime.fromisoformat(p["window_end"]) for p in points]
    one_day = len({e.date() for e in ends}) <= 1
    return [e.strftime("%H:%M:%S" if one_day else "%m-%d %H:%M") for e in ends]


def drawn_labels(points: Sequence[dict], reference: Profile | None, rules: Sequence[Rule]):
    """All labels when few; else the ones rules name plus those that moved most from the
    reference (or were most frequent, without one)."""
    labels = (
        list(reference.labels)
        if reference
        else sorted({k for p in points for k in p["label_shares"]})
    )
    if len(labels) <= MAX_LABELS:
        return labels, len(labels)
    ref = reference.label_shares() if reference else {}
    moved = {
        k: np.nanmax(np.abs(share_values(points, k) - ref.get(k, 0.0)), initial=0.0) for k in labels
    }
    named = [r.label for r in rules if r.metric == "label_share" and r.label in moved]
    ranked = sorted(labels, key=lambda k: -moved[k])
    keep = list(dict.fromkeys([*named, *ranked]))[: max(MAX_LABELS - 2, len(named))]
    return keep, len(labels)


def shade_gaps(ax: Axes, empty: Sequence[int], legend: bool) -> None:
    for n, i in enumerate(empty):
        label = "no predictions" if legend and n == 0 else "_nolegend_"
        ax.axvspan(i - 0.5, i + 0.5, color=GAP_COLOUR, alpha=0.6, lw=0, label=label, zorder=0)


def draw_thresholds(ax: Axes, rules: Sequence[Rule], colours: dict[str, str]) -> None:
    for rule in rules:
        colour = colours.get(rule.label or "", RULE_COLOUR)
        ax.axhline(rule.threshold, color=colour, lw=1.3, ls=":", label=rule_label(rule))


def draw_shares(ax: Axes, x, points, reference: Profile | None, rules: Sequence[Rule]) -> dict:
    """Observed shares (solid), reference shares (dashed, same colour); returns the colours."""
    labels, total = drawn_labels(points, reference, rules)
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    ref = reference.label_shares() if reference else {}
    for label in labels:
        ax.plot(x, share_values(points, label), marker="o", color=colours[label], label=label)
        if label in ref:
            ax.axhline(
                ref[label],
                color=colours[label],
                lw=1,
                ls="--",
                alpha=0.7,
                label=f"{label} (reference)",
            )
    ax.set_ylabel("share")
    if total > len(labels):
        note = f"{len(labels)} of {total} labels: those that moved most"
        ax.set_title(note, loc="right", fontsize=8)
    return colours


def draw_psi(ax: Axes, x, points) -> None:
    psi = values(points, "psi")
    ax.plot(x, psi, marker="o", color="#8250df", label="PSI")
    ax.axhline(PSI_NOTABLE, color="#656d76", lw=0.8, ls="--", label=f"{PSI_NOTABLE:g}: notable")
    ax.set_ylabel("PSI")
    if np.isnan(psi).all():
        ax.text(
            0.5,
            0.5,
            "no PSI: no reference profile or no predictions",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=9,
        )


def from_zero(ax: Axes) -> None:
    """Start the axis just below 0, so points at 0 show whole and nothing negative is implied."""
    top = max(ax.get_ylim()[1], 1e-9)
    ax.set_ylim(-0.03 * top, top)


@plot_fonts
def monitor_figure(
    points: Sequence[dict], reference: Profile | None = None, rules: Sequence[Rule] = ()
) -> Figure:
    """Five panels sharing the window axis; each rule's threshold sits on its metric's panel
    (rules on chi2_p, confidence_ks or length_ks are listed on the page, not drawn)."""
    fig = new_figure(13, 14)
    axes = fig.subplots(5, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2, 1.3, 1.3, 1.5]})
    panels = dict(zip((TRAFFIC, SHARES, PSI, CONFIDENCE, LATENCY), axes))
    x = np.arange(len(points))
    counts = values(points, "count")
    empty = [i for i, p in enumerate(points) if not p["count"]]
    panels[TRAFFIC].bar(x, counts, color="#54aeff", width=0.8, label="predictions")
    panels[TRAFFIC].set_ylabel("count")
    colours = draw_shares(panels[SHARES], x, points, reference, rules)
    draw_psi(panels[PSI], x, points)
    confidence = panels[CONFIDENCE]
    confidence.plot(
        x,
        values(points, "low_confidence_share"),
        marker="o",
        color="#bf8700",
        label="low-confidence share",
    )
    confidence.set(ylabel="share of confidence < 0.5", ylim=(-0.03, 1.03))
    latency = panels[LATENCY]
    latency.plot(x, values(points, "p50_latency_ms"), marker="o", color="#0969da", label="p50")
    latency.plot(x, values(points, "p95_latency_ms"), marker="s", color="#9a6700", label="p95")
    latency.set(ylabel="ms", xlabel="window end (UTC)")
    for title, ax in panels.items():
        draw_thresholds(ax, [r for r in rules if RULE_PANEL.get(r.metric) == title], colours)
        shade_gaps(ax, empty, legend=title == TRAFFIC)
        if title in (SHARES, PSI, LATENCY):
            from_zero(ax)
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    latency.set_xticks(x, tick_labels(points), rotation=45, ha="right")
    if len(x):
        latency.set_xlim(-0.5, len(x) - 0.5)
    return fig


def duration_text(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rules_section(rules: Sequence[Rule]) -> str:
    if not rules:
        return ""
    rows = [
        [
            r.name,
            rule_condition(r),
            duration_text(r.window),
            duration_text(r.cooldown),
            r.min_count,
            RULE_PANEL.get(r.metric, "not drawn"),
        ]
        for r in rules
    ]
    headers = ["rule", "fires when", "window", "cool-down", "min. predictions", "drawn on"]
    return "<h2>Alert rules</h2>" + table(headers, rows, numeric=(4,))


def windows_section(points: Sequence[dict]) -> str:
    rows = [
        [
            p["window_end"][:19].replace("T", " "),
            p["count"] or "0 (no predictions)",
            num(p.get("p50_latency_ms"), 1),
            num(p.get("p95_latency_ms"), 1),
            num(p.get("low_confidence_share"), 3),
            num(p.get("psi"), 3),
        ]
        for p in points
    ]
    headers = ["window end (UTC)", "predictions", "p50 ms", "p95 ms", "low-confidence", "PSI"]
    return "<h2>Windows</h2>" + table(headers, rows, numeric=(1, 2, 3, 4, 5))


def summary(points: Sequence[dict]) -> str:
    empty = sum(1 for p in points if not p["count"])
    cards = [
        ("windows", len(points), ""),
        ("predictions", sum(p["count"] for p in points), ""),
        ("windows with no predictions", empty, " class='bad'" if empty else " class='good'"),
    ]
    html = "".join(f"<div class='card'>{name}<b{cls}>{v}</b></div>" for name, v, cls in cards)
    span = ""
    if points:
        start, end = points[0]["window_start"][:19], points[-1]["window_end"][:19]
        span = f"From {escape(start.replace('T', ' '))} to {escape(end.replace('T', ' '))} UTC. "
    note = (
        f"<p class='note'>{span}Shaded windows had no predictions: they are gaps in every "
        "line, not zeros. Dashed lines are the run's reference shares, dotted lines the alert "
        "rules' thresholds.</p>"
    )
    return f"<div class='cards'>{html}</div>{note}"


def write_monitor_page(
    path: Path,
    model: str,
    points: list[dict],
    *,
    reference: Profile | None = None,
    rules: Sequence[Rule] = (),
) -> Path:
    """Self-contained page (PNG data URI, inline CSS, no scripts) for ``points`` from
    recipes.monitor.series(), with the reference shares and the rules' thresholds drawn."""
    uri = figure_data_uri(monitor_figure(points, reference, rules))
    title = escape(model)
    body = (
        f"<h1>Monitoring {title}</h1>{summary(points)}"
        f"<img alt='monitored series of {title}' src='{uri}'>"
        f"{rules_section(rules)}{windows_section(points)}"
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>tuneforge monitor {title}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path
