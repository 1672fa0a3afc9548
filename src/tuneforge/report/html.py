"""report.html: one self-contained page per run (inline CSS, PNG data URIs, no scripts).

The page is built from whatever files the run directory holds, because it is written after
failed and interrupted runs too: each section is shown when its input exists and readable,
and a note says what is missing otherwise. Every string that came from a user (texts, labels,
config values, error messages) goes through ``markup.escape``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..store import RunDir
from .calibration import calibration_section
from .choice import choice_section
from .examples import redacts_examples, shown_text
from .explanations import wrong_texts_section
from .folds import folds_section
from .markup import CSS, Raw, escape, num, table
from .plots import confusion_heatmap_png, tradeoff_png, training_curves_png
from .privacy import privacy_summary
from .slices import slices_section
from .wrong_images import wrong_images_section

_EXAMPLE_CHARS = 300  # long example texts are cut so one pair cannot dominate the page


def _flatten(tree: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Nested config → (dotted key, value in YAML/JSON spelling: null, true, [..])."""
    for key, value in (tree if isinstance(tree, dict) else {"(config)": tree}).items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            yield f"{prefix}{key}", text


def _read(path: Path, notes: list[str], parse) -> Any:
    """Parsed file, or ``None`` when absent; an unreadable file adds a note instead of failing
    the whole report (it is often written right after a crash)."""
    if not path.is_file():
        return None
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        notes.append(f"{path.name} could not be read ({type(exc).__name__}); it is not shown.")
        return None


def _read_records(path: Path) -> list[dict]:
    """metrics.jsonl, skipping a cut-off or corrupt line (a killed process can leave one)."""
    records = []
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return [r for r in records if isinstance(r, dict)]


def _duration(status: dict) -> str:
    """Wall time from created_at to finished_at; a running run shows nothing rather than a
    number that is already stale when the page is opened."""
    try:
        end, start = (
            dt.datetime.fromisoformat(str(status[k])) for k in ("finished_at", "created_at")
        )
        seconds = round((end - start).total_seconds())
    except (KeyError, TypeError, ValueError):  # missing, malformed, or naive vs aware
        return ""
    hours, minutes, sec = seconds // 3600, seconds // 60 % 60, seconds % 60
    if seconds < 0:  # clock changes between the two stamps
        return ""
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"


def _header(run_dir: Path, status: dict) -> str:
    state = str(status.get("state", "unknown"))
    train_s = status.get("train_seconds")
    facts = [("duration", _duration(status)), ("training time", train_s and f"{train_s} s")]
    for key in (
        "model_dir",
        "precision",
        "seed",
        "best_epoch",
        "data_fingerprint",
        "git_sha",
        "created_at",
        "finished_at",
    ):
        facts.append((key.replace("_", " ").replace(" dir", ""), status.get(key)))
    facts.append(("differential privacy", privacy_summary(status.get("privacy"))))
    out = (
        f"<h1>Run {escape(status.get('run_id', run_dir.name))} "
        f"<span class='state-{escape(state)}'>{escape(state)}</span></h1>"
    )
    if status.get("error"):
        out += f"<p class='bad'>Error: <code>{escape(status['error'])}</code></p>"
    if state == "running":
        out += "<p class='note'>The run is still in progress; this page is a snapshot.</p>"
    return out + table(["", ""], [[k, v] for k, v in facts if v not in ("", None)])


def _cards(ev: dict) -> str:
    names = {
        "accuracy": "accuracy",
        "macro_f1": "macro-F1",
        "weighted_f1": "weighted-F1",
        "n": "examples",
    }
    html_cards = [
        f"<div class='card'>{name}<b>{escape(num(ev[key]))}</b></div>"
        for key, name in names.items()
        if ev.get(key) is not None
    ]
    base = ev.get("baseline") if isinstance(ev.get("baseline"), dict) else {}
    keys = ("accuracy", "macro_f1")
    if all(isinstance(d.get(k), (int, float)) for d in (ev, base) for k in keys):
        d_acc, d_f1 = (100 * (ev[k] - base[k]) for k in keys)  # percentage points
        cls = "good" if d_acc >= 0 else "bad"
        html_cards.append(
            f"<div class='card'>vs {escape(base.get('name', 'baseline'))}<b class='{cls}'>"
            f"{d_acc:+.1f} pts</b><small>accuracy; macro-F1 {d_f1:+.1f} pts (baseline "
            f"{num(base['accuracy'])} / {num(base['macro_f1'])})</small></div>"
        )
    return "<div class='cards'>" + "".join(html_cards) + "</div>"


def _confusion(ev: dict) -> str:
    labels, confusion = ev.get("labels") or [], ev.get("confusion")
    if not confusion or not labels:
        return ""
    try:
        uri = confusion_heatmap_png(confusion, [str(label) for label in labels])
    except ValueError as exc:
        return f"<h2>Confusion matrix</h2><p class='note'>Not drawn: {escape(exc)}.</p>"
    counts = (
        "counts are written in the cells"
        if len(labels) <= 20
        else (
            f"with {len(labels)} labels the counts are left out of the cells (see the most "
            "confused pairs below, or eval.json)"
        )
    )
    return (
        "<h2>Confusion matrix</h2><p class='note'>Rows are the true label, columns the "
        "prediction. Colour is row-normalised (each true label's share, square-root scale) so "
        f"rare classes show as clearly as frequent ones; {counts}. The image is static: there "
        "are no counts on hover.</p>"
        f"<img alt='confusion matrix' src=\"{uri}\">"
    )


def per_class_worst_first(ev: dict) -> list[tuple[str, dict]]:
    """eval.json's per-class figures, worst F1 first; among equal F1 the larger class first,
    as it costs more examples (the report and the dashboard list them alike)."""
    raw = ev.get("per_class") if isinstance(ev.get("per_class"), dict) else {}
    per_class = {k: v for k, v in raw.items() if isinstance(v, dict)}
    return sorted(
        per_class.items(), key=lambda kv: (kv[1].get("f1") or 0.0, -(kv[1].get("support") or 0))
    )


def _per_class(ev: dict) -> str:
    ordered = per_class_worst_first(ev)
    if not ordered:
        return ""
    rows = [
        [
            k,
            num(v.get("precision"), 3),
            num(v.get("recall"), 3),
            num(v.get("f1"), 3),
            num(v.get("support")),
        ]
        for k, v in ordered
    ]
    return "<h2>Per class (worst F1 first)</h2>" + table(
        ["label", "precision", "recall", "F1", "support"], rows, numeric=(1, 2, 3, 4)
    )


def _pairs(ev: dict, redact_examples: bool = True) -> str:
    pairs = [p for p in ev.get("confused_pairs") or [] if isinstance(p, dict)]
    pairs.sort(key=lambda p: -p["count"] if isinstance(p.get("count"), int) else 0)
    if not pairs:
        return ""
    rows = [
        [
            f"{p.get('true', '?')} → {p.get('pred', '?')}",
            p.get("count", ""),
            Raw(
                "<ul class=ex>"
                + "".join(
                    f"<li>{escape(_clip(shown_text(t, redact_examples)))}</li>"
                    for t in map(str, (p.get("examples") or [])[:3])
                )
                + "</ul>"
            ),
        ]
        for p in pairs
    ]
    return "<h2>Most confused pairs</h2>" + table(
        ["true → predicted", "count", "examples"], rows, numeric=(1,)
    )


def _eval_section(ev: dict, run_ref: str, redact_examples: bool = True) -> str:
    head = f"<h2>Evaluation on {escape(ev.get('split', 'test'))}</h2>"
    body = _cards(ev) + _per_class(ev) + _confusion(ev) + _pairs(ev, redact_examples)
    body += calibration_section(ev, run_ref)
    return folds_section(ev) + head + body + slices_section(ev)


def _clip(text: str) -> str:
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


def _tradeoff_section(data: dict) -> str:
    """tradeoff.json from the compress stage: one row per variant, and the chart."""
    # Imported here: the compress package loads torch, which a report must not need.
    from ..compress.tradeoff import TRADEOFF_COLUMNS, tradeoff_rows

    rows = tradeoff_rows(data, " (recommended)")
    chart = tradeoff_png(data["variants"], data.get("recommended", ""))
    measured_on, tolerance = data.get("measured_on", "?"), data.get("max_accuracy_drop", "?")
    return (
        f"<h2>Compression trade-off</h2><p class='note'>Measured on "
        f"{escape(measured_on)}; tolerance {escape(tolerance)}"
        f" accuracy points.</p>{table(list(TRADEOFF_COLUMNS), rows, numeric=tuple(range(1, 9)))}"
        f"<img alt='trade-off chart' src=\"{chart}\">"
    )


def baseline_banner(verdict: object) -> str:
    """The loud box of a run whose own baseline beat it ("" otherwise): figures and advice."""
    if not isinstance(verdict, dict) or not verdict.get("gap_points"):
        return ""
    advice = "".join(f"<li>{escape(a)}</li>" for a in verdict.get("advice") or [])
    return (
        "<div class='alert' id='baseline-beats-model'><b>The baseline beats this model.</b> "
        f"{escape(verdict.get('baseline', 'baseline'))} reached "
        f"{escape(num(verdict.get('baseline_accuracy')))} accuracy where the trained model "
        f"reached {escape(num(verdict.get('model_accuracy')))} "
        f"({escape(num(verdict.get('gap_points'), 1))} points below). Try:<ul>{advice}</ul></div>"
    )


def write_report(run_dir: Path, extra_sections: list[tuple[str, str]] | None = None) -> Path:
    """Write ``run_dir/report.html`` from whatever the run has produced so far; return its path.

    ``extra_sections`` are ``(title, html)`` pairs appended at the end so later stages can add
    content without editing this module; the title is escaped, the HTML is trusted as given.
    """
    run_dir = Path(run_dir)
    rd = RunDir(run_dir)
    notes: list[str] = []
    status = _read(rd.status_path, notes, json.loads)
    status = status if isinstance(status, dict) else {}
    ev = _read(rd.eval_path, notes, json.loads)
    tradeoff = _read(rd.tradeoff_path, notes, json.loads)
    config = _read(rd.config_path, notes, yaml.safe_load)
    records = _read_records(rd.metrics_path)
    if not status:
        notes.append(f"No {rd.status_path.name}: run metadata is unknown.")
    if not rd.eval_path.is_file():
        notes.append(f"No evaluation ({rd.eval_path.name}): the run did not reach the test set.")

    body = [_header(run_dir, status)] + [f"<p class='note'>{escape(n)}</p>" for n in notes]
    body.append(baseline_banner(status.get("baseline_beats_model")))
    body.append(choice_section(status.get("model_choice")))
    if isinstance(ev, dict) and ev and "accuracy" in ev:  # a classifier's (ranking: a section)
        # wrong_images_section is "" for text runs: only image runs list wrong images;
        # wrong_texts_section is "" unless the run holds explanations.json.
        redact = redacts_examples(config)  # report.redact_examples, on unless the run says
        wrong = wrong_images_section(run_dir, ev) + wrong_texts_section(run_dir, redact)
        run_ref = str(status.get("run_id") or run_dir.name)
        body.append(_eval_section(ev, run_ref, redact) + wrong)
    curves = training_curves_png(records, best_step=status.get("best_step"))
    body.append(
        "<h2>Training</h2>"
        + (
            f"<img alt='training curves' src=\"{curves}\">"
            if curves
            else "<p class='note'>No training metrics recorded.</p>"
        )
    )
    if isinstance(tradeoff, dict) and tradeoff.get("variants"):
        body.append(_tradeoff_section(tradeoff))
    if config is not None:
        body.append("<h2>Configuration</h2>" + table(["key", "value"], list(_flatten(config))))
    packages = status.get("packages")
    if isinstance(packages, dict) and packages:
        body.append("<h2>Environment</h2>" + table(["package", "version"], [*packages.items()]))
    for title, content in extra_sections or []:
        body.append(f"<h2>{escape(title)}</h2>{content}")
    title = escape(status.get("run_id", run_dir.name))
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>tuneforge run {title}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
    out = rd.report_path
    out.write_text(page, encoding="utf-8")
    return out
