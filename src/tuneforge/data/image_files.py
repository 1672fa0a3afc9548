"""Image files: decoding to uint8 pixels, reading sizes from headers, refusing bombs.

An image's size is checked from its header before any pixel is decoded (a small file that
expands to gigapixels is refused, not decoded), and every unreadable file is named in the error.
Pillow is imported when an image is opened, so reading text data never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..types import ImageExample

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_PIXELS = 40_000_000  # per image: far beyond any classifier input, far below a bomb
_GREY_MODES = ("1", "L", "LA", "I;16", "I;16B", "I;16L")
_REPLACE = "Remove or replace the file; `tuneforge data check` lists every bad file at once."


@dataclass(frozen=True)
class BadImage:
    """A file that could not be used and why, e.g. "is not a readable image: ..." (``row``: the
    table row that named it, or 0)."""

    path: str
    reason: str
    row: int = 0


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


def read_image_file(
    path: Path, lazy: bool, bad: list[BadImage] | None, row: int = 0, where: str = ""
) -> np.ndarray | Path | None:
    """Pixels (or the checked path, when lazy), or None after recording a bad file in ``bad``;
    without ``bad`` the first bad file raises, its message prefixed with ``where``."""
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
