"""create_app(predictor) → FastAPI: /v1/predict with micro-batching, /v1/model, health, metrics.

Every bad request gets a 4xx with a message saying what to fix; the body is parsed by hand
(size, UTF-8, JSON, schema in that order) so each failure maps to the right status. Text and
image models share the endpoint; what differs for images (base64 JSON or multipart uploads,
per-image limits, decoding) lives in :mod:`.images`.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import time
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from .. import __version__
from ..predict import Predictor, top_k_predictions
from . import images
from .batcher import MicroBatcher
from .images import Rejected
from .metrics import ServerMetrics
from .settings import ServeSettings


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[StrictStr] = Field(min_length=1, description="texts to classify")
    top_k: int = Field(1, ge=1, description="alternatives per input")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _rejection(exc: Rejected) -> JSONResponse:
    content = {"error": exc.message}
    if exc.detail is not None:
        content["detail"] = exc.detail
    return JSONResponse(content, status_code=exc.status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit``: by its declared length,
    or while streaming it, so an oversize upload is never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str):
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser accepts them."""
    raise ValueError(f"{name} is not a JSON value")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json(body: bytes):
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, NaN/Infinity and integers too long to convert;
        # RecursionError, arrays nested thousands deep (both well within the size limit).
        msg = f"body is not valid JSON: {str(exc) or type(exc).__name__}"
        raise Rejected(400, msg) from None


def _texts(payload, settings: ServeSettings) -> tuple[list[str], int, list[int]]:
    """The texts, top_k and truncated input indexes of a text request."""
    images.refuse_images_for_text(payload)
    try:
        req = PredictRequest.model_validate(payload)
    except ValidationError as exc:
        raise images.invalid(exc) from None
    images.check_count(len(req.inputs), req.top_k, settings)
    texts, truncated = [], []
    for i, text in enumerate(req.inputs):
        if not _encodable(text):
            # JSON may escape lone surrogates (\ud800); tokenizers cannot take them.
            raise Rejected(422, f"input {i} is not valid Unicode (a lone surrogate)")
        if len(text) > settings.max_chars:
            if settings.overlong == "reject":
                raise Rejected(
                    413, f"input {i} has {len(text)} characters; the limit is {settings.max_chars}"
                )
            text, _ = text[: settings.max_chars], truncated.append(i)
        texts.append(text)
    return texts, req.top_k, truncated


KNOWN_ENDPOINTS = frozenset({"/v1/predict", "/v1/model", "/healthz", "/readyz", "/metrics"})


class GuardAndCount:
    """Bearer-token check and request metrics as plain ASGI middleware.

    Starlette's ``@app.middleware("http")`` runs every request through extra tasks and
    streams; for a short prediction on two cores that was a large share of the request's own
    cost. This does the same two jobs on the raw ASGI messages.
    """

    def __init__(self, app, token: str | None, metrics: ServerMetrics) -> None:
        self.app, self.token, self.metrics = app, token, metrics

    def authorised(self, scope) -> bool:
        if not self.token:
            return True
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.encode(), self.token.encode()
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        status = 500  # what an exception escaping the app becomes

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if (path.startswith("/v1/") or path == "/metrics") and not self.authorised(scope):
                refusal = JSONResponse(
                    {"error": "missing or wrong bearer token"},
                    401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await refusal(scope, receive, send_and_note)
            else:
                await self.app(scope, receive, send_and_note)
        finally:
            label = path if path in KNOWN_ENDPOINTS else "other"
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - start)


def quiet_garbage_collector() -> None:
    """Keep Python's full collections from stalling every request in flight.

    A server that imported torch, transformers and onnxruntime holds millions of long-lived
    objects; each full collection walked them all and, measured under 32 concurrent clients,
    froze the server for ~200 ms about once a second (p99 250 ms). Freezing what exists after
    start-up moves it out of the collector's sight, and a larger first-generation threshold
    makes the remaining young collections rarer: p99 under 50 ms on the same load. Called by
    the server process once its model is loaded (not by create_app: tests and embedding
    applications keep their own collector settings).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def create_app(
    predictor: Predictor,
    settings: ServeSettings | None = None,
    model_info: dict | None = None,
    monitor=None,
) -> FastAPI:
    """The HTTP app around one loaded predictor; ``monitor`` (optional) logs predictions."""
    settings = settings or ServeSettings()
    image = images.is_image_model(predictor)
    info = {"task": "image" if image else "text", "labels": list(predictor.labels)}
    if image:
        f = predictor.featurizer
        info["image_shape"] = [f.height, f.width, f.channels]
    info.update(model_info or {})
    metrics = ServerMetrics()
    batcher = MicroBatcher(
        predictor.predict_proba,
        settings.max_batch_size,
        settings.max_wait_ms,
        on_batch=metrics.batch_size.observe,
    )
    if hasattr(predictor, "batch_size"):
        predictor.batch_size = settings.max_batch_size
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        await batcher.submit(images.warmup_inputs(predictor))  # one-time costs, not a user's
        state["ready"] = True
        if monitor is not None:
            await monitor.start()
        yield
        state["ready"] = False
        await batcher.stop()
        if monitor is not None:
            await monitor.stop()

    app = FastAPI(title="tuneforge model server", version=__version__, lifespan=lifespan)

    app.add_middleware(GuardAndCount, token=settings.token, metrics=metrics)

    if image:
        content = {
            "application/json": {"schema": images.ImagePredictRequest.model_json_schema()},
            "multipart/form-data": {"schema": images.MULTIPART_SCHEMA},
        }
    else:
        content = {"application/json": {"schema": PredictRequest.model_json_schema()}}

    async def parse(request: Request, body: bytes) -> tuple[list, int, list[int], tuple]:
        """(model inputs, top_k, truncated indexes, what the prediction log records: the
        texts or uploaded bytes it hashes, and the lengths to log, None for text lengths)."""
        multipart = request.headers.get("content-type", "").lower().startswith("multipart/")
        if not image:
            if multipart:
                raise Rejected(422, 'this model classifies texts: send JSON {"inputs": [...]}')
            texts, top_k, truncated = _texts(_json(body), settings)
            return texts, top_k, truncated, (texts, None)
        if multipart:
            ctype = request.headers["content-type"]
            blobs, names, top_k = images.form_images(body, ctype, settings)
        else:
            (blobs, top_k), names = images.json_images(_json(body), settings), None
        f = predictor.featurizer
        pixels, sizes = await asyncio.to_thread(images.decode_images, blobs, names, f, settings)
        return pixels, top_k, [], (blobs, sizes)

    @app.post("/v1/predict", openapi_extra={"requestBody": {"required": True, "content": content}})
    async def predict(request: Request):
        """Classify ``inputs`` (texts, or images as base64 JSON or multipart ``files``); each
        gets its label, score and ``top_k`` alternatives."""
        if not state["ready"]:
            return _error(503, "model is still loading")
        body = await _read_body(request, settings.max_body_bytes)
        if body is None:
            return _error(413, f"body is over the limit of {settings.max_body_bytes} bytes")
        try:
            inputs, top_k, truncated, (logged, lengths) = await parse(request, body)
        except Rejected as exc:
            return _rejection(exc)
        start = time.perf_counter()
        metrics.queue_depth.set(batcher.depth + len(inputs))
        try:
            rows = await asyncio.wait_for(batcher.submit(inputs), settings.request_timeout_s)
        except TimeoutError:
            return _error(503, f"no result within {settings.request_timeout_s} s; retry later")
        finally:
            metrics.queue_depth.set(batcher.depth)
        predictions = top_k_predictions(np.vstack(rows), predictor.labels, top_k)
        latency_ms = 1000 * (time.perf_counter() - start)
        for p in predictions:
            metrics.predictions.labels(p.label).inc()
        if monitor is not None:
            monitor.record(logged, predictions, latency_ms, lengths=lengths)
        out = {
            "model": info.get("name"),
            "version": info.get("version"),
            "predictions": [p.as_dict() for p in predictions],
        }
        if truncated:
            out["truncated"] = truncated
        return JSONResponse(out)  # plain JSON types already: no encoder pass over them

    @app.get("/v1/model")
    async def model():
        """Name, version, labels, variant and the metrics measured at training time."""
        return info

    @app.get("/healthz")
    async def healthz():
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        """The model is loaded and warmed up."""
        if not state["ready"]:
            return _error(503, "not ready")
        return {"status": "ready"}

    @app.get("/metrics")
    async def prometheus_metrics():
        """Prometheus text format."""
        metrics.queue_depth.set(batcher.depth)
        if monitor is not None:
            metrics.log_dropped.set(monitor.dropped)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return app
