"""Training defaults per task: what ``None`` in a TrainConfig becomes for texts and for images.

Resolved in one place so a run (which writes the result into its config.yaml), the Python
estimators and a bare ``fit()`` all train with the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..config import TRAIN_DEFAULTS, TrainConfig
from ..errors import ConfigError
from ..methods import check_fits_images, default_lr, get_method

# auto epochs: passes over small data, and examples seen before the count starts to shrink.
# Small intent sets keep improving up to ~8 epochs; the CNN measured 98.7% on MNIST-5k at 20.
_AUTO_EPOCHS = {"text": (8, 100_000), "image": (20, 200_000)}


def task_of(cm: Any) -> str:
    """The task a model declares (``ClassifierModel.task``); ``text`` for bare test doubles."""
    return getattr(cm, "task", "text")


def is_pretrained(cm: Any) -> bool:
    """Whether ``cm`` starts from pretrained weights: every text model and a Hugging Face image
    model; not the compact CNN, which trains from scratch."""
    return task_of(cm) == "text" or bool(getattr(cm, "pretrained", False))


def schedule_of(task: str, pretrained: bool | None = None) -> str:
    """Whose defaults a run takes: ``text`` for any pretrained model (a Hugging Face image model
    fine-tunes like a text encoder: the method's learning rate, weight decay, warm-up, early
    stopping, a few epochs), ``image`` for the compact CNN trained from scratch."""
    if pretrained is None:
        pretrained = task == "text"
    return "text" if pretrained else task


def check_method(task: str, method: str = "full", pretrained: bool | None = None) -> None:
    """A ConfigError unless ``method`` can train a ``task`` model (pretrained or not): an unknown
    task or method, an adapter on the CNN, a token-only method on images."""
    if task not in TRAIN_DEFAULTS:
        raise ConfigError(f"data.task must be text or image here, got '{task}'.")
    get_method(method)
    if schedule_of(task, pretrained) == "image" and method != "full":
        raise ConfigError(
            f"method '{method}' is a peft adapter for pretrained models; image runs without "
            "--model train the compact CNN in full.",
            hint="Drop --method (or set method.name=full), or pass --model DIR of a local "
            "Hugging Face image-classification model to fine-tune it with an adapter.",
        )
    check_fits_images(method, task == "image")


def resolve_train(
    cfg: TrainConfig, task: str, method: str = "full", pretrained: bool | None = None
) -> TrainConfig:
    """Every ``None`` replaced by the defaults of :func:`schedule_of` (the learning rate: the
    method's for pretrained models, the CNN's for the CNN); ``precision: auto`` is fp32 for the
    CNN, as it was measured. ``pretrained`` defaults to True for text, False for images.

    ``epochs`` stays ``None`` (auto): it depends on the amount of data, see :func:`auto_epochs`.
    """
    check_method(task, method, pretrained)
    method_lr = default_lr(cfg, method)
    schedule = schedule_of(task, pretrained)
    defaults = TRAIN_DEFAULTS[schedule]
    cfg = replace(cfg, **{k: v for k, v in defaults.items() if getattr(cfg, k) is None})
    if cfg.lr is None:
        cfg = replace(cfg, lr=method_lr)
    if schedule == "image" and cfg.precision == "auto":
        cfg = replace(cfg, precision="fp32")
    return cfg


def is_resolved(cfg: TrainConfig, task: str, pretrained: bool | None = None) -> bool:
    """Whether :func:`resolve_train` would leave ``cfg`` as it is: no default left to fill in
    (``epochs`` aside, which stays auto) and, for the CNN, a precision other than ``auto``."""
    schedule = schedule_of(task, pretrained)
    if schedule not in TRAIN_DEFAULTS:
        return False
    if any(getattr(cfg, key) is None for key in (*TRAIN_DEFAULTS[schedule], "lr")):
        return False
    return not (schedule == "image" and cfg.precision == "auto")


def ensure_resolved(
    cfg: TrainConfig, task: str, method: str = "full", pretrained: bool | None = None
) -> TrainConfig:
    """``cfg`` itself when it is already resolved (a run resolves its config once, up front, and
    writes it to config.yaml), else :func:`resolve_train`'s result. A resolved config is still
    checked against the method, so a mismatch fails the same way either path."""
    if not is_resolved(cfg, task, pretrained):
        return resolve_train(cfg, task, method, pretrained)
    check_method(task, method, pretrained)
    return cfg


def auto_epochs(n_train: int, task: str = "text") -> int:
    """Epochs when none are given: the schedule's maximum on small data, fewer on large data.

    ``task`` is a schedule (:func:`schedule_of`). Text (and any pretrained model): 8 epochs, down
    to about 100k examples seen (on 60k+ examples two passes already converge and eight would
    cost half an hour on a 2-core CPU). The CNN: 20 epochs, down to about 200k images seen (a
    CNN epoch is cheap, and augmentation needs passes).
    """
    max_epochs, budget = _AUTO_EPOCHS.get(task, _AUTO_EPOCHS["text"])
    return max(2, min(max_epochs, math.ceil(budget / max(n_train, 1))))
