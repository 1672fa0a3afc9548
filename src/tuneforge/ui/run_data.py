"""What the run and compare pages show, read from a run's directory through ``RunDir`` and
shaped by the report's own functions (curve points, the kept checkpoint, per-class order,
attribution colouring, trade-off rows), so the dashboard and report.html never disagree.

Every reader tolerates a missing or half-written file (runs are read while they train, and
after crashes): the section is left out and a note says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..errors import RunError
from ..report.calibration import FIGURES, reliability_points
from ..report.examples import shown_explanation, shown_text
from ..report.explanations import METHOD_NAMES, words_html
from ..report.html import per_class_worst_first
from ..report.plots import best_record, moving_average, plottable
from ..report.privacy import privacy_summary
from ..store import RunDir, RunStore, is_valid_name
from ..store.rundir import is_run_dir

SHADES = 10  # confusion cells are shaded in this many steps (CSS classes shade-0..9)
EXAMPLE_CHARS = 300


def find_run(run_id: str, runs_dir: Path, store: RunStore) -> RunDir | None:
    """The run called ``run_id``: where the store says it is, else under ``runs_dir``. Only
    names that follow the name rule are looked up, so a URL cannot point outside."""
    if not is_valid_name(run_id):
        return None
    record = store.get(run_id)
    if record is not None and is_run_dir(Path(record.run_dir)):
        return RunDir(record.run_dir)
    candidate = Path(runs_dir) / run_id
    return RunDir(candidate) if is_run_dir(candidate) else None


@dataclass
class RunFiles:
    """A run's JSON files, read once per page; ``notes`` say what could not be read."""

    status: dict = field(default_factory=dict)
    ev: dict = field(default_factory=dict)
    tradeoff: dict = field(default_factory=dict)
    parity: dict = field(default_factory=dict)
    explanations: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_files(run: RunDir) -> RunFiles:
    files = RunFiles()
    for attr, path in (
        ("status", run.status_path),
        ("ev", run.eval_path),
        ("tradeoff", run.tradeoff_path),
        ("parity", run.parity_path),
        ("explanations", run.explanations_path),
    ):
        try:
            value = run.read_json(path.name)
        except RunError:
            files.notes.append(f"{path.name} could not be read; it is not shown.")
            continue
        if isinstance(value, dict):
            setattr(files, attr, value)
    if not files.ev:
        files.notes.append("No evaluation yet: the run has not reached its test set.")
    return files


def curves(run: RunDir, best_step: int | None = None) -> dict:
    """The points of the training charts: training loss by step (raw and smoothed as the
    report smooths it) and validation loss, accuracy and macro-F1 by epoch, with the kept
    checkpoint marked. Served as JSON, so charts load after the page."""
    train, val = plottable(run.read_metrics())
    losses = [r["loss"] for r in train]
    window = max(2, len(losses) // 15)
    smooth = moving_average(losses, window).tolist() if len(losses) > window else []
    best = best_record(val, best_step) if val else None
    return {
        "train": {"step": [r["step"] for r in train], "loss": losses, "smooth": smooth},
        "window": window,
        "val": {k: [r[k] for r in val] for k in ("epoch", "step", "loss", "accuracy", "macro_f1")},
        "best": {"epoch": best["epoch"], "macro_f1": best["macro_f1"]} if best else None,
    }


def confusion(ev: dict) -> dict | None:
    """The confusion matrix as rows of cells, each with its count, its share of the true
    label's row and a shade step (square-root scale, row-normalised: the report's colouring,
    so rare labels show as clearly as frequent ones)."""
    labels, matrix = [str(x) for x in ev.get("labels") or []], ev.get("confusion")
    if not labels or not isinstance(matrix, list) or len(matrix) != len(labels):
        return None
    rows = []
    for t, counts in enumerate(matrix):
        total = sum(c for c in counts if isinstance(c, (int, float)))
        cells = []
        for p, count in enumerate(counts):
            share = count / total if total else 0.0
            shade = min(SHADES - 1, int(math.sqrt(share) * SHADES)) if count else 0
            cells.append({"pred": p, "count": count, "share": share, "shade": shade})
        rows.append({"true": t, "cells": cells, "total": total})
    return {"labels": labels, "rows": rows}


def cell_examples(ev: dict, true: int, pred: int, redact_examples: bool = True) -> dict:
    """What one confusion cell holds: its count and the examples eval.json keeps for it (the
    most confused pairs keep a few texts each; correct cells keep none), their personal data
    redacted unless the run's ``report.redact_examples`` is off."""
    labels = [str(x) for x in ev.get("labels") or []]
    matrix = ev.get("confusion") or []
    if not (0 <= true < len(labels) and 0 <= pred < len(labels)) or true >= len(matrix):
        raise RunError(f"No confusion cell ({true}, {pred}) in a {len(labels)}-label matrix.")
    pair = next(
        (
            p
            for p in ev.get("confused_pairs") or []
            if isinstance(p, dict)
            and p.get("true") == labels[true]
            and p.get("pred") == labels[pred]
        ),
        {},
    )
    examples = [_clip(shown_text(str(x), redact_examples)) for x in pair.get("examples") or []]
    return {
        "true": labels[true],
        "pred": labels[pred],
        "count": matrix[true][pred],
        "examples": examples,
        "note": _examples_note(len(examples), true == pred, matrix[true][pred]),
    }


def _examples_note(kept: int, correct: bool, count: Any) -> str:
    if kept:
        return "" if kept >= count else f"eval.json keeps {kept} of each confused pair's examples."
    if not count:
        return "No examples fall in this cell."
    if correct:
        return "Correct predictions: eval.json keeps examples of confusions only."
    return "eval.json keeps examples of the most confused pairs only; this one has none stored."


def _clip(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def calibration(ev: dict) -> dict | None:
    """The calibration figures before and after the temperature, and the reliability
    diagram's points (the report's, from eval.json's ``calibration``)."""
    cal = ev.get("calibration")
    if not isinstance(cal, dict) or not isinstance(cal.get("after"), dict):
        return None
    fitted = bool(cal.get("calibrated")) and isinstance(cal.get("before"), dict)
    rows = [
        {"name": name, "before": (cal.get("before") or {}).get(key), "after": cal["after"][key]}
        for key, name in FIGURES
        if cal["after"].get(key) is not None
    ]
    points = reliability_points(cal)
    if not fitted:
        points.pop("before", None)
    return {
        "temperature": cal.get("temperature"),
        "calibrated": fitted,
        "note": str(cal.get("note") or ""),
        "split": str(ev.get("split", "test")),
        "rows": rows,
        "points": {
            k: [{"x": b["confidence"], "y": b["accuracy"], "n": b["count"]} for b in v]
            for k, v in points.items()
        },
    }


def per_class(ev: dict) -> list[dict]:
    return [{"label": label, **figures} for label, figures in per_class_worst_first(ev)]


def wrong_examples(explanations: dict, redact_examples: bool = True) -> dict | None:
    """The most confidently wrong texts with their words coloured by attribution (the
    report's colouring: ``words_html`` escapes the text itself), redacted as the report is."""
    examples = [e for e in explanations.get("examples") or [] if isinstance(e, dict)]
    examples = [
        shown_explanation(e, redact_examples) for e in examples if isinstance(e.get("words"), list)
    ]
    if not examples:
        return None
    method = str(explanations.get("method", ""))
    return {
        "split": str(explanations.get("split", "test")),
        "method": METHOD_NAMES.get(method, method),
        "rows": [
            {
                "true": e.get("true", "?"),
                "pred": e.get("label", "?"),
                "score": e.get("score"),
                "words": Markup(words_html(e)),  # escaped by words_html itself
            }
            for e in examples
        ],
    }


def variants(tradeoff: dict, parity: dict) -> dict | None:
    """The trade-off table and chart points (accuracy against p50 latency) and each variant's
    parity check, from tradeoff.json and parity.json."""
    rows = [v for v in tradeoff.get("variants") or [] if isinstance(v, dict)]
    checks = {k: v for k, v in parity.items() if isinstance(v, dict)}
    if not rows and not checks:
        return None
    table: dict[str, Any] = {"columns": [], "rows": []}
    if rows:
        # Imported here: compress's package loads its exporters lazily, and this module must
        # not need them.
        from ..compress.tradeoff import TRADEOFF_COLUMNS, tradeoff_rows

        table = {
            "columns": list(TRADEOFF_COLUMNS),
            "rows": tradeoff_rows({**tradeoff, "variants": rows}, " (recommended)"),
        }
    points = [
        {"variant": v["variant"], "p50_ms": v.get("p50_ms"), "accuracy": v.get("accuracy")}
        for v in rows
        if _finite(v.get("p50_ms")) and _finite(v.get("accuracy"))
    ]
    return {
        "table": table,
        "points": points,
        "recommended": tradeoff.get("recommended", ""),
        "measured_on": tradeoff.get("measured_on", ""),
        "tolerance": tradeoff.get("max_accuracy_drop"),
        "parity": [{"variant": name, **check} for name, check in sorted(checks.items())],
    }


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def facts(status: dict) -> list[tuple[str, Any]]:
    """The run's header facts, in the report's order, leaving out what is unknown."""
    keys = ("task", "model_dir", "precision", "seed", "n_train", "n_val", "n_test")
    keys += ("best_epoch", "train_seconds", "data_fingerprint", "git_sha")
    names = {"model_dir": "model", "n_train": "train examples", "n_val": "validation examples"}
    names |= {"n_test": "test examples", "train_seconds": "training seconds"}
    found = [
        (names.get(k, k.replace("_", " ")), status[k])
        for k in keys
        if status.get(k) not in (None, "")
    ]
    private = privacy_summary(status.get("privacy"))
    return found + [("differential privacy", private)] if private else found
