"""Images: tuneforge's compact CNN trained from scratch (``model.name: default``), or a local
Hugging Face image classifier (``model.name: DIR``) fine-tuned with any method that fits image
models, its inputs prepared as its own image processor states."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig
from ..errors import ConfigError, DataError
from ..types import DatasetSplits, ImageExample
from .base import Task

COMPACT_CNN = "compact-cnn"  # what the store and status.json record as an image run's model
_CNN_NAMES = ("default", COMPACT_CNN)
# Above this many pixels per channel the pixel baseline runs on thumbnails: a logistic
# regression on 224×224×3 inputs would hold gigabytes of features and learn nothing more.
_BASELINE_MAX_PIXELS = 64 * 64
_BASELINE_SIDE = 32


class ImageTask(Task):
    name = "image"
    split_suffix = ".npz"
    input_noun = "image"
    items_are_files = True
    supports_folds = True
    supports_slices = True  # tables of image paths carry other columns
    label_studio_tag = "Image"

    @staticmethod
    def starts_pretrained(cfg: RunConfig) -> bool:
        """A Hugging Face image model (``--model DIR``) fine-tunes from pretrained weights; the
        compact CNN trains from scratch."""
        return cfg.model.name not in _CNN_NAMES

    def __init__(self, cfg: RunConfig | None = None) -> None:
        super().__init__(cfg)
        self.featurizer: Any = None
        self.model_ref = COMPACT_CNN
        self.pretrained = cfg is not None and self.starts_pretrained(cfg)
        if self.pretrained:
            from ..models.hf_image import resolve_image_model_dir

            if cfg.image.size:
                raise ConfigError(
                    f"image.size={cfg.image.size} sets the compact CNN's input size; the "
                    f"model in '{cfg.model.name}' takes the size its image processor states.",
                    hint="Drop image.size when fine-tuning a Hugging Face image model.",
                )
            self.model_ref = str(resolve_image_model_dir(cfg.model.name))

    def supports_variant(self, variant: Any) -> bool:
        return bool(variant.images)

    def load_data(self) -> DatasetSplits:
        """Images and splits, then the input shape and normalisation: the model's processor
        config for a pretrained model, else the training split's; a CNN too deep for the
        images is refused here, before any run directory exists."""
        from ..data import load_image_dataset

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
            slice_columns=d.slices,
        )
        self.adopt(data)
        return data

    def adopt(self, data: DatasetSplits) -> None:
        """The input size and normalisation come from the split the model trains on."""
        self.featurizer = self._featurizer(data)

    def _featurizer(self, data: DatasetSplits) -> Any:
        from ..models.cnn import CNNConfig, image_featurizer, parse_widths

        image = self.cfg.image
        if self.pretrained:
            from ..data.image_features import Augmentation
            from ..models.hf_image import processor_featurizer

            return processor_featurizer(self.model_ref, Augmentation() if image.augment else None)
        f = image_featurizer(data.train, image)
        options = {"widths": parse_widths(image.widths), "hidden": image.hidden}
        CNNConfig(f.height, f.width, f.channels, len(data.labels), dropout=image.dropout, **options)
        return f

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

    def build_model(self, data: DatasetSplits) -> Any:
        from ..models.cnn import build_image_model

        if not self.pretrained:
            return build_image_model(self.featurizer, data.labels, self.cfg.image)
        from ..methods import apply_method
        from ..models.hf_image import load_pretrained_image
        from ..train import planned_updates

        model_cfg = replace(self.cfg.model, name=self.model_ref)
        cm = load_pretrained_image(model_cfg, data.labels, self.featurizer)
        updates = planned_updates(len(data.train), self.cfg.train, "image", pretrained=True)
        return apply_method(cm, self.cfg.method, updates)

    def baseline(self, train: list[ImageExample], test: list[ImageExample]) -> dict:
        """A logistic regression on the pixels at the model's input size, or on 32×32
        thumbnails when that size is large (a pretrained model's 224×224, say)."""
        from ..data.image_files import pixels_of
        from ..evaluate.baseline import pixel_baseline

        f = self.featurizer
        if f.height * f.width > _BASELINE_MAX_PIXELS:
            f = replace(f, height=_BASELINE_SIDE, width=_BASELINE_SIDE, augmentation=None)

        def flat(examples: list[ImageExample]) -> np.ndarray:
            return np.stack([f.conform(pixels_of(e)).reshape(-1) for e in examples])

        return pixel_baseline(
            flat(train), [e.label for e in train], flat(test), [e.label for e in test]
        )

    def profile(self, predictor: Any, examples: list[ImageExample], probs: np.ndarray) -> Any:
        """Labels and confidences on held-out images; the length is the original pixel count
        (H×W, read from the file header for lazily loaded images), as the server logs it."""
        from ..data.image_files import peek_shape
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

    def save_split(self, path: Path, examples: list[ImageExample]) -> None:
        """uint8 pixels at the model's input size, labels, source rows; no pickles."""
        from ..data.image_splits import save_image_split

        save_image_split(path, examples, self.featurizer)

    def load_split(self, path: Path) -> list[ImageExample]:
        from ..data.image_splits import load_image_split

        return load_image_split(path)

    def queue_items(self, source: str, options: dict) -> tuple[list, list[int]]:
        """Image files (a folder, one file, a list or a path table), by absolute path and the
        hash of their bytes; images inside IDX files or pixel CSVs have no path to queue."""
        from ..data.inputs import check_image_paths, read_image_inputs
        from ..label.queue import NewItem

        if options.get("redact"):
            raise DataError(
                f"{source}: --redact replaces personal data in texts; these items are image "
                "files, queued by path and hash, and are not changed.",
                hint="Import the images without --redact.",
            )
        paths = read_image_inputs(source, options.get("image_column"))
        check_image_paths(paths)
        items = [NewItem(str(Path(p).resolve()), self.item_fingerprint(p), p) for p in paths]
        return items, []

    def item_fingerprint(self, content: str) -> str | None:
        from ..label.queue import bytes_fingerprint

        path = Path(content)
        return bytes_fingerprint(path.read_bytes()) if path.is_file() else None

    def item_content(self, example: ImageExample) -> str:
        return str(example.source or "")

    def example(self, content: str, label: str, row: int) -> ImageExample:
        """The image file stays a path, decoded when a batch needs it."""
        return ImageExample(content, label, row, source=content)

    def warmup_input(self, predictor: Any) -> np.ndarray:
        """A blank image of the model's input size (a text would be taken for a file name)."""
        f = predictor.featurizer
        return np.zeros((f.height, f.width, f.channels), dtype=np.uint8)

    def labelled(self, data_file: str, labels, options: dict) -> list[ImageExample]:
        from ..data.inputs import labelled_images

        return labelled_images(
            data_file,
            labels,
            image_column=options.get("image_column"),
            label_column=options.get("label_column"),
            shape=options.get("image_shape"),
            labels_path=options.get("labels_file"),
            slice_columns=options.get("slice_columns") or (),
        )

    def inputs(self, given: list[str], input_file: str | None, options: dict) -> list[str]:
        from ..data.inputs import check_image_paths, read_image_inputs

        paths = list(given)
        if input_file:
            paths += read_image_inputs(input_file, options.get("image_column"))
        if paths:
            check_image_paths(paths)
        return paths

    def input_stream(self, input_file: str, options: dict) -> Any:
        """The image paths are listed (and checked) up front, cheap beside decoding them;
        the identity is the listing itself, so a resume over other images is refused."""
        import hashlib

        from ..data.stream import list_stream

        paths = self.inputs([], input_file, options)
        listing = hashlib.sha256("\n".join(paths).encode("utf-8")).hexdigest()
        return list_stream(paths, "image", {"source": str(input_file), "listing": listing})

    # -- explanations -----------------------------------------------------------------------
    explain_methods = ("ig", "occlusion")

    def explainer(self, predictor: Any, method: str) -> Any:
        """Heat maps: integrated gradients on the torch model's pixel inputs, or occlusion
        patches through ``predict_proba`` (any runtime)."""
        from ..explain.images import integrated_gradients_image, occlusion_image

        if method == "ig":
            return lambda images, target, **options: integrated_gradients_image(
                predictor, images, target, **options
            )
        return lambda images, target, **options: occlusion_image(
            predictor, images, target, **options
        )

    def explanation_files(
        self, predictor: Any, inputs: list, explanations: list, out_dir: Path
    ) -> list:
        """One PNG overlay per image in ``out_dir`` (the heat map over the original image);
        the explanations come back with their overlay's path."""
        from ..explain.overlay import overlay_name, save_overlay

        taken: set[str] = set()
        out = []
        for image, explanation in zip(predictor.pixels(inputs), explanations):
            path = Path(out_dir) / overlay_name(explanation.source, explanation.method, taken)
            out.append(replace(explanation, overlay=str(save_overlay(image, explanation, path))))
        return out
