"""The search page: pick a vector index, type a text, see its nearest items with their scores
and stored fields (the answer of the nearest answered question).

Searches are POSTs with the CSRF token like the playground's predictions (another site must not
make a visitor's browser run models on the dashboard's CPU), allowed under ``--read-only``
since they change nothing stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ...errors import TuneforgeError
from ..search import IndexCache, index_choices, search_one
from ..templating import render
from .deps import settings_of

router = APIRouter()


def cache_of(request: Request) -> IndexCache:
    """The app's index cache, made on first use."""
    state = request.app.state
    if getattr(state, "search", None) is None:
        state.search = IndexCache(settings_of(request).runs_dir)
    return state.search


def _chosen(request: Request, name: str):
    choices = index_choices(settings_of(request).runs_dir)
    if not name:
        return choices, (choices[0].name if choices else "")
    if name not in {c.name for c in choices}:
        raise HTTPException(404, f"No index '{name}' to search: pick one of the listed indexes.")
    return choices, name


def _page(request: Request, name: str, status: int = 200, **result: Any) -> HTMLResponse:
    choices, name = _chosen(request, name)
    info, load_error = None, None
    if name:
        cache = cache_of(request)
        try:
            with cache.lock:
                info = cache.get(name).index.info
        except TuneforgeError as exc:
            load_error = exc.message
    defaults = {"query": "", "k": 5, "hits": None, "error": None}
    return render(
        request,
        "search.html",
        status,
        title="Search",
        choices=choices,
        index_name=name,
        info=info,
        load_error=load_error,
        **{**defaults, **result},
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, index: str = "") -> HTMLResponse:
    return _page(request, index)


@router.post("/search", response_class=HTMLResponse)
def search(
    request: Request, index: str = Form(""), query: str = Form(""), k: int = Form(5)
) -> HTMLResponse:
    """The nearest items of one typed text; the page comes back with them."""
    _, name = _chosen(request, index)
    cache = cache_of(request)
    try:
        with cache.lock:
            hits = search_one(cache.get(name), query, k)
    except TuneforgeError as exc:
        return _page(request, name, 400, query=query, k=k, error=exc.message)
    return _page(request, name, query=query, k=k, hits=hits)
