"""Tables printed by the CLI (rich), kept apart from the commands: layout apart from logic."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..types import Prediction

# Piped output (CI logs, files) gets a fixed wide layout instead of rich's 80-column default.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def print_json(obj) -> None:
    """``obj`` as indented JSON on stdout (dataclasses as dicts, paths and other values as
    text), for scripts: ``--json`` on every command that prints a table."""
    import dataclasses

    def plain(value):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        if hasattr(value, "tolist"):  # numpy scalars and arrays
            return value.tolist()
        return str(value)

    sys.stdout.write(json.dumps(obj, indent=1, ensure_ascii=False, default=plain) + "\n")


def metrics_table(title: str, report: dict) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("examples", str(report.get("n", "")))
    table.add_row("accuracy", f"{report['accuracy']:.4f}")
    table.add_row("macro-F1", f"{report['macro_f1']:.4f}")
    table.add_row("weighted-F1", f"{report.get('weighted_f1', 0):.4f}")
    baseline = report.get("baseline")
    if baseline:
        delta = 100 * (report["accuracy"] - baseline["accuracy"])
        table.add_row(
            f"baseline {baseline['name']} accuracy",
            f"{baseline['accuracy']:.4f} ({delta:+.1f} pts)",
        )
    for name, value in calibration_rows(report):
        table.add_row(name, value)
    worst = sorted(report["per_class"].items(), key=lambda kv: kv[1]["f1"])[:3]
    for label, values in worst:
        if values["support"]:
            table.add_row(f"F1 {label} (weakest)", f"{values['f1']:.3f}")
    return table


def calibration_rows(report: dict) -> list[tuple[str, str]]:
    """ECE and Brier score before → after temperature scaling (an eval.json's
    ``calibration``); just the figures when the model has no fitted temperature."""
    cal = report.get("calibration") if isinstance(report.get("calibration"), dict) else {}
    before, after = cal.get("before"), cal.get("after")
    if not isinstance(after, dict):
        ece = report.get("expected_calibration_error")
        return [("ECE", f"{ece:.4f}")] if isinstance(ece, (int, float)) else []
    if not cal.get("calibrated") or not isinstance(before, dict):
        return [
            ("ECE (uncalibrated)", f"{after['expected_calibration_error']:.4f}"),
            ("Brier (uncalibrated)", f"{after['brier_score']:.4f}"),
        ]
    t = cal.get("temperature")
    return [
        (
            f"ECE before → after (T={t:.2f})",
            f"{before['expected_calibration_error']:.4f} → "
            f"{after['expected_calibration_error']:.4f}",
        ),
        ("Brier before → after", f"{before['brier_score']:.4f} → {after['brier_score']:.4f}"),
    ]


def abstention_table(figures: dict) -> Table:
    """``evaluate --abstain``: the rule and how it does on in-scope and unknown rows."""
    table = Table(
        title=f"abstention: {figures['score']} below {figures['threshold']:.4g} → "
        f"'{figures['unknown_label']}'",
        caption=f"the threshold keeps {figures['val_recall']:.1%} of the validation inputs",
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    names = (
        ("n_in_scope", "in-scope rows"),
        ("n_unknown", "unknown rows"),
        ("abstained_share", "abstained"),
        ("in_scope_recall", "in-scope recall"),
        ("closed_set_accuracy", "in-scope accuracy without abstention"),
        ("in_scope_accuracy", "in-scope accuracy (abstention = wrong)"),
        ("unknown_recall", "unknown recall"),
        ("unknown_precision", "unknown precision"),
        ("auroc", "AUROC in-scope vs unknown"),
        ("fpr_at_95_recall", "unknown kept at 95% in-scope recall"),
    )
    for key, name in names:
        value = figures.get(key)
        if value is not None:
            table.add_row(name, str(value) if isinstance(value, int) else f"{value:.4f}")
    return table


def calibration_table(run_id: str, record: dict, test: dict, previous: float | None) -> Table:
    """``tuneforge calibrate``: the fitted temperature and NLL, ECE and Brier score before and
    after it on the validation split it was fitted on (and on the test split when kept)."""
    was = "none (temperature 1)" if previous is None else f"{previous:.4f}"
    table = Table(
        title=f"calibration of {run_id}",
        caption=f"temperature {record['temperature']:.4f} (was {was}); fitted on "
        f"{record['n']} {record['fitted_on']} examples"
        + ("; the search stopped at a bound of its range" if record.get("at_bound") else "")
        + (f"\n{record['note']}" if record.get("note") else ""),
    )
    table.add_column("split")
    table.add_column("metric")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for split, figures in ((record["fitted_on"], record), ("test", test)):
        if not figures:
            continue
        for key, name in (
            ("nll", "NLL"),
            ("expected_calibration_error", "ECE"),
            ("brier_score", "Brier"),
        ):
            table.add_row(
                split, name, f"{figures['before'][key]:.4f}", f"{figures['after'][key]:.4f}"
            )
    return table


def slices_tables(slices: dict | None) -> list[Table]:
    """One table per slice column of an eval.json's ``slices``: most rows first, the worst
    judged slice marked, slices too small to judge marked too; the caption says what the
    interval is and what the cap grouped."""
    if not slices:
        return []
    overall = slices["overall"]
    boot = slices.get("bootstrap", {})
    tables = []
    for column, data in slices["columns"].items():
        caption = (
            f"gap = slice − overall accuracy {overall['accuracy']:.4f}, with its "
            f"{boot.get('confidence', 0.95):.0%} bootstrap interval; * worst slice; "
            f"(small) fewer than {slices.get('min_judged_support', 10)} rows, not judged"
        )
        if data.get("note"):
            caption += f"\n{data['note']}"
        table = Table(title=f"slices by {column}", caption=caption)
        interval = f"gap [{boot.get('confidence', 0.95):.0%} CI]"
        for col in ("value", "n", "accuracy", "macro-F1", "confidence", "ECE", interval):
            table.add_column(col, justify="left" if col == "value" else "right")
        for s in data["slices"]:
            mark = " *" if s["value"] == data.get("worst") else ("" if s["judged"] else " (small)")
            low, high = s["accuracy_gap_ci"]
            table.add_row(
                f"{s['value']}{mark}",
                str(s["support"]),
                f"{s['accuracy']:.4f}",
                f"{s['macro_f1']:.4f}",
                f"{s['mean_confidence']:.3f}",
                f"{s['calibration_error']:.3f}",
                f"{s['accuracy_gap']:+.3f} [{low:+.3f}, {high:+.3f}]",
            )
        tables.append(table)
    return tables


def folds_table(ev: dict) -> Table:
    """A cross-validation's metrics: mean ± standard deviation over folds, then each fold."""
    cv = ev["cross_validation"]
    table = Table(
        title=f"{cv['folds']}-fold cross-validation",
        caption="std: sample standard deviation over folds (ddof=1)",
    )
    table.add_column("metric")
    table.add_column("mean ± std", justify="right")
    for k in range(1, len(cv["runs"]) + 1):
        table.add_column(f"fold {k}", justify="right")
    for key, m in cv["metrics"].items():
        folds = [f"{v:.4f}" for v in m["folds"]]
        table.add_row(key.replace("_", "-"), f"{m['mean']:.4f} ± {m['std']:.4f}", *folds)
    return table


def predictions_table(
    texts: Sequence[str], predictions: Sequence[Prediction], input_name: str = "text"
) -> Table:
    """One row per input (a text, or an image's path with ``input_name="image"``)."""
    table = Table()
    table.add_column(input_name, overflow="fold", max_width=60)
    table.add_column("label")
    table.add_column("confidence", justify="right")
    if predictions and len(predictions[0].top_k) > 1:
        table.add_column("top-k")
    for text, pred in zip(texts, predictions):
        row = [text, pred.label, f"{pred.score:.3f}"]
        if len(pred.top_k) > 1:
            row.append(", ".join(f"{n} {s:.3f}" for n, s in pred.top_k))
        table.add_row(*row)
    return table


def short_model_name(model_dir: str | None) -> str:
    """'default' for the packaged model, else the model directory's name."""
    if not model_dir:
        return ""
    from ..models import default_model_dir

    path = Path(model_dir)
    return "default" if path.resolve() == default_model_dir().resolve() else path.name


def runs_table(records, final: dict[str, dict]) -> Table:
    table = Table(title="runs")
    for col in ("id", "state", "created", "model", "accuracy", "macro-F1"):
        table.add_column(
            col, justify="right" if col in ("accuracy", "macro-F1") else "left", no_wrap=True
        )
    for r in records:
        m = final.get(r.id, {})
        table.add_row(
            r.id,
            r.state,
            r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "",
            short_model_name(r.model),
            f"{m['accuracy']:.4f}" if "accuracy" in m else "",
            f"{m['macro_f1']:.4f}" if "macro_f1" in m else "",
        )
    return table


def compare_table(ids: list[str], params: list[dict], finals: list[dict]) -> Table:
    table = Table(title="compare")
    table.add_column("")
    for run_id in ids:
        table.add_column(run_id, justify="right")
    for key in ("accuracy", "macro_f1"):
        table.add_row(key, *[f"{f[key]:.4f}" if key in f else "" for f in finals])
    keys = sorted(set().union(*[p.keys() for p in params]))
    for key in keys:
        values = [p.get(key, "") for p in params]
        if len(set(values)) > 1:
            table.add_row(key, *values)
    return table


def to_json_lines(
    texts: Sequence[str], predictions: Sequence[Prediction], input_name: str = "text"
) -> str:
    return "".join(
        json.dumps({input_name: t, **p.as_dict()}, ensure_ascii=False) + "\n"
        for t, p in zip(texts, predictions)
    )


def parity_table(reports: list[dict]) -> Table:
    table = Table(title="parity with the trained model")
    columns = ("variant", "n", "agreement", "max |Δp|", "mean |Δp|", "accuracy", "Δ acc")
    for col in (*columns, "min cos emb", "ok"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in reports:
        cosine = r.get("embedding_min_cosine")
        table.add_row(
            r["variant"],
            str(r["n"]),
            f"{r['agreement']:.4f}",
            f"{r['max_abs_prob_diff']:.1e}",
            f"{r['mean_abs_prob_diff']:.1e}",
            f"{r['candidate_accuracy']:.4f}",
            f"{100 * r['accuracy_delta']:+.2f} pts",
            "-" if cosine is None else f"{cosine:.4f}",
            ("yes" if r["passed"] else "NO") if r["exact"] else "by gate",
        )
    return table


def versions_table(name: str, versions) -> Table:
    table = Table(title=f"model {name}")
    for col in ("version", "stage", "run", "variant", "created", "privacy", "note"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            f"v{v.version}",
            v.stage,
            v.run_id,
            v.variant,
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            privacy_text(v.privacy),
            v.note or "",
        )
    return table


def privacy_text(privacy: dict | None) -> str:
    """``ε 7.9, δ 1e-05`` for a differentially private version, ``-`` otherwise."""
    if not privacy or privacy.get("epsilon") is None:
        return "-"
    return f"ε {float(privacy['epsilon']):.3g}, δ {float(privacy['delta']):.2g}"


# Distinct short headers for terminals too narrow for the full ones (explained in a caption).
_SHORT = {
    "accuracy": "acc",
    "macro-F1": "F1",
    "agreement": "agree",
    "size MB": "MB",
    "peak RSS MB": "RSS",
    "p50 ms": "p50",
    "p95 ms": "p95",
    "ex/s @32": "ex/s",
    "within tolerance": "ok",
}
_SHORT_CAPTION = (
    "acc accuracy, F1 macro-F1, agree agreement with the trained model, MB size on disk, "
    "RSS peak memory (MB), p50/p95 latency of one request (ms), ex/s batch-32 throughput, "
    "ok within the accuracy gate"
)


def tradeoff_table(data: dict, width: int | None = None) -> Table:
    """The variants side by side. Every variant name stays whole: on a terminal narrower than
    the full table, the headers are abbreviated (explained in the caption) and the borders
    dropped, instead of cutting names to ``onnx…``."""
    from rich import box

    from ..compress.tradeoff import TRADEOFF_COLUMNS, tradeoff_rows

    width = width or out.width
    narrow = width < 130
    table = Table(
        title=f"compression trade-off on {data['measured_on']}",
        box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
        padding=(0, 1, 0, 0) if narrow else (0, 1),
        caption=_SHORT_CAPTION if narrow else None,
    )
    for col in TRADEOFF_COLUMNS:
        header = _SHORT.get(col, col) if narrow else col
        justify = "left" if col == "variant" else "right"
        table.add_column(header, justify=justify, no_wrap=True)
    for row in tradeoff_rows(data, " *"):
        table.add_row(*row)
    return table


def trials_table(result) -> Table:
    """A search's trials, best completed trial first."""
    table = Table(
        title=f"study {result.study}: {result.n_complete} completed, "
        f"{result.n_pruned} pruned, {result.n_failed} failed"
    )
    keys = sorted({k for t in result.trials for k in t["params"]})
    for col in ("trial", "state", "val macro-F1", "run", *keys):
        table.add_column(col, justify="right" if col not in ("state", "run") else "left")

    def order(t: dict) -> tuple:
        return (t["value"] is None, -(t["value"] or 0.0), t["number"])

    for t in sorted(result.trials, key=order):
        params = [_fmt(t["params"].get(k)) for k in keys]
        value = "" if t["value"] is None else f"{t['value']:.4f}"
        table.add_row(str(t["number"]), t["state"], value, t["run_id"] or "", *params)
    return table


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def step_progress(what: str):
    """A progress bar on stderr for commands that work in steps (compress: variants, tune:
    trials), with elapsed time and an estimate of what is left. Returns (progress, update):
    use ``progress`` as a context manager and call ``update(done, total, note)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(f"{what} [progress.description]{{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task("", total=None)

    def update(done: int, total: int, note: str) -> None:
        bar.update(task, completed=done, total=total, description=note)

    return bar, update


@contextmanager
def rows_progress(what: str, every: float = 30.0) -> Iterator[Callable[[int, int | None], None]]:
    """Progress of a job over rows (``update(done, total)``, total None when unknown): a bar
    with rows/s and the time left on a terminal; elsewhere (a batch job's log) a line every
    ``every`` seconds with the same figures."""
    import time

    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn(what),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        task = bar.add_task("", total=None, rate="-")
        since: dict = {}  # the first update: rows done before (a resume) and when

        def update(done: int, total: int | None) -> None:
            rows, start = since.setdefault("first", (done, time.perf_counter()))
            rate = (done - rows) / max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f}")

        with bar:
            yield update
        return
    state = {"start": None, "rows": 0, "said": 0.0}

    def log_line(done: int, total: int | None) -> None:
        now = time.perf_counter()
        if state["start"] is None:
            state.update(start=now, rows=done, said=now)
            return
        if now - state["said"] < every and done != total:
            return
        state["said"] = now
        rate = (done - state["rows"]) / max(now - state["start"], 1e-9)
        left = f", about {(total - done) / rate:,.0f} s left" if total and rate else ""
        of = f"/{total:,}" if total else ""
        print(f"{what}: {done:,}{of} rows, {rate:,.0f} rows/s{left}", file=sys.stderr)

    yield log_line


@contextmanager
def chunk_progress(what: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for work done in chunks (``update(done, total)``): on when ``enabled``
    and stderr is a terminal, silent otherwise."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda done, total: None
        return
    bar, update = step_progress(what)
    with bar:
        yield lambda done, total: update(done, total, "")


# Explanations: words on a white-to-colour scale, green towards the label, red away from it.
_TOWARDS, _AWAY = (26, 127, 55), (207, 34, 46)


def _word_style(score: float, scale: float):
    from rich.color import Color
    from rich.style import Style

    strength = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    if strength < 0.05:
        return Style()
    target = _TOWARDS if score >= 0 else _AWAY
    rgb = [round(255 - (255 - c) * strength) for c in target]
    return Style(bgcolor=Color.from_rgb(*rgb), color="white" if strength > 0.6 else "black")


def explanation_text(explanation, top: int = 3):
    """A text explanation as rich Text: the label line, the text with each word coloured in
    place, then the strongest words each way with their scores (readable without colour).
    User text is appended as plain text, never parsed as rich markup."""
    from rich.text import Text

    e = explanation
    line = Text()
    line.append(e.label, style="bold")
    line.append(f" {e.score:.3f} · {e.method}")
    if e.predicted and e.predicted != e.label:
        line.append(f" (the model predicts {e.predicted})", style="dim")
    line.append("\n  ")
    scale = max((abs(w.score) for w in e.words), default=0.0)
    at = 0
    for w in sorted(e.words, key=lambda w: w.start):
        line.append(e.text[at : w.start])
        line.append(e.text[w.start : w.end], style=_word_style(w.score, scale))
        at = max(at, w.end)
    line.append(e.text[at:])
    towards = [w for w in e.top(top) if w.score > 0]
    away = sorted((w for w in e.words if w.score < 0), key=lambda w: w.score)[:top]
    line.append("\n  towards: " + (", ".join(f"{w.word} {w.score:+.3f}" for w in towards) or "-"))
    line.append(" | away: " + (", ".join(f"{w.word} {w.score:+.3f}" for w in away) or "-"))
    return line


def image_explanation_line(explanation) -> str:
    """An image explanation: source, label, probability, method and the overlay written."""
    e = explanation
    other = f" (the model predicts {e.predicted})" if e.predicted and e.predicted != e.label else ""
    return f"{e.source}: {e.label} {e.score:.3f} · {e.method}{other} → {e.overlay}"


def explanation_summary_table(summaries) -> Table:
    """Per label (most texts first), the words that most often pushed texts towards it."""
    table = Table(title="words that push towards each label")
    for col in ("label", "texts", "word", "count", "mean attribution"):
        table.add_column(col, justify="left" if col in ("label", "word") else "right")
    for s in summaries:
        for i, w in enumerate(s.words or [None]):
            first = i == 0
            table.add_row(
                s.label if first else "",
                str(s.n_texts) if first else "",
                w.word if w else "-",
                str(w.count) if w else "",
                f"{w.mean:+.4f}" if w else "",
                end_section=i == max(0, len(s.words) - 1),
            )
    return table


# -- labeling --------------------------------------------------------------------------------
def next_items_table(picked) -> Table:
    """The items ``label next`` handed out, with the model's suggestion; user text is shown
    as plain text (never read as rich markup)."""
    from rich.text import Text

    table = Table(title="next to label")
    for col in ("id", "item", "suggestion", "confidence", "score"):
        table.add_column(col, justify="right" if col in ("id", "confidence", "score") else "left")
    for p in picked:
        s = p.suggestion
        table.add_row(
            str(p.item.id),
            Text(p.item.content[:200]),
            Text(s.label),
            f"{s.confidence:.3f}",
            f"{s.score:.3f}",
        )
    return table


def queue_status_table(queues: list[dict]) -> Table:
    from rich.text import Text

    table = Table(title="labeling queues")
    for col in ("queue", "task", "queued", "assigned", "labelled", "conflicts", "labels used"):
        table.add_column(col)
    for q in queues:
        items = q["items"]
        used = ", ".join(f"{k} {v}" for k, v in q["labelled_by_label"].items())
        table.add_row(
            q["queue"],
            q["task"],
            str(items["queued"]),
            str(items["assigned"]),
            str(items["labelled"]),
            str(q["conflicts"]),
            Text(used[:120]),
        )
    return table


def _kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def agreement_tables(result, contents: dict[int, str]) -> list[Table]:
    """Overall and per-label Fleiss' kappa, Cohen's kappa per pair, and the conflicts."""
    from rich.text import Text

    overall = Table(
        title=f"agreement over {result.items_multi} items labelled by several "
        f"people (Fleiss on the {result.raters_per_item}-annotator ones)"
    )
    overall.add_column("label")
    overall.add_column("Fleiss' kappa", justify="right")
    overall.add_row("all labels", _kappa(result.fleiss))
    for label, value in result.per_label.items():
        overall.add_row(Text(label), _kappa(value))
    pairs = Table(title="Cohen's kappa per pair of annotators")
    for col in ("annotators", "shared items", "kappa"):
        pairs.add_column(col)
    for p in result.pairs:
        pairs.add_row(Text(f"{p.first} / {p.second}"), str(p.items), _kappa(p.kappa))
    tables = [overall, pairs]
    if result.conflicts:
        conflicts = Table(title=f"{len(result.conflicts)} conflicts to resolve")
        for col in ("id", "item", "labels"):
            conflicts.add_column(col)
        for c in result.conflicts[:50]:
            given = ", ".join(f"{who}: {label}" for who, label in sorted(c.labels.items()))
            conflicts.add_row(str(c.item_id), Text(contents.get(c.item_id, "")[:120]), Text(given))
        tables.append(conflicts)
    return tables


def retrain_table(record: dict) -> Table:
    """The retrain's plan and, after training, both models' accuracy per part."""
    table = Table(title=f"retrain {record['plan']['model']}")
    table.add_column("")
    table.add_column("value", justify="right")
    for key, value in record["plan"].items():
        table.add_row(key.replace("_", " "), str(value))
    comparison = record.get("comparison")
    if comparison:
        for part, pair in comparison["parts"].items():
            p, c = pair["production"], pair["candidate"]
            table.add_row(
                f"accuracy, {part} (n={c['n']})", f"{p['accuracy']:.4f} → {c['accuracy']:.4f}"
            )
        table.add_row("McNemar p", f"{comparison['mcnemar_p']:.3g}")
    return table


def audit_table(result, limit: int = 50) -> Table:
    """``label audit``: the flagged rows, most likely wrong first (the first ``limit``), with
    how many rows were read and how the probabilities were made in the caption; the file's
    texts and labels are shown as plain text (never read as rich markup)."""
    from rich.text import Text

    shown = result.flagged[:limit] if limit else result.flagged
    share = len(result.flagged) / result.n_rows if result.n_rows else 0.0
    hidden = len(result.flagged) - len(shown)
    more = f"; {hidden} more not shown" if hidden else ""
    table = Table(
        title=f"{len(result.flagged)} of {result.n_rows} rows look mislabelled ({share:.1%})",
        caption=Text(f"{result.method}; model: {result.model}{more}"),
    )
    for col in ("row", "text", "given", "suggested", "self-confidence"):
        table.add_column(col, justify="right" if col in ("row", "self-confidence") else "left")
    for r in shown:
        text = r.text if len(r.text) <= 80 else r.text[:79] + "…"
        table.add_row(
            str(r.row), Text(text), Text(r.given), Text(r.suggested), f"{r.self_confidence:.3f}"
        )
    return table
