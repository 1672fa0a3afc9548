"""Per-task training defaults: what None in a TrainConfig becomes for texts and for images."""

from __future__ import annotations

import pytest

from tuneforge.config import TrainConfig
from tuneforge.errors import ConfigError
from tuneforge.train.defaults import auto_epochs, resolve_train


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
