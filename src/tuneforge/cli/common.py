"""What several commands share: the sub-parser with its example, and the flags of runs
folders, table columns and image sources. Choice lists come from the registries."""

from __future__ import annotations

import argparse
from pathlib import Path


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written, and every option's default shown after its help — unless the
    help already states it or there is none worth showing (unset, off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, argparse.SUPPRESS)
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text


def add_command(sub, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` ends with an example."""
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=HelpFormatter,
    )


def add_group(sub, name: str, help_text: str, dest: str, example: str):
    """A command group (``data``, ``registry``, ``runs``) holding sub-commands."""
    group = add_command(sub, name, help_text, example)
    return group.add_subparsers(dest=dest, required=True)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def add_runs_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", help="where runs live (default: $TUNEFORGE_RUNS_DIR or ./runs)")


def runs_dir(args: argparse.Namespace) -> Path:
    from ..store import default_runs_dir

    return default_runs_dir(args.runs_dir)


def add_format(p: argparse.ArgumentParser, help_text: str | None = "override format") -> None:
    from ..data import TABLE_FORMATS

    p.add_argument("--format", choices=TABLE_FORMATS, help=help_text)


def add_columns(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-column", help="column with the text (default: detected)")
    p.add_argument("--label-column", help="column with the label (default: detected)")
    add_format(p)
    add_delimiter(p)


def add_delimiter(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="field separator of CSV/TSV files, e.g. ';' or tab (default: detected for .csv, "
        "tab for .tsv)",
    )


def add_slice(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--slice COLUMN``, repeatable, into ``args.slices`` (None when not given)."""
    p.add_argument("--slice", dest="slices", action="append", metavar="COLUMN", help=help_text)


def add_image_source(p: argparse.ArgumentParser, task: bool = True) -> None:
    """Flags of image sources (folders, path tables, IDX files, CSVs of pixel values)."""
    if task:
        from ..config import TASKS

        p.add_argument(
            "--task",
            choices=TASKS,
            help="texts or images (default auto: a folder, IDX file, pixel CSV or image-path "
            "table is images)",
        )
    p.add_argument("--image-column", help="tables of image paths: the path column (detected)")
    p.add_argument(
        "--image-shape", metavar="HxW[xC]", help="marks a CSV of pixel values, e.g. 28x28"
    )
    p.add_argument("--labels-file", help="IDX images: the labels file (default: guessed)")


def source_options(args: argparse.Namespace) -> dict:
    """The column and image-source flags, named as DataConfig and the tasks name them."""
    names = ("text_column", "label_column", "format", "delimiter", "image_column", "image_shape")
    options = {name: getattr(args, name, None) for name in names}
    options["labels_file"] = getattr(args, "labels_file", None)
    return options


def add_abstention(p: argparse.ArgumentParser) -> None:
    """``--abstain SCORE`` with its threshold (given, or chosen on validation for a target
    in-scope recall) and the label an abstention gets."""
    from ..evaluate.ood import SCORES

    group = p.add_argument_group("abstention (out-of-scope inputs)")
    group.add_argument(
        "--abstain",
        choices=SCORES,
        help="answer --unknown-label where this score is below the threshold: msp (calibrated "
        "max probability), energy, mahalanobis (text runs' trained model)",
    )
    group.add_argument(
        "--in-scope-recall",
        type=float,
        help="choose the threshold that keeps this share of the run's validation inputs "
        "(default 0.95)",
    )
    group.add_argument("--threshold", type=float, help="abstain below this score instead")
    group.add_argument(
        "--unknown-label", default="unknown", help="the label of an abstention (default unknown)"
    )


def abstention(args: argparse.Namespace) -> dict | None:
    """The abstention flags as ``plan_abstention`` takes them; None without ``--abstain`` (the
    other flags alone are refused: they would silently do nothing)."""
    from ..errors import ConfigError

    if args.abstain is None:
        given = [
            f
            for f, v in (
                ("--threshold", args.threshold),
                ("--in-scope-recall", args.in_scope_recall),
            )
            if v is not None
        ]
        if given:
            raise ConfigError(
                f"{' and '.join(given)} without --abstain: nothing would abstain.",
                hint="Add --abstain msp (or energy, mahalanobis).",
            )
        return None
    return {
        "score": args.abstain,
        "threshold": args.threshold,
        "recall": args.in_scope_recall,
        "unknown_label": args.unknown_label,
    }


def add_track(p: argparse.ArgumentParser) -> None:
    """``--track mlflow[=URI]`` / ``--track tensorboard[=DIR]`` (repeatable) and
    ``--track-required``: where the runs of a command are also recorded."""
    p.add_argument(
        "--track",
        action="append",
        metavar="KIND[=WHERE]",
        help="also record the run in mlflow[=URI] (default $MLFLOW_TRACKING_URI, else SQLite "
        "under RUNS_DIR/mlflow) or tensorboard[=DIR] (default RUNS_DIR/tensorboard); "
        "repeatable (default: $TUNEFORGE_TRACK, e.g. 'mlflow=http://mlflow:5000,tensorboard')",
    )
    p.add_argument(
        "--track-required",
        action="store_true",
        help="fail instead of training untracked when a tracker cannot be reached",
    )


def tracking_of(args: argparse.Namespace, root: Path):
    """The Tracking of ``--track``/``$TUNEFORGE_TRACK`` for runs under ``root`` (none: no
    tracking), its targets probed. Messages go to stderr."""
    import os
    import sys

    from ..track import Tracking, parse_targets

    if os.environ.get("RANK", "0") != "0":  # a torchrun helper rank: rank 0 alone records
        return Tracking([], checked=True)
    targets = parse_targets(args.track, root)
    if args.track_required and not targets:
        from ..errors import ConfigError

        raise ConfigError(
            "--track-required needs a tracker.",
            hint="Add --track mlflow[=URI] or --track tensorboard[=DIR] (or set $TUNEFORGE_TRACK).",
        )
    tracking = Tracking(
        targets, required=args.track_required, log=lambda m: print(m, file=sys.stderr)
    )
    return tracking.check()  # before the training stack loads: a refusal comes at once
