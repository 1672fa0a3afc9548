"""load_dataset(cfg) → DatasetSplits: read, validate and split the files a run trains on.

Every data problem surfaces here, before a model is loaded, so a bad file fails in seconds.
The data is kept as given: duplicates are only warned about by ``tuneforge data check``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..config import TASKS, DataConfig
from ..errors import ConfigError, DataError
from ..types import DatasetSplits, Example, ImageExample, LabelMap
from .columns import IMAGE_COLUMNS, TEXT_CANDIDATES, as_text
from .image_files import decode_image
from .readers import image_source_reader, read_table_file, refuse_duplicate_columns, table_header
from .sources import LoadedFile, load_examples, loaded_from_table
from .split import stratified_split
from .validate import TokenCounter, check_examples, raise_if_blocking


def _load_like_train(
    cfg: DataConfig, path: str, text: str, label: str, slices_required: bool
) -> LoadedFile:
    """Use train's column names where the file has them; detect the others. The slice columns
    are read where present, and must be present in the file the test split comes from."""
    table = read_table_file(path, cfg.format, delimiter=cfg.delimiter)
    refuse_duplicate_columns(table, path)
    columns = set(table.frame.columns)
    slices = cfg.slices if slices_required else [c for c in cfg.slices if c in columns]
    return loaded_from_table(
        table, path, text if text in columns else None, label if label in columns else None, slices
    )


def evaluated_split(cfg: DataConfig) -> str:
    """The split a run is evaluated on: test, or validation when there is no test split."""
    return "test" if cfg.test_file or cfg.test_fraction > 0 else "val"


def _train_slices(cfg: DataConfig) -> tuple[str, ...]:
    """The slice columns read from the training file: all of them (checked) when the evaluated
    split is cut from it, else those it has."""
    if not cfg.slices or not getattr(cfg, f"{evaluated_split(cfg)}_file"):
        return cfg.slices
    header = set(table_header(cfg.train_file, cfg.format, delimiter=cfg.delimiter))
    return tuple(c for c in cfg.slices if c in header)


def _check_seen(loaded: LoadedFile, known: set[str], train_file: str) -> None:
    unseen = sorted({e.label for e in loaded.examples} - known)
    if not unseen:
        return
    rows = [e.row for e in loaded.examples if e.label in set(unseen)]
    more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
    raise DataError(
        f"{loaded.path}: {len(unseen)} label(s) do not occur in the training data {train_file}: "
        f"{', '.join(map(repr, unseen[:10]))}{more} (rows {', '.join(map(str, rows[:10]))}"
        f"{' ...' if len(rows) > 10 else ''}). The model could never predict them.",
        hint="Add training examples for them, or remove those rows.",
    )


def _fingerprint(splits: dict[str, list[Example]]) -> str:
    """Content hash (split, text, label, in order) so runs can tell if they saw the same data."""
    canonical = json.dumps(
        {name: [[e.text, e.label] for e in examples] for name, examples in splits.items()},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_dataset(
    cfg: DataConfig,
    count_tokens: TokenCounter | None = None,
    max_length: int = 128,
) -> DatasetSplits:
    """Train/val/test from the given files, cutting stratified splits where a file is missing.

    Every file is validated (errors raise DataError); ``count_tokens`` and ``max_length`` only
    feed the length checks of the training file. ``cfg.slices`` travel in each example's
    ``meta``; the file the evaluated split comes from must have them.
    """
    if not cfg.train_file:
        raise DataError("No training file given.", hint="Pass TRAIN_FILE to tuneforge train.")
    train_file = load_examples(
        cfg.train_file,
        cfg.text_column,
        cfg.label_column,
        cfg.format,
        delimiter=cfg.delimiter,
        slice_columns=_train_slices(cfg),
    )
    raise_if_blocking(check_examples(train_file, count_tokens, max_length))
    text, label = train_file.text_column, train_file.label_column
    given: dict[str, LoadedFile] = {}
    for split, path in (("val", cfg.val_file), ("test", cfg.test_file)):
        if path:
            required = split == evaluated_split(cfg)
            given[split] = _load_like_train(cfg, path, text, label, required)
            # An evaluation file may hold a single class; empty cells are still errors.
            raise_if_blocking(check_examples(given[split], None, max_length, min_classes=1))
            _check_seen(given[split], {e.label for e in train_file.examples}, cfg.train_file)

    train, val, test = stratified_split(
        train_file.examples,
        0.0 if "val" in given else cfg.val_fraction,
        0.0 if "test" in given else cfg.test_fraction,
        cfg.seed,
    )
    val = given["val"].examples if "val" in given else val
    test = given["test"].examples if "test" in given else test
    cut = f"split from {cfg.train_file}"
    source = {
        "train": cfg.train_file,
        "val": given["val"].path if "val" in given else cut,
        "test": given["test"].path if "test" in given else cut,
        "text_column": text,
        "label_column": label,
    }
    return DatasetSplits(
        train=train,
        val=val,
        test=test,
        labels=LabelMap.from_labels(e.label for e in train),
        fingerprint=_fingerprint({"train": train, "val": val, "test": test}),
        source=source,
    )


def examples_from_lists(texts: Sequence, labels: Sequence) -> list[Example]:
    """In-memory data (the Python API) as Examples numbered from 1, refusing empty cells."""
    if len(texts) != len(labels):
        raise DataError(
            f"{len(texts)} texts but {len(labels)} labels: they must pair up one to one."
        )
    examples = [
        Example(as_text(t), as_text(y).strip(), row)
        for row, (t, y) in enumerate(zip(texts, labels), start=1)
    ]
    for what in ("text", "label"):
        empty = [i for i, e in enumerate(examples) if not getattr(e, what).strip()]
        if empty:
            shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
            raise DataError(
                f"{len(empty)} of {len(examples)} {what}s are empty (index {shown}, 0-based).",
                hint="Fill them in or remove those examples.",
            )
    return examples


def image_examples_from_lists(images: Sequence, labels: Sequence) -> list[ImageExample]:
    """In-memory images (the Python API) as ImageExamples numbered from 1: uint8 arrays (H×W
    or H×W×C) are kept, file paths and encoded bytes are decoded (size-checked) once here."""
    if len(images) != len(labels):
        raise DataError(
            f"{len(images)} images but {len(labels)} labels: they must pair up one to one."
        )
    examples = []
    for row, (image, label) in enumerate(zip(images, labels), start=1):
        name = as_text(label).strip()
        if not name:
            raise DataError(f"Label {row - 1} (0-based) is empty.", hint="Fill it in.")
        source = str(image) if isinstance(image, (str, Path)) else ""
        if isinstance(image, (str, Path, bytes, bytearray)):
            image = decode_image(image if isinstance(image, (bytes, bytearray)) else Path(image))
        elif isinstance(image, np.ndarray) and image.ndim == 2:
            image = image[:, :, None]
        examples.append(ImageExample(image, name, row, source))
    return examples


_PIXEL_NAME = re.compile(r"(pixel|px|p)?_?\d+")


def pixel_columns(columns: Sequence[str]) -> list[str]:
    """The pixel-value columns of a table that is a CSV of pixel values (``pixel0``, ``p_1``,
    ``12``, ... for nearly every column, at least 16 of them), else []."""
    pixels = [c for c in columns if _PIXEL_NAME.fullmatch(c.lower().strip())]
    return pixels if len(columns) >= 17 and len(pixels) >= 0.9 * (len(columns) - 1) else []


def detect_task(cfg: DataConfig) -> str:
    """``text`` or ``image`` for a run's data: ``data.task`` when set, else from the source.

    Images: a folder, an IDX file, a given ``image_shape`` / ``image_column`` / ``labels_file``,
    or a table with an image-path column (``image``, ``path``, ``file``, ...) and no text
    column. A table of pixel-value columns without a shape is an error that suggests one.
    Anything unreadable counts as text, so the text reader's message explains the problem.
    """
    if cfg.task not in TASKS:
        raise ConfigError(f"data.task must be one of {', '.join(TASKS)}, got '{cfg.task}'.")
    if cfg.task != "auto":
        return cfg.task
    if not cfg.train_file:
        return "text"
    if cfg.items_file:
        return "recommend"
    if cfg.image_shape or cfg.image_column or cfg.labels_file:
        return "image"
    if cfg.text_column:
        return "text"
    path = Path(cfg.train_file)
    if image_source_reader(path).by_path:
        return "image"
    columns = table_header(path, cfg.format, delimiter=cfg.delimiter)
    lowered = {c.lower().strip() for c in columns}
    if lowered & set(IMAGE_COLUMNS) and not lowered & set(TEXT_CANDIDATES):
        return "image"
    pixels = pixel_columns(columns)
    if pixels:
        side = int(round(len(pixels) ** 0.5))
        guess = f"{side}x{side}" if side * side == len(pixels) else "HxW or HxWx3"
        raise DataError(
            f"{path} looks like a CSV of pixel values ({len(pixels)} pixel columns), but its "
            "image shape is not known.",
            hint=f"Pass --image-shape {guess} (H×W greyscale, H×W×3 colour).",
        )
    return "text"
