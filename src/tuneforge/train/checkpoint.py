"""Epoch checkpoints that survive a kill and a damaged file.

A checkpoint is a folder: the weights and the best weights (``model.safetensors``,
``best.safetensors``), the optimizer's tensors (``optimizer.safetensors``), the rest of the
optimizer and the schedule (``optimizer.json``) and where the loop stands
(``trainer_state.json``). Nothing is a pickle, so reading a checkpoint runs no code.
``manifest.json`` (size and sha256 of every file) is written last, atomically: a folder whose
files do not match it is incomplete or damaged.

``checkpoints/last`` is the newest checkpoint and ``checkpoints/previous`` the one before it,
so a damaged ``last`` costs an epoch, not the run. Resuming checks each in turn, newest first;
one that fails is set aside as ``<name>.bad`` (kept for inspection) with a warning naming the
file, and with none left the run starts again from its first step. Resume never dead-ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from ..errors import ModelError
from ..models.safety import load_safetensors

log = logging.getLogger(__name__)

LAST = "last"
PREVIOUS = "previous"
WRITING = f"{LAST}.tmp"  # a checkpoint being written; complete once its manifest is there
LEGACY = f"{LAST}.old"  # left by an interrupted swap of earlier tuneforge versions
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
BEST = "best.safetensors"
OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_STATE = "optimizer.json"
STATE = "trainer_state.json"
REQUIRED = (WEIGHTS, OPTIMIZER_TENSORS, OPTIMIZER_STATE, STATE)


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
    privacy: dict | None = None  # a DP run's accountant and secret (train/privacy.py)


class DamagedCheckpoint(Exception):
    """A checkpoint file that is missing, truncated, altered or unreadable."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass
class Resumed:
    """What a resume found: the loaded checkpoint (None: start from the first step) and the
    damaged checkpoints it passed over."""

    state: TrainerState
    best: dict | None
    path: Path | None
    passed_over: list[Path]


def _state_dict_for_save(model) -> dict[str, torch.Tensor]:
    # safetensors refuses shared storage (tied weights); contiguous clones are safe to write.
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(
    directory: Path, model, optimizer, scheduler, state: TrainerState, best: dict | None
) -> None:
    """Write a checkpoint into ``last.tmp``, its manifest last, then make it ``last`` (the
    former ``last`` becomes ``previous``)."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / WRITING
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file(_state_dict_for_save(model), str(tmp / WEIGHTS))
    if best is not None:
        save_file(best, str(tmp / BEST))
    tensors, rest = optimizer_files(optimizer, scheduler)
    save_file(tensors, str(tmp / OPTIMIZER_TENSORS))
    (tmp / OPTIMIZER_STATE).write_text(json.dumps(rest), encoding="utf-8")
    (tmp / STATE).write_text(json.dumps(asdict(state)), encoding="utf-8")
    write_manifest(tmp)
    _rotate(directory, tmp)


def write_manifest(folder: Path) -> None:
    """Size and sha256 of every file in ``folder``, written atomically."""
    files = {
        p.name: {"size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    part = folder / f"{MANIFEST}.part"
    part.write_text(json.dumps({"format": 1, "files": files}, indent=1), encoding="utf-8")
    os.replace(part, folder / MANIFEST)


def _rotate(directory: Path, tmp: Path) -> None:
    last, previous = directory / LAST, directory / PREVIOUS
    if last.exists():
        if previous.exists():
            shutil.rmtree(previous)
        last.rename(previous)
    tmp.rename(last)
    if (directory / LEGACY).exists():
        shutil.rmtree(directory / LEGACY)


def optimizer_files(optimizer, scheduler) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimizer's tensors (keyed ``<param id>.<name>``) and everything else (parameter
    groups, non-tensor state, the schedule) as JSON-ready data."""
    saved = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other: dict[str, dict] = {}
    for param_id, values in saved["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{name}"] = value.detach().contiguous()
            else:
                other.setdefault(str(param_id), {})[name] = value
    rest = {"param_groups": saved["param_groups"], "state": other}
    return tensors, {**rest, "scheduler": scheduler.state_dict()}


def checkpoint_candidates(directory: Path) -> list[Path]:
    """Checkpoint folders, newest first. A ``last.tmp`` counts only once its manifest is
    written: before that it is a save that a kill interrupted, not a damaged checkpoint."""
    names = [WRITING, LAST, PREVIOUS, LEGACY]
    found = [directory / name for name in names if (directory / name).is_dir()]
    return [p for p in found if p.name != WRITING or (p / MANIFEST).is_file()]


def verify_checkpoint(path: Path) -> None:
    """Raise DamagedCheckpoint unless every file matches the manifest written with it."""
    manifest = path / MANIFEST
    if not manifest.is_file():
        if (path / "optimizer.pt").is_file():
            raise DamagedCheckpoint(
                path / "optimizer.pt",
                "written by an older tuneforge as a pickle, which is no longer read",
            )
        raise DamagedCheckpoint(manifest, "missing: the checkpoint was never completed")
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        expected = {str(name): (int(e["size"]), str(e["sha256"])) for name, e in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise DamagedCheckpoint(manifest, "unreadable") from None
    for name in REQUIRED:
        if name not in expected:
            raise DamagedCheckpoint(path / name, "not listed in the manifest")
    for name, (size, digest) in expected.items():
        file = path / Path(name).name
        if not file.is_file():
            raise DamagedCheckpoint(file, "missing")
        actual = file.stat().st_size
        if actual != size:
            raise DamagedCheckpoint(file, f"{actual} bytes where {size} were written: truncated")
        if sha256_of(file) != digest:
            raise DamagedCheckpoint(file, "its contents differ from what was written")


def find_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint whose files match its manifest."""
    for path in checkpoint_candidates(directory):
        try:
            verify_checkpoint(path)
        except DamagedCheckpoint:
            continue
        return path
    return None


def load_checkpoint(path: Path, model, optimizer, scheduler) -> tuple[TrainerState, dict | None]:
    """Verify and read the whole checkpoint first, then load it into ``model``, ``optimizer``
    and ``scheduler``: a damaged file raises DamagedCheckpoint with nothing changed."""
    verify_checkpoint(path)
    state = _read_state(path / STATE)
    weights = _read_tensors(path / WEIGHTS)
    _check_fits(path / WEIGHTS, weights, model.state_dict())
    best = _read_tensors(path / BEST) if (path / BEST).is_file() else None
    optimizer_state, scheduler_state = _read_optimizer(path, optimizer)
    model.load_state_dict(weights, strict=False)
    optimizer.load_state_dict(optimizer_state)
    scheduler.load_state_dict(scheduler_state)
    return state, best


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_safetensors(path)
    except ModelError as exc:
        raise DamagedCheckpoint(path, exc.message) from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedCheckpoint(path, f"not valid JSON ({exc})") from None


def _read_state(path: Path) -> TrainerState:
    data = _read_json(path)
    known = {f.name for f in fields(TrainerState)}
    if not isinstance(data, dict) or set(data) - known:
        raise DamagedCheckpoint(path, "not a trainer state")
    return TrainerState(**data)


def _check_fits(path: Path, weights: dict, current: dict) -> None:
    for name, tensor in weights.items():
        if name in current and tuple(current[name].shape) != tuple(tensor.shape):
            raise DamagedCheckpoint(
                path,
                f"tensor {name} has shape {tuple(tensor.shape)}, the model's is "
                f"{tuple(current[name].shape)}: it belongs to another model",
            )


def _read_optimizer(path: Path, optimizer) -> tuple[dict, dict]:
    """The optimizer's state dict (tuples restored where the optimizer has them) and the
    schedule's, checked against the optimizer's parameter groups."""
    rest = _read_json(path / OPTIMIZER_STATE)
    tensors = _read_tensors(path / OPTIMIZER_TENSORS)
    current = optimizer.state_dict()["param_groups"]
    try:
        groups, scheduler = rest["param_groups"], rest["scheduler"]
        fits = len(groups) == len(current) and all(
            len(g["params"]) == len(c["params"]) for g, c in zip(groups, current)
        )
        state: dict[int, dict] = {}
        for key, tensor in tensors.items():
            param_id, name = key.split(".", 1)
            state.setdefault(int(param_id), {})[name] = tensor
        for param_id, values in rest["state"].items():
            state.setdefault(int(param_id), {}).update(values)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise DamagedCheckpoint(path / OPTIMIZER_STATE, "not an optimizer state") from None
    if not fits:
        raise DamagedCheckpoint(
            path / OPTIMIZER_STATE, "written for another model (its parameter groups differ)"
        )
    groups = [
        {k: tuple(v) if isinstance(c.get(k), tuple) else v for k, v in g.items()}
        for g, c in zip(groups, current)
    ]
    return {"state": state, "param_groups": groups}, scheduler


def resume_checkpoint(
    directory: Path, model, optimizer, scheduler, *, main: bool = True
) -> Resumed:
    """Load the newest intact checkpoint of ``directory``, passing over damaged ones; with none
    intact the state is fresh. The main process (``main``) renames each damaged checkpoint
    ``<name>.bad`` and warns, naming the file (and, with none left, that the run starts again
    from its first step); other processes of a distributed run read the same and stay quiet."""
    passed_over: list[Path] = []
    for path in checkpoint_candidates(directory):
        try:
            state, best = load_checkpoint(path, model, optimizer, scheduler)
        except DamagedCheckpoint as exc:
            if main:
                _set_aside(path, exc)
            passed_over.append(path)
            continue
        return Resumed(state, best, path, passed_over)
    if passed_over and main:
        log.warning(
            "warning: no intact checkpoint is left in %s; the run starts again from its "
            "first step.",
            directory,
        )
    return Resumed(TrainerState(), None, None, passed_over)


def _set_aside(path: Path, exc: DamagedCheckpoint) -> None:
    """Rename a damaged checkpoint ``<name>.bad`` (kept for inspection, out of the rotation)."""
    bad = path.with_name(f"{path.name}.bad")
    if bad.exists():
        shutil.rmtree(bad)
    path.rename(bad)
    log.warning(
        "warning: checkpoint file %s is damaged (%s); set aside as %s; trying an older checkpoint.",
        exc.path,
        exc.reason,
        bad,
    )
