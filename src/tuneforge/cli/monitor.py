"""``tuneforge monitor``: a served model's prediction log — statistics, drift, alerts."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_command, add_runs_dir, runs_dir

EXAMPLE = (
    "tuneforge monitor intents@production --window 30m --rules rules.yaml --watch\n"
    "  tuneforge monitor prune --older-than 30d      (blank logged inputs past 30 days)"
)
PRUNE = "prune"  # `tuneforge monitor prune`: the word stands where a model would


def register(sub) -> None:
    p = add_command(
        sub,
        "monitor",
        "Drift, confidence, latency and alert rules over a served model's prediction log.",
        EXAMPLE,
    )
    p.add_argument(
        "model",
        help="run id, run dir or NAME@stage (as served); or 'prune' to blank the logged "
        "inputs older than --older-than (a model called prune: give NAME@stage or its run dir)",
    )
    p.add_argument("--window", default="1h", help="statistics window (e.g. 30m, 1h)")
    p.add_argument("--rules", help="alert rules YAML (see tuneforge.monitor.rules)")
    p.add_argument("--watch", action="store_true", help="keep evaluating the rules")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between evaluations")
    p.add_argument("--html", help="write a page with the monitored series to this file")
    p.add_argument("--at", help="evaluate at this ISO time instead of now (replays)")
    p.add_argument(
        "--older-than",
        metavar="WINDOW",
        help="with prune: blank the inputs logged longer ago than this (30d, 12h); hashes, "
        "labels, confidences and latencies stay",
    )
    p.add_argument(
        "--name",
        help="with prune: only the predictions logged under this name (as served; default all)",
    )
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..recipes.monitor import run_monitor

    if args.model == PRUNE:
        return run_prune(args)
    if args.older_than or args.name:
        raise ConfigError(
            "--older-than and --name belong to 'tuneforge monitor prune'.",
            hint="Example: tuneforge monitor prune --older-than 30d",
        )
    _, alerts = run_monitor(
        args.model,
        runs_dir(args),
        window=args.window,
        at=args.at,
        html=args.html,
        rules_file=args.rules,
        watch_interval_s=args.interval if args.watch else None,
        show_stats=lambda stats: print(json.dumps(stats, indent=1, ensure_ascii=False)),
        log=lambda m: print(m, file=sys.stderr),
    )
    for alert in alerts:
        print(f"alert fired: {alert['rule']}", file=sys.stderr)
    return 0


def run_prune(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..recipes.monitor import run_prune as prune

    if not args.older_than:
        raise ConfigError(
            "tuneforge monitor prune needs --older-than WINDOW.",
            hint="Example: tuneforge monitor prune --older-than 30d",
        )
    result = prune(runs_dir(args), args.older_than, name=args.name, at=args.at)
    for model, cleared in result.cleared.items():
        print(f"{model}: {cleared} logged input(s) cleared")
    print(
        f"pruned {result.total} logged input(s) older than {result.window} "
        f"(before {result.cutoff}) in {result.store}",
        file=sys.stderr,
    )
    return 0
