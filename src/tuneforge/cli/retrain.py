"""``tuneforge retrain``: a registered model plus a queue's new labels → a candidate, compared
with production on one fixed evaluation set, promoted only when it gains enough."""

from __future__ import annotations

import argparse
import sys

from .common import add_command, add_json, add_runs_dir, add_track, runs_dir, tracking_of

EXAMPLE = (
    "tuneforge retrain intents@production --queue support --min-gain 0.01 --dry-run\n"
    "  tuneforge retrain intents@production --queue support --track mlflow=http://mlflow:5000"
)


def register(sub) -> None:
    from ..config import RETRAIN_HOLDOUT, RETRAIN_MIN_GAIN

    p = add_command(
        sub,
        "retrain",
        "Retrain a registered model with a queue's new labels; promote it only if it is better "
        "on the same evaluation set.",
        EXAMPLE,
    )
    p.add_argument("model", help="the registered model to improve, NAME@stage")
    p.add_argument("--queue", required=True, metavar="NAME", help="the queue with the new labels")
    p.add_argument(
        "--min-gain",
        type=float,
        default=RETRAIN_MIN_GAIN,
        help="promote only when candidate accuracy − production accuracy is at least this",
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=RETRAIN_HOLDOUT,
        help="share of the new labels held back for the comparison (stratified)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the new labels' split")
    p.add_argument("--dry-run", action="store_true", help="show the plan; train nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_track(p)
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.retrain import run_retrain
    from .tables import out, print_json, retrain_table

    result = run_retrain(
        args.model,
        args.queue,
        runs_dir(args),
        holdout=args.holdout,
        min_gain=args.min_gain,
        seed=args.seed,
        dry_run=args.dry_run,
        progress=not args.no_progress,
        tracking=tracking_of(args, runs_dir(args)),
    )
    record = {
        "plan": result.plan.summary(),
        "decision": result.decision,
        "candidate": result.candidate.run_id if result.candidate else None,
        "comparison": result.comparison.to_dict() if result.comparison else None,
        "promoted": f"{result.promoted.name} v{result.promoted.version}"
        if result.promoted
        else None,
    }
    if args.json:
        print_json(record)
    else:
        out.print(retrain_table(record))
    if result.candidate is not None:
        print(f"report: {result.candidate.retrain_report_path}", file=sys.stderr)
    print(result.decision, file=sys.stderr)
    return 0 if args.dry_run or result.promoted else 3
