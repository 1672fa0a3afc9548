"""``tuneforge label``: labeling queues — import items, pick what to label next with a model,
send items to people (CSV, JSONL, Label Studio) and take their labels back, measure agreement,
and queue doubtful production traffic."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_command, add_delimiter, add_format, add_group, add_json, add_runs_dir
from .common import runs_dir as runs_dir_of

EXAMPLE = (
    "tuneforge label import tickets.csv --queue support   |   "
    "tuneforge label next --queue support --model intents@production --strategy diverse "
    "--count 50 --output batch.csv   |   tuneforge label submit batch.csv --queue support "
    "--annotator ana"
)


def _queue(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queue", required=True, metavar="NAME", help="labeling queue name")


def register(sub) -> None:
    group = add_group(
        sub, "label", "labeling queues, active learning, label audits", "label_command", EXAMPLE
    )
    _register_import(group)
    _register_next(group)
    _register_export(group)
    _register_submit(group)
    _register_status(group)
    _register_agreement(group)
    _register_from_log(group)
    _register_audit(group)


def _register_import(group) -> None:
    example = "tuneforge label import unlabelled.jsonl --queue support"
    p = add_command(group, "import", "Add unlabelled texts or images to a queue.", example)
    p.add_argument("source", help="a table (CSV/TSV/JSONL/Parquet), an image folder or list")
    _queue(p)
    p.add_argument("--text-column", help="column with the text (default: detected)")
    p.add_argument("--image-column", help="tables of image paths: the path column (detected)")
    p.add_argument("--task", choices=("auto", "text", "image"), default="auto", help="item kind")
    p.add_argument(
        "--labels",
        help="comma-separated label set of a new queue (default: the "
        "model's, set by the first 'label next')",
    )
    p.add_argument(
        "--redact",
        action="store_true",
        help="replace emails, phones, cards, IBANs, IPs and URLs in the texts by [EMAIL], "
        "[PHONE], ... before they are stored",
    )
    add_format(p)
    add_delimiter(p)
    add_runs_dir(p)
    p.set_defaults(func=run_import)


def _register_next(group) -> None:
    from ..label.strategies import STRATEGIES
    from ..recipes.label import EXPORT_FORMATS

    example = (
        "tuneforge label next --queue support --model intents@production --strategy margin "
        "--count 20 --output next.csv"
    )
    p = add_command(
        group, "next", "Rank the queue with a model and hand out the best items.", example
    )
    _queue(p)
    p.add_argument("--model", required=True, help="run id, run dir or NAME@stage")
    p.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        default="margin",
        help="; ".join(f"{k}: {v[2]}" for k, v in STRATEGIES.items()),
    )
    p.add_argument("--count", type=int, default=20, help="items to hand out")
    p.add_argument(
        "--lease",
        default="24h",
        help="an item handed out and not labelled within "
        "this time goes back to the pool (e.g. 2h, 1d)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random strategy")
    p.add_argument("--output", help="also write the items for labelling to this file")
    p.add_argument(
        "--output-format",
        choices=EXPORT_FORMATS,
        help="default: by extension (.csv, .jsonl; .json = Label Studio tasks)",
    )
    p.add_argument(
        "--image-url",
        help="Label Studio image tasks: URL prefix of the image paths, "
        "e.g. '/data/local-files/?d='",
    )
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_next)


def _register_export(group) -> None:
    from ..label.queue import ITEM_STATES
    from ..recipes.label import EXPORT_FORMATS

    example = "tuneforge label export --queue support --format label-studio --output tasks.json"
    p = add_command(group, "export", "Write a queue's items for labelling.", example)
    _queue(p)
    p.add_argument("--output", required=True, help="file to write")
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="default: by extension (.csv, "
        ".jsonl; .json = Label Studio tasks, with the labeling config beside as .xml)",
    )
    p.add_argument(
        "--state",
        action="append",
        choices=ITEM_STATES,
        help="items in this state (repeat; default: queued and assigned)",
    )
    p.add_argument("--image-url", help="Label Studio image tasks: URL prefix of the image paths")
    add_runs_dir(p)
    p.set_defaults(func=run_export)


def _register_submit(group) -> None:
    example = "tuneforge label submit labelled.csv --queue support --annotator ana"
    p = add_command(
        group,
        "submit",
        "Read labels back: CSV/JSONL, or a Label Studio export (JSON, JSON-MIN, CSV).",
        example,
    )
    p.add_argument("file", help="the labelled file")
    _queue(p)
    p.add_argument("--annotator", help="who labelled, where the file does not say")
    p.add_argument(
        "--add-labels",
        action="store_true",
        help="accept labels outside the queue's label set and add them to it",
    )
    add_runs_dir(p)
    p.set_defaults(func=run_submit)


def _register_status(group) -> None:
    example = "tuneforge label status --queue support"
    p = add_command(group, "status", "Items by state and labels, per queue.", example)
    p.add_argument("--queue", metavar="NAME", help="one queue (default: every queue)")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_status)


def _register_agreement(group) -> None:
    example = "tuneforge label agreement --queue support"
    p = add_command(
        group,
        "agreement",
        "Agreement between annotators (Cohen's and Fleiss' kappa) and the conflicts to resolve.",
        example,
    )
    _queue(p)
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_agreement)


def _register_from_log(group) -> None:
    example = "tuneforge label from-log intents@production --queue review --window 24h"
    p = add_command(
        group,
        "from-log",
        "Queue a served model's low-confidence predictions (needs 'serve --log-inputs').",
        example,
    )
    p.add_argument("model", help="run id, run dir or NAME@stage (as served)")
    _queue(p)
    p.add_argument("--window", default="24h", help="how far back to look (e.g. 30m, 24h, 7d)")
    p.add_argument(
        "--low-confidence",
        type=float,
        default=0.5,
        metavar="P",
        help="queue predictions with a confidence under P",
    )
    p.add_argument(
        "--drifted",
        action="store_true",
        help="also queue every prediction of a label whose share of the window rose above its "
        "share in the run's reference profile",
    )
    p.add_argument(
        "--drift-rise",
        type=float,
        default=0.05,
        metavar="D",
        help="with --drifted: how far above the reference share counts (0.05 = 5 points)",
    )
    p.add_argument(
        "--abstained",
        action="store_true",
        help="also queue every abstention of 'serve --abstain' (inputs outside the intents)",
    )
    add_runs_dir(p)
    p.set_defaults(func=run_from_log)


def _register_audit(group) -> None:
    example = "tuneforge label audit train.csv --queue review --output suspects.csv"
    p = add_command(
        group,
        "audit",
        "Find likely mislabelled rows of a labelled file (confident "
        "learning on out-of-fold probabilities).",
        example,
    )
    p.add_argument("data", help="the labelled file to audit")
    p.add_argument(
        "--run",
        help="take out-of-fold probabilities from this cross-validation "
        "run, or embed with its base model (default: the packaged encoder)",
    )
    p.add_argument("--folds", type=int, default=5, help="folds of the out-of-fold predictions")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds")
    p.add_argument("--text-column", help="column with the text (default: detected)")
    p.add_argument("--label-column", help="column with the label (default: detected)")
    add_format(p)
    add_delimiter(p)
    p.add_argument("--output", help="write the flagged rows to this CSV or JSONL file")
    p.add_argument(
        "--queue", metavar="NAME", help="push the flagged rows into this queue for review"
    )
    p.add_argument("--limit", type=int, default=50, help="rows shown in the table (0: all)")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_audit)


# -- handlers --------------------------------------------------------------------------------
def _log(message: str) -> None:
    print(message, file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    from ..recipes.label import import_items

    options = {
        "task": args.task,
        "text_column": args.text_column,
        "image_column": args.image_column,
        "format": args.format,
        "delimiter": args.delimiter,
        "redact": args.redact,
    }
    labels = [x.strip() for x in (args.labels or "").split(",") if x.strip()]
    result = import_items(args.source, args.queue, runs_dir_of(args), options, labels)
    c = result.counts
    _log(
        f"queue {result.queue.name} ({result.queue.task}): {c.added} added, "
        f"{c.duplicates} already there or repeated"
    )
    if args.redact:
        _log(f"redacted: {result.redacted} item(s) held personal data, stored with placeholders")
    if result.skipped_empty:
        rows = ", ".join(map(str, result.skipped_empty[:10]))
        _log(f"skipped {len(result.skipped_empty)} empty row(s): {rows}")
    return 0


def _format_of(path: str, given: str | None) -> str:
    if given:
        return given
    suffix = Path(path).suffix.lower()
    return {".json": "label-studio", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix, "csv")


def run_next(args: argparse.Namespace) -> int:
    from ..monitor.rules import parse_duration
    from ..recipes.label import export_queue, next_items
    from .tables import next_items_table, print_json, step_progress

    bar, update = step_progress("scoring the queue")
    with bar:
        picked = next_items(
            args.queue,
            args.model,
            runs_dir_of(args),
            strategy=args.strategy,
            count=args.count,
            lease=parse_duration(args.lease),
            seed=args.seed,
            progress=lambda done, total: update(done, total, ""),
        )
    if args.output:
        fmt = _format_of(args.output, args.output_format)
        ids = [p.item.id for p in picked]
        export_queue(
            args.queue,
            runs_dir_of(args),
            Path(args.output),
            fmt,
            item_ids=ids,
            image_url=args.image_url,
        )
        _log(f"wrote {len(picked)} item(s) to {args.output} ({fmt})")
    if args.json:
        print_json([{"item": p.item, "suggestion": p.suggestion} for p in picked])
    elif picked:
        from .tables import out

        out.print(next_items_table(picked))
    else:
        _log(f"queue {args.queue} has no items to hand out (all labelled or handed out)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..recipes.label import export_queue

    fmt = _format_of(args.output, args.format)
    states = tuple(args.state) if args.state else ("queued", "assigned")
    n = export_queue(
        args.queue,
        runs_dir_of(args),
        Path(args.output),
        fmt,
        states=states,
        image_url=args.image_url,
    )
    extra = (
        f" and its labeling config {Path(args.output).with_suffix('.xml')}"
        if (fmt == "label-studio")
        else ""
    )
    _log(f"wrote {n} item(s) to {args.output}{extra}")
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from ..recipes.label import receive_labels

    result = receive_labels(
        Path(args.file),
        args.queue,
        runs_dir_of(args),
        annotator=args.annotator,
        add_labels=args.add_labels,
    )
    c = result.counts
    _log(
        f"queue {result.queue.name}: {c.added} label(s) added, {c.replaced} replaced, "
        f"{c.unchanged} unchanged"
    )
    if result.new_labels:
        _log(f"label set extended by: {', '.join(result.new_labels)}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from ..recipes.label import queue_status
    from .tables import out, print_json, queue_status_table

    found = queue_status(args.queue, runs_dir_of(args))
    if args.json:
        print_json(found)
    elif not found:
        _log("no labeling queues yet: 'tuneforge label import FILE --queue NAME' makes one")
    else:
        out.print(queue_status_table(found))
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    from ..recipes.label import queue_agreement
    from .tables import agreement_tables, out, print_json

    queue, result, contents = queue_agreement(args.queue, runs_dir_of(args))
    if args.json:
        print_json(
            {"queue": queue.name, **result.__dict__}
            | {
                "conflicts": [
                    {"item": c.item_id, "content": contents.get(c.item_id), "labels": c.labels}
                    for c in result.conflicts
                ]
            }
        )
        return 0
    if not result.items_multi:
        _log(f"queue {queue.name}: no item has labels from two annotators yet")
        return 0
    for table in agreement_tables(result, contents):
        out.print(table)
    return 0


def run_from_log(args: argparse.Namespace) -> int:
    from ..recipes.label_from_log import queue_from_log

    result = queue_from_log(
        args.model,
        args.queue,
        runs_dir_of(args),
        window=args.window,
        low_confidence=args.low_confidence,
        drifted=args.drifted,
        drift_rise=args.drift_rise,
        abstained=args.abstained,
    )
    c = result.counts
    for label, (before, now) in result.drifted_labels.items():
        _log(f"drifted: {label} is {now:.1%} of the window, {before:.1%} of the reference")
    _log(
        f"{result.doubtful} doubtful prediction(s) in the last {args.window}: {c.added} queued "
        f"in {result.queue.name}, {c.duplicates} already there"
    )
    if result.without_input:
        _log(
            f"{result.without_input} could not be queued: their inputs were not logged "
            "(serve with --log-inputs)"
        )
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from ..recipes.label import audit_labels
    from .tables import audit_table, out, print_json, step_progress

    options = {
        "text_column": args.text_column,
        "label_column": args.label_column,
        "format": args.format,
        "delimiter": args.delimiter,
    }
    bar, update = step_progress("audit")
    with bar:
        result, pushed = audit_labels(
            args.data,
            options,
            runs_dir_of(args),
            run=args.run,
            folds=args.folds,
            seed=args.seed,
            output=Path(args.output) if args.output else None,
            queue=args.queue,
            progress=update,
        )
    for note in result.notes:
        _log(note)
    if args.json:
        print_json(result.to_dict())
    else:
        out.print(audit_table(result, args.limit))
    if args.output:
        _log(f"wrote {len(result.flagged)} flagged row(s) to {args.output}")
    if pushed is not None:
        _log(
            f"queue {pushed.queue}: {pushed.added} flagged row(s) added for review, "
            f"{pushed.already_queued} already there"
        )
    return 0
