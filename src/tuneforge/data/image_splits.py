"""Image splits: train/val/test cut from image sources and fingerprinted, and a run's splits
kept as ``data/<split>.npz`` so evaluation and export see exactly the pixels training saw.

The image counterpart of :mod:`tuneforge.data.dataset`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..types import DatasetSplits, ImageExample, LabelMap
from .image_files import pixels_of
from .image_sources import LoadedImages
from .readers import read_images
from .split import stratified_split


def image_fingerprint(splits: dict[str, list[ImageExample]]) -> str:
    """Content hash of every split's images and labels, in order (lazy files by their bytes)."""
    digest = hashlib.sha256()
    for name, examples in splits.items():
        digest.update(name.encode())
        for e in examples:
            if isinstance(e.pixels, np.ndarray):
                digest.update(str(e.pixels.shape).encode())
                digest.update(np.ascontiguousarray(e.pixels).tobytes())
            else:
                digest.update(Path(e.pixels).read_bytes())
            digest.update(e.label.encode() + b"\0")
    return digest.hexdigest()[:16]


def load_image_dataset(
    train: str | Path,
    *,
    val: str | Path | None = None,
    test: str | Path | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    **source_options,
) -> DatasetSplits[ImageExample]:
    """Train/val/test images from the given sources, cutting stratified splits where one is
    missing; the image counterpart of :func:`tuneforge.data.load_dataset`.

    ``source_options`` go to :func:`read_images` (``image_column``, ``label_column``, ``shape``,
    ``labels_path`` — train's only —, ``lazy``). Any unreadable image raises DataError naming it.
    ``slice_columns`` are read from the source the evaluated split comes from (the test file,
    else the validation file when there is no test split, else the training file it is cut
    from), which must have them.
    """
    slices = tuple(source_options.pop("slice_columns", None) or ())
    evaluated = "test" if test or test_fraction > 0 else "val"
    given_files = {"val": val, "test": test}
    from_train = slices if not given_files.get(evaluated) else ()
    loaded = read_images(train, **source_options, slice_columns=from_train)
    counts = {e.label for e in loaded.examples}
    if len(counts) < 2:
        raise DataError(
            f"{train}: {len(counts)} distinct label(s) ({', '.join(map(repr, counts)) or 'none'});"
            " a classifier needs at least two classes.",
            hint="Check the label column or folder layout, or add images of the other classes.",
        )
    given: dict[str, LoadedImages] = {}
    eval_options = {k: v for k, v in source_options.items() if k != "labels_path"}
    for split, path in (("val", val), ("test", test)):
        if path:
            own = slices if split == evaluated else ()
            given[split] = read_images(path, **eval_options, slice_columns=own)
            unseen = sorted({e.label for e in given[split].examples} - counts)
            if unseen:
                raise DataError(
                    f"{path}: label(s) {', '.join(map(repr, unseen[:10]))} do not occur in the "
                    f"training data {train}; the model could never predict them.",
                    hint="Add training images for them, or remove those images.",
                )
    train_part, val_part, test_part = stratified_split(
        loaded.examples,
        0.0 if "val" in given else val_fraction,
        0.0 if "test" in given else test_fraction,
        seed,
    )
    splits = {
        "train": train_part,
        "val": given["val"].examples if "val" in given else val_part,
        "test": given["test"].examples if "test" in given else test_part,
    }
    cut = f"split from {train}"
    return DatasetSplits(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        labels=LabelMap.from_labels(e.label for e in splits["train"]),
        fingerprint=image_fingerprint(splits),
        source={
            "train": str(train),
            "val": given["val"].path if "val" in given else cut,
            "test": given["test"].path if "test" in given else cut,
            "kind": loaded.kind,
        },
    )


def save_image_split(path: str | Path, examples: list[ImageExample], featurizer) -> Path:
    """Keep a split's images in a run (``data/<split>.npz``): pixels at the model's input size
    (uint8 N×H×W×C), label names and source rows. No pickles: labels are a unicode array."""
    pixels = (
        np.stack([featurizer.conform(pixels_of(e)) for e in examples])
        if examples
        else (np.zeros((0, featurizer.height, featurizer.width, featurizer.channels), np.uint8))
    )
    # Slice columns travel as one JSON object per image (a unicode array, still no pickles).
    metas = {"meta": np.array([json.dumps(e.meta) for e in examples], dtype=str)}
    np.savez_compressed(
        path,
        pixels=pixels,
        labels=np.array([e.label for e in examples], dtype=str),
        rows=np.array([e.row for e in examples], dtype=np.int64),
        **(metas if any(e.meta for e in examples) else {}),
    )
    return Path(path)


def load_image_split(path: str | Path) -> list[ImageExample]:
    """The examples :func:`save_image_split` kept, with the file as their source (and their
    slice columns, for splits that were read with them)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            pixels, labels, rows = data["pixels"], data["labels"], data["rows"]
            metas = [json.loads(str(m)) for m in data["meta"]] if "meta" in data.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"Saved image split '{path}' cannot be read: {exc}") from None
    return [
        ImageExample(pixels[i], str(labels[i]), int(rows[i]), str(path), metas[i] if metas else {})
        for i in range(len(labels))
    ]
