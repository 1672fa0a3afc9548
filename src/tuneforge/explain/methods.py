"""Which explainer applies to a predictor, and which class an explanation is about.

Integrated gradients need the torch model behind a predictor (its ``cm``: model plus tokenizer
or featurizer); occlusion needs only ``predict_proba``, so it explains every runtime (torch,
ONNX fp32 and int8) the same way. The default is the more faithful one the runtime allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from .results import METHODS


def torch_model(predictor: Any) -> Any:
    """The in-memory torch classifier behind ``predictor`` (None for ONNX runtimes)."""
    return getattr(predictor, "cm", None)


def default_method(predictor: Any) -> str:
    """``ig`` for a torch model, ``occlusion`` for any other runtime."""
    return "ig" if torch_model(predictor) is not None else "occlusion"


def check_method(method: str, allowed: Sequence[str], predictor: Any) -> str:
    """``method`` if it is known, offered by the task and possible on this runtime."""
    if method not in METHODS or method not in allowed:
        raise ConfigError(
            f"Unknown explanation method '{method}'.",
            hint=f"Use one of: {', '.join(m for m in METHODS if m in allowed)}.",
        )
    if method == "ig" and torch_model(predictor) is None:
        raise ConfigError(
            "Integrated gradients need the torch model, and this artifact is an ONNX export.",
            hint="Use --method occlusion, or explain the trained model (--variant model).",
        )
    return method


def check_target(target: str | None, labels: Sequence[str]) -> int | None:
    """The class index of a requested label (None: explain each input's predicted class), or
    a ConfigError naming the label and the model's labels."""
    if target is None:
        return None
    names = list(labels)
    if target not in names:
        shown = ", ".join(map(repr, names[:20])) + (" …" if len(names) > 20 else "")
        raise ConfigError(
            f"Target label {target!r} is not one of the model's labels ({shown}).",
            hint="Pass --target with one of these names, or leave it out to explain the "
            "predicted label.",
        )
    return names.index(target)


def explained_class(probs: np.ndarray, target: int | None) -> int:
    """The requested class, else the predicted one."""
    return int(np.argmax(probs)) if target is None else target
