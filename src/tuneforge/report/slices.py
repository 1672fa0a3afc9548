"""The report's slice section: accuracy per value of each ``--slice`` column, against the
overall figure, with the bootstrap interval that says how much a small slice can be trusted.

Reads the ``slices`` entry of eval.json only (matplotlib, no torch). Bars are horizontal and
sorted worst first so that 2 or 50 values read alike; slices too small to be judged are drawn
pale and say so in their label.
"""

from __future__ import annotations

from typing import Any

from .markup import escape, num, table
from .plots import figure_data_uri, new_figure, plot_fonts

_LABEL_CHARS = 32
_JUDGED, _SMALL, _WORST = "#4c78a8", "#c6d4e6", "#cf222e"


def _label(s: dict) -> str:
    value = str(s["value"])
    value = value if len(value) <= _LABEL_CHARS else value[: _LABEL_CHARS - 1] + "…"
    small = "" if s.get("judged", True) else ", small"
    return f"{value} (n={s['support']}{small})"


@plot_fonts
def slice_accuracy_png(
    column: str, data: dict, overall: float, min_rows: int, confidence: float = 0.95
) -> str:
    """Accuracy of each slice of ``column`` as a bar with its bootstrap interval as error bar,
    and the overall accuracy as a vertical line; the worst judged slice in red."""
    from matplotlib.patches import Patch

    slices = sorted(data["slices"], key=lambda s: (s["accuracy"], -s["support"]))
    n = len(slices)
    fig = new_figure(7.5, min(2.0 + 0.32 * n, 18.0))
    ax = fig.subplots()
    positions = list(range(n))[::-1]  # worst on top
    accuracy = [s["accuracy"] for s in slices]
    low = [max(0.0, s["accuracy"] - s["accuracy_ci"][0]) for s in slices]
    high = [max(0.0, s["accuracy_ci"][1] - s["accuracy"]) for s in slices]
    colours = [
        _WORST if s["value"] == data.get("worst") else (_JUDGED if s.get("judged") else _SMALL)
        for s in slices
    ]
    ax.barh(positions, accuracy, color=colours, height=0.7)
    ax.errorbar(accuracy, positions, xerr=[low, high], fmt="none", ecolor="#333", capsize=3, lw=1)
    line = ax.axvline(overall, color="#1a7f37", ls="--", lw=1.5)
    ax.set_yticks(positions)
    ax.set_yticklabels([_label(s) for s in slices], fontsize=8, parse_math=False)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel(f"accuracy (error bars: {confidence:.0%} bootstrap interval)")
    ax.set_title(f"accuracy by {column}", fontsize=10, loc="left", pad=22)
    handles = [
        (line, f"overall {overall:.3f}"),
        (Patch(color=_WORST), "worst slice"),
        (Patch(color=_JUDGED), "judged"),
        (Patch(color=_SMALL), f"small: under {min_rows} rows, not judged"),
    ]
    ax.legend(
        [h for h, _ in handles],
        [t for _, t in handles],
        fontsize=8,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=2 if n < 3 else 4,
        frameon=False,
    )
    ax.grid(axis="x", alpha=0.3)
    return figure_data_uri(fig, tight=True)


def _rows(data: dict) -> list[list[Any]]:
    rows = []
    for s in data["slices"]:
        low, high = s["accuracy_gap_ci"]
        mark = " (worst)" if s["value"] == data.get("worst") else ""
        rows.append(
            [
                f"{s['value']}{mark}" + ("" if s.get("judged", True) else " (too small to judge)"),
                s["support"],
                num(s["accuracy"], 3),
                num(s["macro_f1"], 3),
                num(s["mean_confidence"], 3),
                num(s["calibration_error"], 3),
                f"{s['accuracy_gap']:+.3f} [{low:+.3f}, {high:+.3f}]",
            ]
        )
    return rows


def slices_section(ev: dict) -> str:
    """One chart and table per slice column of eval.json, or "" when it has none."""
    slices = ev.get("slices") if isinstance(ev.get("slices"), dict) else None
    if not slices or not slices.get("columns"):
        return ""
    overall = slices["overall"]
    boot = slices.get("bootstrap", {})
    min_rows = slices.get("min_judged_support", 10)
    out = [
        "<h2>Slices</h2><p class='note'>Accuracy per value of each slice column, against the "
        f"overall {num(overall['accuracy'], 3)} on {overall['n']} examples. The gap is slice − "
        f"overall with its {boot.get('confidence', 0.95):.0%} bootstrap interval "
        f"({boot.get('replicates', '?')} replicates, rows resampled within each slice, seed "
        f"{boot.get('seed', '?')}): a gap whose interval reaches 0 may be noise. Slices under "
        f"{min_rows} rows are shown but never named worst or judged by the gate.</p>"
    ]
    headers = ["value", "n", "accuracy", "macro-F1", "confidence", "ECE", "gap [interval]"]
    for column, data in slices["columns"].items():
        worst = data.get("worst")
        out.append(f"<h3>{escape(column)}</h3>")
        out.append(
            f"<p>Worst slice: <b>{escape(worst)}</b>.</p>"
            if worst is not None
            else f"<p class='note'>No slice has {min_rows} rows or more.</p>"
        )
        if data.get("note"):
            out.append(f"<p class='note'>{escape(data['note'])}</p>")
        uri = slice_accuracy_png(
            column, data, overall["accuracy"], min_rows, boot.get("confidence", 0.95)
        )
        out.append(f"<img alt='accuracy by {escape(column)}' src=\"{uri}\">")
        out.append(table(headers, _rows(data), numeric=(1, 2, 3, 4, 5, 6)))
    return "".join(out)
