"""Label Studio's ML backend contract (``serve --label-studio``): a Label Studio project
connected to this server gets live pre-annotations from the served model, and sends its
annotation events back into a labeling queue.

Label Studio calls, relative to the URL it was given for the backend:

- ``GET /health`` → ``{"status": "UP", "model_class": ...}`` (it checks this on connecting);
- ``POST /setup`` ``{"project", "schema", ...}`` → ``{"model_version": ...}``;
- ``POST /predict`` ``{"tasks": [...], "label_config", "project", "params"}`` →
  ``{"results": [{"result": [choices], "score", "model_version"}, ...]}``, one per task, in
  order; predictions go through the same micro-batcher (and prediction log) as /v1/predict;
- ``POST /webhook``: its project webhooks (``ANNOTATION_CREATED``, ``ANNOTATION_UPDATED``,
  ``ANNOTATIONS_CREATED``) are stored in the ``--label-queue`` queue
  (:mod:`tuneforge.label.studio_events`); other actions (``START_TRAINING``, ...) are
  acknowledged and ignored.

With a server token these ask for it too, as ``Authorization: Bearer TOKEN`` (a webhook's
headers) or Basic auth with the token as password (the ML backend's "Basic Authentication"
setting in Label Studio); ``/health`` stays open like ``/healthz``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...errors import DataError, RunError
from ...label.studio import Controls, choice_prediction, studio_controls
from ...label.studio_events import ANNOTATION_ACTIONS
from ...predict import top_k_predictions
from ..inputs import Rejected, error_response, parse_json, ready_body, rejection_response
from ..state import Serving, serving_of
from ..text_inputs import parse_texts
from .predict import ParsedInputs, note, probabilities

PATHS = ("/health", "/setup", "/predict", "/webhook")


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/health", health, methods=["GET"], include_in_schema=False)
    for path, endpoint in (("/setup", setup), ("/predict", predict), ("/webhook", webhook)):
        router.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
    return router


def model_version(serving: Serving) -> str:
    """The version Label Studio files the predictions under: the run id, else the name."""
    info = serving.info
    return str(info.get("version") or info.get("name") or "tuneforge")


def authorized(request: Request, token: str | None) -> bool:
    """No token configured, or the token as Bearer credential or as Basic auth password."""
    if not token:
        return True
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        credential = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credential.encode(), token.encode())


async def checked_payload(request: Request, serving: Serving) -> dict | JSONResponse:
    """The request's JSON object, or the 401 / 413 / 503 / 4xx answer to send instead."""
    if not authorized(request, serving.settings.token):
        return JSONResponse(
            {"error": "missing or wrong token (Bearer, or Basic auth with the token as password)"},
            401,
            headers={"WWW-Authenticate": 'Basic realm="tuneforge"'},
        )
    body = await ready_body(request, serving)
    if not isinstance(body, bytes):
        return body
    try:
        payload = parse_json(body)
    except Rejected as exc:
        return rejection_response(exc)
    if not isinstance(payload, dict):
        return error_response(422, "the body must be a JSON object")
    return payload


async def health(request: Request):
    """Label Studio's connection check: UP once the model is warmed up."""
    serving = serving_of(request)
    if not serving.ready:
        return JSONResponse({"status": "DOWN", "error": "model is still loading"}, 503)
    return {
        "status": "UP",
        "model_class": f"tuneforge {serving.info.get('name') or 'model'}",
        "model_version": model_version(serving),
    }


async def setup(request: Request):
    """A project connects: its labeling config needs a ``<Choices>`` to answer with."""
    serving = serving_of(request)
    payload = await checked_payload(request, serving)
    if not isinstance(payload, dict):
        return payload
    schema = payload.get("schema")
    if schema is not None and not isinstance(schema, str):
        return error_response(422, "'schema' must be the project's labeling config (XML text)")
    if isinstance(schema, str) and schema.strip() and "<Choices" not in schema:
        return error_response(
            422, "the labeling config has no <Choices>: this model answers with one choice"
        )
    return {"model_version": model_version(serving)}


def task_texts(payload: dict, controls: Controls) -> list[str]:
    """The text of each task, from the data field the labeling config shows; a 422 naming
    the first task without one."""
    tasks = payload.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise Rejected(422, "'tasks' must be a non-empty list of Label Studio tasks")
    texts = []
    for n, task in enumerate(tasks):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get(controls.data_key) if isinstance(data, dict) else None
        if not isinstance(text, str):
            where = f"task {task.get('id', n)}" if isinstance(task, dict) else f"task {n}"
            raise Rejected(422, f"{where} has no text in data.{controls.data_key}")
        texts.append(text)
    return texts


async def predict(request: Request):
    """Pre-annotations for Label Studio tasks: the model's top choice and its score."""
    serving = serving_of(request)
    payload = await checked_payload(request, serving)
    if not isinstance(payload, dict):
        return payload
    if serving.image:
        return error_response(
            422,
            "this server's model classifies images; Label Studio pre-annotations are "
            "served for text models (label image tasks from 'tuneforge label export')",
        )
    controls = studio_controls(payload.get("label_config"), "text")
    try:
        texts, _, _ = parse_texts({"inputs": task_texts(payload, controls)}, serving.settings)
    except Rejected as exc:
        return rejection_response(exc)
    start = time.perf_counter()
    rows = await probabilities(serving, texts)
    if rows is None:
        return error_response(503, f"no result within {serving.settings.request_timeout_s} s")
    predictions = top_k_predictions(np.vstack(rows), serving.predictor.labels, 1)
    note(serving, ParsedInputs(texts, 1, [], texts, None), predictions, _ms(start))
    version = model_version(serving)
    results = [choice_prediction(controls, p.label, p.score, version) for p in predictions]
    return JSONResponse({"results": results, "model_version": version})


def _ms(start: float) -> float:
    return 1000 * (time.perf_counter() - start)


async def webhook(request: Request):
    """Label Studio's events: annotations land in the queue; other actions are ignored."""
    serving = serving_of(request)
    payload = await checked_payload(request, serving)
    if not isinstance(payload, dict):
        return payload
    action = payload.get("action")
    if not isinstance(action, str) or not action:
        return error_response(422, "a Label Studio event needs its 'action'")
    if action not in ANNOTATION_ACTIONS:
        return {"status": "ignored", "action": action}
    intake = serving.label_intake
    if intake is None:
        return error_response(
            409, "this server keeps no annotations: start it with --label-queue NAME"
        )
    try:
        outcome = await asyncio.to_thread(intake.receive, payload)
    except DataError as exc:
        return error_response(422, str(exc))
    except RunError as exc:
        return error_response(409, str(exc))
    counts = outcome.counts
    return {
        "status": "stored" if outcome.item_ids else "skipped",
        "action": action,
        "queue": intake.queue_name,
        "items": outcome.item_ids,
        "added": counts.added,
        "replaced": counts.replaced,
        "unchanged": counts.unchanged,
    }
