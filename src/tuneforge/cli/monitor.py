"""``tuneforge monitor``: a served model's prediction log — statistics, drift, alerts."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_command, add_runs_dir, runs_dir

EXAMPLE = "tuneforge monitor intents@production --window 30m --rules rules.yaml --watch"


def register(sub) -> None:
    p = add_command(
        sub,
        "monitor",
        "Drift, confidence, latency and alert rules over a served model's prediction log.",
        EXAMPLE,
    )
    p.add_argument("model", help="run id, run dir or NAME@stage (as served)")
    p.add_argument("--window", default="1h", help="statistics window (e.g. 30m, 1h)")
    p.add_argument("--rules", help="alert rules YAML (see tuneforge.monitor.rules)")
    p.add_argument("--watch", action="store_true", help="keep evaluating the rules")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between evaluations")
    p.add_argument("--html", help="write a page with the monitored series to this file")
    p.add_argument("--at", help="evaluate at this ISO time instead of now (replays)")
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.monitor import run_monitor

    _, alerts = run_monitor(
        args.model,
        runs_dir(args),
        window=args.window,
        at=args.at,
        html=args.html,
        rules_file=args.rules,
        watch_interval_s=args.interval if args.watch else None,
        show_stats=lambda stats: print(json.dumps(stats, indent=1)),
        log=lambda m: print(m, file=sys.stderr),
    )
    for alert in alerts:
        print(f"alert fired: {alert['rule']}", file=sys.stderr)
    return 0
