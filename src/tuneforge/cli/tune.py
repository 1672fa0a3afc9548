"""``tuneforge tune``: an Optuna search whose every trial is a run."""

from __future__ import annotations

import argparse

from .common import add_command, add_runs_dir, add_track, runs_dir, tracking_of
from .train import add_run_flags, run_flags

EXAMPLE = (
    "tuneforge tune tickets.csv --method lora --trials 20 --study intents-lora\n"
    "  tuneforge tune tickets.csv --trials 20 --track mlflow   "
    "(the study is an MLflow run, each trial a child run)"
)


def register(sub) -> None:
    p = add_command(
        sub, "tune", "Search hyperparameters with Optuna; every trial is a run.", EXAMPLE
    )
    add_run_flags(p, "CSV/TSV/JSONL/Parquet with text and label", optional_file=False)
    p.set_defaults(method="full")
    p.add_argument("--trials", type=int, default=10, help="trials to add (default 10)")
    p.add_argument("--timeout", type=float, help="stop starting trials after S seconds")
    p.add_argument("--space", help="YAML search space (default: the method's)")
    p.add_argument("--jobs", type=int, default=1, help="trials in parallel threads")
    p.add_argument("--study", help="study name; an existing study resumes (default: tune-METHOD)")
    p.add_argument(
        "--storage", help="Optuna storage URL (default: the store's database; postgresql://...)"
    )
    p.add_argument("--no-prune", action="store_true", help="run every trial to the end")
    p.add_argument("--seed", type=int, help="data split and sampler seed")
    add_track(p)
    add_runs_dir(p)
    p.add_argument("overrides", nargs="*", metavar="key=value", help="fixed config keys")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.tune import run_tune
    from ..store import default_store_url, study_dir
    from ..tune import TuneConfig, default_space, load_space
    from .tables import out, step_progress, trials_table

    root = runs_dir(args)
    tracking = tracking_of(args, root)
    flags = {"runs_dir": str(root), **run_flags(args)}
    space = load_space(args.space) if args.space else default_space(args.method)
    cfg = TuneConfig(
        study=args.study or f"tune-{args.method}",
        storage=args.storage or default_store_url(root),
        trials=args.trials,
        timeout_s=args.timeout,
        jobs=args.jobs,
        prune=not args.no_prune,
        seed=args.seed if args.seed is not None else 42,
    )
    bar, update = step_progress("trial")

    def on_trial(done: int, total: int, best: float | None) -> None:
        shown = "no trial complete yet" if best is None else f"best val macro-F1 {best:.4f}"
        update(done, total, shown)

    with bar:
        update(0, cfg.trials, "starting")
        result = run_tune(
            flags,
            args.overrides,
            space,
            cfg,
            log=bar.console.print,
            progress=on_trial,
            tracking=tracking,
        )
    out.print(trials_table(result))
    if result.best_run_id:
        out.print(f"best run: {result.best_run_id}  ({root / result.best_run_id})")
    out.print(f"report:   {study_dir(root, cfg.study) / 'report.html'}")
    return 0
