"""Epoch checkpoints that survive a kill: written to a temporary folder, then swapped in.

Weights are safetensors; optimizer and scheduler state go through ``torch.save`` and are read
back with ``weights_only=True`` (tensors and plain containers only, no arbitrary pickles).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

LAST = "last"


@dataclass
class TrainerState:
    """Where the loop stands: enough, with the weights, to continue exactly."""

    epochs_done: int = 0
    global_step: int = 0
    best_metric: float = -1.0
    best_loss: float = 1e30
    best_epoch: int = 0
    best_step: int = 0
    bad_evals: int = 0
    train_seconds: float = 0.0
    examples_seen: int = 0
    history: list[dict] = field(default_factory=list)


def _state_dict_for_save(model) -> dict[str, torch.Tensor]:
    # safetensors refuses shared storage (tied weights); contiguous clones are safe to write.
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}


def save_checkpoint(
    directory: Path, model, optimizer, scheduler, state: TrainerState, best: dict | None
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{LAST}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file(_state_dict_for_save(model), str(tmp / "model.safetensors"))
    if best is not None:
        save_file(best, str(tmp / "best.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
        tmp / "optimizer.pt",
    )
    (tmp / "trainer_state.json").write_text(json.dumps(asdict(state)), encoding="utf-8")
    final = directory / LAST
    old = directory / f"{LAST}.old"
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


def find_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint (``last``, or ``last.old`` if a swap was interrupted)."""
    for name in (LAST, f"{LAST}.old"):
        path = directory / name
        if (path / "trainer_state.json").is_file() and (path / "model.safetensors").is_file():
            return path
    return None


def load_checkpoint(path: Path, model, optimizer, scheduler) -> tuple[TrainerState, dict | None]:
    model.load_state_dict(load_file(str(path / "model.safetensors")), strict=False)
    opt = torch.load(path / "optimizer.pt", weights_only=True)
    optimizer.load_state_dict(opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    state = TrainerState(**json.loads((path / "trainer_state.json").read_text(encoding="utf-8")))
    best_path = path / "best.safetensors"
    best = load_file(str(best_path)) if best_path.is_file() else None
    return state, best
