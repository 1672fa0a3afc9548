"""One run's page: its facts, curves, confusion matrix (hover for counts, click a cell for its
examples), per-class table, calibration (reliability diagram), most confidently wrong texts,
and its release variants."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse

from ...errors import RunError
from ...report.examples import run_redacts_examples
from .. import run_data
from ..studies import study_of
from ..templating import render
from .deps import run_or_404, settings_of, store_of

router = APIRouter()


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> HTMLResponse:
    run = run_or_404(request, run_id)
    files = run_data.read_files(run)
    record = store_of(request).get(run.run_id)
    return render(
        request,
        "run.html",
        title=f"Run {run.run_id}",
        run_id=run.run_id,
        state=str(files.status.get("state") or (record.state if record else "unknown")),
        error=files.status.get("error") or (record.error if record else None),
        facts=run_data.facts(files.status),
        beaten=files.status.get("baseline_beats_model") or None,
        notes=files.notes,
        ev=files.ev,
        confusion=run_data.confusion(files.ev),
        per_class=run_data.per_class(files.ev),
        calibration=run_data.calibration(files.ev),
        wrong=run_data.wrong_examples(files.explanations, run_redacts_examples(run.path)),
        variants=run_data.variants(files.tradeoff, files.parity),
        report=run.report_path.is_file(),
        study=study_of(run.run_id, settings_of(request).runs_dir),
    )


@router.get("/api/runs/{run_id}/cell")
def cell_json(request: Request, run_id: str, true: int, pred: int) -> JSONResponse:
    """The count and kept examples of one confusion cell (row ``true``, column ``pred``)."""
    run = run_or_404(request, run_id)
    ev = run_data.read_files(run).ev
    try:
        redact = run_redacts_examples(run.path)
        return JSONResponse(run_data.cell_examples(ev, true, pred, redact))
    except RunError as exc:
        raise HTTPException(404, exc.message) from None


@router.get("/runs/{run_id}/report")
def report_file(request: Request, run_id: str) -> FileResponse:
    """The run's own report.html (self-contained: inline CSS, PNG data URIs, no scripts)."""
    run = run_or_404(request, run_id)
    if not run.report_path.is_file():
        raise HTTPException(404, f"Run '{run.run_id}' has no report yet.")
    return FileResponse(run.report_path, media_type="text/html")
