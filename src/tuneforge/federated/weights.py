"""The trainable weights of a model as the numpy arrays Flower sends, and back.

The arrays are ordered by parameter name, the same on every side because every side builds
the same model from the same pretrained directory, method and label list.
"""

from __future__ import annotations

import numpy as np


def trainable_names(model) -> list[str]:
    """Names of the parameters that train (requires_grad), sorted: the order on the wire."""
    return sorted(name for name, p in model.named_parameters() if p.requires_grad)


def get_trainable(model) -> list[np.ndarray]:
    """The trainable parameters as float32 numpy arrays, in :func:`trainable_names` order."""
    params = dict(model.named_parameters())
    return [params[n].detach().to("cpu").float().numpy().copy() for n in trainable_names(model)]


def set_trainable(model, arrays: list[np.ndarray]) -> None:
    """Load ``arrays`` (in :func:`trainable_names` order) into the model in place; a count or
    shape that does not match raises ValueError naming the first parameter that differs."""
    import torch

    names = trainable_names(model)
    if len(arrays) != len(names):
        raise ValueError(f"expected {len(names)} trainable arrays, got {len(arrays)}")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, array in zip(names, arrays):
            param = params[name]
            if tuple(array.shape) != tuple(param.shape):
                raise ValueError(
                    f"{name}: expected shape {tuple(param.shape)}, got {tuple(array.shape)}"
                )
            param.copy_(torch.from_numpy(np.asarray(array)).to(param.dtype))


def payload_bytes(arrays: list[np.ndarray]) -> int:
    """Bytes of the raw arrays (what one model copy costs on the wire, before framing)."""
    return int(sum(np.asarray(a).nbytes for a in arrays))
