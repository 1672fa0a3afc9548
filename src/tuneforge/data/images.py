"""Image data: folders of labelled images, tables of image paths, MNIST-style IDX files and
CSVs of pixel values, all read into :class:`~tuneforge.types.ImageExample` lists.

Images are decoded with Pillow, with its decompression-bomb guard on (a tiny file that expands
to gigapixels is refused, not decoded), and every unreadable file is named in the error.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..types import ImageExample

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
MAX_PIXELS = 50_000_000  # per image; far beyond any classifier input, far below a bomb


def decode_image(data: bytes | Path, name: str) -> np.ndarray:
    """Pixels as uint8 H×W×C: greyscale stays one channel, everything else becomes RGB."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = data if isinstance(data, Path) else io.BytesIO(data)
            with Image.open(source) as image:
                image.load()
                mode = "L" if image.mode in ("1", "L", "I;16", "I") else "RGB"
                pixels = np.asarray(image.convert(mode), dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"Image '{name}' is too large to decode safely: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # unidentified, truncated, corrupt
        raise DataError(
            f"Image '{name}' cannot be read: {exc}",
            hint="Remove or replace the file; `tuneforge data check` lists every bad file.",
        ) from None
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def load_image_folder(root: str | Path) -> list[ImageExample]:
    """``root/<label>/<image>``: the folder name is the label."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"Image folder '{root}' does not exist.")
    examples = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(label_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                pixels = decode_image(path, str(path))
                examples.append(ImageExample(pixels, label_dir.name, len(examples) + 1, str(path)))
    if not examples:
        raise DataError(
            f"Image folder '{root}' holds no images in label sub-folders.",
            hint=f"Lay it out as {root}/<label>/<image> with {', '.join(IMAGE_SUFFIXES)} files.",
        )
    return examples


def load_image_table(
    path: str | Path, image_column: str = "image", label_column: str = "label"
) -> list[ImageExample]:
    """A CSV/Parquet with a column of image paths (relative to the table's folder) and labels."""
    import pandas as pd

    path = Path(path)
    frame = (
        pd.read_parquet(path)
        if path.suffix == ".parquet"
        else pd.read_csv(path, dtype=str, keep_default_na=False)
    )
    for column in (image_column, label_column):
        if column not in frame.columns:
            raise DataError(
                f"{path}: no column '{column}' (columns: {', '.join(map(str, frame.columns))}).",
                hint="Name the columns with --image-column and --label-column.",
            )
    examples = []
    for i, (image, label) in enumerate(zip(frame[image_column], frame[label_column]), start=2):
        file = (path.parent / str(image)).resolve()
        if not file.is_file():
            raise DataError(f"{path}, row {i}: image file '{image}' does not exist.")
        examples.append(ImageExample(decode_image(file, str(file)), str(label), i, str(path)))
    return examples


def _read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"'{path}' is not an unsigned-byte IDX file (bad magic number).")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"'{path}' is truncated: header says {dims}, data holds {body.size} bytes.")
    return body.reshape(dims)


def load_idx(images_path: str | Path, labels_path: str | Path) -> list[ImageExample]:
    """MNIST-style IDX pair (optionally gzipped): N×H×W images and N labels."""
    images, labels = _read_idx(Path(images_path)), _read_idx(Path(labels_path))
    if images.ndim not in (3, 4) or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"IDX files '{images_path}' and '{labels_path}' do not pair up: images "
            f"{images.shape}, labels {labels.shape}."
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
    if len(parts) not in (2, 3) or min(parts) < 1:
        raise DataError(f"Image shape '{text}' is not HxW or HxWxC, e.g. 28x28 or 32x32x3.")
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else 1)


def load_pixel_csv(
    path: str | Path, shape: str, label_column: str | None = None
) -> list[ImageExample]:
    """One image per row: H·W·C pixel values (0–255) and a label (named column, else the last)."""
    import pandas as pd

    path = Path(path)
    h, w, c = parse_shape(shape)
    first = pd.read_csv(path, header=None, nrows=1, dtype=str).iloc[0].tolist()
    # A header row has names where pixel rows have numbers (a named label column needs one).
    cells = first if label_column is not None else first[:-1]
    has_header = label_column is not None or not all(_is_number(v) for v in cells)
    frame = pd.read_csv(path, header=0 if has_header else None)
    if label_column is not None:
        if label_column not in frame.columns:
            raise DataError(f"{path}: no label column '{label_column}'.")
        labels, pixels = frame[label_column], frame.drop(columns=[label_column])
    else:
        labels, pixels = frame.iloc[:, -1], frame.iloc[:, :-1]
    if pixels.shape[1] != h * w * c:
        raise DataError(
            f"{path}: rows hold {pixels.shape[1]} pixel values, shape {shape} needs {h * w * c}.",
            hint="Pass the image shape with --image-shape HxW or HxWxC.",
        )
    values = pixels.to_numpy()
    bad = ~np.isfinite(values.astype(np.float64)) | (values < 0) | (values > 255)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"{path}, row {row + 1 + has_header}: pixel values must lie in 0–255.")
    images = values.astype(np.uint8).reshape(-1, h, w, c)
    return [
        ImageExample(images[i], str(labels.iloc[i]), i + 1 + has_header, str(path))
        for i in range(len(images))
    ]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def image_fingerprint(splits: dict[str, list[ImageExample]]) -> str:
    """Content hash of every split's pixels and labels, in order."""
    digest = hashlib.sha256()
    for name, examples in splits.items():
        digest.update(name.encode())
        for e in examples:
            digest.update(np.ascontiguousarray(e.pixels).tobytes())
            digest.update(str(e.pixels.shape).encode() + e.label.encode())
    return digest.hexdigest()[:16]
