"""Liveness, readiness and Prometheus metrics: what orchestrators and scrapers call."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from ..inputs import error_response
from ..openapi import Status, answers
from ..state import serving_of

router = APIRouter()


@router.get("/healthz", responses=answers(Status, '{"status": "ok"}'))
async def healthz():
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses=answers(Status, '{"status": "ready"}', 503))
async def readyz(request: Request):
    """The model is loaded and warmed up."""
    if not serving_of(request).ready:
        return error_response(503, "not ready")
    return {"status": "ready"}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text format (version 0.0.4)"}},
)
async def prometheus_metrics(request: Request):
    """Prometheus text format."""
    serving = serving_of(request)
    serving.metrics.queue_depth.set(serving.batcher.depth)
    if serving.monitor is not None:
        serving.metrics.log_dropped.set(serving.monitor.dropped)
    return Response(serving.metrics.render(), media_type="text/plain; version=0.0.4")
