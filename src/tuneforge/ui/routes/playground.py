"""The playground: pick a model, type a text (or drop an image), see its top labels with their
confidences and what the model looked at (word attributions, or a heat map over the image).

Predictions are allowed under ``--read-only``: they change nothing stored (nothing is logged,
no file is written), and trying a model is what a read-only viewer came for. They are POSTs
all the same (a text can be long, an image is a body) and carry the CSRF token like every POST:
another site must not make a visitor's browser run models on the dashboard's CPU.

Texts go through a plain form (the page comes back rendered, words coloured by the report's
own markup); images through a script's multipart upload, answered in JSON with the overlay as
a PNG data URI. Models are picked from a list the server builds: a reference is never a path.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from ...errors import TuneforgeError
from ...recipes.runs import run_summaries
from ...report.explanations import METHOD_NAMES, words_html
from ...serve.image_inputs import decode_images, form_images
from ...serve.inputs import Rejected, read_body
from ...serve.settings import ServeSettings
from ..playground import ModelCache, explain_image, explain_text, methods, model_choices
from ..templating import render
from .deps import settings_of, store_of

router = APIRouter()
# The model server's upload limits (one image of at most 1 MB and 4096×4096 pixels).
UPLOAD_LIMITS = ServeSettings(max_inputs=1)


def cache_of(request: Request) -> ModelCache:
    """The app's model cache, made on first use (most dashboards never open the playground)."""
    state = request.app.state
    if getattr(state, "playground", None) is None:
        state.playground = ModelCache(settings_of(request).runs_dir)
    return state.playground


def _choices(request: Request):
    settings = settings_of(request)
    return model_choices(run_summaries(settings.runs_dir, store_of(request)), store_of(request))


def _chosen(request: Request, ref: str):
    """The picked model's reference, if it is one of the listed models (else a 404)."""
    choices = _choices(request)
    if not ref:
        return choices, (choices[0].ref if choices else "")
    if ref not in {c.ref for c in choices}:
        raise HTTPException(404, f"No model '{ref}' to try: pick one of the listed models.")
    return choices, ref


def _page(request: Request, ref: str, status: int = 200, **result: Any) -> HTMLResponse:
    choices, ref = _chosen(request, ref)
    context: dict[str, Any] = {"noun": "", "methods": [], "load_error": None}
    if ref:
        cache = cache_of(request)
        try:
            with cache.lock:
                model = cache.get(ref)
            context.update(noun=model.task.input_noun, methods=methods(model))
        except TuneforgeError as exc:
            context["load_error"] = exc.message
    defaults = {"text": "", "method": "occlusion", "top": None, "words": None, "error": None}
    return render(
        request,
        "playground.html",
        status,
        title="Playground",
        choices=choices,
        ref=ref,
        **context,
        **{**defaults, **result},
    )


@router.get("/playground", response_class=HTMLResponse)
def playground_page(request: Request, model: str = "") -> HTMLResponse:
    return _page(request, model)


@router.post("/playground", response_class=HTMLResponse)
def predict_text(
    request: Request,
    model: str = Form(""),
    text: str = Form(""),
    method: str = Form("occlusion"),
) -> HTMLResponse:
    """Predict and explain one typed text; the page comes back with the result."""
    _, ref = _chosen(request, model)
    cache = cache_of(request)
    try:
        with cache.lock:
            result = explain_text(cache.get(ref), text, method)
    except TuneforgeError as exc:
        return _page(request, ref, 400, text=text, method=method, error=exc.message)
    explanation = result["explanation"]
    return _page(
        request,
        ref,
        text=text,
        method=result["method"],
        top=result["top"],
        explained=explanation["label"],
        method_name=METHOD_NAMES.get(result["method"], result["method"]),
        words=Markup(words_html(explanation)),  # escaped by words_html itself
    )


@router.post("/api/playground/image")
async def predict_image(request: Request, model: str = "", method: str = "occlusion"):
    """Predict and explain one uploaded image (multipart, one ``files`` part); JSON back with
    the top labels and the heat-map overlay as a data URI."""
    _, ref = _chosen(request, model)
    body = await read_body(request, UPLOAD_LIMITS.max_body_bytes + 64_000)
    if body is None:
        return JSONResponse({"error": "the upload is over the limit of 1 MB"}, 413)
    try:
        blobs, names, _ = form_images(body, request.headers.get("content-type", ""), UPLOAD_LIMITS)
        result = await run_in_threadpool(_explain_upload, request, ref, blobs[0], names[0], method)
        return JSONResponse(result)
    except Rejected as exc:
        return JSONResponse({"error": exc.message}, exc.status)
    except TuneforgeError as exc:
        return JSONResponse({"error": exc.message}, 400)


def _explain_upload(request: Request, ref: str, blob: bytes, name: str, method: str) -> dict:
    from ...data.image_files import decode_image

    cache = cache_of(request)
    with cache.lock:
        model = cache.get(ref)
        if model.task.input_noun != "image":
            raise Rejected(422, f"'{ref}' classifies {model.task.input_noun}s, not images")
        featurizer = model.predictor.featurizer
        (pixels,), _ = decode_images([blob], [name], featurizer, UPLOAD_LIMITS)
        return explain_image(model, pixels, decode_image(blob, name=name or "upload"), method)
