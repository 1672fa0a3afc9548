"""/v1/predict: inputs checked and parsed, classified in micro-batches, answered with labels.

Text and image models share the endpoint; the request schemas and checks live in
:mod:`..text_inputs` and :mod:`..image_inputs`, what every body goes through in
:mod:`..inputs`.
"""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...predict import top_k_predictions
from ...types import Prediction
from .. import image_inputs
from ..inputs import (
    Rejected,
    error_response,
    is_multipart,
    parse_json,
    ready_body,
    rejection_response,
)
from ..openapi import PredictResponse, answers, request_schema
from ..state import Serving, serving_of
from ..text_inputs import PredictRequest, parse_texts


class ParsedInputs(NamedTuple):
    """A checked request: the model inputs, top_k, truncated input indexes, and what the
    prediction log records (the texts or uploaded bytes it hashes, and the lengths to log,
    None for text lengths)."""

    inputs: list
    top_k: int
    truncated: list[int]
    logged: list
    lengths: list[int] | None


def request_content(image: bool) -> dict:
    """The request body as the OpenAPI document describes it for a text or an image model."""
    if image:
        return {
            "application/json": {"schema": request_schema(image_inputs.ImagePredictRequest)},
            "multipart/form-data": {"schema": image_inputs.MULTIPART_SCHEMA},
        }
    return {"application/json": {"schema": request_schema(PredictRequest)}}


def build_router(content: dict) -> APIRouter:
    """The /v1/predict router; ``content`` documents the body, since the endpoint reads it by
    hand (:func:`request_content`)."""
    router = APIRouter()
    router.add_api_route(
        "/v1/predict",
        predict,
        methods=["POST"],
        responses=answers(PredictResponse, "a prediction per input", 400, 413, 422, 503),
        openapi_extra={"requestBody": {"required": True, "content": content}},
    )
    return router


async def parse(request: Request, body: bytes, serving: Serving) -> ParsedInputs:
    """The checked inputs of a text or image request; raises :class:`Rejected`."""
    settings = serving.settings
    multipart = is_multipart(request)
    if not serving.image:
        if multipart:
            raise Rejected(422, 'this model classifies texts: send JSON {"inputs": [...]}')
        texts, top_k, truncated = parse_texts(parse_json(body), settings)
        return ParsedInputs(texts, top_k, truncated, texts, None)
    if multipart:
        ctype = request.headers["content-type"]
        blobs, names, top_k = image_inputs.form_images(body, ctype, settings)
    else:
        (blobs, top_k), names = image_inputs.json_images(parse_json(body), settings), None
    featurizer = serving.predictor.featurizer
    pixels, sizes = await asyncio.to_thread(
        image_inputs.decode_images, blobs, names, featurizer, settings
    )
    return ParsedInputs(pixels, top_k, [], blobs, sizes)


async def scored_rows(serving: Serving, inputs: list) -> list[np.ndarray] | None:
    """The batcher's rows for ``inputs`` (probabilities, then the out-of-scope score when the
    server abstains); None past the timeout."""
    metrics, batcher = serving.metrics, serving.batcher
    metrics.queue_depth.set(batcher.depth + len(inputs))
    try:
        return await asyncio.wait_for(batcher.submit(inputs), serving.settings.request_timeout_s)
    except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
        return None
    finally:
        metrics.queue_depth.set(batcher.depth)


async def probabilities(serving: Serving, inputs: list) -> list[np.ndarray] | None:
    """The model's probability rows for ``inputs`` through the micro-batcher; None past the
    timeout."""
    rows = await scored_rows(serving, inputs)
    if rows is None or serving.abstainer is None:
        return rows
    return [np.asarray(r)[..., :-1] for r in rows]


def note(serving: Serving, parsed: ParsedInputs, predictions: list[Prediction], ms: float) -> None:
    """Count the predicted labels and hand the request to the prediction log, if any."""
    for p in predictions:
        serving.metrics.predictions.labels(p.label).inc()
    if serving.monitor is not None:
        serving.monitor.record(parsed.logged, predictions, ms, lengths=parsed.lengths)


async def predict(request: Request):
    """Classify ``inputs`` (texts, or images as base64 JSON or multipart ``files``); each
    gets its label, score and ``top_k`` alternatives."""
    serving = serving_of(request)
    body = await ready_body(request, serving)
    if not isinstance(body, bytes):
        return body
    try:
        parsed = await parse(request, body, serving)
    except Rejected as exc:
        return rejection_response(exc)
    start = time.perf_counter()
    rows = await scored_rows(serving, parsed.inputs)
    if rows is None:
        timeout = serving.settings.request_timeout_s
        return error_response(503, f"no result within {timeout} s; retry later")
    stacked = np.vstack(rows)
    if serving.abstainer is None:
        predictions = top_k_predictions(stacked, serving.predictor.labels, parsed.top_k)
    else:
        predictions = serving.abstainer.decide(stacked[:, :-1], stacked[:, -1], parsed.top_k)
    note(serving, parsed, predictions, 1000 * (time.perf_counter() - start))
    out = {
        "model": serving.info.get("name"),
        "version": serving.info.get("version"),
        "predictions": [p.as_dict() for p in predictions],
    }
    if parsed.truncated:
        out["truncated"] = parsed.truncated
    return JSONResponse(out)  # plain JSON types already: no encoder pass over them
