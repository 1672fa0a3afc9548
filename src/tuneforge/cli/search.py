"""``tuneforge search``: the nearest items of a query in a vector index."""

from __future__ import annotations

import argparse
import json

from .common import add_command, add_json, add_runs_dir, runs_dir

EXAMPLE = 'tuneforge search answered-index "my card was charged twice" -k 5'


def register(sub) -> None:
    p = add_command(sub, "search", "The nearest items of a text in a vector index.", EXAMPLE)
    p.add_argument("index", help="index directory (tuneforge index build)")
    p.add_argument("query", nargs="+", help="query text(s)")
    p.add_argument("-k", type=int, default=5, help="neighbours per query")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.index import search_index
    from .tables import out

    index, found = search_index(args.index, args.query, runs_dir(args), args.k)
    if args.json:
        results = [
            {"query": q, "hits": [h.to_dict() for h in hits]} for q, hits in zip(args.query, found)
        ]
        print(
            json.dumps(
                {"index": args.index, "model": index.info.model, "results": results},
                ensure_ascii=False,
            )
        )
        return 0
    for query, hits in zip(args.query, found):
        out.print(hits_table(query, hits, index.info.text_column))
    return 0


def hits_table(query: str, hits, text_column: str):
    """One query's neighbours: rank, similarity, id, the stored text, the other fields."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"nearest to: {escape(query)}", title_justify="left")
    for name in ("#", "score", "id", text_column, "fields"):
        table.add_column(name, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        rest = {k: v for k, v in hit.fields.items() if k != text_column}
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            escape(hit.id),
            escape(str(hit.fields.get(text_column, ""))),
            escape(json.dumps(rest, ensure_ascii=False)) if rest else "",
        )
    return table
