"""Which pretrained weights stay fixed during full fine-tuning.

Freezing is the cheapest speed-up a CPU run has: a frozen parameter needs no gradient and no
AdamW update, and when everything below a layer is frozen the backward pass stops at that layer.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError


def word_embeddings(model) -> torch.nn.Embedding | None:
    """A text model's word-embedding table; None for image models, whose input layer (a ViT's
    patch projection) is not a vocabulary and trains with the rest."""
    try:
        embeddings = model.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    return embeddings if isinstance(embeddings, torch.nn.Embedding) else None


def block_list(model) -> tuple[str, torch.nn.ModuleList] | None:
    """The encoder's list of transformer blocks and its dotted name (``bert.encoder.layer``),
    found as the first ModuleList as long as ``config.num_hidden_layers``; None if there is none
    (the compact CNN)."""
    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    if not n_layers:
        return None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
            return name, module
    return None


def default_frozen_layers(model, task: str) -> int:
    """What ``train.freeze_layers: null`` means: a third of a text encoder's blocks, rounded
    down (2 of MiniLM-L6's 6, none of a 2-block test model); 0 for image models, where freezing
    was not measured."""
    found = block_list(model)
    return len(found[1]) // 3 if task == "text" and found is not None else 0


def freeze_bottom(model, layers: int) -> int:
    """Freeze the embeddings and the first ``layers`` transformer blocks; returns how many
    parameters were frozen.

    Everything the model registers before block ``layers`` (its embeddings and the blocks below)
    is frozen, so no gradient flows below that block: measured on BANKING77 with
    all-MiniLM-L6-v2, freezing 2 of 6 blocks trains ~1.35x more examples per second (see
    docs/benchmarks.md for the accuracy it costs).
    """
    if layers <= 0:
        return 0
    found = block_list(model)
    if found is None:
        raise ConfigError(
            "train.freeze_layers needs a transformer encoder; this model has no list of "
            "layers to freeze.",
            hint="Set train.freeze_layers=0 for this model.",
        )
    name, blocks = found
    if layers >= len(blocks):
        raise ConfigError(
            f"train.freeze_layers={layers} would freeze every one of the model's "
            f"{len(blocks)} layers.",
            hint=f"Use a number below {len(blocks)} (0 trains every layer).",
        )
    first_trained = f"{name}.{layers}."
    frozen = 0
    for param_name, param in model.named_parameters():
        if param_name.startswith(first_trained):
            break
        if param.requires_grad:
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen
