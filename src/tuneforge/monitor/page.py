"""An HTML page of the monitored series: label shares, drift scores and latency over time."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ..report.markup import escape
from ..report.plots import figure_data_uri


def write_monitor_page(path: Path, model: str, points: list[dict]) -> Path:
    """Self-contained page (PNG data URI, inline CSS) for ``points`` from recipes.series()."""
    times = [p["window_end"][11:19] for p in points]
    fig = Figure(figsize=(12, 7.5), layout="constrained")
    ax_labels, ax_drift, ax_latency = fig.subplots(3, 1, sharex=True)
    labels = sorted({k for p in points for k in p["label_shares"]})
    for label in labels:
        ax_labels.plot(
            times, [p["label_shares"].get(label, 0.0) for p in points], marker="o", label=label
        )
    ax_labels.set(title="label shares", ylabel="share")
    if len(labels) <= 12:
        ax_labels.legend(fontsize=8, ncol=4)
    ax_drift.plot(times, [p.get("psi", float("nan")) for p in points], marker="o", label="PSI")
    ax_drift.plot(
        times, [p["low_confidence_share"] for p in points], marker="s", label="low-confidence share"
    )
    ax_drift.axhline(0.2, color="red", lw=0.8, ls="--", label="PSI 0.2")
    ax_drift.set(title="drift"), ax_drift.legend(fontsize=8)
    ax_latency.plot(times, [p["p50_latency_ms"] for p in points], marker="o", label="p50")
    ax_latency.plot(times, [p["p95_latency_ms"] for p in points], marker="s", label="p95")
    ax_latency.set(title="latency", ylabel="ms", xlabel="window end (UTC)")
    ax_latency.legend(fontsize=8)
    for ax in (ax_labels, ax_drift, ax_latency):
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", rotation=45)
    uri = figure_data_uri(fig)
    counts = ", ".join(str(p["count"]) for p in points)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>monitor "
        f"{escape(model)}</title><style>body{{font-family:system-ui,sans-serif;"
        f"margin:2rem}}img{{max-width:100%}}</style></head><body><h1>Monitoring "
        f"{escape(model)}</h1><p>Predictions per window: {counts}</p>"
        f"<img alt='monitored series' src='{uri}'></body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
