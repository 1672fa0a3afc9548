"""load_dataset(cfg) → DatasetSplits: read, validate and split the files a run trains on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from ..config import DataConfig
from ..errors import DataError
from ..types import DatasetSplits, Example, LabelMap
from .sources import load_examples
from .split import stratified_split
from .validate import check_examples, raise_if_blocking


def _load_checked(
    path: str, cfg: DataConfig, text: str | None, label: str | None, count_tokens, max_length: int
):
    loaded = load_examples(path, text, label, cfg.format)
    report = check_examples(loaded, count_tokens, max_length)
    if path != cfg.train_file:
        # One class is fine in an evaluation file; empty texts/labels are not.
        report.problems = [p for p in report.problems if "two classes" not in p.message]
    raise_if_blocking(report)
    return loaded


def _fingerprint(splits: dict[str, list[Example]]) -> str:
    digest = hashlib.sha256()
    for name, examples in splits.items():
        for e in examples:
            digest.update(f"{name}\x1f{e.text}\x1f{e.label}\x1e".encode())
    return digest.hexdigest()[:16]


def load_dataset(
    cfg: DataConfig,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    max_length: int = 128,
) -> DatasetSplits:
    """Train/val/test from the given files, cutting stratified splits where a file is missing."""
    if not cfg.train_file:
        raise DataError("No training file given.", hint="Pass TRAIN_FILE to tuneforge train.")
    train_file = _load_checked(
        cfg.train_file, cfg, cfg.text_column, cfg.label_column, count_tokens, max_length
    )
    text, label = train_file.text_column, train_file.label_column
    extra = {}
    for split, path in (("val", cfg.val_file), ("test", cfg.test_file)):
        if path:
            try:
                extra[split] = _load_checked(path, cfg, text, label, None, max_length)
            except DataError as exc:
                if cfg.text_column or cfg.label_column or "no column" not in exc.message:
                    raise
                extra[split] = _load_checked(path, cfg, None, None, None, max_length)
    train, val, test = stratified_split(
        train_file.examples,
        0.0 if "val" in extra else cfg.val_fraction,
        0.0 if "test" in extra else cfg.test_fraction,
        cfg.seed,
    )
    val = extra["val"].examples if "val" in extra else val
    test = extra["test"].examples if "test" in extra else test
    labels = LabelMap.from_labels(e.label for e in train)
    for split, examples in (("val", val), ("test", test)):
        unseen = sorted({e.label for e in examples} - set(labels.names))
        if unseen:
            rows = [e.row for e in examples if e.label in set(unseen)]
            source = extra[split].path if split in extra else cfg.train_file
            raise DataError(
                f"{source}: labels {', '.join(map(repr, unseen[:10]))} (rows "
                f"{', '.join(map(str, rows[:10]))}) do not occur in the training data "
                f"{cfg.train_file}.",
                hint="Add training examples for them, or remove those rows.",
            )
    cut = f"split from {cfg.train_file}"
    source = {
        "train": cfg.train_file,
        "val": extra["val"].path if "val" in extra else cut,
        "test": extra["test"].path if "test" in extra else cut,
        "text_column": text,
        "label_column": label,
    }
    return DatasetSplits(
        train, val, test, labels, _fingerprint({"train": train, "val": val, "test": test}), source
    )


def examples_from_lists(texts: Sequence[str], labels: Sequence[str]) -> list[Example]:
    """In-memory data (the Python API) as Examples, rejecting empty texts or labels by index."""
    if len(texts) != len(labels):
        raise DataError(f"{len(texts)} texts but {len(labels)} labels: they must match.")
    out = []
    for i, (text, label) in enumerate(zip(texts, labels)):
        if text is None or not str(text).strip() or label is None or not str(label).strip():
            raise DataError(f"Example {i} has an empty text or label.")
        out.append(Example(str(text), str(label).strip(), i + 1))
    return out
