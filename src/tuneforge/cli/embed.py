"""``tuneforge embed``: unit sentence embeddings of a file's texts, written as Parquet."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import add_command, add_format, add_json, add_runs_dir, runs_dir

EXAMPLE = (
    "tuneforge embed intents-v1 tickets.csv --output tickets-emb.parquet   |   "
    "tuneforge embed default faq.jsonl --output faq.parquet"
)


def register(sub) -> None:
    p = add_command(
        sub,
        "embed",
        "Sentence embeddings (mean-pooled, unit length) from a run's encoder or the base model.",
        EXAMPLE,
    )
    p.add_argument("model", help="run id, run directory, NAME@stage, NAME@vN, or default")
    p.add_argument("data", help="table of texts (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--output", required=True, help="the .parquet file to write (id, embedding)")
    p.add_argument("--text-column", help="column with the text (default: text, else the first)")
    p.add_argument("--id-column", help="column with unique ids (default: id, else the row)")
    add_format(p, "format of DATA (default: by extension)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.embed import embed_file
    from .tables import chunk_progress

    with chunk_progress("embed", enabled=not args.no_progress) as update:
        result = embed_file(
            args.model,
            runs_dir(args),
            args.data,
            Path(args.output),
            text_column=args.text_column,
            id_column=args.id_column,
            fmt=args.format,
            on_chunk=update,
        )
    summary = {"model": result.model, "count": result.count, "dim": result.dim}
    if args.json:
        print(json.dumps({**summary, "written": str(result.output)}, ensure_ascii=False))
    else:
        print(
            f"written: {result.output} ({result.count} embeddings of {result.dim} dims, "
            f"model {result.model})",
            file=sys.stderr,
        )
    return 0
