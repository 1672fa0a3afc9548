"""From uint8 images to normalised model inputs, with augmentation for training batches.

:class:`ImageFeaturizer` is the image side of the training loop's ``Featurizer`` protocol
(``encode`` / ``length`` / ``collate``). Every image is brought to one size and channel count
(the training split's most common), normalised with the training split's per-channel mean/std
(never validation or test statistics, which would leak them into the model), and, for training
batches only, randomly warped by :class:`Augmentation`.

Augmentation is written on torch ops (``affine_grid`` / ``grid_sample``) because torchvision
does not install beside our torch build. Flips are off by default: a mirrored digit or letter is
not the same class; turn them on for photos of objects.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import DataError
from ..types import ImageExample
from .image_files import decode_image, peek_shape, pixels_of


@dataclass(frozen=True)
class Augmentation:
    """A random affine warp per training image, plus an optional smooth elastic distortion.

    Rotation in degrees (±), shift and scale as fractions of the image size (±), elastic as the
    largest displacement in pixels. Pixels moved in from outside the image take the background
    value (black), as a shifted digit or crop would.
    """

    rotation_deg: float = 10.0
    shift: float = 0.1
    scale: float = 0.1
    elastic: float = 0.0
    flip: bool = False

    def __post_init__(self) -> None:
        for name in ("rotation_deg", "shift", "scale", "elastic"):
            if getattr(self, name) < 0:
                raise DataError(f"Augmentation {name} must be >= 0, got {getattr(self, name)}.")
        if self.shift >= 1 or self.scale >= 1:
            raise DataError("Augmentation shift and scale are fractions of the image: below 1.")

    def __call__(self, pixels: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        """Warp an N×C×H×W batch; ``background`` (1×C×1×1) fills what comes in from outside."""
        n, _, h, w = pixels.shape
        angle = (torch.rand(n) * 2 - 1) * math.radians(self.rotation_deg)
        zoom = 1 + (torch.rand(n) * 2 - 1) * self.scale
        shift = (torch.rand(n, 2) * 2 - 1) * 2 * self.shift  # grid coordinates span [-1, 1]
        mirror = torch.ones(n)
        if self.flip:
            mirror = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [
                torch.stack([cos * mirror, -sin, shift[:, 0]], dim=1),
                torch.stack([sin * mirror, cos, shift[:, 1]], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
        if self.elastic > 0:
            grid = grid + self._displacement(n, h, w)
        # Sample (pixels - background) with zero padding so borders become the background.
        warped = F.grid_sample(pixels - background, grid, align_corners=False)
        return warped + background

    def _displacement(self, n: int, h: int, w: int) -> torch.Tensor:
        """A smooth random field: noise on a coarse 4×4 grid, upsampled (Simard et al. 2003)."""
        coarse = torch.rand(n, 2, 4, 4) * 2 - 1
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
        scale = torch.tensor([2 / w, 2 / h]).view(1, 2, 1, 1) * self.elastic
        return (field * scale).permute(0, 2, 3, 1)


@dataclass(frozen=True)
class ImageFeaturizer:
    """Brings images to one shape, normalises them, and augments training batches.

    Build it with :meth:`fit` on the training split; :meth:`to_meta` / :meth:`from_meta` store
    what inference needs (shape and normalisation) beside a saved model.
    """

    height: int
    width: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augmentation: Augmentation | None = Augmentation()

    def __post_init__(self) -> None:
        if min(self.height, self.width) < 1 or self.channels not in (1, 3):
            raise DataError(
                f"Image shape {self.height}x{self.width}x{self.channels} is not usable: "
                "height and width must be positive and channels 1 or 3."
            )
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise DataError(f"Normalisation needs {self.channels} mean/std value(s) per channel.")

    @classmethod
    def fit(
        cls,
        train: Sequence[ImageExample],
        *,
        size: tuple[int, int] | None = None,
        channels: int | None = None,
        augmentation: Augmentation | None = Augmentation(),
    ) -> ImageFeaturizer:
        """Shape (the most common size; RGB if any image is colour) and per-channel mean/std,
        from the training images only. Lazily loaded images are decoded once here."""
        if not train:
            raise DataError("No training images to fit the image normalisation on.")
        shapes = [peek_shape(e.pixels) if _is_path(e) else _checked(e).shape for e in train]
        h, w = size or Counter(s[:2] for s in shapes).most_common(1)[0][0]
        c = channels or max(s[2] for s in shapes)
        shaped = cls(h, w, c, (0.0,) * c, (1.0,) * c, None)
        # One streaming pass of float64 sums: exact enough, and lazy files are decoded one by one.
        total, squares = np.zeros(c), np.zeros(c)
        for e in train:
            x = shaped.conform(pixels_of(e)).reshape(-1, c).astype(np.float64) / 255.0
            total += x.sum(axis=0)
            squares += (x * x).sum(axis=0)
        count = len(train) * h * w
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
        std = np.maximum(std, 1e-3)  # a constant channel must not divide by zero
        return cls(h, w, c, tuple(map(float, mean)), tuple(map(float, std)), augmentation)

    def conform(self, pixels: np.ndarray) -> np.ndarray:
        """The image at this featurizer's size and channel count (bilinear resize if needed)."""
        if pixels.ndim == 2:  # a bare H×W greyscale array, as callers of predict may pass
            pixels = pixels[:, :, None]
        if pixels.shape == (self.height, self.width, self.channels):
            return pixels
        from PIL import Image

        grey = pixels.shape[2] == 1
        image = Image.fromarray(pixels[:, :, 0] if grey else pixels, "L" if grey else "RGB")
        image = image.convert("L" if self.channels == 1 else "RGB")
        if image.size != (self.width, self.height):
            image = image.resize((self.width, self.height), Image.Resampling.BILINEAR)
        out = np.asarray(image, dtype=np.uint8)
        return out[:, :, None] if out.ndim == 2 else out

    def encode(self, examples: Sequence[ImageExample]) -> list:
        """Conformed uint8 arrays (once, before training); lazy files stay paths until a batch."""
        return [e.pixels if _is_path(e) else self.conform(_checked(e)) for e in examples]

    def length(self, item: object) -> int:
        """Fixed-size inputs: length bucketing degenerates to plain shuffled batches."""
        return 1

    def tensor(self, items: Sequence) -> torch.Tensor:
        """Normalised N×C×H×W float batch, never augmented (evaluation and prediction)."""
        arrays = [self.conform(decode_image(x) if isinstance(x, (str, Path)) else x) for x in items]
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (batch - mean) / std

    def collate(self, items: list, train: bool = False) -> dict[str, torch.Tensor]:
        """Model inputs for a batch; augmented only when ``train`` and augmentation is on."""
        pixels = self.tensor(items)
        if train and self.augmentation is not None:
            pixels = self.augmentation(pixels, self.background())
        return {"pixel_values": pixels}

    def background(self) -> torch.Tensor:
        """Black after normalisation: the value augmentation fills borders with."""
        return (-torch.tensor(self.mean) / torch.tensor(self.std)).view(1, -1, 1, 1)

    def to_meta(self) -> dict:
        """JSON-ready record of the input shape, normalisation and training augmentation."""
        return {
            "image_shape": [self.height, self.width, self.channels],
            "mean": list(self.mean),
            "std": list(self.std),
            "augmentation": asdict(self.augmentation) if self.augmentation else None,
        }

    @classmethod
    def from_meta(cls, meta: dict) -> ImageFeaturizer:
        """The inference featurizer for a saved model: same shape and normalisation, no warps."""
        try:
            h, w, c = (int(v) for v in meta["image_shape"])
            mean, std = tuple(map(float, meta["mean"])), tuple(map(float, meta["std"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"Image metadata is incomplete or malformed ({exc!r}).") from None
        return cls(h, w, c, mean, std, augmentation=None)


def _is_path(example: ImageExample) -> bool:
    return isinstance(example.pixels, (str, Path))


def _checked(example: ImageExample) -> np.ndarray:
    """A uint8 H×W×C array, or a DataError naming the example (hand-built data goes wrong)."""
    pixels = example.pixels
    if (
        not isinstance(pixels, np.ndarray)
        or pixels.dtype != np.uint8
        or pixels.ndim != 3
        or pixels.shape[2] not in (1, 3)
    ):
        what = (
            f"{pixels.dtype} array of shape {pixels.shape}"
            if isinstance(pixels, np.ndarray)
            else type(pixels).__name__
        )
        raise DataError(
            f"{example.source or 'image'} (row {example.row}) holds a {what}; images must be "
            "uint8 arrays of shape H×W×C with C = 1 or 3, or image file paths."
        )
    return pixels
