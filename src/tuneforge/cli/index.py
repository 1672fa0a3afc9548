"""``tuneforge index``: build a vector index over a file's texts; show what one holds."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .common import add_command, add_format, add_group, add_json, add_runs_dir, runs_dir

EXAMPLE = "tuneforge index build answered.csv --model intents-v1 --output answered-index"


def register(sub) -> None:
    group = add_group(sub, "index", "Vector indexes for semantic search.", "index_command", EXAMPLE)
    p = add_command(
        group,
        "build",
        "Embed a file's texts with a model and index them (exact up to 2,000 items, HNSW above).",
        EXAMPLE,
    )
    p.add_argument("data", help="table of texts (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--model", default="default", help="run id, NAME@stage, NAME@vN or default")
    p.add_argument("--output", help="index directory (default: <runs>/indexes/<file stem>)")
    p.add_argument("--text-column", help="column with the text (default: text, else the first)")
    p.add_argument("--id-column", help="column with unique ids (default: id, else the row)")
    p.add_argument(
        "--field",
        action="append",
        dest="fields",
        help="a column to store and answer with (repeatable; default: every column)",
    )
    add_format(p, "format of DATA (default: by extension)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_build)
    show = add_command(
        group,
        "show",
        "What an index holds and which model built it.",
        "tuneforge index show answered-index",
    )
    show.add_argument("index", help="index directory")
    show.set_defaults(func=run_show)


def run_build(args: argparse.Namespace) -> int:
    from ..recipes.index import build_index
    from .tables import chunk_progress

    with chunk_progress("index", enabled=not args.no_progress) as update:
        index, written = build_index(
            args.data,
            args.model,
            runs_dir(args),
            Path(args.output) if args.output else None,
            text_column=args.text_column,
            id_column=args.id_column,
            fields=args.fields,
            fmt=args.format,
            on_chunk=update,
        )
    info = index.info
    if args.json:
        print(json.dumps({**asdict(info), "written": str(written)}, ensure_ascii=False))
    else:
        print(
            f"written: {written} ({info.count} items, {info.kind} index, model {info.model})",
            file=sys.stderr,
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..embed import VectorIndex

    print(json.dumps(asdict(VectorIndex.load(args.index).info), indent=1, ensure_ascii=False))
    return 0
