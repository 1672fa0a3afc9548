"""What differs between a text run and an image run; everything else in finetune is shared.

A task reads the data, builds the model, saves it, loads the saved artifact as a Predictor,
measures a simple baseline, profiles held-out predictions for monitoring and keeps the run's
splits. :func:`open_task` picks the task from the data (``data.task``, or detected) and checks
what can be checked before a run directory exists.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import ImageConfig, RunConfig
from ..data import detect_task, load_dataset, load_image_dataset
from ..errors import ConfigError, DataError
from ..store import RunDir
from ..types import DatasetSplits, Example, ImageExample, LabelMap

COMPACT_CNN = "compact-cnn"  # what the store and status.json record as an image run's model
_CNN_NAMES = ("default", COMPACT_CNN)
# Above this many pixels per channel the pixel baseline runs on thumbnails: a logistic
# regression on 224×224×3 inputs would hold gigabytes of features and learn nothing more.
_BASELINE_MAX_PIXELS = 64 * 64
_BASELINE_SIDE = 32


def open_task(cfg: RunConfig) -> TextTask | ImageTask:
    """The task of ``cfg``'s data, ready to load it (text: the model's tokenizer is loaded)."""
    return ImageTask(cfg) if detect_task(cfg.data) == "image" else TextTask(cfg)


def starts_pretrained(cfg: RunConfig, task: str) -> bool:
    """Whether the run fine-tunes pretrained weights (every text run, and an image run given
    ``--model DIR``) rather than training the compact CNN from scratch."""
    return task == "text" or cfg.model.name not in _CNN_NAMES


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


class TextTask:
    """A local Hugging Face encoder fine-tuned on texts (full or with a peft adapter)."""

    name = "text"

    def __init__(self, cfg: RunConfig) -> None:
        from ..models import load_tokenizer, resolve_model_dir

        self.cfg = cfg
        self.model_dir = resolve_model_dir(cfg.model.name)
        self.model_ref = str(self.model_dir)
        self.tokenizer = load_tokenizer(self.model_dir)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        from ..train import count_tokens

        return count_tokens(self.tokenizer, texts)

    def load_data(self) -> DatasetSplits:
        return load_dataset(
            self.cfg.data, count_tokens=self.count_tokens, max_length=self.cfg.model.max_length
        )

    def warnings(self, data: DatasetSplits) -> list[str]:
        limit = self.cfg.model.max_length
        long_texts = sum(n > limit for n in self.count_tokens([e.text for e in data.train]))
        if not long_texts:
            return []
        return [
            f"warning: {long_texts} training texts are longer than model.max_length={limit} "
            "tokens and will be truncated."
        ]

    def build_model(self, data: DatasetSplits):
        from ..methods import apply_method
        from ..models import load_model
        from ..train import planned_updates

        cm = load_model(self.cfg.model, data.labels)
        return apply_method(cm, self.cfg.method, planned_updates(len(data.train), self.cfg.train))

    def save_model(self, cm, rd: RunDir) -> None:
        from ..methods import save_trained

        save_trained(cm, rd.model_dir, rd.adapter_dir)

    def predictor(self, rd: RunDir):
        from ..predict import TorchPredictor

        return TorchPredictor.from_dir(rd.model_dir)

    def baseline(self, train: list[Example], test: list[Example]) -> dict:
        from ..evaluate import tfidf_baseline

        return tfidf_baseline(train, test)

    def profile(self, predictor, examples: list[Example], probs: np.ndarray):
        """How the model's predictions look on held-out data: the baseline monitoring compares
        live traffic with (labels, confidences, lengths in characters, unknown-token rate)."""
        from ..monitor.drift import Profile

        texts = [e.text for e in examples]
        tokenizer = predictor.cm.tokenizer
        ids = tokenizer(texts, truncation=True, max_length=predictor.cm.max_length)["input_ids"]
        total = sum(len(x) for x in ids) or 1
        unk = (
            sum(x.count(tokenizer.unk_token_id) for x in ids)
            if tokenizer.unk_token_id is not None
            else 0
        )
        return Profile.from_predictions(
            predictor.labels,
            [predictor.labels[i] for i in probs.argmax(1)],
            probs.max(1).tolist(),
            [len(t) for t in texts],
            unknown_token_rate=unk / total,
        )

    def save_splits(self, rd: RunDir, data: DatasetSplits) -> None:
        """Keep the exact examples of each split as ``data/<split>.jsonl``: later stages
        (parity, calibration, compression) measure on what this run was trained and tested on,
        even if the source files change."""
        folder = rd.path / "data"
        folder.mkdir(exist_ok=True)
        for split in ("train", "val", "test"):
            lines = "".join(
                _json_line({"text": e.text, "label": e.label, "row": e.row})
                for e in getattr(data, split)
            )
            (folder / f"{split}.jsonl").write_text(lines, encoding="utf-8")


def parse_size(text: str | None) -> tuple[tuple[int, int] | None, int | None]:
    """``"28x28"`` → ((28, 28), None); ``"32x32x3"`` → ((32, 32), 3); None → (None, None)."""
    if not text:
        return None, None
    from ..data.images import parse_shape

    try:
        h, w, c = parse_shape(text)
    except DataError as exc:
        raise ConfigError(f"image.size: {exc.message}") from None
    return (h, w), (c if text.lower().count("x") == 2 else None)


def parse_widths(text: str) -> tuple[int, ...]:
    """``"32,64"`` → (32, 64): the CNN's filters per stage."""
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


def image_featurizer(train: list[ImageExample], image: ImageConfig):
    """Input shape and normalisation from the training images only, with the run's
    augmentation (random rotation, shift and scale; never flips) for training batches."""
    from ..data.image_features import Augmentation, ImageFeaturizer

    size, channels = parse_size(image.size)
    augmentation = Augmentation() if image.augment else None
    return ImageFeaturizer.fit(train, size=size, channels=channels, augmentation=augmentation)


def build_image_model(featurizer, labels: LabelMap, image: ImageConfig):
    """A fresh compact CNN for the featurizer's input shape and ``labels``."""
    from ..models.cnn import build_cnn

    return build_cnn(
        featurizer,
        labels,
        widths=parse_widths(image.widths),
        hidden=image.hidden,
        dropout=image.dropout,
    )


class ImageTask:
    """Images: tuneforge's compact CNN trained from scratch (``model.name: default``), or a
    local Hugging Face image classifier (``model.name: DIR``) fine-tuned with any method that
    fits image models, its inputs prepared as its own image processor states."""

    name = "image"

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.featurizer: Any = None
        self.pretrained = starts_pretrained(cfg, "image")
        self.model_ref = COMPACT_CNN
        if self.pretrained:
            from ..models.hf_image import resolve_image_model_dir

            if cfg.image.size:
                raise ConfigError(
                    f"image.size={cfg.image.size} sets the compact CNN's input size; the "
                    f"model in '{cfg.model.name}' takes the size its image processor states.",
                    hint="Drop image.size when fine-tuning a Hugging Face image model.",
                )
            self.model_ref = str(resolve_image_model_dir(cfg.model.name))

    def load_data(self) -> DatasetSplits:
        """Images and splits, then the input shape and normalisation: the model's processor
        config for a pretrained model, else the training split's; a CNN too deep for the
        images is refused here, before any run directory exists."""
        from ..models.cnn import CNNConfig

        d = self.cfg.data
        data = load_image_dataset(
            d.train_file,
            val=d.val_file,
            test=d.test_file,
            val_fraction=d.val_fraction,
            test_fraction=d.test_fraction,
            seed=d.seed,
            image_column=d.image_column,
            label_column=d.label_column,
            shape=d.image_shape,
            labels_path=d.labels_file,
        )
        if self.pretrained:
            from ..data.image_features import Augmentation
            from ..models.hf_image import processor_featurizer

            augmentation = Augmentation() if self.cfg.image.augment else None
            self.featurizer = processor_featurizer(self.model_ref, augmentation)
            return data
        self.featurizer = image_featurizer(data.train, self.cfg.image)
        f, image = self.featurizer, self.cfg.image
        widths = parse_widths(image.widths)
        options = {"widths": widths, "hidden": image.hidden, "dropout": image.dropout}
        CNNConfig(f.height, f.width, f.channels, len(data.labels), **options)
        return data

    def warnings(self, data: DatasetSplits) -> list[str]:
        f = self.featurizer
        shapes = Counter(e.pixels.shape for e in data.train)
        other = sum(n for s, n in shapes.items() if s != (f.height, f.width, f.channels))
        if not other:
            return []
        return [
            f"warning: {other} training images are not {f.height}x{f.width}x{f.channels} and "
            "are resized/converted to it (tuneforge data check lists the sizes)."
        ]

    def build_model(self, data: DatasetSplits):
        if not self.pretrained:
            return build_image_model(self.featurizer, data.labels, self.cfg.image)
        from dataclasses import replace

        from ..methods import apply_method
        from ..models.hf_image import load_pretrained_image
        from ..train import planned_updates

        model_cfg = replace(self.cfg.model, name=self.model_ref)
        cm = load_pretrained_image(model_cfg, data.labels, self.featurizer)
        updates = planned_updates(len(data.train), self.cfg.train, "image", pretrained=True)
        return apply_method(cm, self.cfg.method, updates)

    def save_model(self, cm, rd: RunDir) -> None:
        """The CNN as safetensors + JSON; a Hugging Face model as a save_pretrained directory
        (merged for adapters), and its adapter in artifacts/adapter."""
        from ..methods import save_trained

        save_trained(cm, rd.model_dir, rd.adapter_dir)

    def predictor(self, rd: RunDir):
        from ..predict import load_predictor

        return load_predictor(rd.model_dir)

    def baseline(self, train: list[ImageExample], test: list[ImageExample]) -> dict:
        """A logistic regression on the pixels at the model's input size, or on 32×32
        thumbnails when that size is large (a pretrained model's 224×224, say)."""
        from ..data.images import pixels_of
        from ..evaluate.baseline import pixel_baseline

        f = self.featurizer
        if f.height * f.width > _BASELINE_MAX_PIXELS:
            from dataclasses import replace

            f = replace(f, height=_BASELINE_SIDE, width=_BASELINE_SIDE, augmentation=None)

        def flat(examples: list[ImageExample]) -> np.ndarray:
            return np.stack([f.conform(pixels_of(e)).reshape(-1) for e in examples])

        return pixel_baseline(
            flat(train), [e.label for e in train], flat(test), [e.label for e in test]
        )

    def profile(self, predictor, examples: list[ImageExample], probs: np.ndarray):
        """Labels and confidences on held-out images; the length is the original pixel count
        (H×W, read from the file header for lazily loaded images), as the server logs it."""
        from ..data.images import peek_shape
        from ..monitor.drift import Profile

        shapes = [
            e.pixels.shape if isinstance(e.pixels, np.ndarray) else peek_shape(e.pixels)
            for e in examples
        ]
        return Profile.from_predictions(
            predictor.labels,
            [predictor.labels[i] for i in probs.argmax(1)],
            probs.max(1).tolist(),
            [int(h * w) for h, w, *_ in shapes],
        )

    def save_splits(self, rd: RunDir, data: DatasetSplits) -> None:
        """Keep each split as ``data/<split>.npz`` (uint8 pixels at the model's input size,
        labels, source rows; no pickles) for parity checks, compression and the report."""
        from ..data.images import save_image_split

        folder = rd.path / "data"
        folder.mkdir(exist_ok=True)
        for split in ("train", "val", "test"):
            save_image_split(folder / f"{split}.npz", getattr(data, split), self.featurizer)
