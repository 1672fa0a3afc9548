"""Model selection during fit(): validate, keep the best weights, stop early, restore the best.

The best is the highest validation macro-F1; ties (common on small validation sets) go to the
lower validation loss. Early stopping counts evaluations without a new best.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from ..evaluate.metrics import accuracy_and_macro_f1
from ..models.tokens import sorted_batches
from .checkpoint import TrainerState
from .distributed import DistContext, all_gather
from .precision import autocast
from .setup import Training


@torch.inference_mode()
def validate(
    model: torch.nn.Module,
    items: list,
    label_ids: list[int],
    featurizer,
    precision: str,
    device: torch.device,
    dist: DistContext,
    batch_size: int = 64,
) -> dict:
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


def improves(metrics: dict, state: TrainerState) -> bool:
    """Whether ``metrics`` beat the best so far: higher macro-F1, or equal with lower loss."""
    return metrics["macro_f1"] > state.best_metric or (
        metrics["macro_f1"] == state.best_metric and metrics["loss"] < state.best_loss
    )


def evaluate_and_select(run: Training, epoch_float: float) -> bool:
    """Validate, keep the best weights; True when early stopping should end training.

    Without validation examples the latest weights are the ones kept.
    """
    state = run.state
    if not run.data.val:
        run.best_weights = None
        state.best_epoch, state.best_step = math.ceil(epoch_float), state.global_step
        return False
    metrics = validate(
        run.model, run.data.val, run.data.val_y, run.featurizer, run.precision, run.device, run.dist
    )
    record = {"split": "val", "step": state.global_step, "epoch": round(epoch_float, 4)}
    record.update(metrics)
    state.history.append(record)
    if run.on_metrics and run.dist.is_main:
        run.on_metrics(record)
    run.bar.message(
        f"epoch {epoch_float:.2f}  val loss {metrics['loss']:.4f}  "
        f"acc {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}"
    )
    if improves(metrics, state):
        state.best_metric, state.best_loss = metrics["macro_f1"], metrics["loss"]
        state.best_epoch, state.best_step = math.ceil(epoch_float), state.global_step
        state.bad_evals = 0
        run.best_weights = {
            k: v.detach().to("cpu", copy=True).contiguous()
            for k, v in run.model.state_dict().items()
        }
        return False
    state.bad_evals += 1
    return 0 < run.cfg.early_stopping_patience <= state.bad_evals


def restore_best(run: Training) -> None:
    """Load the kept best weights into the model (the latest stay when none were kept)."""
    if run.best_weights is not None:
        run.model.load_state_dict(run.best_weights)
