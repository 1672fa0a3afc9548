"""create_app(predictor) → FastAPI: /v1/predict with micro-batching, /v1/model, health, metrics.

Every bad request gets a 4xx with a message saying what to fix; the body is parsed by hand
(size, UTF-8, JSON, schema in that order) so each failure maps to the right status.
"""

from __future__ import annotations

import asyncio
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
from .batcher import MicroBatcher
from .metrics import ServerMetrics
from .settings import ServeSettings


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[StrictStr] = Field(min_length=1, description="texts to classify")
    top_k: int = Field(1, ge=1, description="alternatives per input")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


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


def create_app(
    predictor: Predictor,
    settings: ServeSettings | None = None,
    model_info: dict | None = None,
    monitor=None,
) -> FastAPI:
    """The HTTP app around one loaded predictor; ``monitor`` (optional) logs predictions."""
    settings = settings or ServeSettings()
    info = {"labels": list(predictor.labels), **(model_info or {})}
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
        await batcher.submit(["warm up"])  # first call pays one-time costs, not a user
        state["ready"] = True
        if monitor is not None:
            await monitor.start()
        yield
        state["ready"] = False
        await batcher.stop()
        if monitor is not None:
            await monitor.stop()

    app = FastAPI(title="tuneforge model server", version=__version__, lifespan=lifespan)

    def authorised(request: Request) -> bool:
        if not settings.token:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.encode(), settings.token.encode()
        )

    @app.middleware("http")
    async def count_and_guard(request: Request, call_next):
        start = time.perf_counter()
        endpoint = request.url.path
        protected = endpoint.startswith("/v1/") or endpoint == "/metrics"
        if protected and not authorised(request):
            response = JSONResponse(
                {"error": "missing or wrong bearer token"},
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        else:
            response = await call_next(request)
        known = endpoint in {"/v1/predict", "/v1/model", "/healthz", "/readyz", "/metrics"}
        label = endpoint if known else "other"
        metrics.requests.labels(label, str(response.status_code)).inc()
        metrics.latency.labels(label).observe(time.perf_counter() - start)
        return response

    schema = PredictRequest.model_json_schema()

    @app.post(
        "/v1/predict",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        },
    )
    async def predict(request: Request):
        """Classify ``inputs``; each gets its label, score and ``top_k`` alternatives."""
        if not state["ready"]:
            return _error(503, "model is still loading")
        body = await _read_body(request, settings.max_body_bytes)
        if body is None:
            return _error(413, f"body is over the limit of {settings.max_body_bytes} bytes")
        try:
            payload = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError:
            return _error(400, "body is not valid UTF-8")
        except (ValueError, RecursionError) as exc:
            # ValueError covers JSONDecodeError, NaN/Infinity and integers too long to convert;
            # RecursionError, arrays nested thousands deep (both well within the size limit).
            return _error(400, f"body is not valid JSON: {str(exc) or type(exc).__name__}")
        try:
            req = PredictRequest.model_validate(payload)
        except ValidationError as exc:
            # Without the offending input: it may be large, and is not always JSON-serialisable.
            detail = json.loads(exc.json(include_url=False, include_input=False))
            return JSONResponse({"error": "invalid request", "detail": detail}, status_code=422)
        if len(req.inputs) > settings.max_inputs:
            return _error(413, f"{len(req.inputs)} inputs; the limit is {settings.max_inputs}")
        if req.top_k > settings.max_top_k:
            return _error(422, f"top_k is {req.top_k}; the limit is {settings.max_top_k}")
        texts, truncated = [], []
        for i, text in enumerate(req.inputs):
            if not _encodable(text):
                # JSON may escape lone surrogates (\ud800); tokenizers cannot take them.
                return _error(422, f"input {i} is not valid Unicode (a lone surrogate)")
            if len(text) > settings.max_chars:
                if settings.overlong == "reject":
                    return _error(
                        413,
                        f"input {i} has {len(text)} characters; the limit is {settings.max_chars}",
                    )
                text, _ = text[: settings.max_chars], truncated.append(i)
            texts.append(text)
        start = time.perf_counter()
        metrics.queue_depth.set(batcher.depth + len(texts))
        try:
            rows = await asyncio.wait_for(batcher.submit(texts), settings.request_timeout_s)
        except TimeoutError:
            return _error(503, f"no result within {settings.request_timeout_s} s; retry later")
        finally:
            metrics.queue_depth.set(batcher.depth)
        predictions = top_k_predictions(np.vstack(rows), predictor.labels, req.top_k)
        latency_ms = 1000 * (time.perf_counter() - start)
        for p in predictions:
            metrics.predictions.labels(p.label).inc()
        if monitor is not None:
            monitor.record(texts, predictions, latency_ms)
        out = {
            "model": info.get("name"),
            "version": info.get("version"),
            "predictions": [p.as_dict() for p in predictions],
        }
        if truncated:
            out["truncated"] = truncated
        return out

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
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return app
