"""``tuneforge runs``: list, show and compare runs."""

from __future__ import annotations

import argparse
import dataclasses

from .common import add_command, add_group, add_json, add_runs_dir, runs_dir

EXAMPLE = "tuneforge runs list   |   tuneforge runs compare intents-v1 intents-v2"


def register(sub) -> None:
    runs = add_group(sub, "runs", "list, show and compare runs", "runs_command", EXAMPLE)
    p = add_command(runs, "list", "List runs from the store, newest first.", EXAMPLE)
    p.add_argument("--limit", type=int, default=30, help="newest runs to list")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_list)
    p = add_command(
        runs, "show", "Show one run as JSON: status, final metrics, report path.", EXAMPLE
    )
    p.add_argument("run", help="run id or run directory")
    add_runs_dir(p)
    p.set_defaults(func=run_show)
    p = add_command(
        runs, "compare", "Compare runs: metrics and the parameters that differ.", EXAMPLE
    )
    p.add_argument("runs", nargs="+", help="run ids or run directories")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_compare)


def run_list(args: argparse.Namespace) -> int:
    from ..recipes.runs import final_metrics
    from ..store import open_store
    from .tables import out, print_json, runs_table

    store = open_store(runs_dir(args))
    records = store.list_runs(limit=args.limit)
    finals = {r.id: final_metrics(store, r.id) for r in records}
    if args.json:
        print_json([{**dataclasses.asdict(r), "metrics": finals[r.id]} for r in records])
        return 0
    if not records:
        out.print(f"no runs yet in {runs_dir(args)}")
        return 0
    out.print(runs_table(records, finals))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Only JSON, so `tuneforge runs show RUN | jq .metrics.accuracy` works."""
    from ..store import resolve_run
    from .tables import print_json

    run = resolve_run(args.run, runs_dir(args))
    ev = run.read_json(run.eval_path.name) or {}
    metrics = {k: ev[k] for k in ("split", "n", "accuracy", "macro_f1", "weighted_f1") if k in ev}
    print_json({**run.status(), "metrics": metrics, "report": str(run.report_path)})
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from ..recipes.runs import compare_runs
    from .tables import compare_table, out, print_json

    ids, params, finals = compare_runs(args.runs, runs_dir(args))
    if args.json:
        print_json([{"run": i, "params": p, "metrics": f} for i, p, f in zip(ids, params, finals)])
        return 0
    out.print(compare_table(ids, params, finals))
    return 0
