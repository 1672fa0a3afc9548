"""``tuneforge recommend``: the best items for a known user or a history of items, from a
recommend run's item index."""

from __future__ import annotations

import argparse
import json

from ..errors import DataError
from .common import add_command, add_json, add_runs_dir, runs_dir

EXAMPLE = (
    "tuneforge recommend shop-rec --user u42 -k 10\n"
    "  tuneforge recommend shop-rec --history sku-1,sku-7 -k 5 --json"
)


def register(sub) -> None:
    p = add_command(
        sub,
        "recommend",
        "Recommend items for a user or a history, from a recommend run (train --task recommend).",
        EXAMPLE,
    )
    p.add_argument("model", help="a recommend run id, run directory or NAME@stage")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="a user of the training interactions")
    who.add_argument("--history", metavar="ITEM,ITEM", help="item ids the user met, oldest first")
    p.add_argument("-k", type=int, default=10, help="items to recommend (default 10)")
    p.add_argument(
        "--include-seen", action="store_true", help="also recommend items already in the history"
    )
    p.add_argument("--index", metavar="DIR", help="answer from this index (default: the run's own)")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.recommend import recommend
    from .tables import out

    history = None
    if args.history is not None:
        history = [i.strip() for i in args.history.split(",") if i.strip()]
        if not history:
            raise DataError("--history is empty.", hint="Give item ids: --history ITEM,ITEM")
    hits = recommend(
        args.model,
        runs_dir(args),
        user=args.user,
        history=history,
        k=args.k,
        include_seen=args.include_seen,
        index=args.index,
    )
    if args.json:
        print(json.dumps({"model": args.model, "items": [h.to_dict() for h in hits]}))
        return 0
    who = f"user {args.user}" if args.user is not None else f"history {', '.join(history or [])}"
    out.print(items_table(f"recommended for {who}", hits))
    return 0


def items_table(title: str, hits):
    """Rank, score, id, the item's text and its other fields."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left")
    for name in ("#", "score", "id", "text", "fields"):
        table.add_column(name, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        rest = {k: v for k, v in hit.fields.items() if k != "text"}
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            escape(hit.id),
            escape(str(hit.fields.get("text", ""))),
            escape(json.dumps(rest, ensure_ascii=False)) if rest else "",
        )
    return table


def print_trained(result) -> int:
    """What ``train`` prints after a recommend run: the model beside its baselines."""
    from rich.table import Table

    from ..report.ranking import ranking_rows
    from ..store import RunDir
    from .tables import out

    out.print(f"run id:  {result.run_id}")
    out.print(f"run dir: {result.run_dir}")
    splits = [("test (leave-last-out, all items)", result.eval)]
    if result.eval.get("cold_start"):
        cold = result.eval["cold_start"]
        splits.append((f"cold start ({cold['cold_items']} new items, among themselves)", cold))
    for title, figures in splits:
        table = Table(title=title, title_justify="left")
        for name in ("method", "HR@10", "NDCG@10", "Recall@20", "coverage", "users"):
            table.add_column(name, justify="left" if name == "method" else "right")
        for row in ranking_rows(figures):
            table.add_row(str(row[0]), *(f"{v:.4f}" for v in row[1:5]), str(row[5]))
        out.print(table)
    out.print(f"report:  {RunDir(result.run_dir).report_path}")
    return 0
