"""What the server serves: the model's name, version, labels and training-time metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..openapi import ModelInfo, answers
from ..state import serving_of

router = APIRouter()


@router.get("/v1/model", responses=answers(ModelInfo, "the served model"))
async def model(request: Request):
    """Name, version, labels, variant and the metrics measured at training time."""
    return serving_of(request).info
