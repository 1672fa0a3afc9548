"""Monitoring: the served models with predictions in the log, and per model its traffic, label
shares, confidence, latency and drift by time bucket (charts fetch ``/api/monitoring/<model>``
after the page has rendered), the alert rules of ``tuneforge ui --rules FILE`` with their state
and history, and the latest doubtful inputs."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from .. import monitoring
from ..templating import render
from .deps import settings_of, store_of

router = APIRouter()


def _logged_or_404(request: Request, model: str) -> monitoring.LoggedModel:
    for logged in monitoring.logged_models(store_of(request)):
        if logged.name == model:
            return logged
    raise HTTPException(404, f"No predictions of a model '{model}' in the prediction log.")


def _window(window: str) -> str:
    if window not in monitoring.WINDOWS:
        raise HTTPException(400, f"window must be one of {', '.join(monitoring.WINDOWS)}.")
    return window


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_page(request: Request) -> HTMLResponse:
    models = monitoring.logged_models(store_of(request))
    return render(request, "monitoring.html", title="Monitoring", models=models)


@router.get("/monitoring/{model}", response_class=HTMLResponse)
def model_page(
    request: Request, model: str, window: str = monitoring.DEFAULT_WINDOW
) -> HTMLResponse:
    logged = _logged_or_404(request, model)
    window = _window(window)
    settings, store = settings_of(request), store_of(request)
    now = dt.datetime.now(dt.timezone.utc)
    profile, source = monitoring.reference(model, settings.runs_dir, store)
    rules, sinks, rules_error = monitoring.read_rules(settings.rules_file)
    length, _ = monitoring.WINDOWS[window]
    return render(
        request,
        "monitor_model.html",
        title=f"Monitoring {model}",
        model=logged,
        window=window,
        windows=list(monitoring.WINDOWS),
        reference_note=source,
        has_reference=profile is not None,
        rules_file=settings.rules_file,
        rules_error=rules_error,
        rules=monitoring.rule_states(store, model, profile, rules, settings.runs_dir, now),
        history=monitoring.alert_history(sinks, model),
        doubtful=monitoring.doubtful_inputs(store, model, now - length, now),
        retention=monitoring.retention(store, model, settings.runs_dir),
    )


@router.get("/api/monitoring/{model}")
def model_json(
    request: Request, model: str, window: str = monitoring.DEFAULT_WINDOW
) -> JSONResponse:
    _logged_or_404(request, model)
    window = _window(window)
    settings, store = settings_of(request), store_of(request)
    profile, _ = monitoring.reference(model, settings.runs_dir, store)
    now = dt.datetime.now(dt.timezone.utc)
    return JSONResponse(monitoring.chart_data(store, model, profile, window, now))
