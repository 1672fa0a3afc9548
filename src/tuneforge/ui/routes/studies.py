"""Studies: the hyperparameter searches of ``tuneforge tune``; per study its trials (each a run
page), the best value so far by trial, and the parameters' importances (the chart data comes
from ``/api/studies/<study>`` after the page has rendered)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from ...errors import RunError
from .. import studies
from ..templating import render
from .deps import settings_of

router = APIRouter()


@router.get("/studies", response_class=HTMLResponse)
def studies_page(request: Request) -> HTMLResponse:
    rows = studies.list_studies(settings_of(request).runs_dir)
    return render(request, "studies.html", title="Studies", studies=rows)


@router.get("/studies/{name}", response_class=HTMLResponse)
def study_page(request: Request, name: str) -> HTMLResponse:
    try:
        summary, study = studies.load_summary(settings_of(request).runs_dir, name)
    except RunError as exc:
        raise HTTPException(404, exc.message) from None
    keys, trials = studies.trial_rows(summary)
    return render(
        request,
        "study.html",
        title=f"Study {name}",
        study_name=name,
        summary=summary,
        keys=keys,
        trials=trials,
        from_store=study is not None,
    )


@router.get("/api/studies/{name}")
def study_json(request: Request, name: str) -> JSONResponse:
    try:
        return JSONResponse(studies.chart_data(settings_of(request).runs_dir, name))
    except RunError as exc:
        raise HTTPException(404, exc.message) from None
