"""The recommendations page: pick a recommend run, type a user id or a history of item ids,
see the items the model recommends with their scores and fields (the user's own history
beside them).

Requests are POSTs with the CSRF token like the search page's, allowed under ``--read-only``
since they change nothing stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ...errors import TuneforgeError
from ..recommend import RecommenderCache, recommend_one, recommend_runs
from ..templating import render
from .deps import settings_of

router = APIRouter()


def cache_of(request: Request) -> RecommenderCache:
    state = request.app.state
    if getattr(state, "recommenders", None) is None:
        state.recommenders = RecommenderCache(settings_of(request).runs_dir)
    return state.recommenders


def _chosen(request: Request, run_id: str):
    choices = recommend_runs(settings_of(request).runs_dir)
    if not run_id:
        return choices, (choices[0].run_id if choices else "")
    if run_id not in {c.run_id for c in choices}:
        raise HTTPException(404, f"No recommend run '{run_id}': pick one of the listed runs.")
    return choices, run_id


def _page(request: Request, run_id: str, status: int = 200, **result: Any) -> HTMLResponse:
    choices, run_id = _chosen(request, run_id)
    opened, load_error = None, None
    if run_id:
        cache = cache_of(request)
        try:
            with cache.lock:
                opened = cache.get(run_id)
        except TuneforgeError as exc:
            load_error = exc.message
    defaults = {"user": "", "history": "", "k": 10, "hits": None, "seen": [], "error": None}
    return render(
        request,
        "recommend.html",
        status,
        title="Recommend",
        choices=choices,
        run_id=run_id,
        users=list(opened.histories)[:5] if opened else [],
        item_count=len(opened.item_ids) if opened else 0,
        load_error=load_error,
        **{**defaults, **result},
    )


@router.get("/recommend", response_class=HTMLResponse)
def recommend_page(request: Request, run: str = "") -> HTMLResponse:
    return _page(request, run)


@router.post("/recommend", response_class=HTMLResponse)
def recommend(
    request: Request,
    run: str = Form(""),
    user: str = Form(""),
    history: str = Form(""),
    k: int = Form(10),
) -> HTMLResponse:
    """The best items for one user or history; the page comes back with them."""
    _, run_id = _chosen(request, run)
    cache = cache_of(request)
    typed = {"user": user, "history": history, "k": k}
    try:
        with cache.lock:
            recommender = cache.get(run_id)
            hits = recommend_one(recommender, user, history, k)
            seen = recommender.history_of(user.strip()) if user.strip() else []
    except TuneforgeError as exc:
        return _page(request, run_id, 400, **typed, error=exc.message)
    return _page(request, run_id, **typed, hits=hits, seen=seen[-10:])
