"""fit(): the fine-tuning loop.

AdamW with linear warm-up and decay, bf16 autocast where the CPU has native bf16, dynamic padding
with length-bucketed batches, gradient accumulation, class weights, validation every epoch (and
every N steps), early stopping on validation macro-F1, the best weights kept, epoch checkpoints.
Hand-written instead of ``transformers.Trainer`` because those choices are what make training
fast on a small CPU (see docs/benchmarks.md) and because exact resume needs a replayable order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..config import TrainConfig
from ..errors import ConfigError
from ..evaluate.metrics import accuracy_and_macro_f1
from ..models import ClassifierModel
from ..types import DatasetSplits
from .batching import featurizer_for, length_bucketed_batches, sorted_batches
from .checkpoint import TrainerState, find_checkpoint, load_checkpoint, save_checkpoint
from .defaults import auto_epochs, is_pretrained, resolve_train, schedule_of, task_of
from .distributed import all_gather, all_sum, current_context, shard, wrap
from .freeze import default_frozen_layers, freeze_bottom, word_embeddings
from .precision import autocast, resolve_device, resolve_precision
from .progress import Progress


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


def _param_groups(model, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "norm" in name else decay).append(
            param
        )
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _class_weights(mode: str, label_ids: list[int], n_labels: int) -> torch.Tensor | None:
    if mode == "none":
        return None
    if mode != "balanced":
        raise ConfigError(f"train.class_weights must be none or balanced, got '{mode}'.")
    counts = np.bincount(label_ids, minlength=n_labels).astype(np.float64)
    weights = len(label_ids) / (n_labels * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32)


def planned_updates(
    n_train: int, cfg: TrainConfig, task: str = "text", pretrained: bool | None = None
) -> int:
    """Optimizer steps a run of ``n_train`` examples will take (schedules need it up front)."""
    cfg = resolve_train(cfg, task, pretrained=pretrained)
    epochs = cfg.epochs or auto_epochs(n_train, schedule_of(task, pretrained))
    return math.ceil(math.ceil(n_train / cfg.batch_size) / cfg.grad_accum) * epochs


def _validate_config(cfg: TrainConfig) -> None:
    for key in ("epochs", "batch_size", "grad_accum"):
        if getattr(cfg, key) is not None and getattr(cfg, key) < 1:
            raise ConfigError(f"train.{key} must be at least 1, got {getattr(cfg, key)}.")
    if cfg.lr is not None and cfg.lr <= 0:
        raise ConfigError(f"train.lr must be positive, got {cfg.lr}.")


def _distill_loss(hard_loss, logits, teacher: np.ndarray, cfg: TrainConfig, device):
    """(1 - α)·CE(labels) + α·T²·KL(student/T ‖ teacher/T), the Hinton et al. recipe."""
    t = cfg.distill_temperature
    soft = F.kl_div(
        F.log_softmax(logits / t, dim=-1),
        F.softmax(torch.from_numpy(teacher).to(device) / t, dim=-1),
        reduction="batchmean",
    )
    return (1 - cfg.distill_alpha) * hard_loss + cfg.distill_alpha * t * t * soft


@torch.inference_mode()
def _validate(model, items, label_ids, featurizer, precision, device, dist, batch_size=64) -> dict:
    """Validation metrics; under DDP each rank predicts a slice and the slices are gathered."""
    model.eval()
    mine = list(range(dist.rank, len(items), dist.world))
    preds: dict[int, int] = {}
    total_loss = 0.0
    for batch in sorted_batches([featurizer.length(items[i]) for i in mine], batch_size):
        rows = [mine[j] for j in batch]
        inputs = featurizer.collate([items[i] for i in rows], train=False)
        inputs = {k: v.to(device) for k, v in inputs.items()}
        with autocast(precision, device):
            logits = model(**inputs).logits.float()
        target = torch.tensor([label_ids[i] for i in rows], device=device)
        total_loss += F.cross_entropy(logits, target, reduction="sum").item()
        preds.update(zip(rows, logits.argmax(-1).cpu().tolist()))
    model.train()
    parts = all_gather((preds, total_loss), dist)
    merged: dict[int, int] = {}
    for part_preds, _ in parts:
        merged.update(part_preds)
    ordered = [merged[i] for i in range(len(items))]
    total_loss = sum(loss for _, loss in parts)
    acc, macro_f1 = accuracy_and_macro_f1(label_ids, ordered)
    return {"loss": total_loss / max(len(items), 1), "accuracy": acc, "macro_f1": macro_f1}


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
) -> TrainResult:
    """Fine-tune ``cm.model`` on ``data.train``, select on ``data.val``; returns a TrainResult.

    With ``teacher_logits`` (one row per training example) the loss also pulls the model
    towards the teacher's softened distribution: knowledge distillation into a smaller model.
    """
    task, pretrained = task_of(cm), is_pretrained(cm)
    cfg = resolve_train(cfg, task, cm.method, pretrained)
    _validate_config(cfg)
    dist = current_context()
    epochs = cfg.epochs or auto_epochs(len(data.train), schedule_of(task, pretrained))
    device = resolve_device()
    precision = resolve_precision(cfg.precision, device)
    model = cm.model.to(device)
    embeddings = word_embeddings(model)
    if cfg.freeze_embeddings and embeddings is not None:
        embeddings.weight.requires_grad_(False)
    frozen_layers = 0
    if cm.method == "full":  # adapters already keep the whole base frozen
        frozen_layers = cfg.freeze_layers
        if frozen_layers is None:
            frozen_layers = default_frozen_layers(model, task)
        freeze_bottom(model, frozen_layers)
    featurizer = featurizer_for(cm)
    train_ids = featurizer.encode(data.train)
    train_y = cm.labels.ids([e.label for e in data.train])
    val_ids = featurizer.encode(data.val)
    val_y = cm.labels.ids([e.label for e in data.val])
    lengths = [featurizer.length(x) for x in train_ids]

    batches_per_epoch = math.ceil(len(train_ids) / cfg.batch_size)
    updates_per_epoch = math.ceil(batches_per_epoch / cfg.grad_accum)
    total_updates = updates_per_epoch * epochs
    # Long epochs get validated several times so early stopping and selection can act.
    eval_every = cfg.eval_every_steps
    if eval_every is None:
        eval_every = updates_per_epoch // 4 if updates_per_epoch > 1000 else 0
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
    from transformers import get_linear_schedule_with_warmup

    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.warmup_ratio * total_updates), total_updates
    )
    weights = _class_weights(cfg.class_weights, train_y, len(cm.labels))
    if weights is not None:
        weights = weights.to(device)

    state = TrainerState()
    best_weights: dict | None = None
    if resume and checkpoint_dir is not None:
        found = find_checkpoint(checkpoint_dir)
        if found is not None:
            state, best_weights = load_checkpoint(found, model, optimizer, scheduler)
            if on_resume is not None:
                on_resume(state.global_step)
    resumed_from = state.epochs_done

    bar = Progress(total_updates, enabled=progress and dist.is_main)
    train_model = wrap(model, dist)
    stopped_early = False
    examples_window, window_start = 0, time.perf_counter()

    def evaluate_and_select(epoch_float: float) -> bool:
        """Validate, keep the best weights; True when early stopping should end training."""
        nonlocal best_weights
        if not val_ids:
            best_weights = None
            state.best_epoch, state.best_step = math.ceil(epoch_float), state.global_step
            return False
        metrics = _validate(model, val_ids, val_y, featurizer, precision, device, dist)
        record = {"split": "val", "step": state.global_step, "epoch": round(epoch_float, 4)}
        record.update(metrics)
        state.history.append(record)
        if on_metrics and dist.is_main:
            on_metrics(record)
        bar.message(
            f"epoch {epoch_float:.2f}  val loss {metrics['loss']:.4f}  "
            f"acc {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}"
        )
        # Ties in macro-F1 (common on small validation sets) go to the lower validation loss.
        better = metrics["macro_f1"] > state.best_metric or (
            metrics["macro_f1"] == state.best_metric and metrics["loss"] < state.best_loss
        )
        if better:
            state.best_metric, state.best_loss = metrics["macro_f1"], metrics["loss"]
            state.best_epoch, state.best_step = math.ceil(epoch_float), state.global_step
            state.bad_evals = 0
            best_weights = {
                k: v.detach().to("cpu", copy=True).contiguous()
                for k, v in model.state_dict().items()
            }
            return False
        state.bad_evals += 1
        return 0 < cfg.early_stopping_patience <= state.bad_evals

    model.train()
    for epoch in range(state.epochs_done, epochs):
        torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout masks replay exactly on resume
        epoch_start = time.perf_counter()
        batches = length_bucketed_batches(lengths, cfg.batch_size, cfg.seed, epoch, cfg.bucket_size)
        optimizer.zero_grad(set_to_none=True)
        running_loss, running_n = 0.0, 0
        for b, batch in enumerate(batches):
            part, share = shard(batch, dist)
            inputs = featurizer.collate([train_ids[i] for i in part], train=True)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            target = torch.tensor([train_y[i] for i in part], device=device)
            with autocast(precision, device):
                logits = train_model(**inputs).logits
            loss = F.cross_entropy(
                logits.float(), target, weight=weights, label_smoothing=cfg.label_smoothing
            )
            if teacher_logits is not None:
                loss = _distill_loss(loss, logits.float(), teacher_logits[part], cfg, device)
            (loss * share / cfg.grad_accum).backward()
            running_loss += loss.item() * len(part) * (share > 0)
            running_n += len(part) * (share > 0)
            examples_window += len(batch)
            last_in_epoch = b == len(batches) - 1
            if (b + 1) % cfg.grad_accum and not last_in_epoch:
                continue
            if cfg.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            if cm.on_update is not None:
                cm.on_update(state.global_step)
            optimizer.zero_grad(set_to_none=True)
            state.global_step += 1
            epoch_float = epoch + (b + 1) / len(batches)
            now = time.perf_counter()
            speed = examples_window / max(now - window_start, 1e-9)
            bar.update(
                state.global_step, f"loss {running_loss / max(running_n, 1):.4f}  {speed:.0f} ex/s"
            )
            if state.global_step % 10 == 0 or last_in_epoch:
                running_loss, running_n = all_sum([running_loss, running_n], dist)
                record = {
                    "split": "train",
                    "step": state.global_step,
                    "epoch": round(epoch_float, 4),
                    "loss": running_loss / running_n,
                    "lr": scheduler.get_last_lr()[0],
                    "examples_per_s": speed,
                }
                if on_metrics and dist.is_main:
                    on_metrics(record)
                running_loss, running_n = 0.0, 0
                examples_window, window_start = 0, now
            if eval_every and state.global_step % eval_every == 0 and not last_in_epoch:
                state.train_seconds += time.perf_counter() - epoch_start
                stop = evaluate_and_select(epoch_float)
                epoch_start = time.perf_counter()
                if stop:
                    stopped_early = True
                    break
        state.train_seconds += time.perf_counter() - epoch_start
        state.examples_seen += sum(len(b) for b in batches)
        state.epochs_done = epoch + 1
        if not stopped_early:
            stopped_early = evaluate_and_select(float(epoch + 1))
        if checkpoint_dir is not None and dist.is_main:
            save_checkpoint(checkpoint_dir, model, optimizer, scheduler, state, best_weights)
        if stopped_early:
            bar.message(f"early stop: no val macro-F1 gain in {state.bad_evals} evaluations")
            break
    bar.close()
    if best_weights is not None:
        model.load_state_dict(best_weights)
    model.eval()
    return TrainResult(
        best_epoch=state.best_epoch,
        best_step=state.best_step,
        best_val_macro_f1=max(state.best_metric, 0.0),
        epochs_run=state.epochs_done,
        global_step=state.global_step,
        train_seconds=state.train_seconds,
        examples_per_s=state.examples_seen / max(state.train_seconds, 1e-9),
        precision=precision,
        stopped_early=stopped_early,
        resumed_from_epoch=resumed_from,
        frozen_layers=frozen_layers,
        history=state.history,
    )
