"""The ``tuneforge`` command: a thin table from subcommands to recipe and stage functions."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .commands import (
    cmd_compress,
    cmd_data_check,
    cmd_evaluate,
    cmd_export,
    cmd_monitor,
    cmd_predict,
    cmd_registry_list,
    cmd_registry_promote,
    cmd_registry_rollback,
    cmd_registry_show,
    cmd_runs_compare,
    cmd_runs_list,
    cmd_runs_show,
    cmd_serve,
    cmd_train,
    cmd_tune,
)
from .errors import TuneforgeError

EXAMPLES = {
    "data check": "tuneforge data check tickets.csv --text-column body --label-column intent\n"
    "  tuneforge data check photos/            (a folder of photos/<label>/*.png)",
    "train": "tuneforge train tickets.csv --epochs 5 --name intents-v1 train.lr=1e-4\n"
    "  tuneforge train digits/ --task image --name digits-v1\n"
    "  tuneforge train train-images-idx3-ubyte.gz --name mnist   |   "
    "tuneforge train pixels.csv --image-shape 28x28",
    "tune": "tuneforge tune tickets.csv --method lora --trials 20 --study intents-lora",
    "evaluate": "tuneforge evaluate intents-v1 --data new_tickets.csv\n"
    "  tuneforge evaluate digits-v1 --data more_digits/",
    "predict": 'tuneforge predict intents-v1 "where is my parcel?" --top-k 3\n'
    "  tuneforge predict digits-v1 seven.png three.jpg   |   "
    "tuneforge predict digits-v1 --input scans/",
    "runs": "tuneforge runs list   |   tuneforge runs compare intents-v1 intents-v2",
    "export": "tuneforge export intents-v1 --format onnx --quantize int8-dynamic",
    "serve": "TUNEFORGE_TOKEN=$(cat token) tuneforge serve intents@production --port 8000",
    "monitor": "tuneforge monitor intents@production --window 30m --rules rules.yaml --watch",
    "compress": "tuneforge compress intents-v1 --max-accuracy-drop 0.3",
    "registry": "tuneforge registry promote intents-v1:onnx-int8-dynamic --name intents "
    "--stage production   |   tuneforge predict intents@production 'hello'",
}


def _parser(sub, name: str, help_text: str, example_key: str | None = None):
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {EXAMPLES[example_key or name]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _runs_dir_arg(p) -> None:
    p.add_argument("--runs-dir", help="where runs live (default: $TUNEFORGE_RUNS_DIR or ./runs)")


def _columns_args(p) -> None:
    p.add_argument("--text-column", help="column with the text (default: detected)")
    p.add_argument("--label-column", help="column with the label (default: detected)")
    p.add_argument("--format", choices=["csv", "tsv", "jsonl", "parquet"], help="override format")


def _image_args(p, task: bool = True) -> None:
    """Flags of image sources (folders, path tables, IDX files, CSVs of pixel values)."""
    if task:
        p.add_argument(
            "--task",
            choices=["auto", "text", "image"],
            help="texts or images (default auto: a folder, IDX file, pixel CSV or image-path "
            "table is images)",
        )
    p.add_argument("--image-column", help="tables of image paths: the path column (detected)")
    p.add_argument(
        "--image-shape", metavar="HxW[xC]", help="marks a CSV of pixel values, e.g. 28x28"
    )
    p.add_argument("--labels-file", help="IDX images: the labels file (default: guessed)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuneforge",
        description="Fine-tune, evaluate and use text and image classifiers on a CPU, offline.",
        epilog="example:\n  tuneforge train tickets.csv && tuneforge predict <run> 'hello'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect data files").add_subparsers(
        dest="data_command", required=True
    )
    check = _parser(
        data,
        "check",
        "Report format, columns, labels and problems of a data file, or the sizes, channels, "
        "labels, unreadable files and duplicates of an image source.",
        "data check",
    )
    check.add_argument("file", help="a data file, an image folder or an IDX file")
    _columns_args(check)
    _image_args(check)
    check.add_argument("--model", default="default", help="tokenizer for length stats")
    check.add_argument("--max-length", type=int, default=128)
    check.set_defaults(func=cmd_data_check)

    train = _parser(sub, "train", "Fine-tune a classifier on labelled texts or images.")
    train.add_argument(
        "train_file",
        nargs="?",
        help="CSV/TSV/JSONL/Parquet with text and label, or images: a folder "
        "(ROOT/<label>/*.png), an IDX file, a table of image paths, a pixel CSV",
    )
    train.add_argument("--val", help="validation data (default: a stratified split of TRAIN_FILE)")
    train.add_argument("--test", help="test data (default: a stratified split of TRAIN_FILE)")
    _columns_args(train)
    _image_args(train)
    train.add_argument(
        "--model",
        help="'default' or a local Hugging Face model directory (images: default is the "
        "compact CNN; DIR an image-classification model such as ViT or ConvNeXt)",
    )
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--max-length", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--precision", choices=["auto", "bf16", "fp32"])
    train.add_argument(
        "--method",
        choices=["full", "lora", "adalora", "ia3", "prefix"],
        help="fine-tuning method (default full; adapters via peft, head always trained)",
    )
    train.add_argument(
        "--nproc",
        type=int,
        help="train on N processes with PyTorch DDP (runs itself under torchrun)",
    )
    train.add_argument("--name", help="run id to use (default: generated)")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted or failed run")
    train.add_argument("--config", help="YAML config (see configs/)")
    train.add_argument("--no-progress", action="store_true", help="no progress output")
    _runs_dir_arg(train)
    train.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. train.lr=1e-4")
    train.set_defaults(func=cmd_train)

    tune = _parser(sub, "tune", "Search hyperparameters with Optuna; every trial is a run.")
    tune.add_argument("train_file", help="CSV/TSV/JSONL/Parquet with text and label")
    tune.add_argument("--val", help="validation file (default: a stratified split of TRAIN_FILE)")
    tune.add_argument("--test", help="test file (default: a stratified split of TRAIN_FILE)")
    _columns_args(tune)
    _image_args(tune)
    tune.add_argument("--model", help="'default' or a local Hugging Face model directory")
    tune.add_argument(
        "--method", choices=["full", "lora", "adalora", "ia3", "prefix"], default="full"
    )
    tune.add_argument("--trials", type=int, default=10, help="trials to add (default 10)")
    tune.add_argument("--timeout", type=float, help="stop starting trials after S seconds")
    tune.add_argument("--space", help="YAML search space (default: the method's)")
    tune.add_argument("--jobs", type=int, default=1, help="trials in parallel threads")
    tune.add_argument(
        "--study", help="study name; an existing study resumes (default: tune-METHOD)"
    )
    tune.add_argument(
        "--storage", help="Optuna storage URL (default: the store's database; postgresql://...)"
    )
    tune.add_argument("--no-prune", action="store_true", help="run every trial to the end")
    tune.add_argument("--seed", type=int, help="data split and sampler seed")
    _runs_dir_arg(tune)
    tune.add_argument("overrides", nargs="*", metavar="key=value", help="fixed config keys")
    tune.set_defaults(func=cmd_tune)

    ev = _parser(sub, "evaluate", "Evaluate a run's model on any labelled file or image source.")
    ev.add_argument("run", help="run id or run directory")
    ev.add_argument(
        "--data", required=True, help="labelled file (image runs: folder, IDX, table, pixel CSV)"
    )
    _columns_args(ev)
    _image_args(ev, task=False)
    _runs_dir_arg(ev)
    ev.set_defaults(func=cmd_evaluate)

    pr = _parser(sub, "predict", "Predict labels for texts or images, or a file of them.")
    pr.add_argument("run", help="run id or run directory")
    pr.add_argument("texts", nargs="*", help="texts to classify (image runs: image files)")
    pr.add_argument(
        "--input",
        help="file of texts (CSV/TSV/JSONL/Parquet); image runs: a folder, an image, a list "
        "of paths (one per line) or a table with an image-path column",
    )
    pr.add_argument("--text-column")
    pr.add_argument("--image-column", help="image runs: the path column of an --input table")
    pr.add_argument("--format", choices=["csv", "tsv", "jsonl", "parquet"])
    pr.add_argument("--output", help="write predictions to .jsonl or .csv")
    pr.add_argument("--top-k", type=int, default=1)
    _runs_dir_arg(pr)
    pr.set_defaults(func=cmd_predict)

    ex = _parser(
        sub,
        "export",
        "Export a run's model (HF or ONNX, optionally quantised) and "
        "check it reproduces the trained model.",
    )
    ex.add_argument("run", help="run id or run directory")
    ex.add_argument("--format", choices=["hf", "onnx"], default="onnx")
    ex.add_argument(
        "--quantize", choices=["none", "int8-dynamic", "int8-static", "bf16"], default="none"
    )
    ex.add_argument("--output", help="artifact directory (default: RUN/artifacts/VARIANT)")
    _runs_dir_arg(ex)
    ex.set_defaults(func=cmd_export)

    co = _parser(
        sub,
        "compress",
        "Build every compressed variant, measure accuracy, size, "
        "memory and speed side by side, and recommend the fastest within tolerance.",
    )
    co.add_argument("run", help="run id or run directory")
    co.add_argument(
        "--variants",
        help="comma-separated (default: model,torch-bf16,onnx-fp32,"
        "onnx-int8-dynamic,onnx-int8-static)",
    )
    co.add_argument(
        "--max-accuracy-drop",
        type=float,
        default=0.5,
        metavar="PTS",
        help="accuracy points a variant may lose (default 0.5)",
    )
    co.add_argument("--data", help="labelled file to measure on (default: the run's test split)")
    _runs_dir_arg(co)
    co.set_defaults(func=cmd_compress)

    sv = _parser(
        sub,
        "serve",
        "Serve a model over HTTP with micro-batching, limits, auth, "
        "health checks and Prometheus metrics.",
    )
    sv.add_argument("model", help="run id, run dir, NAME@stage or artifact directory")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--variant", help="artifact variant of the run (e.g. onnx-int8-dynamic)")
    sv.add_argument("--max-batch-size", type=int, default=32)
    sv.add_argument("--max-wait-ms", type=float, default=5.0)
    sv.add_argument("--max-inputs", type=int, default=256)
    sv.add_argument("--max-chars", type=int, default=5000)
    sv.add_argument("--max-body-bytes", type=int, default=1_000_000, help="per request")
    sv.add_argument("--max-image-bytes", type=int, default=1_000_000, help="per image file")
    sv.add_argument(
        "--max-image-pixels", type=int, default=4096 * 4096, help="per image, from its header"
    )
    sv.add_argument("--overlong", choices=["reject", "truncate"], default="reject")
    sv.add_argument("--timeout", type=float, default=30.0, help="request timeout, seconds")
    sv.add_argument("--workers", type=int, default=1)
    sv.add_argument("--token-file", help="bearer token file (else $TUNEFORGE_TOKEN)")
    sv.add_argument("--no-log", action="store_true", help="do not log predictions to the store")
    sv.add_argument(
        "--log-inputs",
        action="store_true",
        help="also store the input texts (default: only their hash and length)",
    )
    _runs_dir_arg(sv)
    sv.set_defaults(func=cmd_serve)

    mo = _parser(
        sub,
        "monitor",
        "Drift, confidence, latency and alert rules over a served model's prediction log.",
    )
    mo.add_argument("model", help="run id, run dir or NAME@stage (as served)")
    mo.add_argument("--window", default="1h", help="statistics window (e.g. 30m, 1h)")
    mo.add_argument("--rules", help="alert rules YAML (see tuneforge.monitor.rules)")
    mo.add_argument("--watch", action="store_true", help="keep evaluating the rules")
    mo.add_argument("--interval", type=float, default=60.0, help="seconds between evaluations")
    mo.add_argument("--html", help="write a page with the monitored series to this file")
    mo.add_argument("--at", help="evaluate at this ISO time instead of now (replays)")
    _runs_dir_arg(mo)
    mo.set_defaults(func=cmd_monitor)

    reg = sub.add_parser("registry", help="named model versions with stages").add_subparsers(
        dest="registry_command", required=True
    )
    rl = _parser(reg, "list", "List registered models and their versions.", "registry")
    _runs_dir_arg(rl)
    rl.set_defaults(func=cmd_registry_list)
    rp = _parser(reg, "promote", "Register RUN[:VARIANT] as a new version in a stage.", "registry")
    rp.add_argument("ref", metavar="RUN[:VARIANT]")
    rp.add_argument("--name", required=True)
    rp.add_argument("--stage", required=True, choices=["staging", "production"])
    rp.add_argument("--force", action="store_true", help="promote despite a failed parity gate")
    _runs_dir_arg(rp)
    rp.set_defaults(func=cmd_registry_promote)
    rr = _parser(
        reg, "rollback", "Give a stage back to the version that held it before.", "registry"
    )
    rr.add_argument("name")
    rr.add_argument("--stage", required=True, choices=["staging", "production"])
    _runs_dir_arg(rr)
    rr.set_defaults(func=cmd_registry_rollback)
    rs = _parser(reg, "show", "Show every version of a model.", "registry")
    rs.add_argument("name")
    _runs_dir_arg(rs)
    rs.set_defaults(func=cmd_registry_show)

    runs = sub.add_parser("runs", help="list, show and compare runs").add_subparsers(
        dest="runs_command", required=True
    )
    ls = _parser(runs, "list", "List runs from the store, newest first.", "runs")
    ls.add_argument("--limit", type=int, default=30)
    _runs_dir_arg(ls)
    ls.set_defaults(func=cmd_runs_list)
    show = _parser(runs, "show", "Show one run: status, parameters, metrics.", "runs")
    show.add_argument("run")
    _runs_dir_arg(show)
    show.set_defaults(func=cmd_runs_show)
    cmp_ = _parser(runs, "compare", "Compare runs: metrics and the parameters that differ.", "runs")
    cmp_.add_argument("runs", nargs="+")
    _runs_dir_arg(cmp_)
    cmp_.set_defaults(func=cmd_runs_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may come after options (argparse alone would reject them there).
    args, extra = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that relaunch
    # Positionals given after options (train's key=value, predict's texts) land in `extra`.
    trailing = {"train": "overrides", "tune": "overrides", "predict": "texts"}.get(args.command)
    if extra:
        if trailing and not any(x.startswith("-") for x in extra):
            setattr(args, trailing, [*getattr(args, trailing), *extra])
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    debug = args.debug or bool(os.environ.get("TUNEFORGE_DEBUG"))
    try:
        return args.func(args)
    except TuneforgeError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            "Rerun with --debug for the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
