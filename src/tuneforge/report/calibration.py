"""The report's calibration section: the temperature, NLL / ECE / Brier score before and after
it, and the reliability diagram (accuracy against confidence per bin; on the diagonal a
confidence means what it says)."""

from __future__ import annotations

from typing import Any

from .markup import escape, num, table
from .plots import figure_data_uri, new_figure, plot_fonts

FIGURES = (
    ("nll", "negative log-likelihood"),
    ("expected_calibration_error", "expected calibration error (ECE)"),
    ("brier_score", "Brier score"),
)


def reliability_points(calibration: dict) -> dict[str, list[dict]]:
    """The reliability bins of ``before`` and ``after`` that hold numbers (the report's image
    and the dashboard's chart draw the same points)."""
    out: dict[str, list[dict]] = {}
    for key in ("before", "after"):
        side = calibration.get(key)
        bins = side.get("reliability") if isinstance(side, dict) else None
        points = [
            b
            for b in bins or []
            if isinstance(b, dict)
            and all(isinstance(b.get(k), (int, float)) for k in ("confidence", "accuracy", "count"))
        ]
        if points:
            out[key] = points
    return out


@plot_fonts
def reliability_png(points: dict[str, list[dict]], temperature: Any) -> str:
    """Accuracy against mean confidence per bin, before (grey) and after (blue) scaling, with
    the diagonal of perfect calibration; a marker's area grows with its bin's count."""
    fig = new_figure(4.6, 4.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls="--", color="#8c959f", lw=1, label="perfectly calibrated")
    styles = {
        "before": ("#8c959f", "s", "before scaling (T = 1)"),
        "after": ("#0969da", "o", f"after scaling (T = {num(temperature, 2)})"),
    }
    for key, bins in points.items():
        color, marker, label = styles[key]
        total = sum(b["count"] for b in bins) or 1
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            color=color,
            lw=1.5,
            zorder=2,
        )
        ax.scatter(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            s=[20 + 300 * b["count"] / total for b in bins],
            color=color,
            marker=marker,
            label=label,
            zorder=3,
        )
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (mean of the bin)", ylabel="accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return figure_data_uri(fig)


def calibration_section(ev: dict, run_ref: str) -> str:
    """The section of an eval.json with ``calibration`` ("" without one: older runs' eval.json
    have an ECE only, which the cards do not repeat)."""
    cal = ev.get("calibration")
    if not isinstance(cal, dict):
        return ""
    head = "<h2>Calibration</h2>"
    if not cal.get("calibrated") or not isinstance(cal.get("before"), dict):
        note = (
            "<p class='note'>This model has no fitted temperature (it was trained before "
            "calibration existed): its probabilities are plain softmax. Fit one without "
            f"retraining: <code>tuneforge calibrate {escape(run_ref)}</code>.</p>"
        )
    elif cal.get("note"):
        note = f"<p class='note'>Temperature scaling: {escape(cal['note'])}.</p>"
    else:
        note = (
            f"<p class='note'>Logits are divided by the temperature T = "
            f"{escape(num(cal.get('temperature'), 4))}, fitted on the validation split, before "
            "the softmax; predictions are unchanged, confidences move towards what they "
            f"measure. Figures on {escape(ev.get('split', 'test'))}.</p>"
        )
    rows = []
    for key, name in FIGURES:
        before = (cal.get("before") or {}).get(key)
        after = (cal.get("after") or {}).get(key)
        if after is not None:
            rows.append([name, num(before), num(after)])
    body = table(["", "before scaling", "after scaling"], rows, numeric=(1, 2))
    points = reliability_points(cal)
    if not cal.get("calibrated"):
        points.pop("before", None)  # the same probabilities twice
    image = (
        f"<img alt='reliability diagram' src=\"{reliability_png(points, cal.get('temperature'))}\">"
        if points
        else ""
    )
    return head + note + body + image
