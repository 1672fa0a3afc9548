"""A compact convolutional network for small images, trained from scratch.

Per stage: 3×3 convolution(s) → ReLU → 2×2 max-pool; then dropout → dense → ReLU → dropout →
classes. The defaults (two stages of 32 and 64 filters, one convolution each, dense 128) suit
digit-sized images (28×28): 0.42M parameters, about a second per epoch of 4,000 images on two
CPU cores. Measured on MNIST-5k (4,000 augmented training images, 30 epochs, AdamW one-cycle
3e-3): without batch norm 98.7–98.9% test accuracy over 4 seeds; with it 98.1–99.0% over 3
seeds (its running statistics follow the augmented batches) at 35% more compute, so it is off
by default (``batch_norm=True`` turns it on). Dropout 0.25 beat 0.1 (98.5–98.8%).

Saved as safetensors weights plus JSON (network config, labels, normalisation) and a model card,
never as a pickle, so loading a model cannot run code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import ModelError
from ..types import LabelMap

CONFIG_FILE = "cnn_config.json"
META_FILE = "tuneforge.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class CNNConfig:
    """Input shape, classes and the network's size; stored beside the weights as JSON."""

    height: int
    width: int
    channels: int
    num_labels: int
    widths: tuple[int, ...] = (32, 64)  # filters per stage; each stage halves the image
    convs_per_stage: int = 1
    hidden: int = 128
    dropout: float = 0.25
    batch_norm: bool = False

    def __post_init__(self) -> None:
        checks = {
            "height": self.height >= 1,
            "width": self.width >= 1,
            "channels": self.channels in (1, 3),
            "num_labels": self.num_labels >= 2,
            "widths": len(self.widths) >= 1 and min(self.widths) >= 1,
            "convs_per_stage": self.convs_per_stage >= 1,
            "hidden": self.hidden >= 1,
            "dropout": 0 <= self.dropout < 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ModelError(
                f"CNN config has invalid {', '.join(bad)}: {asdict(self)}.",
                hint="Sizes must be positive, channels 1 or 3, at least 2 labels, dropout in "
                "[0, 1).",
            )
        side = min(self.height, self.width) >> len(self.widths)
        if side < 1:
            raise ModelError(
                f"Images of {self.height}x{self.width} are too small for {len(self.widths)} "
                "pooling stages (each halves the image).",
                hint="Use fewer stages (widths) or larger images.",
            )

    @classmethod
    def from_dict(cls, data: dict) -> CNNConfig:
        """The config from JSON; unknown keys are errors, as everywhere in tuneforge."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"Unknown CNN config key(s): {', '.join(unknown)}.")
        return cls(**{**data, "widths": tuple(data.get("widths", cls.widths))})


class CompactCNN(nn.Module):
    """Takes ``pixel_values`` (N×C×H×W float) and returns an object with ``.logits``, like a
    Hugging Face model, so the training loop, evaluation and export treat it like a text model.
    """

    def __init__(self, cfg: CNNConfig) -> None:
        super().__init__()
        self.config = cfg
        layers: list[nn.Module] = []
        channels = cfg.channels
        for width in cfg.widths:
            for _ in range(cfg.convs_per_stage):
                layers.append(nn.Conv2d(channels, width, 3, padding=1, bias=not cfg.batch_norm))
                if cfg.batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU(inplace=True))
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        h, w = cfg.height >> len(cfg.widths), cfg.width >> len(cfg.widths)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(cfg.dropout),
            nn.Linear(channels * h * w, cfg.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.num_labels),
        )

    def forward(self, pixel_values: torch.Tensor) -> Any:
        expected = (self.config.channels, self.config.height, self.config.width)
        if pixel_values.ndim != 4 or tuple(pixel_values.shape[1:]) != expected:
            raise ModelError(
                f"The CNN takes pixel_values of shape N×{'×'.join(map(str, expected))}, got "
                f"{tuple(pixel_values.shape)}.",
                hint="Prepare inputs with the model's ImageFeaturizer.",
            )
        return SimpleNamespace(logits=self.head(self.features(pixel_values)))


@dataclass
class ImageClassifierModel:
    """An image classifier, its label names and the featurizer that prepares its inputs.

    The image counterpart of :class:`~tuneforge.models.load.ClassifierModel`: the training loop
    finds the featurizer on it (``featurizer_for``) instead of a tokenizer. ``pretrained`` marks
    a Hugging Face image model (:mod:`tuneforge.models.hf_image`), which fine-tunes with the
    methods and defaults of a pretrained encoder, not the CNN's from-scratch schedule.
    """

    model: Any  # CompactCNN, or a transformers image classifier (possibly peft-wrapped)
    featurizer: Any  # data.image_features.ImageFeaturizer
    labels: LabelMap
    source_dir: Path | None = None
    method: str = "full"
    on_update: Any = None  # called after every optimizer step, like ClassifierModel's
    meta: dict = field(default_factory=dict)
    pretrained: bool = False
    task: ClassVar[str] = "image"


def build_cnn(featurizer: Any, labels: LabelMap, **options: Any) -> ImageClassifierModel:
    """A fresh CNN shaped for ``featurizer``'s images and ``labels`` (``options``: CNNConfig)."""
    cfg = CNNConfig(
        featurizer.height, featurizer.width, featurizer.channels, len(labels), **options
    )
    return ImageClassifierModel(CompactCNN(cfg), featurizer, labels)


def save_cnn(cm: ImageClassifierModel, out_dir: str | Path) -> Path:
    """Weights (safetensors), network config, label names and normalisation, as JSON; and the
    model card."""
    from safetensors.torch import save_file

    from .card import COMPACT_CNN, write_model_card

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in cm.model.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS_FILE))
    (out_dir / CONFIG_FILE).write_text(
        json.dumps(asdict(cm.model.config), indent=1, ensure_ascii=False), "utf-8"
    )
    meta = {"task": "image", "labels": list(cm.labels.names), **cm.featurizer.to_meta()}
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False), "utf-8")
    (out_dir / "labels.json").write_text(
        json.dumps(list(cm.labels.names), indent=1, ensure_ascii=False), "utf-8"
    )
    write_model_card(out_dir, {"base_model": COMPACT_CNN})
    return out_dir


def load_cnn(model_dir: str | Path) -> ImageClassifierModel:
    """The classifier :func:`save_cnn` wrote, in eval mode, with an inference featurizer."""
    from ..data.image_features import ImageFeaturizer
    from ..errors import DataError
    from .safety import load_safetensors

    path = Path(model_dir)
    missing = [n for n in (CONFIG_FILE, META_FILE, WEIGHTS_FILE) if not (path / n).is_file()]
    if missing:
        raise ModelError(
            f"'{path}' is not a saved image model: {', '.join(missing)} missing.",
            hint="Point at the artifacts/model directory of a finished image run.",
        )
    try:
        cfg = CNNConfig.from_dict(json.loads((path / CONFIG_FILE).read_text("utf-8")))
        meta = json.loads((path / META_FILE).read_text("utf-8"))
        labels = LabelMap(tuple(meta["labels"]))
        featurizer = ImageFeaturizer.from_meta(meta)
        model = CompactCNN(cfg)
        model.load_state_dict(load_safetensors(path / WEIGHTS_FILE))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(
            f"Could not load the image model in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; retrain or restore it.",
        ) from None
    except DataError as exc:
        raise ModelError(f"'{path}/{META_FILE}': {exc.message}") from None
    if len(labels) != cfg.num_labels:
        raise ModelError(
            f"'{path}': {len(labels)} label names but the network has {cfg.num_labels} outputs."
        )
    model.eval()
    return ImageClassifierModel(model, featurizer, labels, path)


def parse_size(text: str | None) -> tuple[tuple[int, int] | None, int | None]:
    """``"28x28"`` → ((28, 28), None); ``"32x32x3"`` → ((32, 32), 3); None → (None, None)."""
    if not text:
        return None, None
    from ..data.image_sources import parse_shape
    from ..errors import ConfigError, DataError

    try:
        h, w, c = parse_shape(text)
    except DataError as exc:
        raise ConfigError(f"image.size: {exc.message}") from None
    return (h, w), (c if text.lower().count("x") == 2 else None)


def parse_widths(text: str) -> tuple[int, ...]:
    """``"32,64"`` → (32, 64): the CNN's filters per stage."""
    from ..errors import ConfigError

    try:
        widths = tuple(int(p) for p in str(text).split(",") if p.strip())
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise ConfigError(
            f"image.widths must be positive integers separated by commas, got '{text}'.",
            hint="Example: image.widths=32,64 (two stages of 32 and 64 filters).",
        )
    return widths


def image_featurizer(train: list, image: Any):
    """Input shape and normalisation from the training images only (``image``: an
    ImageConfig), with the run's augmentation (random rotation, shift and scale; never flips)
    for training batches."""
    from ..data.image_features import Augmentation, ImageFeaturizer

    size, channels = parse_size(image.size)
    augmentation = Augmentation() if image.augment else None
    return ImageFeaturizer.fit(train, size=size, channels=channels, augmentation=augmentation)


def build_image_model(featurizer: Any, labels: LabelMap, image: Any) -> ImageClassifierModel:
    """A fresh compact CNN for the featurizer's input shape and ``labels``, sized by the
    ImageConfig ``image``; CNNConfig refuses a network too deep for the images."""
    return build_cnn(
        featurizer,
        labels,
        widths=parse_widths(image.widths),
        hidden=image.hidden,
        dropout=image.dropout,
    )
