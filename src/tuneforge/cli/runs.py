"""``tuneforge runs``: list, show and compare runs."""

from __future__ import annotations

import argparse
import json

from .common import add_command, add_group, add_runs_dir, runs_dir

EXAMPLE = "tuneforge runs list   |   tuneforge runs compare intents-v1 intents-v2"


def register(sub) -> None:
    runs = add_group(sub, "runs", "list, show and compare runs", "runs_command")
    p = add_command(runs, "list", "List runs from the store, newest first.", EXAMPLE)
    p.add_argument("--limit", type=int, default=30)
    add_runs_dir(p)
    p.set_defaults(func=run_list)
    p = add_command(runs, "show", "Show one run: status, parameters, metrics.", EXAMPLE)
    p.add_argument("run")
    add_runs_dir(p)
    p.set_defaults(func=run_show)
    p = add_command(
        runs, "compare", "Compare runs: metrics and the parameters that differ.", EXAMPLE
    )
    p.add_argument("runs", nargs="+")
    add_runs_dir(p)
    p.set_defaults(func=run_compare)


def run_list(args: argparse.Namespace) -> int:
    from ..recipes.runs import final_metrics
    from ..store import open_store
    from .tables import out, runs_table

    store = open_store(runs_dir(args))
    records = store.list_runs(limit=args.limit)
    if not records:
        out.print(f"no runs yet in {runs_dir(args)}")
        return 0
    out.print(runs_table(records, {r.id: final_metrics(store, r.id) for r in records}))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..store import resolve_run
    from .tables import out

    run = resolve_run(args.run, runs_dir(args))
    out.print(json.dumps(run.status(), indent=2))
    ev = run.read_json(run.eval_path.name)
    if ev is not None:
        out.print(
            f"{ev['split']}: accuracy {ev['accuracy']:.4f}  "
            f"macro-F1 {ev['macro_f1']:.4f}  (n={ev.get('n')})"
        )
    out.print(f"report: {run.report_path}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from ..recipes.runs import compare_runs
    from .tables import compare_table, out

    ids, params, finals = compare_runs(args.runs, runs_dir(args))
    out.print(compare_table(ids, params, finals))
    return 0
