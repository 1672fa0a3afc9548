"""``tuneforge evaluate``: a run's model on any labelled file or image source."""

from __future__ import annotations

import argparse

from .common import (
    abstention,
    add_abstention,
    add_columns,
    add_command,
    add_image_source,
    add_json,
    add_runs_dir,
    add_slice,
    runs_dir,
    source_options,
)

EXAMPLE = (
    "tuneforge evaluate intents-v1 --data new_tickets.csv\n"
    "  tuneforge evaluate intents-v1 --data new_tickets.csv --slice region --slice channel\n"
    "  tuneforge evaluate digits-v1 --data more_digits/\n"
    "  tuneforge evaluate intents-v1 --data with_unknown.csv --abstain energy"
)


def register(sub) -> None:
    p = add_command(
        sub, "evaluate", "Evaluate a run's model on any labelled file or image source.", EXAMPLE
    )
    p.add_argument("run", help="run id, run directory, NAME@stage or NAME@vN")
    p.add_argument(
        "--data", required=True, help="labelled file (image runs: folder, IDX, table, pixel CSV)"
    )
    add_columns(p)
    add_image_source(p, task=False)
    add_slice(
        p,
        "also evaluate per value of this column of --data (repeat for more): accuracy, "
        "macro-F1, confidence, calibration and the gap to the overall figure",
    )
    add_abstention(p)
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.evaluate import evaluate_run
    from .tables import abstention_table, metrics_table, out, print_json, slices_tables

    report, path = evaluate_run(
        args.run,
        runs_dir(args),
        args.data,
        source_options(args),
        slices=args.slices or (),
        abstain=abstention(args),
    )
    if args.json:
        print_json({**report.to_dict(), "written": str(path)})
        return 0
    out.print(metrics_table(f"{args.data}", report.to_dict()))
    for table in slices_tables(report.to_dict().get("slices")):
        out.print(table)
    if report.abstention:
        out.print(abstention_table(report.abstention))
    out.print(f"written: {path}")
    return 0
