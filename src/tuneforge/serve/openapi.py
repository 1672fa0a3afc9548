"""What the OpenAPI document says of each endpoint besides its request: the response bodies,
the error responses with the body they share, and the bearer scheme.

The routes build their JSON answers by hand (no ``response_model``: FastAPI would validate
and re-encode every answer, a cost per request for a shape the routes already guarantee), so
the shapes are declared here for the document only; the tests check real answers against
them.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from .middleware import requires_token

BEARER = "bearerAuth"


class ErrorBody(BaseModel):
    """The body of every refusal; the Open Inference Protocol's error object is the same, with
    no detail."""

    model_config = ConfigDict(extra="forbid")
    error: str = Field(description="what is wrong with the request and what to do")
    detail: list[dict] | None = Field(
        None, description="the fields that failed validation (422 only), one item each"
    )


class Alternative(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    score: float = Field(ge=0, le=1)


class PredictionOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(
        description="the most probable label (the unknown label when the server abstained)"
    )
    score: float = Field(ge=0, le=1, description="the most probable label's probability")
    top_k: list[Alternative] = Field(description="the top_k most probable labels, best first")
    ood_score: float | None = Field(
        None, description="serve --abstain: the out-of-scope score (higher: more in scope)"
    )
    abstained: bool | None = Field(
        None, description="serve --abstain: whether the score was below the threshold"
    )


class PredictResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(description="the served model's name")
    version: str | None = Field(description="its version (the run id), if it has one")
    predictions: list[PredictionOut] = Field(description="one per input, in order")
    truncated: list[int] | None = Field(
        None, description="indexes of inputs cut to --max-chars (with --overlong truncate)"
    )


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    task: str = Field(description="text or image")
    labels: list[str]
    image_shape: list[int] | None = Field(None, description="[height, width, channels]")
    temperature: float | None = Field(
        None, description="the logits are divided by it before the softmax (calibration)"
    )
    calibrated: bool | None = Field(
        None, description="whether the temperature was fitted (false: plain softmax)"
    )
    name: str | None = None
    version: str | None = None
    stage: str | None = None
    variant: str | None = None
    run_id: str | None = None
    metrics: dict[str, float] | None = Field(None, description="measured at training time")


class Status(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str


ERRORS = {
    400: "the body is not UTF-8 or not JSON, or the request is malformed",
    401: "missing or wrong bearer token",
    404: "no such model on this server",
    413: "the body, an input or the number of inputs is over a limit",
    422: "the request does not fit the schema, or an input cannot be read",
    503: "the model is still loading, or gave no result within the request timeout",
}


def request_schema(model: type[BaseModel]) -> dict:
    """``model``'s JSON schema with its nested models written in place: a request body given
    by hand (``openapi_extra``) cannot point into ``$defs``, which the document lacks."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


def errors(*codes: int) -> dict:
    """The ``responses`` entries of a route's error statuses, each with :class:`ErrorBody`."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}


def answers(model: type[BaseModel], description: str, *error_codes: int) -> dict:
    """A route's ``responses``: 200 with ``model``, then its error statuses."""
    return {200: {"model": model, "description": description}, **errors(*error_codes)}


def declare_bearer(document: dict) -> dict:
    """``document`` with the bearer scheme, required (and 401 possible) on every operation
    whose path asks for the token (:func:`..middleware.requires_token`)."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "the server's token ($TUNEFORGE_TOKEN or --token-file)",
    }
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document.get("paths", {}).items():
        if not requires_token(path):
            continue
        for operation in operations.values():
            operation["security"] = [{BEARER: []}]
            operation["responses"]["401"] = {
                "description": ERRORS[401],
                "content": {"application/json": {"schema": error_ref}},
            }
    components.setdefault("schemas", {}).setdefault(
        "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    return document


def document_builder(app: FastAPI, token_required: bool) -> Callable[[], dict]:
    """``app.openapi`` for a server that does (or does not) require the bearer token: the
    document FastAPI builds from the routes, with the scheme declared where it applies."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = build()  # cached by FastAPI on app.openapi_schema
            if token_required:
                declare_bearer(document)
        return app.openapi_schema

    return openapi
