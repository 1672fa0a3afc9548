"""The registry pages: every model's versions with stages, runs and lineage; promoting a run's
variant behind the release gate, and rolling a stage back, each after a confirmation that
shows what will happen.

The confirmation of a promotion shows the gate's decision and figures from
``recipes.registry.check_promotion`` — the very check ``promote`` applies — before the POST
that promotes; a gate that fails refuses (``GateError``) with the same figures and changes
nothing, unless ``force`` was ticked, which the registry records as forced.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import GateError, TuneforgeError
from ...recipes import registry as reg
from ...store import STAGES
from .. import registry_view
from ..templating import render
from .deps import settings_of, store_of

router = APIRouter()
FLASH = "registry_flash"  # a one-time message in the session, shown after a redirect


def _runs_dir(request: Request):
    return settings_of(request).runs_dir


def _refused(exc: TuneforgeError) -> HTTPException:
    return HTTPException(400, exc.message + (f" {exc.hint}" if exc.hint else ""))


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise HTTPException(400, f"Unknown stage '{stage}'. Stages: {', '.join(STAGES)}.")


def _gap(value: str, field: str = "max_slice_gap") -> float | None:
    """An optional number of a form (empty: that gate is off): the slice gap, the max ε."""
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise HTTPException(400, f"{field} must be a number, got {value!r}.") from None


@router.get("/registry", response_class=HTMLResponse)
def registry_page(request: Request) -> HTMLResponse:
    found = reg.versions(_runs_dir(request))
    records = store_of(request).list_runs(limit=200)
    return render(
        request,
        "registry.html",
        title="Registry",
        models=registry_view.model_rows(found),
        promotable=registry_view.promotable(records),
        stages=STAGES,
        flash=request.session.pop(FLASH, None),
    )


def _promote_page(
    request: Request,
    ref: str,
    name: str,
    stage: str,
    gap: float | None,
    status_code: int = 200,
    refusal: str | None = None,
    max_epsilon: float | None = None,
) -> HTMLResponse:
    _check_stage(stage)
    try:
        check = reg.check_promotion(ref, _runs_dir(request), gap, max_epsilon=max_epsilon)
    except TuneforgeError as exc:
        raise _refused(exc) from None
    known = reg.versions(_runs_dir(request)).get(name, [])
    holder = next((v for v in known if v.stage == stage), None)
    return render(
        request,
        "registry_promote.html",
        status_code,
        title=f"Promote {check.run.run_id}:{check.variant}",
        check=check,
        ref=f"{check.run.run_id}:{check.variant}",
        model_name=name,
        stage=stage,
        gap="" if gap is None else gap,
        max_epsilon="" if max_epsilon is None else max_epsilon,
        holder=holder,
        refusal=refusal,
    )


@router.get("/registry/promote", response_class=HTMLResponse)
def promote_confirm(
    request: Request,
    ref: str,
    name: str,
    stage: str,
    max_slice_gap: str = "",
    max_epsilon: str = "",
) -> HTMLResponse:
    """What promoting ``ref`` to ``name@stage`` would meet: the gate's decision and figures."""
    if not name.strip():
        raise HTTPException(400, "Name the model to register the version under.")
    eps = _gap(max_epsilon, "max_epsilon")
    return _promote_page(request, ref, name.strip(), stage, _gap(max_slice_gap), max_epsilon=eps)


@router.post("/registry/promote")
def promote(
    request: Request,
    ref: str = Form(),
    name: str = Form(),
    stage: str = Form(),
    max_slice_gap: str = Form(""),
    max_epsilon: str = Form(""),
    force: str = Form(""),
) -> Response:
    _check_stage(stage)
    gap, eps = _gap(max_slice_gap), _gap(max_epsilon, "max_epsilon")
    try:
        version = reg.promote(
            ref,
            _runs_dir(request),
            name,
            stage,
            force=bool(force),
            max_slice_gap=gap,
            max_epsilon=eps,
        )
    except GateError as exc:
        return _promote_page(
            request, ref, name, stage, gap, 409, refusal=exc.message, max_epsilon=eps
        )
    except TuneforgeError as exc:
        raise _refused(exc) from None
    forced = " (forced)" if version.forced else ""
    request.session[FLASH] = (
        f"{version.name} v{version.version} is now {version.stage}{forced}: "
        f"{version.run_id}:{version.variant}."
    )
    return RedirectResponse(f"/registry#model-{quote(version.name)}", 303)


@router.get("/registry/{name}/rollback", response_class=HTMLResponse)
def rollback_confirm(request: Request, name: str, stage: str) -> HTMLResponse:
    _check_stage(stage)
    try:
        current, previous = reg.rollback_preview(_runs_dir(request), name, stage)
    except TuneforgeError as exc:
        raise HTTPException(404, exc.message) from None
    return render(
        request,
        "registry_rollback.html",
        title=f"Roll back {name}@{stage}",
        model_name=name,
        stage=stage,
        current=current,
        previous=previous,
    )


@router.post("/registry/{name}/rollback")
def rollback(request: Request, name: str, stage: str = Form()) -> RedirectResponse:
    _check_stage(stage)
    try:
        version = reg.rollback(_runs_dir(request), name, stage)
    except TuneforgeError as exc:
        raise HTTPException(409, exc.message) from None
    request.session[FLASH] = (
        f"{version.name}@{version.stage} is now v{version.version} "
        f"({version.run_id}:{version.variant})."
    )
    return RedirectResponse(f"/registry#model-{quote(version.name)}", 303)
