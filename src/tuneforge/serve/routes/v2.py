"""The Open Inference Protocol (KServe v2) beside /v1: server health and metadata, model
metadata and readiness, and inference, so standard v2 clients work unchanged.

Inference goes through the micro-batcher and the prediction log as /v1/predict does; the
tensors are checked and built in :mod:`..tensors`. Refusals carry the protocol's
``{"error": "..."}`` body with a 4xx, or 503 while the model loads or past the request
timeout. Tensors travel as JSON; the binary tensor data extension is refused with a 400 that
says so.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..._version import __version__
from ...predict import top_k_predictions
from .. import tensors
from ..inputs import Rejected, error_response, parse_json, read_body
from ..openapi import answers, request_schema
from ..state import Serving, serving_of
from .predict import ParsedInputs, note, scored_rows

BINARY_HEADER = "inference-header-content-length"

router = APIRouter()


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


def model_name(serving: Serving) -> str:
    """The name clients address the served model by."""
    return serving.info.get("name") or "model"


def unknown_model(name: str, serving: Serving) -> JSONResponse:
    served = model_name(serving)
    return error_response(404, f"no model {name!r} here; this server serves {served!r}")


@router.get("/v2/health/live", responses=answers(Live, '{"live": true}'))
async def live():
    """The server process is alive."""
    return {"live": True}


@router.get("/v2/health/ready", responses=answers(Ready, '{"ready": true}', 503))
async def ready(request: Request):
    """The model is loaded and warmed up (503 until then)."""
    is_ready = serving_of(request).ready
    return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)


@router.get("/v2", responses=answers(ServerMetadata, "the server"))
async def server_metadata():
    """The server's name, version and protocol extensions (none)."""
    return {"name": "tuneforge", "version": __version__, "extensions": []}


@router.get("/v2/models/{name}", responses=answers(tensors.ModelMetadata, "the model", 404))
async def model_metadata(name: str, request: Request):
    """The model's input tensor and its two outputs, label and probabilities."""
    serving = serving_of(request)
    if name != model_name(serving):
        return unknown_model(name, serving)
    info = serving.info
    return tensors.metadata(name, info.get("version"), info["labels"], info.get("image_shape"))


@router.get("/v2/models/{name}/ready", responses=answers(ModelReady, "ready", 404, 503))
async def model_ready(name: str, request: Request):
    """The model is loaded and warmed up (503 until then)."""
    serving = serving_of(request)
    if name != model_name(serving):
        return unknown_model(name, serving)
    return JSONResponse({"name": name, "ready": serving.ready}, 200 if serving.ready else 503)


async def model_inputs(tensor: tensors.RequestInput, serving: Serving) -> ParsedInputs:
    """The checked inputs of the request's one tensor; raises :class:`Rejected`."""
    kind = "images" if serving.image else "texts"
    expected = "UINT8" if serving.image else "BYTES"
    if tensor.datatype != expected:
        raise Rejected(400, f"this model classifies {kind}: send a {expected} tensor")
    if not serving.image:
        texts, truncated = tensors.texts_from(tensor, serving.settings)
        return ParsedInputs(texts, 1, truncated, texts, None)
    images = tensors.pixels_from(tensor, serving.settings)
    conform = serving.predictor.featurizer.conform
    pixels = await asyncio.to_thread(lambda: [conform(image) for image in images])
    size = images.shape[1] * images.shape[2]
    return ParsedInputs(pixels, 1, [], [image.tobytes() for image in images], [size] * len(images))


async def infer(name: str, request: Request):
    """Classify the request's one input tensor; answers the label and probabilities."""
    serving = serving_of(request)
    settings = serving.settings
    if name != model_name(serving):
        return unknown_model(name, serving)
    if not serving.ready:
        return error_response(503, "model is still loading")
    if BINARY_HEADER in request.headers:
        return error_response(400, "binary tensor data is not supported; send the tensors as JSON")
    body = await read_body(request, settings.max_body_bytes)
    if body is None:
        return error_response(413, f"body is over the limit of {settings.max_body_bytes} bytes")
    try:
        req, wanted = tensors.infer_request(parse_json(body))
        parsed = await model_inputs(req.inputs[0], serving)
    except Rejected as exc:
        return error_response(exc.status, exc.message)
    start = time.perf_counter()
    rows = await scored_rows(serving, parsed.inputs)
    if rows is None:
        return error_response(503, f"no result within {settings.request_timeout_s} s; retry later")
    stacked = np.vstack(rows)
    if serving.abstainer is None:
        probs = stacked
        predictions = top_k_predictions(probs, serving.predictor.labels, 1)
    else:  # the label tensor says "unknown" where the server abstains
        probs = stacked[:, :-1]
        predictions = serving.abstainer.decide(probs, stacked[:, -1])
    note(serving, parsed, predictions, 1000 * (time.perf_counter() - start))
    out: dict = {"model_name": name}
    if serving.info.get("version"):
        out["model_version"] = serving.info["version"]
    if req.id is not None:
        out["id"] = req.id
    out["outputs"] = tensors.outputs(wanted, [p.label for p in predictions], probs)
    return JSONResponse(out)


router.add_api_route(
    "/v2/models/{name}/infer",
    infer,
    methods=["POST"],
    responses=answers(tensors.InferResponse, "the outputs", 400, 404, 413, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request_schema(tensors.InferRequest)}},
        }
    },
)
