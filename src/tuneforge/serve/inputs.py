"""What every /v1/predict body goes through, whatever the model classifies.

The body is parsed by hand (size, UTF-8, JSON, schema in that order) so each failure maps to
the right status: a :class:`Rejected` carries the 4xx and the message saying what to fix, and
:func:`rejection_response` turns it into the JSON the client gets.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from .settings import ServeSettings


class Rejected(Exception):
    """A request the server refuses, with the HTTP status and the message for the client."""

    def __init__(self, status: int, message: str, detail: list | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def error_response(status: int, message: str) -> JSONResponse:
    """The ``{"error": ...}`` body every refusal of the server shares."""
    return JSONResponse({"error": message}, status_code=status)


def rejection_response(exc: Rejected) -> JSONResponse:
    """The response for a :class:`Rejected` request, with its validation detail if any."""
    content = {"error": exc.message}
    if exc.detail is not None:
        content["detail"] = exc.detail
    return JSONResponse(content, status_code=exc.status)


async def ready_body(request: Request, serving: Any) -> bytes | JSONResponse:
    """The body of a model request, or the 503 (still loading) or 413 (over the limit)
    answer to send instead: the checks every model endpoint starts with."""
    settings = serving.settings
    if not serving.ready:
        return error_response(503, "model is still loading")
    body = await read_body(request, settings.max_body_bytes)
    if body is None:
        return error_response(413, f"body is over the limit of {settings.max_body_bytes} bytes")
    return body


async def read_body(request: Request, limit: int) -> bytes | None:
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


def parse_json(body: bytes) -> object:
    """The parsed body; a 400 naming the problem if it is not UTF-8 or not strict JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, NaN/Infinity and integers too long to convert;
        # RecursionError, arrays nested thousands deep (both well within the size limit).
        msg = f"body is not valid JSON: {str(exc) or type(exc).__name__}"
        raise Rejected(400, msg) from None


def invalid(exc: ValidationError) -> Rejected:
    """A 422 listing what failed validation, without the offending input (it may be large)."""
    detail = json.loads(exc.json(include_url=False, include_input=False))
    return Rejected(422, "invalid request", detail)


def check_count(n: int, top_k: int, settings: ServeSettings) -> None:
    """The per-request limits shared by texts and images."""
    if n > settings.max_inputs:
        raise Rejected(413, f"{n} inputs; the limit is {settings.max_inputs}")
    if top_k > settings.max_top_k:
        raise Rejected(422, f"top_k is {top_k}; the limit is {settings.max_top_k}")


def is_multipart(request: Request) -> bool:
    """Whether the body is a form upload rather than JSON."""
    return request.headers.get("content-type", "").lower().startswith("multipart/")
