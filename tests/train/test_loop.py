"""fit(): learning, best-checkpoint selection, exact resume, configuration errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tuneforge.config import ModelConfig, TrainConfig
from tuneforge.errors import ConfigError
from tuneforge.models import load_model
from tuneforge.train import defaults, fit, loop, planned_updates, selection, setup
from tuneforge.train.checkpoint import find_checkpoint
from tuneforge.types import DatasetSplits, Example, LabelMap

from ..conftest import make_rows

CFG = TrainConfig(epochs=8, lr=2e-3, batch_size=8, early_stopping_patience=0)


def _data() -> DatasetSplits:
    from sklearn.model_selection import train_test_split

    rows = make_rows(30)
    ex = [Example(r["text"], r["label"], i + 1) for i, r in enumerate(rows)]
    train, val = train_test_split(
        ex, test_size=0.25, stratify=[e.label for e in ex], random_state=0
    )
    return DatasetSplits(train, val, [], LabelMap.from_labels(r["label"] for r in rows), "t")


def _model(tiny_model_dir: Path, data: DatasetSplits):
    torch.manual_seed(0)
    return load_model(ModelConfig(name=str(tiny_model_dir)), data.labels)


def test_fit_learns_and_keeps_the_best_epoch(tiny_model_dir):
    """Loss falls, validation macro-F1 rises, and the model ends on the best epoch's weights."""
    data = _data()
    cm = _model(tiny_model_dir, data)
    records: list[dict] = []
    result = fit(cm, data, CFG, on_metrics=records.append, progress=False)
    val = [r for r in records if r["split"] == "val"]
    train = [r for r in records if r["split"] == "train"]
    assert len(val) == CFG.epochs
    assert train[-1]["loss"] < train[0]["loss"]
    assert result.best_val_macro_f1 >= 0.9
    assert result.best_val_macro_f1 == max(r["macro_f1"] for r in val)
    assert val[result.best_epoch - 1]["macro_f1"] == result.best_val_macro_f1


def test_resume_after_interruption_gives_identical_metrics(tiny_model_dir, tmp_path):
    """Stopping after 2 epochs and resuming ends with the same metrics as one straight run."""
    data = _data()
    straight: list[dict] = []
    fit(_model(tiny_model_dir, data), data, CFG, on_metrics=straight.append, progress=False)

    ckpt = tmp_path / "ckpt"
    first: list[dict] = []
    cm = _model(tiny_model_dir, data)

    class Stop(Exception):
        pass

    def stop_after_two(record):
        first.append(record)
        if record["split"] == "val" and record["epoch"] >= 2:
            raise Stop

    # Same total schedule as the straight run: only the number of epochs executed differs.
    with pytest.raises(Stop):
        loop.fit(cm, data, CFG, checkpoint_dir=ckpt, on_metrics=stop_after_two, progress=False)
    assert find_checkpoint(ckpt) is not None
    resumed: list[dict] = []
    steps: list[int] = []
    fit(
        _model(tiny_model_dir, data),
        data,
        CFG,
        checkpoint_dir=ckpt,
        resume=True,
        on_metrics=resumed.append,
        on_resume=steps.append,
        progress=False,
    )
    assert steps, "resume should report the checkpoint step"
    final_straight = [r for r in straight if r["split"] == "val"][-1]
    final_resumed = [r for r in resumed if r["split"] == "val"][-1]
    assert final_resumed["macro_f1"] == final_straight["macro_f1"]
    assert final_resumed["loss"] == pytest.approx(final_straight["loss"], rel=1e-5)


@pytest.mark.parametrize("damage", ["model.safetensors", "trainer_state.json"])
def test_resume_past_a_damaged_checkpoint_matches_a_straight_run(tiny_model_dir, tmp_path, damage):
    """A damaged file in the newest checkpoint (weights cut in half, trainer state garbled)
    is passed over: fit() resumes from the checkpoint before it and ends with the metrics of
    one straight run."""
    data = _data()
    cfg = replace(CFG, epochs=4)
    straight: list[dict] = []
    fit(_model(tiny_model_dir, data), data, cfg, on_metrics=straight.append, progress=False)

    class Stop(Exception):
        pass

    def stop_in_epoch_three(record):
        if record["split"] == "val" and record["epoch"] >= 3:
            raise Stop

    ckpt = tmp_path / "ckpt"
    with pytest.raises(Stop):  # checkpoints of epochs 1 (previous) and 2 (last) remain
        fit(
            _model(tiny_model_dir, data),
            data,
            cfg,
            checkpoint_dir=ckpt,
            on_metrics=stop_in_epoch_three,
            progress=False,
        )
    target = ckpt / "last" / damage
    if damage.endswith(".safetensors"):
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    else:
        target.write_text('{"epochs_done": 2, "glo')
    resumed: list[dict] = []
    steps: list[int] = []
    result = fit(
        _model(tiny_model_dir, data),
        data,
        cfg,
        checkpoint_dir=ckpt,
        resume=True,
        on_metrics=resumed.append,
        on_resume=steps.append,
        progress=False,
    )
    assert result.resumed_from_epoch == 1
    assert steps == [setup.updates_per_epoch(len(data.train), cfg)]
    final_straight = [r for r in straight if r["split"] == "val"][-1]
    final_resumed = [r for r in resumed if r["split"] == "val"][-1]
    assert final_resumed["macro_f1"] == final_straight["macro_f1"]
    assert final_resumed["loss"] == pytest.approx(final_straight["loss"], rel=1e-5)


def test_class_weights_and_grad_accum_run(tiny_model_dir):
    """Balanced class weights and gradient accumulation train without error and still learn."""
    data = _data()
    cfg = TrainConfig(
        epochs=8,
        lr=2e-3,
        batch_size=4,
        grad_accum=2,
        class_weights="balanced",
        early_stopping_patience=0,
    )
    result = fit(_model(tiny_model_dir, data), data, cfg, progress=False)
    assert result.global_step == 8 * 9  # 67 examples / 4 = 17 batches → 9 updates per epoch
    assert result.best_val_macro_f1 > 0.8


def test_early_stopping_stops(tiny_model_dir):
    """With lr 0 nothing improves after the first evaluation, so patience 2 stops at epoch 3."""
    data = _data()
    cfg = TrainConfig(epochs=8, lr=1e-12, batch_size=16, early_stopping_patience=2, warmup_ratio=0)
    result = fit(_model(tiny_model_dir, data), data, cfg, progress=False)
    assert result.stopped_early
    assert result.epochs_run < 8


@pytest.mark.parametrize("key,value", [("epochs", 0), ("batch_size", 0), ("lr", -1.0)])
def test_bad_train_config_is_rejected(tiny_model_dir, key, value):
    """Impossible settings fail with an error naming the key, before any training."""
    data = _data()
    cfg = TrainConfig(**{**CFG.__dict__, key: value})
    with pytest.raises(ConfigError, match=f"train.{key}"):
        fit(_model(tiny_model_dir, data), data, cfg, progress=False)


def test_validation_every_n_steps(tiny_model_dir):
    """eval_every_steps adds mid-epoch validations besides the one at each epoch end."""
    data = _data()
    cfg = TrainConfig(
        epochs=2, lr=2e-3, batch_size=8, eval_every_steps=3, early_stopping_patience=0
    )
    records: list[dict] = []
    fit(_model(tiny_model_dir, data), data, cfg, on_metrics=records.append, progress=False)
    val_steps = [r["step"] for r in records if r["split"] == "val"]
    assert val_steps == [3, 6, 9, 12, 15, 18]  # 9 updates per epoch: 3, 6, end(9), 12, 15, end(18)


def _count_resolves(monkeypatch) -> list[tuple]:
    """Record every resolve_train call, wherever the training modules look the name up."""
    calls: list[tuple] = []
    real = defaults.resolve_train

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    for module in (defaults, loop, setup, selection):
        if hasattr(module, "resolve_train"):
            monkeypatch.setattr(module, "resolve_train", counting)
    return calls


def test_a_bare_config_is_resolved_once_per_fit(tiny_model_dir, monkeypatch):
    """fit(model, data, TrainConfig()) fills in the defaults itself, in a single call."""
    data = _data()
    cm = _model(tiny_model_dir, data)
    calls = _count_resolves(monkeypatch)
    result = fit(cm, data, TrainConfig(), progress=False)
    assert len(calls) == 1
    assert result.epochs_run >= 1


def test_a_run_resolves_its_config_once(tiny_model_dir, monkeypatch):
    """A run resolves up front, sizes the schedule with planned_updates and trains with fit:
    one resolve_train call in all."""
    data = _data()
    cm = _model(tiny_model_dir, data)
    calls = _count_resolves(monkeypatch)
    cfg = defaults.resolve_train(replace(CFG, epochs=2), "text", cm.method)
    updates = planned_updates(len(data.train), cfg)
    result = fit(cm, data, cfg, progress=False)
    assert len(calls) == 1
    assert result.global_step == updates


def test_a_resolved_config_passes_through_fit_unchanged(tiny_model_dir, monkeypatch):
    """fit() trains with the very config object it was given when nothing is left to resolve."""
    data = _data()
    cm = _model(tiny_model_dir, data)
    cfg = defaults.resolve_train(replace(CFG, epochs=2, lr=3e-3, seed=5), "text", cm.method)

    def refuse(*args, **kwargs):
        raise AssertionError("a resolved config was resolved again")

    monkeypatch.setattr(defaults, "resolve_train", refuse)
    prepared: list[setup.Training] = []
    real_prepare = loop.prepare
    monkeypatch.setattr(loop, "prepare", _recording(real_prepare, prepared))
    fit(cm, data, cfg, progress=False)
    assert prepared[0].cfg is cfg


def _recording(function, into: list):
    def wrapper(*args, **kwargs):
        into.append(function(*args, **kwargs))
        return into[-1]

    return wrapper
