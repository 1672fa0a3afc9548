"""``tuneforge explain``: which words (or image regions) made the model choose a label."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, TuneforgeError
from .common import add_command, add_delimiter, add_format, add_json, add_runs_dir, runs_dir

EXAMPLE = (
    'tuneforge explain intents-v1 "where is my parcel?" --html why.html\n'
    "  tuneforge explain intents@production --variant onnx-int8-dynamic --input texts.csv\n"
    "  tuneforge explain intents-v1 --data tickets.csv --summary --limit 300\n"
    "  tuneforge explain digits-v1 seven.png --overlay-dir overlays/"
)


def register(sub) -> None:
    from ..compress.variants import TRAINED, VARIANTS

    p = add_command(
        sub,
        "explain",
        "Explain predictions: each word's (or image region's) push towards the label.",
        EXAMPLE,
    )
    p.add_argument("run", help="run id, run directory, NAME@stage or NAME@vN")
    p.add_argument("texts", nargs="*", help="texts to explain (image runs: image files)")
    p.add_argument(
        "--input",
        help="file of texts (CSV/TSV/JSONL/Parquet); image runs: a folder, an image, a list "
        "of paths or a table with an image-path column",
    )
    p.add_argument("--data", help="with --summary: the file of texts to aggregate")
    p.add_argument(
        "--summary",
        action="store_true",
        help="aggregate the attributions of --data per predicted label: the words that most "
        "often push towards each label",
    )
    p.add_argument(
        "--wrong",
        action="store_true",
        help="explain the run's most confidently wrong test examples into its "
        "explanations.json and rebuild its report.html to show them",
    )
    p.add_argument(
        "--limit",
        type=int,
        help="--summary: texts explained (default 200); --wrong: examples (default 10)",
    )
    p.add_argument("--top", type=int, default=10, help="--summary: words shown per label")
    p.add_argument(
        "--method",
        choices=("ig", "occlusion"),
        help="integrated gradients (torch models) or occlusion (any runtime) (default: ig "
        "for torch models, occlusion otherwise)",
    )
    p.add_argument(
        "--target", metavar="LABEL", help="explain this label instead of the predicted one"
    )
    p.add_argument(
        "--variant",
        choices=(TRAINED, *VARIANTS),
        help="explain this release variant of the run (default: the trained model, or the "
        "registered artifact of NAME@stage)",
    )
    p.add_argument(
        "--steps", type=int, help="integrated gradients' interpolation steps (default 32)"
    )
    p.add_argument("--html", type=Path, help="also write a self-contained HTML page here")
    p.add_argument(
        "--overlay-dir",
        type=Path,
        help="image runs: where the PNG overlays are written (default: ./explanations)",
    )
    p.add_argument("--text-column", help="column with the text in --input/--data (detected)")
    p.add_argument("--image-column", help="image runs: the path column of an --input table")
    add_format(p, "format of --input/--data (default: by extension)")
    add_delimiter(p)
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    """Flags that only make sense together, refused with what to write instead."""
    if args.summary and not args.data:
        raise ConfigError("--summary needs --data FILE (the texts to aggregate).")
    if args.data and not args.summary:
        raise ConfigError(
            "--data is read by --summary.",
            hint="Add --summary, or pass the file as --input FILE to explain each text.",
        )
    if args.summary and (args.texts or args.input or args.target or args.wrong):
        raise ConfigError("--summary takes --data FILE only (no texts, --input, --target).")
    if args.wrong and (args.texts or args.input or args.target):
        raise ConfigError("--wrong explains the run's own test split: give no inputs.")
    if not (args.summary or args.wrong or args.texts or args.input):
        raise TuneforgeError(
            "explain needs TEXT (or IMAGE file) arguments, --input FILE, --data FILE "
            "--summary, or --wrong."
        )
    if args.limit is not None and not (args.summary or args.wrong):
        raise ConfigError("--limit applies to --summary and --wrong.")
    for name in ("limit", "steps", "top"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name} must be at least 1, got {value}.")


def run(args: argparse.Namespace) -> int:
    from ..recipes import explain as recipe

    _check(args)
    options = {
        "text_column": args.text_column,
        "image_column": args.image_column,
        "format": args.format,
        "delimiter": args.delimiter,
    }
    common = {"method": args.method, "variant": args.variant, "steps": args.steps}
    if args.summary:
        result = recipe.summarize_run(
            args.run,
            runs_dir(args),
            args.data,
            options=options,
            top=args.top,
            html=args.html,
            limit=args.limit or recipe.SUMMARY_LIMIT,
            **common,
        )
    elif args.wrong:
        limit = args.limit or recipe.WRONG_LIMIT
        result = recipe.explain_wrong(args.run, runs_dir(args), limit=limit, **common)
    else:
        result = recipe.explain_run(
            args.run,
            runs_dir(args),
            args.texts,
            args.input,
            options=options,
            target=args.target,
            html=args.html,
            overlay_dir=args.overlay_dir,
            **common,
        )
    _print(args, result)
    return 0


def _print(args: argparse.Namespace, result) -> None:
    from .tables import explanation_summary_table, out, print_json

    if args.json:
        print_json(
            {
                "run": result.run.run_id,
                "method": result.method,
                "explanations": [e.to_dict() for e in result.explanations],
                **({"summary": [s.to_dict() for s in result.summary]} if args.summary else {}),
                **({"written": result.written} if result.written else {}),
                **({"html": result.html} if result.html else {}),
            }
        )
    elif args.summary:
        out.print(explanation_summary_table(result.summary))
    else:
        for explanation in result.explanations:
            out.print(_shown(explanation))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in (result.written, result.html):
        if path:
            print(f"written: {path}", file=sys.stderr)
    if args.wrong:
        print(f"report: {result.run.report_path}", file=sys.stderr)


def _shown(explanation):
    """Words coloured for a text, the overlay's path for an image."""
    from ..explain import TextExplanation
    from .tables import explanation_text, image_explanation_line

    if isinstance(explanation, TextExplanation):
        return explanation_text(explanation)
    return image_explanation_line(explanation)
