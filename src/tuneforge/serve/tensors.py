"""Open Inference Protocol (KServe v2) tensors: an infer request checked and turned into the
model's inputs, and the answer's output tensors.

A text model takes one ``BYTES`` tensor of strings, shape ``[N]`` (or ``[N, 1]``); an image
model one ``UINT8`` tensor of pixels, shape ``[N, H, W, C]`` (C is 1 or 3) or ``[N, H, W]``,
each image brought to the model's input size as uploads are. Tensor data may come nested by
shape or flattened in row-major order, as the protocol allows. The answer carries ``label``
(``BYTES [N]``) and ``probabilities`` (``FP32 [N, n_labels]``); a request's ``outputs`` may ask
for one of them. The per-input limits are those of /v1/predict.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from .inputs import Rejected, check_count
from .settings import ServeSettings
from .text_inputs import parse_texts

TEXT_INPUT, IMAGE_INPUT = "text", "image"
LABEL_OUTPUT, PROBABILITIES_OUTPUT = "label", "probabilities"
OUTPUTS = (LABEL_OUTPUT, PROBABILITIES_OUTPUT)


class RequestInput(BaseModel):
    name: StrictStr
    shape: list[StrictInt] = Field(description="dimensions; the first is the batch size N")
    datatype: StrictStr = Field(description="BYTES for a text model, UINT8 for an image model")
    parameters: dict | None = None
    data: list = Field(description="the elements, nested by shape or flattened (row-major)")


class RequestOutput(BaseModel):
    name: StrictStr = Field(description="label or probabilities")
    parameters: dict | None = None


class InferRequest(BaseModel):
    id: StrictStr | None = Field(None, description="echoed in the response")
    parameters: dict | None = None
    inputs: list[RequestInput] = Field(min_length=1, description="exactly one input tensor")
    outputs: list[RequestOutput] | None = Field(None, description="default: both outputs")


class Tensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    data: list


class InferResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    outputs: list[Tensor]


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 where any size is taken")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str] | None = None
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


def metadata(name: str, version: str | None, labels: list[str], image_shape: list | None) -> dict:
    """The model metadata object: its one input and the two outputs."""
    if image_shape is None:
        tensor = {"name": TEXT_INPUT, "datatype": "BYTES", "shape": [-1]}
    else:
        tensor = {"name": IMAGE_INPUT, "datatype": "UINT8", "shape": [-1, *image_shape]}
    out = {"name": name, "platform": "tuneforge", "inputs": [tensor], "outputs": []}
    if version:
        out["versions"] = [version]
    out["outputs"] = [
        {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [-1]},
        {"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": [-1, len(labels)]},
    ]
    return out


def infer_request(payload: object) -> tuple[InferRequest, list[str]]:
    """The parsed request and the names of the outputs to answer with (400 if malformed)."""
    try:
        req = InferRequest.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Rejected(400, f"invalid inference request: {where}: {first['msg']}") from None
    if len(req.inputs) != 1:
        raise Rejected(400, f"this model takes one input tensor, got {len(req.inputs)}")
    wanted = [o.name for o in req.outputs] if req.outputs else list(OUTPUTS)
    unknown = [n for n in wanted if n not in OUTPUTS]
    if unknown:
        raise Rejected(400, f"unknown output {unknown[0]!r}; the outputs are {OUTPUTS}")
    return req, wanted


def flat(data: list) -> list:
    """The elements of nested lists in row-major order (without recursion: depth is the
    client's to choose)."""
    out: list = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _elements(tensor: RequestInput, datatype: str, ranks: tuple[int, ...]) -> list:
    """The tensor's elements, after checking its datatype, rank and element count."""
    if tensor.datatype != datatype:
        raise Rejected(400, f"input {tensor.name!r} must be {datatype}, got {tensor.datatype}")
    shape = tensor.shape
    if len(shape) not in ranks or min(shape) < 1:
        dims = " or ".join(str(r) for r in ranks)
        raise Rejected(400, f"input {tensor.name!r} needs {dims} positive dimensions, got {shape}")
    values = flat(tensor.data)
    if len(values) != math.prod(shape):
        raise Rejected(
            400,
            f"input {tensor.name!r} has {len(values)} elements; its shape {shape} needs "
            f"{math.prod(shape)}",
        )
    return values


def texts_from(tensor: RequestInput, settings: ServeSettings) -> tuple[list[str], list[int]]:
    """The texts of a BYTES tensor [N] or [N, 1], checked as /v1/predict checks texts; also
    the indexes of texts cut to the length limit."""
    if tensor.datatype == "BYTES" and len(tensor.shape) == 2 and tensor.shape[1] != 1:
        raise Rejected(400, f"input {tensor.name!r} must be [N] or [N, 1], got {tensor.shape}")
    values = _elements(tensor, "BYTES", (1, 2))
    if not all(isinstance(v, str) for v in values):
        raise Rejected(400, f"input {tensor.name!r}: every element must be a string")
    texts, _, truncated = parse_texts({"inputs": values}, settings)
    return texts, truncated


def pixels_from(tensor: RequestInput, settings: ServeSettings) -> np.ndarray:
    """The images of a UINT8 tensor [N, H, W, C] (C 1 or 3) or [N, H, W], as one uint8 array
    N×H×W×C, within the count and pixel limits of uploads."""
    shape = tensor.shape
    if tensor.datatype == "UINT8" and len(shape) == 4 and shape[3] not in (1, 3):
        raise Rejected(400, f"input {tensor.name!r}: C must be 1 or 3, got shape {shape}")
    if len(shape) in (3, 4) and min(shape) >= 1:
        check_count(shape[0], 1, settings)
        if shape[1] * shape[2] > settings.max_image_pixels:
            raise Rejected(
                413,
                f"input {tensor.name!r}: {shape[2]}x{shape[1]} pixels per image; the limit is "
                f"{settings.max_image_pixels:,}",
            )
    values = _elements(tensor, "UINT8", (3, 4))
    array = np.asarray(values)  # never empty: every dimension is at least 1
    if array.dtype.kind not in "iu" or array.min() < 0 or array.max() > 255:
        raise Rejected(400, f"input {tensor.name!r}: every element must be a whole 0..255")
    array = array.astype(np.uint8).reshape(shape)
    return array if array.ndim == 4 else array[..., None]


def outputs(wanted: list[str], labels: list[str], probabilities: np.ndarray) -> list[dict]:
    """The response's output tensors for the predicted ``labels`` and ``probabilities``."""
    n = len(labels)
    tensors = {
        LABEL_OUTPUT: {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [n], "data": labels},
        PROBABILITIES_OUTPUT: {
            "name": PROBABILITIES_OUTPUT,
            "datatype": "FP32",
            "shape": list(probabilities.shape),
            "data": np.round(probabilities.astype(np.float64), 6).ravel().tolist(),
        },
    }
    return [tensors[name] for name in dict.fromkeys(wanted)]
