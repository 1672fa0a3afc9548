"""``tuneforge evaluate``: a run's model on any labelled file or image source."""

from __future__ import annotations

import argparse

from .common import (
    add_columns,
    add_command,
    add_image_source,
    add_runs_dir,
    runs_dir,
    source_options,
)

EXAMPLE = (
    "tuneforge evaluate intents-v1 --data new_tickets.csv\n"
    "  tuneforge evaluate digits-v1 --data more_digits/"
)


def register(sub) -> None:
    p = add_command(
        sub, "evaluate", "Evaluate a run's model on any labelled file or image source.", EXAMPLE
    )
    p.add_argument("run", help="run id, run directory or NAME@stage")
    p.add_argument(
        "--data", required=True, help="labelled file (image runs: folder, IDX, table, pixel CSV)"
    )
    add_columns(p)
    add_image_source(p, task=False)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.evaluate import evaluate_run
    from .tables import metrics_table, out

    report, path = evaluate_run(args.run, runs_dir(args), args.data, source_options(args))
    out.print(metrics_table(f"{args.data}", report.to_dict()))
    out.print(f"written: {path}")
    return 0
