"""``tuneforge predict``: labels for texts or images, given or read from a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import TuneforgeError
from .common import add_command, add_format, add_runs_dir, runs_dir

EXAMPLE = (
    'tuneforge predict intents-v1 "where is my parcel?" --top-k 3\n'
    "  tuneforge predict digits-v1 seven.png three.jpg   |   "
    "tuneforge predict digits-v1 --input scans/"
)


def register(sub) -> None:
    p = add_command(
        sub, "predict", "Predict labels for texts or images, or a file of them.", EXAMPLE
    )
    p.add_argument("run", help="run id, run directory or NAME@stage")
    p.add_argument("texts", nargs="*", help="texts to classify (image runs: image files)")
    p.add_argument(
        "--input",
        help="file of texts (CSV/TSV/JSONL/Parquet); image runs: a folder, an image, a list "
        "of paths (one per line) or a table with an image-path column",
    )
    p.add_argument("--text-column")
    p.add_argument("--image-column", help="image runs: the path column of an --input table")
    add_format(p, None)
    p.add_argument("--output", help="write predictions to .jsonl or .csv")
    p.add_argument("--top-k", type=int, default=1)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.predict import predict_run
    from .tables import out, predictions_table, to_json_lines

    if not args.texts and not args.input:
        raise TuneforgeError("predict needs TEXT (or IMAGE file) arguments or --input FILE.")
    options = {"text_column": args.text_column, "image_column": args.image_column}
    inputs, predictions, noun = predict_run(
        args.run,
        runs_dir(args),
        args.texts,
        args.input,
        options={**options, "format": args.format},
        top_k=args.top_k,
    )
    if args.output:
        write_predictions(Path(args.output), inputs, predictions, noun)
        out.print(f"written: {args.output} ({len(inputs)} predictions)")
    elif sys.stdout.isatty() or len(inputs) <= 20:
        out.print(predictions_table(inputs, predictions, noun))
    else:
        sys.stdout.write(to_json_lines(inputs, predictions, noun))
    return 0


def write_predictions(path: Path, inputs, predictions, name: str = "text") -> None:
    """JSON lines, or a CSV of input, label and score when ``path`` ends in .csv."""
    from .tables import to_json_lines

    if path.suffix == ".csv":
        import pandas as pd

        rows = [{name: t, "label": p.label, "score": p.score} for t, p in zip(inputs, predictions)]
        pd.DataFrame(rows).to_csv(path, index=False)
    else:
        path.write_text(to_json_lines(inputs, predictions, name), encoding="utf-8")
