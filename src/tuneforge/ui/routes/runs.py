"""The runs table, the compare page, and the run pages' chart data.

The table is filtered, sorted and cut into pages on the server (``listing``) over every run
the store holds; charts fetch their points from ``/api/runs/<id>/curves`` after the page has
rendered, so a page never waits for metrics it may not show.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from ...errors import RunError
from ...recipes.runs import compare_runs, run_summaries
from ...store import is_valid_name
from ...store.db import STATES
from .. import compare, listing
from ..run_data import curves
from ..templating import render
from .deps import run_or_404, settings_of, store_of

router = APIRouter()
MAX_COMPARED = 8  # more overlaid curves than this cannot be told apart


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/runs", 303)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    q: str = "",
    state: str = "",
    sort: str = listing.DEFAULT_SORT,
    order: str = "desc",
    page: str = "1",
) -> HTMLResponse:
    settings = settings_of(request)
    query = listing.Query.parse(q, state, sort, order, page)
    runs = run_summaries(settings.runs_dir, store_of(request))
    shown = listing.select(runs, query, settings.page_size)
    return render(
        request,
        "runs.html",
        title="Runs",
        query=query,
        page=shown,
        columns=listing.COLUMNS,
        numeric=listing.NUMERIC,
        states=STATES,
        total_runs=len(runs),
        max_compared=MAX_COMPARED,
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request, run: Annotated[list[str] | None, Query()] = None
) -> HTMLResponse:
    run = run or []
    ids = list(dict.fromkeys(r for r in run if r))  # in the order picked, each once
    if len(ids) < 2:
        return render(
            request,
            "message.html",
            400,
            title="Compare",
            message="Pick at least two runs to compare (tick them in the runs table).",
        )
    if len(ids) > MAX_COMPARED:
        ids = ids[:MAX_COMPARED]
    for run_id in ids:
        run_or_404(request, run_id)  # a 404 page naming the run, before any work
    settings = settings_of(request)
    ids, params, finals = compare_runs(ids, settings.runs_dir, store_of(request))
    return render(
        request,
        "compare.html",
        title="Compare " + ", ".join(ids),
        ids=ids,
        metrics=compare.metric_rows(finals),
        config=compare.config_rows(params),
        truncated=len(run) > MAX_COMPARED,
    )


@router.get("/api/runs/{run_id}/curves")
def curves_json(request: Request, run_id: str) -> JSONResponse:
    if not is_valid_name(run_id):
        raise HTTPException(404, "No such run.")
    run = run_or_404(request, run_id)
    try:
        best_step = run.status().get("best_step")
    except RunError:  # a status.json cut short: the curves still draw, unmarked
        best_step = None
    return JSONResponse({"run": run.run_id, **curves(run, best_step)})
