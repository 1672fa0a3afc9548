"""The comparison page of a retrain: production and candidate on the same evaluation set,
overall and per part (production's test split, the held-back new labels), the decision and
the rule it followed, and what went into the candidate. One self-contained file."""

from __future__ import annotations

from .markup import CSS, escape, num, table
from .plots import figure_data_uri, new_figure, plot_fonts


@plot_fonts
def _bars_png(parts: dict) -> str:
    """Accuracy of both models per part, side by side."""
    names = list(parts)
    fig = new_figure(6.5, 3.0)
    ax = fig.add_subplot()
    xs = range(len(names))
    prod = [parts[n]["production"]["accuracy"] for n in names]
    cand = [parts[n]["candidate"]["accuracy"] for n in names]
    ax.bar([x - 0.2 for x in xs], prod, width=0.4, color="#8c959f", label="production")
    ax.bar([x + 0.2 for x in xs], cand, width=0.4, color="#0969da", label="candidate")
    ax.set_xticks(list(xs), [f"{n} (n={parts[n]['candidate']['n']})" for n in names], fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return figure_data_uri(fig)


def retrain_page(record: dict) -> str:
    """The page of a retrain.json record."""
    comparison, plan = record["comparison"], record["plan"]
    parts = comparison["parts"]
    rows = []
    for name, pair in parts.items():
        p, c = pair["production"], pair["candidate"]
        delta = c["accuracy"] - p["accuracy"] if p["n"] else None
        rows.append(
            [
                name,
                p["n"],
                num(p["accuracy"]),
                num(c["accuracy"]),
                num(delta),
                num(p["macro_f1"]),
                num(c["macro_f1"]),
            ]
        )
    figures = table(
        [
            "examples",
            "n",
            "production acc.",
            "candidate acc.",
            "Δ acc.",
            "production macro-F1",
            "candidate macro-F1",
        ],
        rows,
        numeric=(1, 2, 3, 4, 5, 6),
    )
    verdict = "promoted" if record["promoted"] else "not promoted"
    css = "good" if record["promoted"] else "bad"
    discord = (
        f"Only the candidate right: {comparison['only_candidate_right']}; only production "
        f"right: {comparison['only_production_right']} (exact McNemar p = "
        f"{comparison['mcnemar_p']:.3g})."
    )
    inputs = table(["", ""], [[k.replace("_", " "), v] for k, v in plan.items()])
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>retrain {escape(plan['model'])}</title><style>{CSS}</style></head><body>"
        f"<h1>Retrain of {escape(plan['model'])}: candidate {escape(record['candidate'])}</h1>"
        f"<p class={css}><b>{verdict}</b> — {escape(record['rule'])}</p>"
        f"<h2>Same evaluation set, both models</h2>{figures}<p class=note>{escape(discord)}</p>"
        f"<img alt='accuracy per part' src='{_bars_png(parts)}'>"
        f"<h2>What went in</h2>{inputs}</body></html>"
    )
