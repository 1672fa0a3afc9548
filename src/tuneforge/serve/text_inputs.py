"""Text requests for /v1/predict: ``{"inputs": ["a text", ...], "top_k": 3}``, checked against
the request schema and the per-text limits before any text reaches the tokenizer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from .inputs import Rejected, check_count, invalid
from .settings import ServeSettings


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[StrictStr] = Field(min_length=1, description="texts to classify")
    top_k: int = Field(1, ge=1, description="alternatives per input")


def _has_images(payload: object) -> bool:
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    return isinstance(inputs, list) and any(isinstance(x, dict) for x in inputs)


def refuse_images_for_text(payload: object) -> None:
    """A text model asked to classify images gets a 422 that says so, not a schema dump."""
    if _has_images(payload):
        raise Rejected(
            422,
            'this model classifies texts: send {"inputs": ["a text", ...]}, not images',
        )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_texts(payload: object, settings: ServeSettings) -> tuple[list[str], int, list[int]]:
    """The texts, top_k and truncated input indexes of a parsed JSON body for a text model."""
    refuse_images_for_text(payload)
    try:
        req = PredictRequest.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None
    check_count(len(req.inputs), req.top_k, settings)
    texts, truncated = checked_texts(req.inputs, settings)
    return texts, req.top_k, truncated


def checked_texts(inputs: list[str], settings: ServeSettings) -> tuple[list[str], list[int]]:
    """Each text checked against the per-text limits (cut, with ``--overlong truncate``), and
    the indexes of those cut: what every endpoint taking texts applies."""
    texts, truncated = [], []
    for i, text in enumerate(inputs):
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
    return texts, truncated
