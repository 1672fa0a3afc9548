"""Image sources: folders of labelled images, tables of image paths, MNIST-style IDX files
and CSVs of pixel values, each read into :class:`~tuneforge.types.ImageExample` lists.

Readers either raise on the first bad file (training) or, given a ``bad`` list, record every bad
file and go on (``data check`` reports them all at once). Which reader a path gets is decided by
the table in :mod:`tuneforge.data.readers`.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from ..types import ImageExample
from .columns import (
    IMAGE_COLUMNS,
    LABEL_CANDIDATES,
    as_text,
    pick_column,
    require_column,
    slice_values,
)
from .image_files import IMAGE_SUFFIXES, BadImage, read_image_file
from .table_files import missing_file

if TYPE_CHECKING:
    import pandas as pd

MAX_IDX_BYTES = 2**31  # all of MNIST is 55 MB; more than this from one IDX file is an accident


@dataclass(frozen=True)
class LoadedImages:
    """The examples of one image source and how they were read (for reports and run records)."""

    path: str
    kind: str  # folder | table | idx | pixels
    examples: list[ImageExample]
    bad: list[BadImage] = field(default_factory=list)


def load_image_folder(
    root: str | Path, *, lazy: bool = False, bad: list[BadImage] | None = None
) -> list[ImageExample]:
    """``root/<label>/<image>``: the folder name is the label; other files are ignored."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"Image folder '{root}' does not exist.")
    examples: list[ImageExample] = []
    files = (
        (path, label_dir.name)
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir())
        for path in sorted(label_dir.iterdir())
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )
    for position, (path, label) in enumerate(files, start=1):
        pixels = read_image_file(path, lazy, bad)
        if pixels is not None:
            examples.append(ImageExample(pixels, label, position, str(path)))
    if not examples and not bad:
        raise DataError(
            f"Image folder '{root}' holds no images in label sub-folders.",
            hint=f"Lay it out as {root}/<label>/<image> with {', '.join(IMAGE_SUFFIXES)} files.",
        )
    return examples


def images_from_table(
    frame: pd.DataFrame,
    path: str | Path,
    image_column: str | None = None,
    label_column: str | None = None,
    *,
    lazy: bool = False,
    bad: list[BadImage] | None = None,
    slice_columns: Sequence[str] = (),
) -> list[ImageExample]:
    """The images a table read from ``path`` names, by paths relative to the table's folder.

    ``row`` is the 1-based data row, as in text tables. Columns are detected when not given.
    ``slice_columns`` are read into each image's ``meta`` (as text tables read them).
    """
    path = Path(path)
    columns = list(frame.columns)
    label = (
        require_column(columns, path, label_column, "--label-column")
        if label_column
        else pick_column(columns, LABEL_CANDIDATES, None)
    )
    image = (
        require_column(columns, path, image_column, "--image-column")
        if image_column
        else pick_column(columns, IMAGE_COLUMNS, label)
    )
    if image is None or label is None:
        numeric = all(c.strip().lstrip("-").replace(".", "").isdigit() for c in columns[:-1])
        raise DataError(
            f"{path}: cannot tell which column holds the image paths and which the labels "
            f"(columns: {', '.join(columns[:12])}{' ...' if len(columns) > 12 else ''}).",
            hint="A CSV of pixel values needs --image-shape HxW[xC]."
            if numeric
            else "Pass --image-column and --label-column.",
        )
    metas = slice_values(frame, path, slice_columns) if slice_columns else [{}] * len(frame)
    examples = []
    for row, (file, name, meta) in enumerate(zip(frame[image], frame[label], metas), start=1):
        name, file = as_text(name).strip(), as_text(file).strip()
        if not name or not file:
            what = "label" if not name else "image path"
            raise DataError(f"{path}, row {row}: the {what} is empty.", hint="Fill it in.")
        pixels = read_image_file(path.parent / file, lazy, bad, row, f"{path}, row {row}: ")
        if pixels is not None:
            examples.append(ImageExample(pixels, name, row, str(path.parent / file), dict(meta)))
    return examples


def _read_idx(path: Path) -> np.ndarray:
    """An unsigned-byte IDX array (magic 0x00 0x00 0x08 ndim, big-endian dims, then data)."""
    if not path.is_file():
        raise DataError(f"IDX file '{path}' does not exist.")
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    try:  # read at most the limit: a gzip bomb must not fill the memory
        with gzip.open(path) if gzipped else path.open("rb") as fh:
            raw = fh.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise DataError(f"'{path}' is not valid gzip data: {exc}.") from None
    if len(raw) > MAX_IDX_BYTES:
        raise DataError(f"'{path}' holds more than {MAX_IDX_BYTES:,} bytes; refusing to load it.")
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(
            f"'{path}' is not an unsigned-byte IDX file (bad magic number).",
            hint="Pass the MNIST-style images/labels files (e.g. train-images-idx3-ubyte.gz).",
        )
    ndim, header = raw[3], 4 + 4 * raw[3]
    if len(raw) < header:
        raise DataError(f"'{path}' is truncated inside its header.")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if body.size != int(np.prod(dims)):
        raise DataError(f"'{path}' is truncated: header says {dims}, data holds {body.size} bytes.")
    return body.reshape(dims)


def is_idx_file(path: str | Path) -> bool:
    """MNIST's naming (``...-ubyte``, optionally gzipped) or an ``.idx`` / ``.idx.gz`` name."""
    name = Path(path).name.lower()
    return "ubyte" in name or name.endswith((".idx", ".idx.gz"))


def idx_labels_path(images_path: str | Path) -> Path:
    """MNIST's naming: ``train-images-idx3-ubyte[.gz]`` → ``train-labels-idx1-ubyte[.gz]``."""
    path = Path(images_path)
    return path.with_name(path.name.replace("images", "labels").replace("idx3", "idx1"))


def load_idx(images_path: str | Path, labels_path: str | Path | None = None) -> list[ImageExample]:
    """An MNIST-style IDX pair (optionally gzipped): N×H×W[×C] images and N labels."""
    labels_path = Path(labels_path) if labels_path else idx_labels_path(images_path)
    if Path(labels_path) == Path(images_path):
        raise DataError(
            f"Cannot guess the labels file for IDX images '{images_path}'.",
            hint="Pass the labels file (e.g. --labels-file train-labels-idx1-ubyte.gz).",
        )
    images, labels = _read_idx(Path(images_path)), _read_idx(labels_path)
    if images.ndim not in (3, 4) or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"IDX files '{images_path}' and '{labels_path}' do not pair up: images "
            f"{images.shape} (need N×H×W or N×H×W×C), labels {labels.shape} (need N)."
        )
    pixels = images[..., None] if images.ndim == 3 else images
    return [
        ImageExample(pixels[i], str(int(labels[i])), i + 1, str(images_path))
        for i in range(len(labels))
    ]


def parse_shape(text: str) -> tuple[int, int, int]:
    """``28x28`` or ``32x32x3`` → (H, W, C)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3) or min(parts) < 1 or (len(parts) == 3 and parts[2] not in (1, 3)):
        raise DataError(
            f"Image shape '{text}' is not HxW or HxWxC (C = 1 or 3), e.g. 28x28 or 32x32x3."
        )
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else 1)


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def load_pixel_csv(
    path: str | Path, shape: str, label_column: str | None = None
) -> list[ImageExample]:
    """One image per row: H·W·C pixel values (0–255, row-major) and a label.

    The label column is the one named, else a header's ``label``-like column, else the last.
    A header is recognised by non-numeric names among the pixel columns. ``row`` is the 1-based
    data row.
    """
    import pandas as pd

    path = Path(path)
    h, w, c = parse_shape(shape)
    if not path.is_file():
        raise missing_file(path)
    try:
        first = [str(v) for v in pd.read_csv(path, header=None, nrows=1, dtype=str).iloc[0]]
        has_header = label_column is not None or not all(map(_is_number, first[:-1]))
        if has_header:
            label = (
                require_column(first, path, label_column, "--label-column")
                if label_column
                else pick_column(first, LABEL_CANDIDATES, None) or first[-1]
            )
        # Labels stay text ("007" is not 7); pixel columns parse as numbers in C, quickly.
        key: str | int = label if has_header else len(first) - 1
        frame = pd.read_csv(path, header=0 if has_header else None, dtype={key: str})
    except (ValueError, OSError) as exc:  # parser errors, bad gzip data, empty file
        raise DataError(f"{path} could not be parsed as a CSV of pixel values: {exc}") from None
    labels, pixels = frame[key], frame.drop(columns=[key])
    if pixels.shape[1] != h * w * c:
        side = int(round(pixels.shape[1] ** 0.5))
        guess = f" ({side}x{side}?)" if side * side == pixels.shape[1] else ""
        raise DataError(
            f"{path}: rows hold {pixels.shape[1]} pixel values{guess} besides the label column "
            f"'{key}', but shape {shape} needs {h * w * c}.",
            hint="Pass the image shape with --image-shape HxW or HxWxC.",
        )
    values = pixels.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > 255) | (values != np.round(values))
    if bad.any():
        r, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{path}, row {r + 1}, column '{pixels.columns[col]}': pixel value "
            f"{pixels.iat[r, col]!r} is not a whole number in 0–255.",
            hint="Scale pixel values to 0–255 integers (e.g. multiply 0–1 floats by 255).",
        )
    names = [as_text(y).strip() for y in labels]
    empty = [i + 1 for i, y in enumerate(names) if not y]
    if empty:
        raise DataError(f"{path}: empty label in row(s) {', '.join(map(str, empty[:10]))}.")
    images = values.astype(np.uint8).reshape(-1, h, w, c)
    return [ImageExample(images[i], names[i], i + 1, str(path)) for i in range(len(images))]
