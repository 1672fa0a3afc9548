"""Everything fit() decides before its first step, gathered in one :class:`Training`.

The model goes to its device, the embeddings and bottom blocks are frozen, the examples are
encoded once, the optimizer and the warm-up schedule are built for the whole run, and an
unfinished run continues from its checkpoint. The epoch and selection steps then only read
and advance that object.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..errors import ConfigError
from ..types import DatasetSplits
from .batching import Featurizer, featurizer_for
from .checkpoint import TrainerState, resume_checkpoint
from .defaults import auto_epochs, ensure_resolved, is_pretrained, schedule_of, task_of
from .distributed import DistContext, current_context, wrap
from .dp_sgd import PrivateTraining, freeze_position_embeddings
from .freeze import default_frozen_layers, freeze_bottom, word_embeddings
from .precision import resolve_device, resolve_precision
from .privacy import PrivacyPlan, check_private_training, train_precision
from .progress import Progress


@dataclass(frozen=True)
class Encoded:
    """Training and validation inputs with their label ids, encoded once before training."""

    train: list
    train_y: list[int]
    val: list
    val_y: list[int]
    lengths: list[int]  # what length bucketing groups the training items by


@dataclass
class Window:
    """What the next train record averages: the loss since the last record (reset every
    epoch) and the examples since the last record (for examples/s, across epochs)."""

    loss: float = 0.0
    n: int = 0
    examples: int = 0
    start: float = field(default_factory=time.perf_counter)


@dataclass
class Training:
    """One fit() call: what it trains with and where it stands."""

    cm: Any  # models.ClassifierModel or an image model with the same fields
    cfg: TrainConfig
    epochs: int
    dist: DistContext
    device: torch.device
    precision: str
    model: torch.nn.Module
    train_model: torch.nn.Module  # ``model``, or DDP around it when several processes train
    featurizer: Featurizer
    data: Encoded
    optimizer: torch.optim.Optimizer
    scheduler: Any  # transformers' linear warm-up and decay (a LambdaLR)
    class_weights: torch.Tensor | None
    eval_every: int  # optimizer steps between mid-epoch validations; 0: at epoch ends only
    bar: Progress
    frozen_layers: int
    state: TrainerState
    best_weights: dict | None  # CPU copy of the best validation's weights
    resumed_from: int  # epochs already done when this call started
    on_metrics: Callable[[dict], None] | None = None
    teacher_logits: np.ndarray | None = None
    stopped_early: bool = False
    window: Window = field(default_factory=Window)
    private: PrivateTraining | None = None  # DP-SGD (train/privacy.py); None: a normal run


def updates_per_epoch(n_train: int, cfg: TrainConfig) -> int:
    """Optimizer steps in one pass over ``n_train`` examples (the last batch always steps)."""
    return math.ceil(math.ceil(n_train / cfg.batch_size) / cfg.grad_accum)


def prepare(
    cm: Any,
    data: DatasetSplits,
    cfg: TrainConfig,
    *,
    checkpoint_dir: Path | None,
    resume: bool,
    on_resume: Callable[[int], None] | None,
    on_metrics: Callable[[dict], None] | None,
    progress: bool,
    teacher_logits: np.ndarray | None,
    privacy: PrivacyPlan | None = None,
) -> Training:
    """The run's :class:`Training`, resumed from ``checkpoint_dir`` when ``resume`` is set.

    ``cfg`` is resolved here only when a default is still missing, so a run that resolved its
    config up front trains with exactly that config. With ``privacy`` the model and optimizer
    get Opacus' per-example clipping and noise after the checkpoint is loaded, and the
    accountant continues from it.
    """
    task, pretrained = task_of(cm), is_pretrained(cm)
    cfg = ensure_resolved(cfg, task, cm.method, pretrained)
    _validate_config(cfg)
    dist = current_context()
    if privacy is not None:
        cfg = train_precision(cfg)
        check_private_training(
            cfg, method=cm.method, world=dist.world, distill=teacher_logits is not None
        )
    epochs = cfg.epochs or auto_epochs(len(data.train), schedule_of(task, pretrained))
    device = resolve_device()
    precision = resolve_precision(cfg.precision, device)
    model = cm.model.to(device)
    frozen_layers = _freeze(cm, model, cfg, task)
    if privacy is not None:
        freeze_position_embeddings(model)  # no per-example gradient: see train/privacy.py
    featurizer = featurizer_for(cm)
    encoded = _encode(cm, featurizer, data)
    per_epoch = updates_per_epoch(len(encoded.train), cfg)
    total_updates = per_epoch * epochs
    optimizer, scheduler = _optimizer(model, cfg, total_updates)
    weights = _class_weights(cfg.class_weights, encoded.train_y, len(cm.labels), device)
    state, best_weights = TrainerState(), None
    if resume and checkpoint_dir is not None:
        state, best_weights = _resume(
            checkpoint_dir, model, optimizer, scheduler, on_resume, dist.is_main
        )
    private = None
    if privacy is not None:
        private = PrivateTraining(privacy)
        optimizer = private.attach(model, optimizer)
        private.restore(state.privacy, state.global_step)
    bar = Progress(total_updates, enabled=progress and dist.is_main)
    return Training(
        cm=cm,
        cfg=cfg,
        epochs=epochs,
        dist=dist,
        device=device,
        precision=precision,
        model=model,
        train_model=wrap(model, dist),  # after resume: DDP starts every rank from these weights
        featurizer=featurizer,
        data=encoded,
        optimizer=optimizer,
        scheduler=scheduler,
        class_weights=weights,
        eval_every=_eval_every(cfg, per_epoch),
        bar=bar,
        frozen_layers=frozen_layers,
        state=state,
        best_weights=best_weights,
        resumed_from=state.epochs_done,
        on_metrics=on_metrics,
        teacher_logits=teacher_logits,
        private=private,
    )


def _validate_config(cfg: TrainConfig) -> None:
    for key in ("epochs", "batch_size", "grad_accum"):
        if getattr(cfg, key) is not None and getattr(cfg, key) < 1:
            raise ConfigError(f"train.{key} must be at least 1, got {getattr(cfg, key)}.")
    if cfg.lr is not None and cfg.lr <= 0:
        raise ConfigError(f"train.lr must be positive, got {cfg.lr}.")


def _freeze(cm: Any, model: torch.nn.Module, cfg: TrainConfig, task: str) -> int:
    """Fix the word embeddings (if asked) and, for full fine-tuning, the bottom blocks; returns
    the number of frozen blocks."""
    embeddings = word_embeddings(model)
    if cfg.freeze_embeddings and embeddings is not None:
        embeddings.weight.requires_grad_(False)
    if cm.method != "full":  # adapters already keep the whole base frozen
        return 0
    frozen_layers = cfg.freeze_layers
    if frozen_layers is None:
        frozen_layers = default_frozen_layers(model, task)
    freeze_bottom(model, frozen_layers)
    return frozen_layers


def _encode(cm: Any, featurizer: Featurizer, data: DatasetSplits) -> Encoded:
    train = featurizer.encode(data.train)
    train_y = cm.labels.ids([e.label for e in data.train])
    val = featurizer.encode(data.val)
    val_y = cm.labels.ids([e.label for e in data.val])
    return Encoded(train, train_y, val, val_y, [featurizer.length(x) for x in train])


def _eval_every(cfg: TrainConfig, per_epoch: int) -> int:
    """Long epochs get validated several times so early stopping and selection can act."""
    if cfg.eval_every_steps is not None:
        return cfg.eval_every_steps
    return per_epoch // 4 if per_epoch > 1000 else 0


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
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


def _optimizer(model: torch.nn.Module, cfg: TrainConfig, total_updates: int) -> tuple[Any, Any]:
    """AdamW on the trainable weights (no decay on biases and norms), linear warm-up and decay."""
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
    from transformers import get_linear_schedule_with_warmup

    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.warmup_ratio * total_updates), total_updates
    )
    return optimizer, scheduler


def _class_weights(
    mode: str, label_ids: list[int], n_labels: int, device: torch.device
) -> torch.Tensor | None:
    """Per-class loss weights on ``device``: inverse class frequency for ``balanced``."""
    if mode == "none":
        return None
    if mode != "balanced":
        raise ConfigError(f"train.class_weights must be none or balanced, got '{mode}'.")
    counts = np.bincount(label_ids, minlength=n_labels).astype(np.float64)
    weights = len(label_ids) / (n_labels * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32).to(device)


def _resume(
    checkpoint_dir: Path,
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
    on_resume: Callable[[int], None] | None,
    is_main: bool,
) -> tuple[TrainerState, dict | None]:
    """The newest intact checkpoint's state and best weights (model, optimizer and schedule
    loaded in place); a fresh state when the folder holds none. ``on_resume`` hears the step
    training continues from, 0 when damaged checkpoints were all passed over (the records
    the earlier attempt wrote are then replayed from the start). Only the main process sets
    damaged checkpoints aside and warns."""
    found = resume_checkpoint(checkpoint_dir, model, optimizer, scheduler, main=is_main)
    if on_resume is not None and (found.path is not None or found.passed_over):
        on_resume(found.state.global_step)
    return found.state, found.best
