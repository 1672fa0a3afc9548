"""Per-task training defaults: what None in a TrainConfig becomes for texts and for images."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tuneforge.config import TrainConfig
from tuneforge.errors import ConfigError
from tuneforge.train.defaults import auto_epochs, ensure_resolved, is_resolved, resolve_train

# (task, method, pretrained): every kind of run resolve_train accepts
RUN_KINDS = [
    ("text", "full", None),
    ("text", "lora", None),
    ("image", "full", None),
    ("image", "full", True),
    ("image", "ia3", True),
]


def test_text_defaults_are_unchanged():
    """Texts keep the measured defaults: batch 32, weight decay 0.01, warm-up 6%, patience 4,
    the method's learning rate, and precision left to the hardware."""
    cfg = resolve_train(TrainConfig(), "text")
    assert (cfg.batch_size, cfg.weight_decay, cfg.warmup_ratio) == (32, 0.01, 0.06)
    assert (cfg.early_stopping_patience, cfg.lr, cfg.precision) == (4, 2e-4, "auto")
    assert resolve_train(TrainConfig(), "text", "lora").lr == pytest.approx(1e-3)


def test_image_defaults_are_the_benchmarked_cnn_settings():
    """Images get bench/images.py's settings; explicit values always win."""
    cfg = resolve_train(TrainConfig(), "image")
    assert (cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio) == (64, 3e-3, 1e-4, 0.05)
    assert (cfg.early_stopping_patience, cfg.precision) == (0, "fp32")
    mine = resolve_train(TrainConfig(batch_size=32, lr=1e-3, precision="bf16"), "image")
    assert (mine.batch_size, mine.lr, mine.precision) == (32, 1e-3, "bf16")


def test_adapters_are_refused_for_the_cnn():
    """peft adapters are for transformers: an image run with --method lora is a config error."""
    with pytest.raises(ConfigError, match="compact CNN"):
        resolve_train(TrainConfig(), "image", "lora")


def test_pretrained_image_models_take_the_pretrained_defaults():
    """A Hugging Face image model fine-tunes like a text encoder: the method's learning rate,
    weight decay 0.01, warm-up 6%, early stopping, precision left to the hardware; adapters are
    allowed, prefix tuning is not (it needs a token sequence)."""
    cfg = resolve_train(TrainConfig(), "image", "full", pretrained=True)
    assert (cfg.batch_size, cfg.weight_decay, cfg.warmup_ratio) == (32, 0.01, 0.06)
    assert (cfg.early_stopping_patience, cfg.lr, cfg.precision) == (4, 2e-4, "auto")
    assert resolve_train(TrainConfig(), "image", "lora", pretrained=True).lr == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match="prefix"):
        resolve_train(TrainConfig(), "image", "prefix", pretrained=True)


def test_auto_epochs_per_task():
    """Small data: 8 text epochs, 20 image epochs; large data: fewer, never below 2."""
    assert auto_epochs(500, "text") == 8 and auto_epochs(500, "image") == 20
    assert auto_epochs(60_000, "text") == 2 and auto_epochs(60_000, "image") == 4
    assert auto_epochs(10_000_000, "image") == 2


def test_unknown_method_is_refused_even_with_an_explicit_lr():
    """A misspelt method fails here, whatever else the config sets."""
    with pytest.raises(ConfigError, match="lorra"):
        resolve_train(TrainConfig(lr=1e-3), "text", "lorra")


@pytest.mark.parametrize("task,method,pretrained", RUN_KINDS)
def test_a_resolved_config_is_recognised_and_left_alone(task, method, pretrained):
    """resolve_train's result counts as resolved, and resolving it again changes nothing; a
    bare config, or one where a single default is still missing, is not resolved."""
    resolved = resolve_train(TrainConfig(seed=7), task, method, pretrained)
    assert is_resolved(resolved, task, pretrained)
    assert resolve_train(resolved, task, method, pretrained) == resolved
    assert ensure_resolved(resolved, task, method, pretrained) is resolved
    assert not is_resolved(TrainConfig(), task, pretrained)
    for key in ("batch_size", "lr", "weight_decay", "warmup_ratio", "early_stopping_patience"):
        assert not is_resolved(replace(resolved, **{key: None}), task, pretrained), key


def test_epochs_and_the_loops_own_automatic_values_do_not_count_as_unresolved():
    """epochs, eval_every_steps and freeze_layers stay None after resolving: fit() computes
    them from the data and the model, so a config with them None is still resolved."""
    resolved = resolve_train(TrainConfig(), "text")
    assert (resolved.epochs, resolved.eval_every_steps, resolved.freeze_layers) == (None,) * 3
    assert is_resolved(resolved, "text")


def test_the_cnn_with_precision_auto_is_not_resolved():
    """For the CNN, resolving also turns precision auto into fp32, so every value set but
    precision auto still needs resolving (and gets fp32)."""
    cfg = TrainConfig(
        batch_size=64, lr=3e-3, weight_decay=1e-4, warmup_ratio=0.05, early_stopping_patience=0
    )
    assert not is_resolved(cfg, "image")
    assert ensure_resolved(cfg, "image").precision == "fp32"
    assert is_resolved(replace(cfg, precision="bf16"), "image")
    assert is_resolved(cfg, "image", pretrained=True)  # a pretrained model keeps auto


def test_ensure_resolved_fills_a_partial_config_like_resolve_train():
    """A config with defaults missing (the estimators pass such) gets resolve_train's values."""
    partial = TrainConfig(batch_size=16, lr=1e-3, early_stopping_patience=2)
    assert ensure_resolved(partial, "text") == resolve_train(partial, "text")


def test_a_resolved_config_is_still_checked_against_the_method():
    """Skipping the defaults does not skip the checks: an adapter on the CNN or an unknown
    method fails as it would while resolving."""
    resolved = resolve_train(TrainConfig(), "image")
    with pytest.raises(ConfigError, match="compact CNN"):
        ensure_resolved(resolved, "image", "lora")
    with pytest.raises(ConfigError, match="lorra"):
        ensure_resolved(resolve_train(TrainConfig(), "text"), "text", "lorra")
