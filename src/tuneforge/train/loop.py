"""fit(): the fine-tuning loop.

AdamW with linear warm-up and decay, bf16 autocast where the CPU has native bf16, dynamic padding
with length-bucketed batches, gradient accumulation, class weights, validation every epoch (and
every N steps), early stopping on validation macro-F1, the best weights kept, epoch checkpoints.
Hand-written instead of ``transformers.Trainer`` because those choices are what make training
fast on a small CPU (see docs/benchmarks.md) and because exact resume needs a replayable order.

fit() reads top to bottom: :func:`~tuneforge.train.setup.prepare` builds the run, each epoch
steps through its batches here, and :mod:`tuneforge.train.selection` validates, keeps the best
weights and decides early stopping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..config import TrainConfig
from ..models import ClassifierModel
from ..types import DatasetSplits
from .batching import length_bucketed_batches
from .checkpoint import save_checkpoint
from .defaults import auto_epochs, ensure_resolved, schedule_of
from .distributed import all_sum, shard
from .precision import autocast
from .privacy import PrivacyPlan
from .selection import evaluate_and_select, restore_best
from .setup import Training, prepare, updates_per_epoch


@dataclass
class TrainResult:
    """What training did; the model object passed to fit() now holds the best weights."""

    best_epoch: int
    best_step: int
    best_val_macro_f1: float
    epochs_run: int
    global_step: int
    train_seconds: float
    examples_per_s: float
    precision: str
    stopped_early: bool
    resumed_from_epoch: int = 0
    frozen_layers: int = 0
    history: list[dict] = field(default_factory=list)
    privacy: dict | None = None  # a DP run: ε spent, δ and the DP-SGD settings


def planned_updates(
    n_train: int, cfg: TrainConfig, task: str = "text", pretrained: bool | None = None
) -> int:
    """Optimizer steps a run of ``n_train`` examples will take (schedules need it up front).

    A resolved ``cfg`` is used as it is; one with defaults still missing is resolved first.
    """
    cfg = ensure_resolved(cfg, task, pretrained=pretrained)
    epochs = cfg.epochs or auto_epochs(n_train, schedule_of(task, pretrained))
    return updates_per_epoch(n_train, cfg) * epochs


def fit(
    cm: ClassifierModel,
    data: DatasetSplits,
    cfg: TrainConfig,
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    on_metrics: Callable[[dict], None] | None = None,
    on_resume: Callable[[int], None] | None = None,
    progress: bool = True,
    teacher_logits: np.ndarray | None = None,
    privacy: PrivacyPlan | None = None,
) -> TrainResult:
    """Fine-tune ``cm.model`` on ``data.train``, select on ``data.val``; returns a TrainResult.

    ``cfg`` may come resolved (a run's config.yaml) or with ``None`` defaults, which are filled
    in once here. With ``teacher_logits`` (one row per training example) the loss also pulls the
    model towards the teacher's softened distribution: knowledge distillation into a smaller
    model. With ``checkpoint_dir`` every epoch ends with a checkpoint, and ``resume`` continues
    from it exactly (same batches, dropout masks, schedule and best weights). With ``privacy``
    it trains with DP-SGD (:mod:`tuneforge.train.privacy`): Poisson batches instead of length
    buckets, per-example clipping and noise, and ``TrainResult.privacy`` the ε spent; the model
    comes back without Opacus' hooks, as a plain module.
    """
    run = prepare(
        cm,
        data,
        cfg,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        on_resume=on_resume,
        on_metrics=on_metrics,
        progress=progress,
        teacher_logits=teacher_logits,
        privacy=privacy,
    )
    try:
        _run_epochs(run, checkpoint_dir)
    finally:
        if run.private is not None:
            run.private.detach()
    run.bar.close()
    restore_best(run)
    run.model.eval()
    return _result(run)


def _run_epochs(run: Training, checkpoint_dir: Path | None) -> None:
    """Every remaining epoch, each validated and checkpointed, until done or stopped early."""
    state = run.state
    run.model.train()
    for epoch in range(state.epochs_done, run.epochs):
        _run_epoch(run, epoch)
        if not run.stopped_early:
            run.stopped_early = evaluate_and_select(run, float(epoch + 1))
        if run.private is not None:
            state.privacy = run.private.state()
        if checkpoint_dir is not None and run.dist.is_main:
            save_checkpoint(
                checkpoint_dir, run.model, run.optimizer, run.scheduler, state, run.best_weights
            )
        if run.stopped_early:
            run.bar.message(f"early stop: no val macro-F1 gain in {state.bad_evals} evaluations")
            break


def _run_epoch(run: Training, epoch: int) -> None:
    """One pass over the length-bucketed batches: an optimizer step every ``grad_accum``
    batches and at the epoch's end, train records, and validations every ``eval_every`` steps
    (which may stop training early)."""
    cfg, state = run.cfg, run.state
    torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout masks replay exactly on resume
    epoch_start = time.perf_counter()
    if run.private is not None:  # DP: Poisson batches, see train/privacy.py
        batches = run.private.epoch_batches(epoch)
    else:
        batches = length_bucketed_batches(
            run.data.lengths, cfg.batch_size, cfg.seed, epoch, cfg.bucket_size
        )
    run.optimizer.zero_grad(set_to_none=True)
    run.window.loss, run.window.n = 0.0, 0
    for b, batch in enumerate(batches):
        _accumulate(run, batch)
        last_in_epoch = b == len(batches) - 1
        if (b + 1) % cfg.grad_accum and not last_in_epoch:
            continue
        _update(run)
        epoch_float = epoch + (b + 1) / len(batches)
        _report(run, epoch_float, last_in_epoch)
        if run.eval_every and state.global_step % run.eval_every == 0 and not last_in_epoch:
            state.train_seconds += time.perf_counter() - epoch_start
            stop = evaluate_and_select(run, epoch_float)
            epoch_start = time.perf_counter()
            if stop:
                run.stopped_early = True
                break
    state.train_seconds += time.perf_counter() - epoch_start
    state.examples_seen += sum(len(b) for b in batches)
    state.epochs_done = epoch + 1


def _accumulate(run: Training, batch: list[int]) -> None:
    """Forward and backward this rank's share of ``batch``; gradients add up until _update."""
    cfg, device = run.cfg, run.device
    if not batch and run.private is not None:
        run.private.empty_step_grads(run.model)  # a Poisson batch may sample no example
        return
    part, share = shard(batch, run.dist)
    inputs = run.featurizer.collate([run.data.train[i] for i in part], train=True)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    target = torch.tensor([run.data.train_y[i] for i in part], device=device)
    with autocast(run.precision, device):
        logits = run.train_model(**inputs).logits
    loss = F.cross_entropy(
        logits.float(), target, weight=run.class_weights, label_smoothing=cfg.label_smoothing
    )
    if run.teacher_logits is not None:
        loss = _distill_loss(loss, logits.float(), run.teacher_logits[part], cfg, device)
    (loss * share / cfg.grad_accum).backward()
    if run.private is not None and not run.private.probed:
        run.private.check_probe(run.model, len(part))  # before the first step
    run.window.loss += loss.item() * len(part) * (share > 0)
    run.window.n += len(part) * (share > 0)
    run.window.examples += len(batch)


def _update(run: Training) -> None:
    """One optimizer step on the accumulated gradients (clipped), and the schedule's step."""
    if run.cfg.max_grad_norm > 0 and run.private is None:  # DP clips each example instead
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    if run.cm.on_update is not None:
        run.cm.on_update(run.state.global_step)
    run.optimizer.zero_grad(set_to_none=True)
    run.state.global_step += 1


def _report(run: Training, epoch_float: float, last_in_epoch: bool) -> None:
    """The progress line after every step; a train record every 10 steps and at epoch ends,
    its loss summed over ranks."""
    window, step = run.window, run.state.global_step
    now = time.perf_counter()
    speed = window.examples / max(now - window.start, 1e-9)
    run.bar.update(step, f"loss {window.loss / max(window.n, 1):.4f}  {speed:.0f} ex/s")
    if step % 10 and not last_in_epoch:
        return
    loss, n = all_sum([window.loss, window.n], run.dist)
    record = {
        "split": "train",
        "step": step,
        "epoch": round(epoch_float, 4),
        "loss": loss / n,
        "lr": run.scheduler.get_last_lr()[0],
        "examples_per_s": speed,
    }
    if run.on_metrics and run.dist.is_main:
        run.on_metrics(record)
    window.loss, window.n = 0.0, 0
    window.examples, window.start = 0, now


def _distill_loss(hard_loss, logits, teacher: np.ndarray, cfg: TrainConfig, device):
    """(1 - α)·CE(labels) + α·T²·KL(student/T ‖ teacher/T), the Hinton et al. recipe."""
    t = cfg.distill_temperature
    soft = F.kl_div(
        F.log_softmax(logits / t, dim=-1),
        F.softmax(torch.from_numpy(teacher).to(device) / t, dim=-1),
        reduction="batchmean",
    )
    return (1 - cfg.distill_alpha) * hard_loss + cfg.distill_alpha * t * t * soft


def _result(run: Training) -> TrainResult:
    state = run.state
    return TrainResult(
        best_epoch=state.best_epoch,
        best_step=state.best_step,
        best_val_macro_f1=max(state.best_metric, 0.0),
        epochs_run=state.epochs_done,
        global_step=state.global_step,
        train_seconds=state.train_seconds,
        examples_per_s=state.examples_seen / max(state.train_seconds, 1e-9),
        precision=run.precision,
        stopped_early=run.stopped_early,
        resumed_from_epoch=run.resumed_from,
        frozen_layers=run.frozen_layers,
        history=state.history,
        privacy=run.private.spent() if run.private is not None else None,
    )
