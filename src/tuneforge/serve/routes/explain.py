"""/v1/explain: why the served model gives each input its label (``tuneforge serve --explain``).

The same body checks, limits, auth and metrics as /v1/predict (the inputs are parsed by its
parser), plus ``target`` (explain another label than the predicted one) and ``method`` (``ig``
or ``occlusion``). An explanation costs tens of forward passes, so the endpoint is off unless
asked for and computes at most ``--explain-concurrency`` explanations at once; the rest wait
up to the request timeout and then get 503. The work is the task's
(:meth:`tuneforge.tasks.Task.explain`), run in a worker thread beside the micro-batcher.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ...errors import TuneforgeError
from ...tasks import open_task
from ..inputs import Rejected, error_response, parse_json, ready_body, rejection_response
from ..openapi import answers, request_schema
from ..state import Serving, serving_of
from . import predict as predict_route

_OPTIONS = ("target", "method")


class ExplainOptions(BaseModel):
    """What /v1/explain takes beside /v1/predict's ``inputs``."""

    model_config = ConfigDict(extra="forbid")
    target: str | None = Field(None, description="label to explain (default: the predicted one)")
    method: str | None = Field(
        None, description="ig (integrated gradients, torch models) or occlusion (any runtime)"
    )


class ExplainResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(description="the served model's name")
    version: str | None = Field(description="its version (the run id), if it has one")
    explanations: list[dict[str, Any]] = Field(
        description="one per input: label, score, method and per-word scores (texts) or a "
        "heat map at the model's input size (images)"
    )


def request_content(image: bool) -> dict:
    """The JSON body: /v1/predict's, plus ``target`` and ``method``."""
    schema = predict_route.request_content(image)["application/json"]["schema"]
    extra = request_schema(ExplainOptions)["properties"]
    body = {**schema, "properties": {**schema.get("properties", {}), **extra}}
    return {"application/json": {"schema": body}}


def build_router(content: dict) -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        "/v1/explain",
        explain,
        methods=["POST"],
        responses=answers(ExplainResponse, "an explanation per input", 400, 413, 422, 503),
        openapi_extra={"requestBody": {"required": True, "content": content}},
    )
    return router


def split_options(body: bytes) -> tuple[bytes, dict]:
    """The body without ``target``/``method`` (for /v1/predict's parser), and those two."""
    import json

    payload = parse_json(body)
    if not isinstance(payload, dict):
        return body, {}
    options = {k: payload.pop(k) for k in _OPTIONS if k in payload}
    for key, value in options.items():
        if value is not None and not isinstance(value, str):
            raise Rejected(422, f"'{key}' must be a string")
    return json.dumps(payload).encode("utf-8"), options


async def explain(request: Request):
    """Explain each input's label (or ``target``'s): per-word scores for texts, a heat map for
    images."""
    serving = serving_of(request)
    body = await ready_body(request, serving)
    if not isinstance(body, bytes):
        return body
    try:
        if request.headers.get("content-type", "").startswith("multipart/"):
            raise Rejected(422, 'send JSON {"inputs": [...]} to /v1/explain')
        body, options = split_options(body)
        parsed = await predict_route.parse(request, body, serving)
    except Rejected as exc:
        return rejection_response(exc)
    return await _explained(serving, parsed.inputs, options)


async def _explained(serving: Serving, inputs: list, options: dict):
    """The explanations, computed under the concurrency limit. A slot is held until its
    thread ends, even past the timeout, so a slow explanation never lets more run at once."""
    slots = serving.explain_slots
    timeout = serving.settings.request_timeout_s
    try:
        await asyncio.wait_for(slots.acquire(), timeout)
    except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
        return error_response(503, "every explanation slot is busy; retry later")
    task = open_task(serving.predictor)
    work = asyncio.ensure_future(
        asyncio.to_thread(task.explain, serving.predictor, inputs, **options)
    )
    work.add_done_callback(lambda _: slots.release())
    try:
        found = await asyncio.wait_for(asyncio.shield(work), timeout)
    except TuneforgeError as exc:  # an unknown label or method, an empty text, ...
        return error_response(422, exc.message)
    except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
        return error_response(503, f"no explanation within {timeout} s; retry later")
    return JSONResponse(
        {
            "model": serving.info.get("name"),
            "version": serving.info.get("version"),
            "explanations": [e.to_dict() for e in found],
        }
    )
