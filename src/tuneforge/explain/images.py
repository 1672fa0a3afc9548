"""Heat maps for image classifiers: occlusion patches on any runtime, integrated gradients on
torch models. Both are at the model's input size (the image as the model sees it) and signed:
positive where the pixels push towards the explained class.

- **Occlusion** greys out one square patch at a time (the training images' mean colour) and
  measures the fall of the explained class's probability; each pixel gets the mean fall of the
  patches covering it. All patched copies of all images go to ``predict_proba`` in one call,
  so the ONNX and int8 models are explained through the Predictor protocol alone.
- **Integrated gradients** (Captum) integrate the gradient of the probability from a black
  image to the image over the normalised ``pixel_values``, summed over channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .methods import explained_class
from .results import ImageExplanation

IG_STEPS = 32
PATCHES_PER_SIDE = 7  # default patch: about a seventh of the shorter side


def image_source(index: int, image: Any) -> str:
    """How an explanation names its input: the file path, else its position."""
    if isinstance(image, (str, Path)):
        return str(image)
    return f"input {index + 1}"


def patch_windows(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of the patches: a grid that covers every pixel (the last row and
    column of patches are moved in to end at the border)."""

    def starts(size: int) -> list[int]:
        size_patch = min(patch, size)
        out = list(range(0, size - size_patch + 1, stride))
        if out[-1] != size - size_patch:
            out.append(size - size_patch)
        return out

    return [(y, x) for y in starts(height) for x in starts(width)]


def occlusion_image(
    predictor: Any,
    images: Sequence[Any],
    target: int | None = None,
    *,
    patch: int | None = None,
    stride: int | None = None,
) -> list[ImageExplanation]:
    """Occlusion heat maps for ``images`` (arrays, paths or file bytes) on an image predictor
    (its ``pixels`` and ``featurizer`` prepare them as ``predict_proba`` does)."""
    featurizer = predictor.featurizer
    arrays = [featurizer.conform(a) for a in predictor.pixels(images)]
    h, w = featurizer.height, featurizer.width
    size = patch or max(1, round(min(h, w) / PATCHES_PER_SIDE))
    windows = patch_windows(h, w, size, stride or size)
    fill = np.round(np.asarray(featurizer.mean) * 255).astype(np.uint8)
    variants = []
    for array in arrays:
        variants.append(array)
        for y, x in windows:
            covered = array.copy()
            covered[y : y + size, x : x + size] = fill
            variants.append(covered)
    probs = np.asarray(predictor.predict_proba(variants), dtype=np.float64)
    out, row, labels = [], 0, predictor.labels
    for i in range(len(arrays)):
        full, patched = probs[row], probs[row + 1 : row + 1 + len(windows)]
        row += 1 + len(windows)
        k = explained_class(full, target)
        total, cover = np.zeros((h, w)), np.zeros((h, w))
        for (y, x), drop in zip(windows, full[k] - patched[:, k]):
            total[y : y + size, x : x + size] += drop
            cover[y : y + size, x : x + size] += 1
        heatmap = (total / np.maximum(cover, 1)).astype(np.float32)
        out.append(
            ImageExplanation(
                labels[k],
                float(full[k]),
                heatmap,
                "occlusion",
                predicted=labels[int(np.argmax(full))],
                source=image_source(i, images[i]),
            )
        )
    return out


def integrated_gradients_image(
    predictor: Any,
    images: Sequence[Any],
    target: int | None = None,
    *,
    steps: int = IG_STEPS,
    internal_batch_size: int | None = None,
) -> list[ImageExplanation]:
    """Integrated gradients on the torch image model behind ``predictor`` (its ``cm``)."""
    import torch
    from captum.attr import IntegratedGradients

    cm = predictor.cm
    model = cm.model
    model.eval()

    temperature = float(getattr(predictor, "temperature", 1.0))  # as predict_proba applies it

    def probabilities(pixel_values):
        logits = model(pixel_values=pixel_values).logits.float()
        return torch.softmax(logits / temperature, dim=-1)

    featurizer = cm.featurizer
    pixels = featurizer.tensor(predictor.pixels(images)).float()
    baseline = featurizer.background().float().expand_as(pixels).contiguous()
    with torch.no_grad():
        full = probabilities(pixels).double().numpy()
    classes = [explained_class(row, target) for row in full]
    with torch.enable_grad():
        attributions, delta = IntegratedGradients(probabilities).attribute(
            pixels,
            baselines=baseline,
            target=classes,
            n_steps=steps,
            internal_batch_size=internal_batch_size or steps,
            return_convergence_delta=True,
        )
    maps = attributions.sum(dim=1).detach().float().numpy()
    labels = predictor.labels
    return [
        ImageExplanation(
            labels[k],
            float(full[i, k]),
            maps[i],
            "ig",
            predicted=labels[int(np.argmax(full[i]))],
            delta=float(delta[i]),
            source=image_source(i, images[i]),
        )
        for i, k in enumerate(classes)
    ]
