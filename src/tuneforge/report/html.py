"""report.html: one self-contained page per run (inline CSS, PNG data URIs, no scripts)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import yaml

from .plots import confusion_heatmap_png, tradeoff_png, training_curves_png

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{padding:.25rem .6rem;text-align:left;border-bottom:1px solid #eee}
tr:nth-child(even){background:#f7f7f9}th{background:#eef}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:8px;
padding:.7rem 1rem;min-width:150px}.card b{display:block;font-size:1.4rem}
.state-succeeded{color:#1a7f37}.state-failed,.state-interrupted{color:#cf222e}
.note{color:#666;font-size:.85rem}img{max-width:100%}
"""


def _e(value) -> str:
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _flatten(tree, prefix=""):
    for key, value in (tree or {}).items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except json.JSONDecodeError:
        return None


def _read_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _header(run_dir: Path, status: dict) -> str:
    state = status.get("state", "unknown")
    facts = [
        ("state", state),
        ("model", status.get("model_dir", "")),
        ("precision", status.get("precision", "")),
        ("seed", status.get("seed", "")),
        (
            "train / val / test",
            f"{status.get('n_train', '?')} / {status.get('n_val', '?')} / "
            f"{status.get('n_test', '?')}",
        ),
        ("training time", f"{status['train_seconds']} s" if "train_seconds" in status else ""),
        ("examples/s", status.get("examples_per_s", "")),
        ("best epoch", status.get("best_epoch", "")),
        ("data fingerprint", status.get("data_fingerprint", "")),
        ("created / finished", f"{status.get('created_at', '')} / {status.get('finished_at', '')}"),
        ("git sha", status.get("git_sha") or ""),
    ]
    out = (
        f"<h1>Run {_e(status.get('run_id', run_dir.name))} "
        f"<span class='state-{_e(state)}'>({_e(state)})</span></h1>"
    )
    if status.get("error"):
        out += f"<p class='state-failed'>Error: {_e(status['error'])}</p>"
    return out + _table(["", ""], [[k, v] for k, v in facts if v != ""])


def _eval_section(ev: dict) -> str:
    cards = [
        ("accuracy", f"{ev['accuracy']:.4f}"),
        ("macro-F1", f"{ev['macro_f1']:.4f}"),
        ("weighted-F1", f"{ev.get('weighted_f1', 0):.4f}"),
        ("examples", ev.get("n", "")),
    ]
    base = ev.get("baseline")
    if base:
        delta = 100 * (ev["accuracy"] - base["accuracy"])
        cards.append((f"vs {base['name']}", f"{delta:+.1f} pts"))
    out = f"<h2>Evaluation on {_e(ev.get('split', 'test'))}</h2><div class='cards'>"
    out += "".join(f"<div class='card'>{_e(k)}<b>{_e(v)}</b></div>" for k, v in cards) + "</div>"
    if base:
        out += (
            f"<p class='note'>Baseline {_e(base['name'])} on the same splits: accuracy "
            f"{base['accuracy']:.4f}, macro-F1 {base['macro_f1']:.4f}.</p>"
        )
    labels = ev.get("labels", [])
    if ev.get("confusion") and labels:
        uri = confusion_heatmap_png(ev["confusion"], labels)
        out += "<h2>Confusion matrix</h2>"
        if len(labels) > 20:
            out += "<p class='note'>Colours are row-normalised; counts are in eval.json.</p>"
        out += f"<img alt='confusion matrix' src='{uri}'>"
    per_class = sorted(ev.get("per_class", {}).items(), key=lambda kv: kv[1]["f1"])
    out += "<h2>Per class (weakest first)</h2>" + _table(
        ["label", "precision", "recall", "F1", "support"],
        [
            [k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
            for k, v in per_class
        ],
    )
    pairs = ev.get("confused_pairs", [])
    if pairs:
        out += "<h2>Most confused pairs</h2>" + _table(
            ["true", "predicted as", "count", "examples"],
            [[p["true"], p["pred"], p["count"], " | ".join(p["examples"][:3])] for p in pairs],
        )
    return out


def _tradeoff_section(data: dict) -> str:
    rows = [
        [
            r["variant"] + (" (recommended)" if r["variant"] == data["recommended"] else ""),
            f"{r['accuracy']:.4f}",
            f"{r['macro_f1']:.4f}",
            f"{r['agreement']:.4f}",
            f"{r['size_mb']:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p95_ms']:.2f}",
            f"{r['throughput_batch32']:.0f}",
            "yes" if r["within_tolerance"] else "no",
        ]
        for r in data["variants"]
    ]
    table = _table(
        [
            "variant",
            "accuracy",
            "macro-F1",
            "agreement",
            "size MB",
            "peak RSS MB",
            "p50 ms",
            "p95 ms",
            "ex/s @32",
            "within tolerance",
        ],
        rows,
    )
    chart = tradeoff_png(data["variants"], data["recommended"])
    return (
        f"<h2>Compression trade-off</h2><p class='note'>Measured on {_e(data['measured_on'])}"
        f"; tolerance {_e(data['max_accuracy_drop'])} accuracy points.</p>{table}"
        f"<img alt='trade-off chart' src='{chart}'>"
    )


def write_report(run_dir: Path, extra_sections: list[tuple[str, str]] | None = None) -> Path:
    """Write ``run_dir/report.html`` from whatever the run has produced so far."""
    run_dir = Path(run_dir)
    status = _read_json(run_dir / "status.json") or {}
    body = [_header(run_dir, status)]
    ev = _read_json(run_dir / "eval.json")
    body.append(
        _eval_section(ev)
        if ev
        else "<p class='note'>No evaluation yet (the run did not finish).</p>"
    )
    curves = training_curves_png(
        _read_records(run_dir / "metrics.jsonl"), best_step=status.get("best_step")
    )
    if curves:
        body.append(f"<h2>Training</h2><img alt='training curves' src='{curves}'>")
    tradeoff = _read_json(run_dir / "tradeoff.json")
    if tradeoff and tradeoff.get("variants"):
        body.append(_tradeoff_section(tradeoff))
    config_path = run_dir / "config.yaml"
    if config_path.is_file():
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        body.append("<h2>Configuration</h2>" + _table(["key", "value"], list(_flatten(config))))
    for title, content in extra_sections or []:
        body.append(f"<h2>{_e(title)}</h2>{content}")
    title = _e(status.get("run_id", run_dir.name))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>tuneforge run {title}"
        f"</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    )
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
