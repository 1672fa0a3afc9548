"""/v1/embed and /v1/similar: the served model's sentence embeddings, and the nearest items of
a vector index built with the same model (``tuneforge serve RUN --embed`` / ``--index DIR``).

Bodies are ``{"inputs": ["a text", ...]}`` (and ``"k"`` for /v1/similar), under the same body,
count and per-text limits, auth and metrics as /v1/predict. An embedding costs one forward pass
like a prediction, but it runs outside the classifier's micro-batcher, in a worker thread, at
most one batch at a time (torch uses every core for one); the rest wait up to the request
timeout and then get 503.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from ..inputs import Rejected, error_response, invalid, parse_json, ready_body, rejection_response
from ..openapi import answers, request_schema
from ..state import Serving, serving_of
from ..text_inputs import checked_texts, refuse_images_for_text


class EmbedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[StrictStr] = Field(min_length=1, description="texts to embed")


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[StrictStr] = Field(min_length=1, description="query texts")
    k: int = Field(5, ge=1, description="neighbours per query")


class EmbedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(description="the served model's name")
    version: str | None = Field(description="its version (the run id), if it has one")
    dim: int = Field(description="the width of each vector")
    embeddings: list[list[float]] = Field(description="one unit vector per input, in order")


class SimilarHit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    score: float = Field(description="cosine similarity")
    fields: dict = Field(description="the item's stored fields")


class SimilarResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(description="the served model's name")
    version: str | None = Field(description="its version (the run id), if it has one")
    results: list[list[SimilarHit]] = Field(description="per input, its neighbours, best first")


def build_router(similar: bool) -> APIRouter:
    """/v1/embed, and /v1/similar when an index is served."""
    router = APIRouter()
    router.add_api_route(
        "/v1/embed",
        embed,
        methods=["POST"],
        responses=answers(EmbedResponse, "a unit vector per input", 400, 413, 422, 503),
        openapi_extra=_body(EmbedRequest),
    )
    if similar:
        router.add_api_route(
            "/v1/similar",
            similar_items,
            methods=["POST"],
            responses=answers(SimilarResponse, "the nearest items per input", 400, 413, 422, 503),
            openapi_extra=_body(SimilarRequest),
        )
    return router


def _body(model: type[BaseModel]) -> dict:
    content = {"application/json": {"schema": request_schema(model)}}
    return {"requestBody": {"required": True, "content": content}}


async def _parsed(request: Request, serving: Serving, schema: type[BaseModel]):
    body = await ready_body(request, serving)
    if not isinstance(body, bytes):
        return body
    payload = parse_json(body)
    refuse_images_for_text(payload)
    try:
        req = schema.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None
    settings = serving.settings
    if len(req.inputs) > settings.max_inputs:
        raise Rejected(413, f"{len(req.inputs)} inputs; the limit is {settings.max_inputs}")
    texts, _ = checked_texts(req.inputs, settings)
    return req, texts


async def _vectors(serving: Serving, texts: list[str]):
    """The unit vectors of ``texts``, one batch at a time; None past the request timeout."""
    timeout = serving.settings.request_timeout_s
    try:
        async with asyncio.timeout(timeout):
            async with serving.embed_slot:
                return await asyncio.to_thread(serving.encoder.embed, texts)
    except TimeoutError:
        return None


async def _embedded(request: Request, schema: type[BaseModel]):
    """(serving, the checked request, its unit vectors), or the 4xx/503 answer to send: what
    both endpoints start with. /v1/similar's ``k`` is held to ``--max-neighbours`` here."""
    serving = serving_of(request)
    try:
        parsed = await _parsed(request, serving, schema)
        if isinstance(parsed, JSONResponse):
            return parsed
        req, texts = parsed
        limit = serving.settings.max_neighbours
        if getattr(req, "k", 0) > limit:
            raise Rejected(422, f"k is {req.k}; the limit is {limit}")
    except Rejected as exc:
        return rejection_response(exc)
    vectors = await _vectors(serving, texts)
    if vectors is None:
        return error_response(503, "no embedding within the request timeout; retry later")
    return serving, req, vectors


async def embed(request: Request):
    """A unit sentence embedding per input text (mean-pooled, as the index's are)."""
    done = await _embedded(request, EmbedRequest)
    if isinstance(done, JSONResponse):
        return done
    serving, _, vectors = done
    return JSONResponse(
        {
            "model": serving.info.get("name"),
            "version": serving.info.get("version"),
            "dim": int(vectors.shape[1]),
            "embeddings": [[round(float(x), 7) for x in row] for row in vectors],
        }
    )


async def similar_items(request: Request):
    """The ``k`` nearest items of the served index for each input, with their fields."""
    done = await _embedded(request, SimilarRequest)
    if isinstance(done, JSONResponse):
        return done
    serving, req, vectors = done
    found = serving.index.search(vectors, req.k)
    return JSONResponse(
        {
            "model": serving.info.get("name"),
            "version": serving.info.get("version"),
            "results": [[hit.to_dict() for hit in hits] for hits in found],
        }
    )
