"""What every route reads from the app: its settings and its one store."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import Request

from ...store import RunDir, RunStore
from ..run_data import find_run
from ..settings import UISettings


def settings_of(request: Request) -> UISettings:
    return request.app.state.ui


def store_of(request: Request) -> RunStore:
    return request.app.state.store


def run_or_404(request: Request, run_id: str) -> RunDir:
    run = find_run(run_id, settings_of(request).runs_dir, store_of(request))
    if run is None:
        raise HTTPException(404, f"No run '{run_id}' in {settings_of(request).runs_dir}.")
    return run
