"""``tuneforge predict``: labels for texts or images, given or read from a file."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import TuneforgeError
from .common import (
    abstention,
    add_abstention,
    add_command,
    add_delimiter,
    add_format,
    add_json,
    add_runs_dir,
    runs_dir,
)

EXAMPLE = (
    'tuneforge predict intents-v1 "where is my parcel?" --top-k 3\n'
    '  tuneforge predict intents-v1 "what is the weather" --abstain msp --in-scope-recall 0.95\n'
    "  tuneforge predict digits-v1 seven.png three.jpg   |   "
    "tuneforge predict digits-v1 --input scans/\n"
    "  tuneforge predict intents@production --input tickets/ --output preds.parquet --resume\n"
    "  tuneforge predict intents@production --input tickets/ --output preds.parquet --engine ray"
)


def register(sub) -> None:
    p = add_command(
        sub, "predict", "Predict labels for texts or images, or a file of them.", EXAMPLE
    )
    p.add_argument("run", help="run id, run directory, NAME@stage or NAME@vN")
    p.add_argument(
        "texts",
        nargs="*",
        help="texts to classify (image runs: image files); '-': texts from stdin, one per line",
    )
    p.add_argument(
        "--input",
        help="file of texts (CSV/TSV/JSONL/Parquet); image runs: a folder, an image, a list "
        "of paths (one per line) or a table with an image-path column; '-': stdin",
    )
    p.add_argument("--text-column", help="column with the text in --input (default: detected)")
    p.add_argument("--image-column", help="image runs: the path column of an --input table")
    add_format(p, "format of --input (default: by extension)")
    add_delimiter(p)
    p.add_argument(
        "--output",
        help="write predictions to .parquet, .csv or .jsonl in chunks (any input size, "
        "bounded memory, the input's order, an id column); '-': JSON lines on stdout",
    )
    p.add_argument(
        "--id-column",
        help="column of --input whose values are the output's ids (default: a column 'id' "
        "if there is one, else the row number from 0)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="go on with an interrupted --output job from the rows it finished",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing --output (once finished)"
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="with --output: predict in this process (local), or on Ray Data's pool of "
        "workers (ray; a cluster on this machine unless --ray-address)",
    )
    p.add_argument(
        "--ray-address",
        default=os.environ.get("RAY_ADDRESS"),
        help="the Ray cluster to join, HOST:PORT (default: $RAY_ADDRESS, else start one here)",
    )
    p.add_argument(
        "--workers", type=int, help="--engine ray: predictors at once (default: one per CPU)"
    )
    p.add_argument(
        "--chunk-rows",
        type=int,
        help="rows read, predicted and written at a time with --output (default: 16384)",
    )
    p.add_argument("--top-k", type=int, default=1, help="alternatives per input")
    add_abstention(p)
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.predict import predict_run
    from .tables import out, predictions_table, to_json_lines

    texts = _stdin_texts(args.texts)
    if not texts and not args.input:
        raise TuneforgeError("predict needs TEXT (or IMAGE file) arguments or --input FILE.")
    options = {"text_column": args.text_column, "image_column": args.image_column}
    abstain = abstention(args)
    options |= {"id_column": args.id_column, "format": args.format, "delimiter": args.delimiter}
    with _stdin_file(args.input) as input_file:
        if args.output and args.output != "-":
            return _to_file(args, texts, input_file, options, abstain)
        if args.engine != "local":
            raise TuneforgeError(
                f"--engine {args.engine} writes its predictions to a file: add --output FILE."
            )
        inputs, predictions, noun = predict_run(
            args.run,
            runs_dir(args),
            texts,
            input_file,
            options=options,
            top_k=args.top_k,
            abstain=abstain,
        )
    if args.json or args.output == "-" or not sys.stdout.isatty():
        # Pipes and files get one JSON object per line: what `jq` and scripts expect.
        sys.stdout.write(to_json_lines(inputs, predictions, noun))
    else:
        out.print(predictions_table(inputs, predictions, noun))
    return 0


def _to_file(args, texts, input_file, options, abstain) -> int:
    """The chunked, resumable path: progress with rows/s, and a word on how to go on when
    stopped (exit 130, every finished chunk kept)."""
    from ..batch.engines import EngineOptions
    from ..recipes.predict import predict_file
    from .tables import rows_progress

    output = Path(args.output)
    try:
        with rows_progress("predict") as update:
            done = predict_file(
                args.run,
                runs_dir(args),
                input_file,
                output,
                given=texts,
                options=options,
                top_k=args.top_k,
                abstain=abstain,
                resume=args.resume,
                overwrite=args.overwrite,
                chunk_rows=args.chunk_rows,
                engine=args.engine,
                engine_options=EngineOptions(args.workers, args.ray_address),
                progress=update,
            )
    except KeyboardInterrupt:
        print(
            f"stopped: the finished chunks are kept in {output}.parts; "
            "run the same command with --resume to go on.",
            file=sys.stderr,
        )
        return 130
    if done.complete_already:
        print(f"{output} is complete already: nothing to resume.", file=sys.stderr)
        return 0
    went_on = f", {done.resumed_from} of them before resuming" if done.resumed_from else ""
    rate = (done.rows - done.resumed_from) / max(done.seconds, 1e-9)
    print(
        f"written: {output} ({done.rows} predictions{went_on}; {rate:,.0f} rows/s)",
        file=sys.stderr,
    )
    return 0


def _stdin_texts(texts: list[str]) -> list[str]:
    """``-`` among the texts stands for stdin's lines (empty lines skipped)."""
    if "-" not in texts:
        return list(texts)
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    read = [line for line in lines if line.strip()]
    return [t for text in texts for t in (read if text == "-" else [text])]


@contextmanager
def _stdin_file(path: str | None) -> Iterator[str | None]:
    """``--input -``: stdin saved to a temporary file for the block, so every reader (and
    format detection, which looks at the bytes) works on it as on any other file."""
    if path != "-":
        yield path
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "stdin.txt"
        saved.write_bytes(sys.stdin.buffer.read())
        yield str(saved)
