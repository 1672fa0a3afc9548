"""Image data: folders of labelled images, tables of image paths, MNIST-style IDX files and
CSVs of pixel values, all read into :class:`~tuneforge.types.ImageExample` lists.

Images are decoded with Pillow. Their size is checked from the header before any pixel is
decoded (a small file that expands to gigapixels is refused, not decoded), and every unreadable
file is named in the error. Readers either raise on the first bad file (training) or, given a
``bad`` list, record every bad file and go on (``data check`` reports them all at once).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..types import DatasetSplits, ImageExample, LabelMap
from .sources import LABEL_CANDIDATES, _missing_file, _pick, _require, as_text, read_table
from .split import stratified_split

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_PIXELS = 40_000_000  # per image: far beyond any classifier input, far below a bomb
MAX_IDX_BYTES = 2**31  # all of MNIST is 55 MB; more than this from one IDX file is an accident
IMAGE_COLUMNS = ("image", "image_path", "path", "file", "filename", "img")
_GREY_MODES = ("1", "L", "LA", "I;16", "I;16B", "I;16L")
_REPLACE = "Remove or replace the file; `tuneforge data check` lists every bad file at once."


@dataclass(frozen=True)
class BadImage:
    """A file that could not be used and why, e.g. "is not a readable image: ..." (``row``: the
    table row that named it, or 0)."""

    path: str
    reason: str
    row: int = 0


@dataclass(frozen=True)
class LoadedImages:
    """The examples of one image source and how they were read (for reports and run records)."""

    path: str
    kind: str  # folder | table | idx | pixels
    examples: list[ImageExample]
    bad: list[BadImage] = field(default_factory=list)


def _open_checked(source, name: str):
    """Open lazily (header only) and refuse oversized images before decoding a single pixel."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(source)
    except Image.DecompressionBombError as exc:  # Pillow's own limit, when set below ours
        raise DataError(f"Image '{name}' is too large to decode safely: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"Image '{name}' is not a readable image: {exc}", hint=_REPLACE) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise DataError(
            f"Image '{name}' is too large to decode safely: {width}x{height} pixels, the limit "
            f"is {MAX_PIXELS:,} (a decompression bomb, or a photo that needs resizing first).",
            hint="Resize it to the size the model takes, or remove it.",
        )
    return image


def decode_image(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """Pixels as uint8 H×W×C: greyscale stays one channel, everything else becomes RGB.

    ``source`` is a file path or the encoded bytes of an image (an upload)."""
    import io

    from PIL import Image

    if isinstance(source, (bytes, bytearray)):
        name = name or f"upload of {len(source)} bytes"
        image = _open_checked(io.BytesIO(source), name)
    else:
        source = Path(source)
        name = name or str(source)
        image = _open_checked(source, name)
    try:
        with image:
            image.load()
            if image.mode.startswith("I;16"):  # 16-bit greyscale: keep the range, not the clip
                pixels = (np.asarray(image, dtype=np.float64) / 257).round().astype(np.uint8)
            else:
                mode = "L" if image.mode in _GREY_MODES else "RGB"
                pixels = np.asarray(image.convert(mode), dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise DataError(f"Image '{name}' is too large to decode safely: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise DataError(f"Image '{name}' cannot be decoded: {exc}", hint=_REPLACE) from None
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def peek_shape(source: str | Path) -> tuple[int, int, int]:
    """The H×W×C that :func:`decode_image` will return, from the header alone (no decoding)."""
    with _open_checked(Path(source), str(source)) as image:
        grey = image.mode in _GREY_MODES or image.mode.startswith("I;16")
        return (image.size[1], image.size[0], 1 if grey else 3)


def pixels_of(example: ImageExample) -> np.ndarray:
    """The example's uint8 H×W×C pixels, decoding its file when it was loaded lazily."""
    if isinstance(example.pixels, np.ndarray):
        return example.pixels
    return decode_image(example.pixels)


def _read_one(path: Path, lazy: bool, bad: list[BadImage] | None, row: int = 0, where: str = ""):
    """Pixels (or the checked path, when lazy), or None after recording a bad file."""
    try:
        if not path.is_file():
            raise DataError(f"Image '{path}' does not exist.")
        if lazy:
            _open_checked(path, str(path)).close()
            return path
        return decode_image(path)
    except DataError as exc:
        if bad is None:
            raise DataError(f"{where}{exc.message}", hint=exc.hint) from None
        bad.append(BadImage(str(path), exc.message.removeprefix(f"Image '{path}' "), row))
        return None


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
        pixels = _read_one(path, lazy, bad)
        if pixels is not None:
            examples.append(ImageExample(pixels, label, position, str(path)))
    if not examples and not bad:
        raise DataError(
            f"Image folder '{root}' holds no images in label sub-folders.",
            hint=f"Lay it out as {root}/<label>/<image> with {', '.join(IMAGE_SUFFIXES)} files.",
        )
    return examples


def load_image_table(
    path: str | Path,
    image_column: str | None = None,
    label_column: str | None = None,
    *,
    lazy: bool = False,
    bad: list[BadImage] | None = None,
) -> list[ImageExample]:
    """A CSV/TSV/JSONL/Parquet table of image paths (relative to the table's folder) and labels.

    ``row`` is the 1-based data row, as in text tables. Columns are detected when not given.
    """
    path = Path(path)
    frame = read_table(path)
    columns = list(frame.columns)
    label = (
        _require(columns, path, label_column, "--label-column")
        if label_column
        else _pick(columns, LABEL_CANDIDATES, None)
    )
    image = (
        _require(columns, path, image_column, "--image-column")
        if image_column
        else _pick(columns, IMAGE_COLUMNS, label)
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
    examples = []
    for row, (file, name) in enumerate(zip(frame[image], frame[label]), start=1):
        name, file = as_text(name).strip(), as_text(file).strip()
        if not name or not file:
            what = "label" if not name else "image path"
            raise DataError(f"{path}, row {row}: the {what} is empty.", hint="Fill it in.")
        pixels = _read_one(path.parent / file, lazy, bad, row, f"{path}, row {row}: ")
        if pixels is not None:
            examples.append(ImageExample(pixels, name, row, str(path.parent / file)))
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
        raise _missing_file(path)
    try:
        first = [str(v) for v in pd.read_csv(path, header=None, nrows=1, dtype=str).iloc[0]]
        has_header = label_column is not None or not all(map(_is_number, first[:-1]))
        if has_header:
            label = (
                _require(first, path, label_column, "--label-column")
                if label_column
                else _pick(first, LABEL_CANDIDATES, None) or first[-1]
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


def detect_image_source(path: str | Path, shape: str | None = None) -> str:
    """folder | idx | pixels | table, from what the path is and whether a shape was given."""
    path = Path(path)
    name = path.name.lower()
    if path.is_dir():
        return "folder"
    if "ubyte" in name or name.endswith((".idx", ".idx.gz")):
        return "idx"
    return "pixels" if shape else "table"


def read_images(
    path: str | Path,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
    shape: str | None = None,
    labels_path: str | Path | None = None,
    lazy: bool = False,
    bad: list[BadImage] | None = None,
) -> LoadedImages:
    """Any supported image source → LoadedImages (``shape`` marks a CSV of pixel values)."""
    kind = detect_image_source(path, shape)
    if kind == "folder":
        examples = load_image_folder(path, lazy=lazy, bad=bad)
    elif kind == "idx":
        examples = load_idx(path, labels_path)
    elif kind == "pixels":
        examples = load_pixel_csv(path, shape or "", label_column)
    else:
        examples = load_image_table(path, image_column, label_column, lazy=lazy, bad=bad)
    return LoadedImages(str(path), kind, examples, list(bad or []))


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
    """
    loaded = read_images(train, **source_options)
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
            given[split] = read_images(path, **eval_options)
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
    np.savez_compressed(
        path,
        pixels=pixels,
        labels=np.array([e.label for e in examples], dtype=str),
        rows=np.array([e.row for e in examples], dtype=np.int64),
    )
    return Path(path)


def load_image_split(path: str | Path) -> list[ImageExample]:
    """The examples :func:`save_image_split` kept, with the file as their source."""
    try:
        with np.load(path, allow_pickle=False) as data:
            pixels, labels, rows = data["pixels"], data["labels"], data["rows"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"Saved image split '{path}' cannot be read: {exc}") from None
    return [
        ImageExample(pixels[i], str(labels[i]), int(rows[i]), str(path)) for i in range(len(labels))
    ]
