"""The labeling pages: every queue with its progress; one queue's agreement, conflicts and
retrain; and the desk where a person labels one item at a time by keyboard.

Every write is a function of ``recipes/label.py`` (``hand_out_one`` hands items out as
``label next`` does, ``save_label`` records an Annotation of origin ``browser`` under the
dashboard's ``--annotator``, ``undo_label`` takes one back) or ``recipes/retrain.py``; the
routes only choose what to call and where to go next. Each POST answers with a redirect to the
page to show (post/redirect/get), so a reload never saves twice.
"""

from __future__ import annotations

import threading
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from ...config import RETRAIN_HOLDOUT, RETRAIN_MIN_GAIN
from ...errors import TuneforgeError
from ...label.queue import Queue
from ...recipes import label as label_recipe
from ...recipes import label_desk
from ...recipes.registry import versions
from ...recipes.retrain import plan_retrain
from .. import labeling
from ..retrain_job import RetrainBusy, RetrainRunner
from ..templating import render
from .deps import settings_of, store_of

router = APIRouter()
_STATE_LOCK = threading.Lock()  # the per-process helpers below are made once


def _runs_dir(request: Request):
    return settings_of(request).runs_dir


def _queue_or_404(request: Request, name: str) -> Queue:
    store = label_recipe.label_store(_runs_dir(request))
    found = store.find_queue(name)
    if found is None:
        raise HTTPException(404, f"No labeling queue '{name}' in {_runs_dir(request)}.")
    return found


def _refused(exc: TuneforgeError) -> HTTPException:
    """A recipe's refusal (unknown model, wrong task, too few labels) as a 400 page."""
    return HTTPException(400, exc.message + (f" {exc.hint}" if exc.hint else ""))


def _state(request: Request, name: str):
    """The app's per-process helpers, made on first use: desks, explainers, the retrain."""
    state = request.app.state
    with _STATE_LOCK:
        if not hasattr(state, name):
            made = {
                "label_desks": labeling.Desks,
                "explainers": labeling.ExplainerCache,
                "retrain": lambda: RetrainRunner(_runs_dir(request)),
            }[name]()
            setattr(state, name, made)
        return getattr(state, name)


def _desk(request: Request, queue: str) -> labeling.QueueDesk:
    return _state(request, "label_desks").of(request.session, queue)


def _item_url(queue: str, model: str) -> str:
    query = f"?{urlencode({'model': model})}" if model else ""
    return f"/labeling/{quote(queue)}/item{query}"


def _models(request: Request) -> dict:
    runs_dir = _runs_dir(request)
    records = store_of(request).list_runs(limit=200)
    return {
        "registered": labeling.registered_refs(versions(runs_dir)),
        "runs": labeling.run_refs(records),
    }


# -- pages -----------------------------------------------------------------------------------
@router.get("/labeling", response_class=HTMLResponse)
def queues_page(request: Request) -> HTMLResponse:
    rows = labeling.queue_rows(label_recipe.queue_status(None, _runs_dir(request)))
    return render(request, "labeling.html", title="Labeling", queues=rows)


@router.get("/labeling/{queue}", response_class=HTMLResponse)
def queue_page(request: Request, queue: str) -> HTMLResponse:
    found = _queue_or_404(request, queue)
    runs_dir = _runs_dir(request)
    status = labeling.queue_rows(label_recipe.queue_status(found.name, runs_dir))[0]
    _, result, contents = label_recipe.queue_agreement(found.name, runs_dir)
    return render(
        request,
        "labeling_queue.html",
        title=f"Queue {found.name}",
        queue=found,
        status=status,
        agreement=result,
        conflicts=labeling.conflict_rows(result, contents),
        models=_models(request),
        min_gain=RETRAIN_MIN_GAIN,
        holdout=RETRAIN_HOLDOUT,
    )


@router.get("/labeling/{queue}/item", response_class=HTMLResponse)
def item_page(request: Request, queue: str, model: str = "") -> HTMLResponse:
    found = _queue_or_404(request, queue)
    desk = _desk(request, found.name)
    runs_dir = _runs_dir(request)
    store = label_recipe.label_store(runs_dir)
    hand, item = desk.current, None
    if hand is not None:
        item = store.items_by_id(found, [hand.item_id]).get(hand.item_id)
        if item is not None:
            cache = _state(request, "explainers")
            labeling.explain_in_hand(hand, item, found.task, model, runs_dir, cache)
    last = desk.undo[-1] if desk.undo else None
    return render(
        request,
        "labeling_item.html",
        title=f"Label · {found.name}",
        queue=found,
        counts=store.counts(found),
        keys=labeling.label_keys(found.labels),
        hand=hand if item is not None else None,
        item=item,
        explanation=labeling.explanation_view(hand.explanation if hand else None),
        model=model,
        models=_models(request),
        last=last,
        undo_depth=len(desk.undo),
        annotator=settings_of(request).annotator,
    )


# -- labelling, one item at a time -----------------------------------------------------------
def _advance(request: Request, queue: Queue, desk: labeling.QueueDesk, model: str) -> None:
    """Put the next item in hand: one set aside by an undo first, else a new one handed out
    by the recipe (with the chosen model's suggestion when a model is chosen)."""
    store = label_recipe.label_store(_runs_dir(request))
    while desk.later:
        hand = desk.later.pop()
        item = store.items_by_id(queue, [hand.item_id]).get(hand.item_id)
        if item is not None and item.state == "assigned":
            desk.current = hand
            return
    try:
        handed = label_desk.hand_out_one(queue.name, _runs_dir(request), model or None)
    except TuneforgeError as exc:
        desk.current = None
        raise _refused(exc) from None
    desk.current = labeling.in_hand(handed)


@router.post("/labeling/{queue}/next")
def next_item(request: Request, queue: str, model: str = Form("")) -> RedirectResponse:
    found = _queue_or_404(request, queue)
    desk = _desk(request, found.name)
    if desk.current is None:
        _advance(request, found, desk, model)
    return RedirectResponse(_item_url(found.name, model), 303)


@router.post("/labeling/{queue}/label")
def save(
    request: Request, queue: str, item: int = Form(), label: str = Form(), model: str = Form("")
) -> RedirectResponse:
    found = _queue_or_404(request, queue)
    desk = _desk(request, found.name)
    annotator = settings_of(request).annotator
    try:
        saved = label_desk.save_label(found.name, item, label, annotator, _runs_dir(request))
    except TuneforgeError as exc:
        raise _refused(exc) from None
    labeling.remember_save(desk, saved)
    if desk.current is not None and desk.current.item_id == item:
        desk.current = None
    if desk.current is None:
        _advance(request, found, desk, model)
    return RedirectResponse(_item_url(found.name, model), 303)


@router.post("/labeling/{queue}/skip")
def skip(
    request: Request, queue: str, item: int = Form(), model: str = Form("")
) -> RedirectResponse:
    """Set the item aside (it stays assigned, as a ``label next`` batch not labelled yet)."""
    found = _queue_or_404(request, queue)
    desk = _desk(request, found.name)
    if desk.current is not None and desk.current.item_id == item:
        desk.current = None
        _advance(request, found, desk, model)
    return RedirectResponse(_item_url(found.name, model), 303)


@router.post("/labeling/{queue}/undo")
def undo(request: Request, queue: str, model: str = Form("")) -> RedirectResponse:
    """Take back the last save: the item returns to the state it had and comes back in hand;
    the item that was in hand is set aside to come next."""
    found = _queue_or_404(request, queue)
    desk = _desk(request, found.name)
    if not desk.undo:
        raise HTTPException(409, "Nothing to undo: no label was saved here in this session.")
    saved = desk.undo.pop()
    try:
        item = label_desk.undo_label(saved, _runs_dir(request))
    except TuneforgeError as exc:
        raise HTTPException(409, exc.message) from None
    if desk.current is not None:
        desk.later.append(desk.current)
    suggestion = label_recipe.label_store(_runs_dir(request)).suggestions(found).get(item.id)
    desk.current = labeling.InHand(item.id, suggestion)
    return RedirectResponse(_item_url(found.name, model), 303)


# -- retrain ---------------------------------------------------------------------------------
@router.get("/labeling/{queue}/retrain", response_class=HTMLResponse)
def retrain_plan(
    request: Request,
    queue: str,
    model: str = "",
    min_gain: float = RETRAIN_MIN_GAIN,
    holdout: float = RETRAIN_HOLDOUT,
) -> HTMLResponse:
    """The dry run: what a retrain would train on and the gain it must reach, before any
    work, with the button that starts it."""
    found = _queue_or_404(request, queue)
    if not model:
        raise HTTPException(400, "Choose the registered model to retrain (NAME@stage).")
    try:
        plan = plan_retrain(
            model, found.name, _runs_dir(request), holdout=holdout, min_gain=min_gain
        )
    except TuneforgeError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "labeling_retrain.html",
        title=f"Retrain {model} · {found.name}",
        queue=found,
        model=model,
        plan=plan.summary(),
        min_gain=min_gain,
        holdout=holdout,
        running=_state(request, "retrain").status(),
    )


@router.post("/labeling/{queue}/retrain")
def retrain_start(
    request: Request,
    queue: str,
    model: str = Form(),
    min_gain: float = Form(RETRAIN_MIN_GAIN),
    holdout: float = Form(RETRAIN_HOLDOUT),
) -> RedirectResponse:
    found = _queue_or_404(request, queue)
    try:  # the plan's checks first, so a bad request fails here, not in the thread
        plan_retrain(model, found.name, _runs_dir(request), holdout=holdout, min_gain=min_gain)
        _state(request, "retrain").start(model, found.name, min_gain=min_gain, holdout=holdout)
    except TuneforgeError as exc:
        raise _refused(exc) from None
    except RetrainBusy as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/labeling/{quote(found.name)}#retrain", 303)


@router.get("/api/retrain")
def retrain_status(request: Request) -> JSONResponse:
    """The dashboard's retrain: running with its log, or done with the decision and figures."""
    return JSONResponse(_state(request, "retrain").status() or {"state": "none"})
