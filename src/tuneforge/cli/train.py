"""``tuneforge train``: fine-tune a classifier; ``tuneforge tune`` shares its run flags.

Settings rank defaults < ``--config FILE`` < flags < ``key=value`` overrides: a flag the user
typed beats a config file that spells out every key.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import TuneforgeError
from .common import (
    add_columns,
    add_command,
    add_image_source,
    add_runs_dir,
    add_slice,
    add_track,
    tracking_of,
)

EXAMPLE = (
    "tuneforge train tickets.csv --epochs 5 --name intents-v1 train.lr=1e-4\n"
    "  tuneforge train digits/ --task image --name digits-v1\n"
    "  tuneforge train train-images-idx3-ubyte.gz --name mnist   |   "
    "tuneforge train pixels.csv --image-shape 28x28\n"
    "  tuneforge train tickets.csv --folds 5 --name intents-cv   |   "
    "tuneforge train tickets.csv --slice region\n"
    "  tuneforge train tickets.csv --privacy dp --epsilon 8 --method lora\n"
    "  tuneforge train tickets.csv --track mlflow=http://mlflow.internal:5000 --track tensorboard\n"
    "  tuneforge train interactions.csv --task recommend --items items.csv --name shop-rec"
)


def add_run_flags(p: argparse.ArgumentParser, file_help: str, *, optional_file: bool) -> None:
    """The data, model and method flags of a run (``train`` and ``tune``)."""
    from ..methods import METHODS

    p.add_argument("train_file", nargs="?" if optional_file else None, help=file_help)
    p.add_argument("--val", help="validation data (default: a stratified split of TRAIN_FILE)")
    p.add_argument("--test", help="test data (default: a stratified split of TRAIN_FILE)")
    add_columns(p)
    add_image_source(p)
    p.add_argument(
        "--model",
        help="'default' (the packaged encoder; for text it does not cover, the best on "
        "validation of the models for any script), 'tfidf-linear' (character n-grams and a "
        "linear SVM), or a local Hugging Face model directory (images: default is the "
        "compact CNN; DIR an image-classification model such as ViT or ConvNeXt)",
    )
    p.add_argument(
        "--method",
        choices=list(METHODS),
        help="fine-tuning method (default full; adapters via peft, head always trained)",
    )
    p.add_argument(
        "--oos-label",
        help="a label of the data for out-of-scope examples (data.oos_label): trained as a "
        "class, answered as unknown by --abstain",
    )


def register(sub) -> None:
    p = add_command(sub, "train", "Fine-tune a classifier on labelled texts or images.", EXAMPLE)
    add_run_flags(
        p,
        "CSV/TSV/JSONL/Parquet with text and label, or images: a folder "
        "(ROOT/<label>/*.png), an IDX file, a table of image paths, a pixel CSV",
        optional_file=True,
    )
    p.add_argument(
        "--epochs",
        type=int,
        help="passes over the data (train.epochs; default: auto, 8 on small "
        "data and fewer on large, 20 for the compact CNN)",
    )
    p.add_argument("--batch-size", type=int, help="train.batch_size (default: text 32, image 64)")
    p.add_argument(
        "--lr", type=float, help="train.lr (default: the method's: full 2e-4, LoRA 1e-3, ...)"
    )
    p.add_argument("--max-length", type=int, help="tokens per text, model.max_length (default 128)")
    p.add_argument("--seed", type=int, help="split and training seed (default 42)")
    p.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        help="train.precision (default auto: bf16 where the CPU has it, fp32 for the CNN)",
    )
    p.add_argument(
        "--nproc",
        type=int,
        help="train on N processes with PyTorch DDP (runs itself under torchrun)",
    )
    p.add_argument("--name", help="run id to use (default: generated)")
    add_privacy_flags(p)
    add_recommend_flags(p)
    add_slice(
        p,
        "also evaluate the test split per value of this column of the data (repeat for more; "
        "data.slice_columns), into eval.json and the report",
    )
    p.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="stratified K-fold cross-validation: K runs NAME-fold1..K, each tested on its "
        "held-out fold; NAME holds every metric as mean ± std and the out-of-fold "
        "probabilities",
    )
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted or failed run")
    p.add_argument("--config", help="YAML config (see configs/); flags and key=value beat it")
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    add_track(p)
    add_runs_dir(p)
    p.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. train.lr=1e-4")
    p.set_defaults(func=run)


def add_recommend_flags(p: argparse.ArgumentParser) -> None:
    """``--items FILE`` and the interactions' columns: a recommend run (``--task recommend``)."""
    p.add_argument(
        "--items",
        metavar="FILE",
        help="recommend runs: the items (an id column, a title and metadata columns joined as "
        "the item's text); TRAIN_FILE is then the interactions (user, item, optional time)",
    )
    p.add_argument("--user-column", help="recommend runs: the interactions' user column")
    p.add_argument("--item-column", help="recommend runs: the interactions' item column")
    p.add_argument("--time-column", help="recommend runs: the interactions' time column")


def _recommend_flags(args: argparse.Namespace) -> dict:
    return {
        ("data", "items_file"): getattr(args, "items", None),
        ("data", "user_column"): getattr(args, "user_column", None),
        ("data", "item_column"): getattr(args, "item_column", None),
        ("data", "time_column"): getattr(args, "time_column", None),
    }


def add_privacy_flags(p: argparse.ArgumentParser) -> None:
    """``--privacy dp --epsilon E [--delta AUTO] [--max-grad-norm C]``: DP-SGD (Opacus)."""
    p.add_argument(
        "--privacy",
        choices=["none", "dp"],
        help="dp: differentially private training (DP-SGD through Opacus); protects the "
        "training examples, not the inputs sent to a deployed model (privacy.mode)",
    )
    p.add_argument(
        "--epsilon",
        type=float,
        help="privacy budget the run may spend, e.g. 8 (smaller: more private); with --privacy dp",
    )
    p.add_argument(
        "--delta",
        metavar="AUTO|D",
        help="privacy.delta, below 1/n (default AUTO: 1/(10 n) for n training examples)",
    )
    p.add_argument(
        "--max-grad-norm",
        type=float,
        metavar="C",
        help="per-example gradient clipping bound of --privacy dp (privacy.max_grad_norm, "
        "default 1.0)",
    )


def _privacy_flags(args: argparse.Namespace) -> dict:
    """The privacy keys of the flags given; ``--delta AUTO`` is the default rule."""
    from ..errors import ConfigError

    delta = args.delta
    if delta is not None and delta.strip().lower() == "auto":
        delta = "none"  # the config's null: 1/(10 n)
    if args.max_grad_norm is not None and args.privacy != "dp":
        raise ConfigError(
            "--max-grad-norm is the per-example clipping bound of --privacy dp.",
            hint="Add --privacy dp, or clip a normal run's gradients with train.max_grad_norm=C.",
        )
    return {
        ("privacy", "mode"): args.privacy,
        ("privacy", "epsilon"): args.epsilon,
        ("privacy", "delta"): delta,
        ("privacy", "max_grad_norm"): args.max_grad_norm,
    }


def _put(tree: dict, flags: dict) -> dict:
    for (section, key), value in flags.items():
        if value is not None:
            tree.setdefault(section, {})[key] = value
    return tree


def run_flags(args: argparse.Namespace) -> dict:
    """The config keys the user set with the flags that ``train`` and ``tune`` share; only
    flags actually given appear, so each beats a ``--config`` file's value."""
    tree: dict = {"runs_dir": args.runs_dir} if args.runs_dir else {}
    return _put(
        tree,
        {
            ("data", "train_file"): args.train_file,
            ("data", "val_file"): args.val,
            ("data", "test_file"): args.test,
            ("data", "task"): args.task,
            ("data", "text_column"): args.text_column,
            ("data", "label_column"): args.label_column,
            ("data", "image_column"): args.image_column,
            ("data", "image_shape"): args.image_shape,
            ("data", "labels_file"): args.labels_file,
            ("data", "format"): args.format,
            ("data", "delimiter"): args.delimiter,
            ("data", "oos_label"): args.oos_label,
            ("model", "name"): args.model,
            ("data", "seed"): args.seed,
            ("train", "seed"): args.seed,
            ("method", "name"): args.method,
        },
    )


def train_config(args: argparse.Namespace):
    """The run config of ``tuneforge train ARGS``: defaults < --config < flags < key=value."""
    from ..config import load_config
    from ..store import default_runs_dir

    flags = _put(
        run_flags(args),
        {
            ("model", "max_length"): args.max_length,
            ("train", "epochs"): args.epochs,
            ("train", "batch_size"): args.batch_size,
            ("train", "lr"): args.lr,
            ("train", "precision"): args.precision,
            ("data", "slice_columns"): ",".join(args.slices) if args.slices else None,
            **_privacy_flags(args),
            **_recommend_flags(args),
        },
    )
    if args.name:
        flags["name"] = args.name
    defaults = {"runs_dir": str(default_runs_dir(None))}
    return load_config(args.config, args.overrides, base=defaults, flags=flags)


def run(args: argparse.Namespace) -> int:
    from ..recipes.train import run_train
    from ..report.privacy import privacy_summary
    from ..store import RunDir
    from .tables import metrics_table, out, slices_tables

    if args.folds is not None:
        return _run_folds(args)
    if args.nproc is not None and args.nproc > 1 and args.privacy == "dp":
        from ..errors import ConfigError

        raise ConfigError(
            "--privacy dp trains on one process; distributed training (--nproc) with DP is "
            "not supported.",
            hint="Leave out --nproc.",
        )
    if args.nproc is not None and args.nproc > 1 and "LOCAL_RANK" not in os.environ:
        from ..train.distributed import relaunch_with_torchrun

        return relaunch_with_torchrun(args.argv, args.nproc)
    if not args.resume and not args.train_file and not args.config:
        raise TuneforgeError("train needs a TRAIN_FILE (or --resume RUN, or --config YAML).")
    cfg = train_config(args)
    tracking = tracking_of(args, Path(cfg.runs_dir))
    result = run_train(cfg, resume=args.resume, progress=not args.no_progress, tracking=tracking)
    if result is None:  # a helper rank of a torchrun job: rank 0 reports the run
        return 0
    if isinstance(result.eval, dict):  # a recommend run: ranking figures
        from .recommend import print_trained

        return print_trained(result)
    out.print(f"run id:  {result.run_id}")
    out.print(f"run dir: {result.run_dir}")
    evaluated = result.eval.to_dict()
    out.print(metrics_table(f"{result.eval.split} metrics", evaluated))
    for table in slices_tables(evaluated.get("slices")):
        out.print(table)
    private = privacy_summary(result.train.privacy)
    if private:
        out.print(f"privacy: {private}")
    out.print(f"report:  {RunDir(result.run_dir).report_path}")
    return 0


def _run_folds(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..recipes.cross_validate import run_cross_validation
    from .tables import folds_table, out, slices_tables

    if args.resume or (args.nproc is not None and args.nproc > 1):
        raise ConfigError(
            "--folds trains every fold from the start on one process.",
            hint="Leave out --resume and --nproc with --folds.",
        )

    if not args.train_file and not args.config:
        raise TuneforgeError("train --folds needs a TRAIN_FILE (or --config YAML).")
    cfg = train_config(args)
    result = run_cross_validation(
        cfg,
        args.folds,
        progress=not args.no_progress,
        tracking=tracking_of(args, Path(cfg.runs_dir)),
    )
    out.print(f"run id:  {result.run_id} ({args.folds} folds: {', '.join(result.fold_ids)})")
    out.print(f"run dir: {result.run_dir}")
    out.print(folds_table(result.eval))
    for table in slices_tables(result.eval.get("slices")):
        out.print(table)
    out.print(f"out-of-fold probabilities: {result.oof_path}")
    out.print(f"report:  {result.report_path}")
    return 0
