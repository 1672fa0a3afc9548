"""``tuneforge data check``: what a data file or image source holds, and what is wrong with it."""

from __future__ import annotations

import argparse

from .common import add_columns, add_command, add_group, add_image_source, add_json

EXAMPLE = (
    "tuneforge data check tickets.csv --text-column body --label-column intent\n"
    "  tuneforge data check photos/            (a folder of photos/<label>/*.png)"
)


def register(sub) -> None:
    data = add_group(sub, "data", "inspect data files", "data_command", EXAMPLE)
    check = add_command(
        data,
        "check",
        "Report format, columns, labels and problems of a data file, or the sizes, channels, "
        "labels, unreadable files and duplicates of an image source.",
        EXAMPLE,
    )
    check.add_argument("file", help="a data file, an image folder or an IDX file")
    add_columns(check)
    add_image_source(check)
    check.add_argument("--model", default="default", help="tokenizer for length stats")
    check.add_argument(
        "--max-length", type=int, default=128, help="token limit that length warnings use"
    )
    add_json(check)
    check.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import DataConfig
    from ..tasks import task_name

    cfg = DataConfig(
        args.file,
        task=args.task or "auto",
        text_column=args.text_column,
        format=args.format,
        delimiter=args.delimiter,
        image_column=args.image_column,
        image_shape=args.image_shape,
        labels_file=args.labels_file,
    )
    return _check_images(args) if task_name(cfg) == "image" else _check_table(args)


def _check_images(args: argparse.Namespace) -> int:
    from ..data import check_images, format_image_check

    report = check_images(
        args.file,
        image_column=args.image_column,
        label_column=args.label_column,
        shape=args.image_shape,
        labels_path=args.labels_file,
    )
    _show(args, report, format_image_check)
    return 1 if report.blocking else 0


def _check_table(args: argparse.Namespace) -> int:
    from ..data import check_file, format_check_report
    from ..models import load_tokenizer, resolve_model_dir
    from ..models.tokens import count_tokens

    tokenizer = load_tokenizer(resolve_model_dir(args.model))
    report = check_file(
        args.file,
        args.text_column,
        args.label_column,
        args.format,
        count_tokens=lambda texts: count_tokens(tokenizer, texts),
        max_length=args.max_length,
        delimiter=args.delimiter,
        tokenizer=tokenizer,
        model_name=args.model,
    )
    _show(args, report, format_check_report)
    return 1 if report.blocking else 0


def _show(args: argparse.Namespace, report, formatted) -> None:
    if args.json:
        import dataclasses

        from .tables import print_json

        print_json({**dataclasses.asdict(report), "blocking": report.blocking})
    else:
        print(formatted(report))
