"""/v1/recommend: the best items for a known user or a history of item ids, from a recommend
run's item index (``tuneforge serve RUN`` of a ``train --task recommend`` run).

The body is ``{"user": "u42"}`` or ``{"history": ["sku-1", "sku-7"]}``, with ``"k"`` (at most
``--max-neighbours``) and ``"exclude_seen"`` (default true: the history's items are left out).
Body size, the token and the request metrics are the server's as for /v1/predict; a history
longer than ``--max-inputs`` is 413, an unknown user 404, unknown items 422. A query is a tiny
forward pass and one index search (well under a millisecond), so it runs on the event loop
rather than paying a thread hand-off.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from ...errors import DataError
from ..inputs import Rejected, error_response, invalid, parse_json, ready_body, rejection_response
from ..openapi import answers, request_schema
from ..state import serving_of


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: StrictStr | None = Field(None, description="a user of the training interactions")
    history: list[StrictStr] | None = Field(
        None, min_length=1, description="item ids the user met, oldest first"
    )
    k: int = Field(10, ge=1, description="items to recommend")
    exclude_seen: bool = Field(True, description="leave out the items of the history")

    @model_validator(mode="after")
    def one_of(self):
        if (self.user is None) == (self.history is None):
            raise ValueError("give either 'user' or 'history'")
        return self


class RecommendedItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    score: float = Field(description="the user vector's dot product with the item's")
    fields: dict = Field(description="the item's text and columns")


class RecommendResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(description="the served model's name")
    version: str | None = Field(description="its version (the run id)")
    items: list[RecommendedItem] = Field(description="best first")


def build_router() -> APIRouter:
    router = APIRouter()
    content = {"application/json": {"schema": request_schema(RecommendRequest)}}
    router.add_api_route(
        "/v1/recommend",
        recommend,
        methods=["POST"],
        responses=answers(RecommendResponse, "the best items", 400, 404, 413, 422, 503),
        openapi_extra={"requestBody": {"required": True, "content": content}},
    )
    return router


def _checked(payload, settings) -> RecommendRequest:
    try:
        req = RecommendRequest.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None
    if req.k > settings.max_neighbours:
        raise Rejected(422, f"k is {req.k}; the limit is {settings.max_neighbours}")
    if req.history is not None and len(req.history) > settings.max_inputs:
        raise Rejected(413, f"{len(req.history)} history items; the limit is {settings.max_inputs}")
    return req


async def recommend(request: Request):
    """The ``k`` best items for the user or history, with their fields."""
    serving = serving_of(request)
    try:
        body = await ready_body(request, serving)
        if not isinstance(body, bytes):
            return body
        req = _checked(parse_json(body), serving.settings)
    except Rejected as exc:
        return rejection_response(exc)
    recommender = serving.recommender
    if req.user is not None and req.user not in recommender.histories:
        return error_response(404, f"user '{req.user}' is unknown to this model")
    try:
        hits = recommender.recommend(
            user=req.user, history=req.history, k=req.k, exclude_seen=req.exclude_seen
        )
    except DataError as exc:
        return error_response(422, str(exc))
    return JSONResponse(
        {
            "model": serving.info.get("name"),
            "version": serving.info.get("version"),
            "items": [hit.to_dict() for hit in hits],
        }
    )
