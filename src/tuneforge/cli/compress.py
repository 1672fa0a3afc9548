"""``tuneforge compress``: every release variant side by side, and the one to ship."""

from __future__ import annotations

import argparse

from .common import add_command, add_json, add_runs_dir, runs_dir

EXAMPLE = "tuneforge compress intents-v1 --max-accuracy-drop 0.3"


def register(sub) -> None:
    from ..compress.variants import COMPRESS_VARIANTS

    p = add_command(
        sub,
        "compress",
        "Build every compressed variant, measure accuracy, size, "
        "memory and speed side by side, and recommend the fastest within tolerance.",
        EXAMPLE,
    )
    p.add_argument("run", help="run id or run directory")
    p.add_argument("--variants", help=f"comma-separated (default: {','.join(COMPRESS_VARIANTS)})")
    p.add_argument(
        "--max-accuracy-drop",
        type=float,
        default=0.5,
        metavar="PTS",
        help="accuracy points a variant may lose",
    )
    p.add_argument("--data", help="labelled file to measure on (default: the run's test split)")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.compress import compress_run
    from .tables import out, print_json, step_progress, tradeoff_table

    variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
    bar, update = step_progress("variant")
    with bar:
        data = compress_run(
            args.run,
            runs_dir(args),
            variants,
            args.max_accuracy_drop,
            args.data,
            log=bar.console.print,
            progress=update,
        )
    if args.json:
        print_json(data)
        return 0
    out.print(tradeoff_table(data))
    out.print(
        f"recommended: {data['recommended']} (fastest single request within "
        f"{data['max_accuracy_drop']} accuracy points)"
    )
    return 0
