"""Checkpoints: written completely or not at all, verified on resume, and a damaged one costs
an epoch or a restart, never the run."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from tuneforge.train import checkpoint
from tuneforge.train.checkpoint import (
    TrainerState,
    find_checkpoint,
    resume_checkpoint,
    save_checkpoint,
)


def _parts(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    return model, optimizer, scheduler


def _step(model, optimizer, scheduler) -> None:
    loss = model(torch.randn(5, 4)).pow(2).mean()
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def _train_and_save(directory: Path, epochs: int = 2):
    """``epochs`` checkpoints of a small model; returns the model, optimizer and schedule."""
    model, optimizer, scheduler = _parts()
    for epoch in range(1, epochs + 1):
        _step(model, optimizer, scheduler)
        state = TrainerState(epochs_done=epoch, global_step=epoch * 3)
        best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        save_checkpoint(directory, model, optimizer, scheduler, state, best)
    return model, optimizer, scheduler


def test_a_checkpoint_lists_the_size_and_hash_of_every_file(tmp_path):
    """manifest.json names every file with its size and sha256; no file is a pickle; the
    epoch before is kept as ``previous``."""
    _train_and_save(tmp_path)
    last = tmp_path / "last"
    manifest = json.loads((last / "manifest.json").read_text())["files"]
    on_disk = {p.name for p in last.iterdir()} - {"manifest.json"}
    assert set(manifest) == on_disk
    for name, entry in manifest.items():
        assert entry["size"] == (last / name).stat().st_size
        assert entry["sha256"] == checkpoint.sha256_of(last / name)
    assert not list(tmp_path.rglob("*.pt"))
    assert (
        json.loads((tmp_path / "previous" / "trainer_state.json").read_text())["epochs_done"] == 1
    )


def test_resume_restores_model_optimizer_and_schedule_exactly(tmp_path, monkeypatch):
    """The resumed objects continue exactly as the saved ones would, and torch.load (an
    unpickler) is never used."""
    model, optimizer, scheduler = _train_and_save(tmp_path)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    fresh = _parts(seed=1)
    found = resume_checkpoint(tmp_path, *fresh)
    assert found.path == tmp_path / "last" and found.state.epochs_done == 2
    assert found.passed_over == []
    torch.manual_seed(5)
    _step(model, optimizer, scheduler)
    torch.manual_seed(5)
    _step(*fresh)
    for a, b in zip(model.state_dict().values(), fresh[0].state_dict().values()):
        assert torch.equal(a, b)
    assert scheduler.get_last_lr() == fresh[2].get_last_lr()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_weights_fall_back_to_the_previous_checkpoint(tmp_path, caplog):
    """A half-written model.safetensors in ``last``: resume warns naming the file, sets the
    checkpoint aside as last.bad, and continues from ``previous``."""
    _train_and_save(tmp_path)
    _truncate(tmp_path / "last" / "model.safetensors")
    with caplog.at_level(logging.WARNING, logger="tuneforge.train.checkpoint"):
        found = resume_checkpoint(tmp_path, *_parts())
    assert found.path == tmp_path / "previous" and found.state.epochs_done == 1
    assert str(tmp_path / "last" / "model.safetensors") in caplog.text
    assert "truncated" in caplog.text
    assert (tmp_path / "last.bad" / "model.safetensors").is_file()
    assert find_checkpoint(tmp_path) == tmp_path / "previous"


def test_broken_trainer_state_everywhere_restarts_from_the_first_step(tmp_path, caplog):
    """With every checkpoint's trainer state damaged, resume warns for each and returns a
    fresh state: the run starts again instead of failing."""
    _train_and_save(tmp_path)
    for name in ("last", "previous"):
        (tmp_path / name / "trainer_state.json").write_text('{"epochs_done": 2, "glo')
    model, optimizer, scheduler = _parts(seed=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with caplog.at_level(logging.WARNING, logger="tuneforge.train.checkpoint"):
        found = resume_checkpoint(tmp_path, model, optimizer, scheduler)
    assert found.path is None and found.state == TrainerState() and found.best is None
    assert len(found.passed_over) == 2
    assert str(tmp_path / "last" / "trainer_state.json") in caplog.text
    assert str(tmp_path / "previous" / "trainer_state.json") in caplog.text
    assert "starts again from its first step" in caplog.text
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), "a damaged checkpoint changed the model"


def test_an_interrupted_save_is_passed_over_quietly(tmp_path, caplog):
    """A ``last.tmp`` without its manifest is a save a kill interrupted: resume uses ``last``
    without a warning."""
    _train_and_save(tmp_path)
    (tmp_path / "last.tmp").mkdir()
    (tmp_path / "last.tmp" / "model.safetensors").write_bytes(b"partial")
    with caplog.at_level(logging.WARNING, logger="tuneforge.train.checkpoint"):
        found = resume_checkpoint(tmp_path, *_parts())
    assert found.path == tmp_path / "last" and not caplog.text


def test_a_pickled_optimizer_state_is_not_read(tmp_path, caplog):
    """A checkpoint without a manifest that holds optimizer.pt (a pickle) is passed over with
    a warning naming that file."""
    _train_and_save(tmp_path, epochs=1)
    last = tmp_path / "last"
    (last / "manifest.json").unlink()
    (last / "optimizer.pt").write_bytes(b"\x80\x04pickle")
    with caplog.at_level(logging.WARNING, logger="tuneforge.train.checkpoint"):
        found = resume_checkpoint(tmp_path, *_parts())
    assert found.path is None
    assert str(last / "optimizer.pt") in caplog.text
