"""Image requests for /v1/predict: base64 JSON or multipart uploads, checked before decoding.

Two request shapes reach an image model:

* JSON ``{"inputs": [{"image_base64": "..."}, ...], "top_k": 3}`` (a ``data:image/...;base64,``
  prefix is accepted, as browsers produce it);
* ``multipart/form-data`` with one ``files`` part per image and an optional ``top_k`` field.

Every limit is checked as early as the data allows, so a hostile request costs little: the
body size while it streams (app.py), the image count and encoded size before decoding, the
pixel count from the image header before any pixel is decoded (decompression bombs), and only
then the decode, in a worker thread so the event loop keeps answering. Each decoded image is
shrunk to the model's input size at once, so a request never holds many full-size images.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from ..errors import DataError
from .inputs import Rejected, check_count, invalid
from .settings import ServeSettings

IMAGE_FIELD = "files"
MAX_FORM_FIELDS = 8  # besides the images: top_k, and room for a client's harmless extras
_FORMATS = "PNG, JPEG, GIF, BMP, TIFF or WebP"


class ImageInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_base64: StrictStr = Field(description="the image file's bytes (PNG, JPEG, ...), base64")


class ImagePredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[ImageInput] = Field(min_length=1, description="images to classify")
    top_k: int = Field(1, ge=1, description="alternatives per input")


MULTIPART_SCHEMA = {
    "type": "object",
    "required": [IMAGE_FIELD],
    "properties": {
        IMAGE_FIELD: {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "image files to classify, one part each",
        },
        "top_k": {"type": "integer", "minimum": 1, "default": 1},
    },
}


def _encoded_limit(max_bytes: int) -> int:
    """Longest base64 text that can decode to at most ``max_bytes`` bytes."""
    return 4 * ((max_bytes + 2) // 3)


def _from_base64(text: str, index: int, settings: ServeSettings) -> bytes:
    if text.startswith("data:") and ";base64," in text[:100]:
        text = text.split(",", 1)[1]
    if len(text) > _encoded_limit(settings.max_image_bytes):
        raise Rejected(
            413, f"input {index} is over the limit of {settings.max_image_bytes} bytes per image"
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(422, f"input {index}: image_base64 is not valid base64") from None


def json_images(payload: object, settings: ServeSettings) -> tuple[list[bytes], int]:
    """The encoded images and top_k of a parsed JSON body for an image model."""
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if isinstance(inputs, list) and any(isinstance(x, str) for x in inputs):
        raise Rejected(
            422,
            'this model classifies images: send {"inputs": [{"image_base64": "..."}]} or upload '
            f"the files as multipart/form-data fields named '{IMAGE_FIELD}', not texts",
        )
    try:
        req = ImagePredictRequest.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None
    check_count(len(req.inputs), req.top_k, settings)
    return [_from_base64(x.image_base64, i, settings) for i, x in enumerate(req.inputs)], req.top_k


def _multipart_parts(body: bytes, content_type: str) -> list[tuple[dict[bytes, bytes], bytes]]:
    """(headers, data) of every part, parsed in memory: the body is already size-checked."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise Rejected(400, "multipart/form-data body without a boundary in its Content-Type")
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    header = [b"", b""]
    done = []

    def on_header_end() -> None:
        parts[-1][0][header[0].strip().lower()] = header[1].strip()
        header[:] = [b"", b""]

    callbacks = {
        "on_part_begin": lambda: parts.append(({}, bytearray())),
        "on_header_field": lambda d, s, e: header.__setitem__(0, header[0] + d[s:e]),
        "on_header_value": lambda d, s, e: header.__setitem__(1, header[1] + d[s:e]),
        "on_header_end": on_header_end,
        "on_part_data": lambda d, s, e: parts[-1][1].extend(d[s:e]),
        "on_end": lambda: done.append(True),
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise Rejected(400, f"multipart/form-data body is malformed: {exc}") from None
    if not done:
        raise Rejected(400, "multipart/form-data body is incomplete (no closing boundary)")
    return [(headers, bytes(data)) for headers, data in parts]


def form_images(
    body: bytes, content_type: str, settings: ServeSettings
) -> tuple[list[bytes], list[str], int]:
    """The uploaded images (``files`` parts, in order), their file names and top_k."""
    from python_multipart.multipart import parse_options_header

    images, names, fields = [], [], {}
    for headers, data in _multipart_parts(body, content_type):
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name == IMAGE_FIELD:
            images.append(data)
            names.append(disposition.get(b"filename", b"").decode("utf-8", "replace")[:100])
            if len(images) > settings.max_inputs:
                raise Rejected(413, f"over {settings.max_inputs} images; that is the limit")
        else:
            fields[name] = data
            if len(fields) > MAX_FORM_FIELDS:
                raise Rejected(422, f"more than {MAX_FORM_FIELDS} form fields besides images")
    unknown = sorted(set(fields) - {"top_k"})
    if unknown:
        raise Rejected(
            422,
            f"unknown form field(s) {', '.join(map(repr, unknown))}; send images as "
            f"'{IMAGE_FIELD}' parts and optionally 'top_k'",
        )
    if not images:
        raise Rejected(422, f"no images: upload each one as a form part named '{IMAGE_FIELD}'")
    raw_k = fields.get("top_k", b"1").strip()
    if not raw_k.isdigit() or len(raw_k) > 6 or int(raw_k) < 1:
        raise Rejected(422, "top_k must be a whole number of at least 1")
    check_count(len(images), int(raw_k), settings)
    return images, names, int(raw_k)


def _label(index: int, name: str | None) -> str:
    return f"input {index}" + (f" ({name!r})" if name else "")


def _decode_one(
    data: bytes, label: str, featurizer, settings: ServeSettings
) -> tuple[np.ndarray, int]:
    from PIL import Image

    from ..data.image_files import decode_image

    if not data:
        raise Rejected(422, f"{label} is empty")
    if len(data) > settings.max_image_bytes:
        raise Rejected(
            413,
            f"{label} has {len(data)} bytes; the limit is {settings.max_image_bytes} per image",
        )
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            width, height = header.size
    except Image.DecompressionBombError:
        raise Rejected(413, f"{label} declares more pixels than any image may have") from None
    except Exception:  # Pillow raises many types for files it cannot identify
        raise Rejected(
            422, f"{label} is not an image in a format the server reads ({_FORMATS})"
        ) from None
    if width * height > settings.max_image_pixels:
        raise Rejected(
            413,
            f"{label} is {width}x{height} pixels; the limit is {settings.max_image_pixels:,} "
            "pixels per image (resize it first)",
        )
    try:
        return featurizer.conform(decode_image(data, name=label)), width * height
    except DataError as exc:  # truncated or corrupt image data
        raise Rejected(422, exc.message.replace(f"Image '{label}'", label, 1)) from None
    except Exception as exc:  # odd files can raise anything inside a decoder
        raise Rejected(422, f"{label} cannot be decoded ({type(exc).__name__})") from None


def decode_images(
    blobs: list[bytes], names: list[str] | None, featurizer, settings: ServeSettings
) -> tuple[list[np.ndarray], list[int]]:
    """Check and decode every image, each at once brought to the model's input size; returns
    the model inputs and each upload's own pixel count (H×W, what the prediction log records
    as its length, as the run's reference profile does).

    Runs in a worker thread (decoding is CPU work); raises :class:`Rejected` naming the first
    bad input."""
    names = names or [""] * len(blobs)
    decoded = [
        _decode_one(data, _label(i, name), featurizer, settings)
        for i, (data, name) in enumerate(zip(blobs, names))
    ]
    return [pixels for pixels, _ in decoded], [size for _, size in decoded]
