"""``tuneforge calibrate``: fit a finished run's temperature without retraining."""

from __future__ import annotations

import argparse

from .common import add_command, add_json, add_runs_dir, runs_dir

EXAMPLE = "tuneforge calibrate intents-v1"


def register(sub) -> None:
    p = add_command(
        sub,
        "calibrate",
        "Fit a run's temperature on its kept validation split (runs trained before "
        "calibration, or to refit); its variants, eval.json, profile and report follow.",
        EXAMPLE,
    )
    p.add_argument("run", help="run id, run directory, NAME@stage or NAME@vN")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.calibrate import calibrate_run
    from .tables import calibration_table, out, print_json

    result = calibrate_run(args.run, runs_dir(args))
    if args.json:
        print_json(
            {
                "run_id": result.run_id,
                "previous_temperature": result.previous,
                "calibration": result.record,
                "test": result.test,
                "written": [str(p) for p in result.written],
            }
        )
        return 0
    out.print(calibration_table(result.run_id, result.record, result.test, result.previous))
    for path in result.written:
        out.print(f"written: {path}")
    return 0
