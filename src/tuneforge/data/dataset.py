"""load_dataset(cfg) → DatasetSplits: read, validate and split the files a run trains on.

Every data problem surfaces here, before a model is loaded, so a bad file fails in seconds.
The data is kept as given: duplicates are only warned about by ``tuneforge data check``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from ..config import DataConfig
from ..errors import DataError
from ..types import DatasetSplits, Example, LabelMap
from .sources import (
    LoadedFile,
    as_text,
    detect_format,
    load_examples,
    loaded_from_frame,
    read_table,
)
from .split import stratified_split
from .validate import TokenCounter, check_examples, raise_if_blocking


def _load_like_train(path: str, fmt: str | None, text: str, label: str) -> LoadedFile:
    """Use train's column names where the file has them; detect the others."""
    frame = read_table(path, fmt)
    columns = set(frame.columns)
    return loaded_from_frame(
        frame,
        path,
        detect_format(path, fmt),
        text if text in columns else None,
        label if label in columns else None,
    )


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
    feed the length checks of the training file.
    """
    if not cfg.train_file:
        raise DataError("No training file given.", hint="Pass TRAIN_FILE to tuneforge train.")
    train_file = load_examples(cfg.train_file, cfg.text_column, cfg.label_column, cfg.format)
    raise_if_blocking(check_examples(train_file, count_tokens, max_length))
    text, label = train_file.text_column, train_file.label_column
    given: dict[str, LoadedFile] = {}
    for split, path in (("val", cfg.val_file), ("test", cfg.test_file)):
        if path:
            given[split] = _load_like_train(path, cfg.format, text, label)
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
