"""From uint8 images to normalised model inputs, with augmentation for training batches.

Augmentation is a random affine warp per image — small rotation and shift, optional horizontal
flip — applied to the whole batch at once with ``affine_grid``/``grid_sample``. It is written on
torch ops because torchvision does not install beside our torch build. Flips are off by default:
a mirrored digit is not the same digit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class ImageFeaturizer:
    """Normalise with the training split's per-channel mean/std; augment training batches."""

    height: int
    width: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool = True
    max_rotation_deg: float = 10.0
    max_shift: float = 0.1  # fraction of the image size
    flip: bool = False

    @classmethod
    def fit(cls, train: Sequence, **options) -> ImageFeaturizer:
        """Shape from the first image, mean/std from the training images only."""
        first = train[0].pixels
        stack = np.stack([e.pixels for e in train]).astype(np.float64) / 255.0
        mean = stack.mean(axis=(0, 1, 2))
        std = np.maximum(stack.std(axis=(0, 1, 2)), 1e-6)
        h, w, c = first.shape
        return cls(h, w, c, tuple(map(float, mean)), tuple(map(float, std)), **options)

    def to_meta(self) -> dict:
        return {
            "image_shape": [self.height, self.width, self.channels],
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_meta(cls, meta: dict) -> ImageFeaturizer:
        h, w, c = meta["image_shape"]
        return cls(h, w, c, tuple(meta["mean"]), tuple(meta["std"]), augment=False)

    def encode(self, examples: Sequence) -> list[np.ndarray]:
        from ..errors import DataError

        for e in examples:
            if e.pixels.shape != (self.height, self.width, self.channels):
                raise DataError(
                    f"{e.source or 'image'} (row {e.row}) is {e.pixels.shape}, the model takes "
                    f"{(self.height, self.width, self.channels)}.",
                    hint="Resize the images to one size before training.",
                )
        return [e.pixels for e in examples]

    def length(self, item: np.ndarray) -> int:
        return 1  # fixed-size inputs: length bucketing degenerates to random batches

    def tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        batch = torch.from_numpy(np.stack(items)).permute(0, 3, 1, 2).float() / 255.0
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (batch - mean) / std

    def collate(self, items: list, train: bool = False) -> dict[str, torch.Tensor]:
        pixels = self.tensor(items)
        if train and self.augment:
            pixels = self.warp(pixels)
        return {"pixel_values": pixels}

    def warp(self, pixels: torch.Tensor) -> torch.Tensor:
        """Random rotation, shift (and flip when allowed) per image; the background is the
        normalised value of black, so shifted-in borders look like the original background."""
        n = pixels.shape[0]
        angle = (torch.rand(n) * 2 - 1) * math.radians(self.max_rotation_deg)
        shift = (torch.rand(n, 2) * 2 - 1) * 2 * self.max_shift  # grid units span [-1, 1]
        cos, sin = torch.cos(angle), torch.sin(angle)
        sign = torch.ones(n)
        if self.flip:
            sign = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
        theta = torch.stack(
            [
                torch.stack([cos * sign, -sin, shift[:, 0]], dim=1),
                torch.stack([sin * sign, cos, shift[:, 1]], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
        background = (-torch.tensor(self.mean) / torch.tensor(self.std)).view(1, -1, 1, 1)
        warped = F.grid_sample(pixels - background, grid, align_corners=False, padding_mode="zeros")
        return warped + background
