"""The report of an Optuna study (``tuneforge tune``): trial table, optimisation history and
parameter importances, in one self-contained file."""

from __future__ import annotations

from pathlib import Path

from .markup import CSS, escape, num, table
from .plots import figure_data_uri, new_figure, plot_fonts


@plot_fonts
def history_png(trials: list[dict]) -> str | None:
    """Each completed trial's score by trial number, the best so far as a step line; pruned
    trials marked at the bottom, where they stopped."""
    done = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
    if not done:
        return None
    fig = new_figure(7, 3.4)
    ax = fig.add_subplot()
    xs = [t["number"] for t in done]
    ys = [t["value"] for t in done]
    ax.scatter(xs, ys, color="#0969da", label="completed trial", zorder=3)
    best, running = [], float("-inf")
    for y in ys:
        running = max(running, y)
        best.append(running)
    ax.step(xs, best, where="post", color="#1a7f37", label="best so far")
    pruned = [t["number"] for t in trials if t["state"] == "pruned"]
    if pruned:
        floor = min(ys) - 0.02
        ax.scatter(pruned, [floor] * len(pruned), marker="x", color="#9a6700", label="pruned")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation macro-F1")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return figure_data_uri(fig)


@plot_fonts
def importance_png(importances: dict[str, float]) -> str:
    names = list(importances)[::-1]
    fig = new_figure(6, 0.45 * len(names) + 1.0)
    ax = fig.add_subplot()
    ax.barh(names, [importances[n] for n in names], color="#0969da")
    ax.set_xlabel("importance (PED-ANOVA, normalised to sum 1)")
    return figure_data_uri(fig)


def write_tune_report(path: Path, summary, importances: dict[str, float] | str) -> Path:
    """Write the study's HTML report to ``path``."""
    trials = sorted(summary.trials, key=lambda t: t["number"])
    keys = sorted({k for t in trials for k in t["params"]})
    rows = [
        [
            t["number"],
            t["state"],
            num(t["value"]),
            t["run_id"] or "",
            "" if t["seconds"] is None else f"{t['seconds']:.0f}",
            *(num(t["params"].get(k)) for k in keys),
        ]
        for t in trials
    ]
    best = (
        f"best trial: run <code>{escape(summary.best_run_id)}</code>, validation macro-F1 "
        f"{num(summary.best_value)}"
        if summary.best_run_id
        else "no completed trial yet"
    )
    parts = [
        f"<h1>Search {escape(summary.study)}</h1>",
        f"<p>{best}. {summary.n_complete} completed, {summary.n_pruned} pruned, "
        f"{summary.n_failed} failed.</p>",
        "<h2>Optimisation history</h2>",
    ]
    chart = history_png(trials)
    parts.append(f"<img alt='optimisation history' src=\"{chart}\">" if chart else "<p>None.</p>")
    parts.append("<h2>Parameter importances</h2>")
    if isinstance(importances, dict) and importances:
        parts.append(f"<img alt='parameter importances' src=\"{importance_png(importances)}\">")
    else:
        parts.append(f"<p class='note'>{escape(importances or 'No importances.')}</p>")
    parts.append("<h2>Trials</h2>")
    headers = ["trial", "state", "val macro-F1", "run", "seconds", *keys]
    parts.append(table(headers, rows, numeric=(0, 2, 4)))
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>tuneforge search {escape(summary.study)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path
