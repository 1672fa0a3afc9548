"""Local Hugging Face image classifiers (ViT, ConvNeXt, …): check, load, prepare inputs, save.

An image run given ``--model DIR`` fine-tunes the model in DIR instead of training the compact
CNN. The rest of the image chain stays as it is because the model is wrapped in the same
:class:`~tuneforge.models.cnn.ImageClassifierModel` with an ordinary
:class:`~tuneforge.data.image_features.ImageFeaturizer`, built from the model's own image
processor: its input size, and its rescale factor, mean and std folded into the featurizer's
0–1 scale. The featurizer's metadata in ``tuneforge.json`` is then all that prediction, export
and serving need.

One difference from ``transformers`` preprocessing is deliberate: every image is resized
straight to the model's input size (bilinear), as for the CNN. Processors that resize the
shortest edge and centre-crop (ConvNeXt's ``crop_pct``, CLIP) would cut a border off; tuneforge
keeps it, and trains, evaluates, exports and serves with the same resize, so they all agree.
For processors that resize to a fixed height × width (ViT, DeiT, BEiT) the inputs are the same.

Nothing is downloaded (``local_files_only`` everywhere), no code shipped in a model directory
runs, and pickle weights are refused (:mod:`tuneforge.models.safety`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import ModelConfig
from ..errors import DataError, ModelError
from ..types import LabelMap
from .card import write_model_card
from .cnn import CONFIG_FILE as CNN_CONFIG_FILE
from .cnn import META_FILE, ImageClassifierModel, load_cnn, save_cnn
from .load import (
    base_reference,
    check_model_dir,
    head_config,
    peft_on_base,
    quiet_transformers,
    resolve_model_dir,
    save_pretrained_with_labels,
)
from .safety import PRETRAINED_OPTIONS, check_no_custom_code

PROCESSOR_FILE = "preprocessor_config.json"


def _image_model_types() -> Mapping[str, str]:
    """model_type → the transformers class with an image-classification head."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES

    return MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES


def _config_json(path: Path) -> dict:
    return json.loads((path / "config.json").read_text(encoding="utf-8"))


def resolve_image_model_dir(name: str | Path) -> Path:
    """A checked local directory of a Hugging Face image classifier.

    The directory checks of text models apply (config.json, safetensors weights, no pickles);
    then its ``model_type`` must have an image-classification head in transformers (a bare
    backbone such as ``ViTModel`` is fine: the head is new anyway), and the image processor
    config must be there, because it states the input size and normalisation."""
    path = resolve_model_dir(name)
    config = _config_json(path)
    model_type = config.get("model_type")
    if model_type not in _image_model_types():
        kind = ", ".join(config.get("architectures") or []) or f"model_type '{model_type}'"
        raise ModelError(
            f"Model directory '{path}' holds {kind}, which is not an image classifier: image "
            "runs fine-tune Hugging Face image-classification models (ViT, ConvNeXt, DeiT, "
            "Swin, …).",
            hint="Pass the directory of an image-classification model, or drop --model to "
            "train tuneforge's compact CNN.",
        )
    if not (path / PROCESSOR_FILE).is_file():
        raise ModelError(
            f"Model directory '{path}' has no {PROCESSOR_FILE}: the input size and "
            "normalisation the model was pretrained with are unknown.",
            hint="Save the model's image processor into it (processor.save_pretrained(DIR)).",
        )
    return path


def _size_of(size: Any, key: str) -> int | None:
    if isinstance(size, int):
        return size if key in ("height", "width", "shortest_edge") else None
    value = size.get(key) if isinstance(size, Mapping) else getattr(size, key, None)
    return int(value) if value else None


def input_size(processor: Any) -> tuple[int, int]:
    """The height × width the processor hands to the model: the crop when it centre-crops,
    else its fixed size, else a square of its shortest edge (ConvNeXt's final input)."""
    crop = getattr(processor, "crop_size", None)
    if getattr(processor, "do_center_crop", False) and crop is not None:
        h, w = _size_of(crop, "height"), _size_of(crop, "width")
        if h and w:
            return h, w
    size = getattr(processor, "size", None)
    h, w = _size_of(size, "height"), _size_of(size, "width")
    if h and w:
        return h, w
    edge = _size_of(size, "shortest_edge")
    if edge:
        return edge, edge
    raise ModelError(
        f"The image processor's size {size!r} names no height/width or shortest_edge, so the "
        "model's input size is unknown.",
        hint=f"Set size to {{'height': H, 'width': W}} in {PROCESSOR_FILE}.",
    )


def _per_channel(values: Any, channels: int, what: str) -> tuple[float, ...]:
    seq = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if len(seq) == 1:
        seq = seq * channels
    if len(seq) != channels:
        raise ModelError(
            f"The image processor's {what} has {len(seq)} values for a {channels}-channel model."
        )
    return tuple(seq)


def load_processor(model_dir: str | Path) -> Any:
    """The directory's image processor (PIL backend: torchvision does not install beside our
    torch build), or a ModelError naming the directory."""
    check_no_custom_code(Path(model_dir))
    transformers = quiet_transformers()
    try:
        return transformers.AutoImageProcessor.from_pretrained(
            model_dir, backend="pil", **PRETRAINED_OPTIONS
        )
    except Exception as exc:  # transformers raises several types for a bad processor config
        raise ModelError(
            f"Could not load the image processor in '{model_dir}': {exc}",
            hint=f"Check {PROCESSOR_FILE}, or re-save the processor with save_pretrained.",
        ) from exc


def processor_featurizer(model_dir: str | Path, augmentation: Any = None) -> Any:
    """An ImageFeaturizer that prepares inputs as the model's processor does: its input size,
    RGB (or the model's channel count), and ``(x·rescale − mean) / std`` rewritten on the
    featurizer's 0–1 scale as ``(x/255 − mean′) / std′`` with mean′ = mean/(255·rescale)."""
    from ..data.image_features import ImageFeaturizer

    path = Path(model_dir)
    processor = load_processor(path)
    try:
        height, width = input_size(processor)
        channels = int(_config_json(path).get("num_channels", 3))
        factor = float(processor.rescale_factor) if getattr(processor, "do_rescale", True) else 1
        scale = 255.0 * factor
        if getattr(processor, "do_normalize", True):
            mean = _per_channel(processor.image_mean, channels, "image_mean")
            std = _per_channel(processor.image_std, channels, "image_std")
        else:
            mean, std = (0.0,) * channels, (1.0,) * channels
        return ImageFeaturizer(
            height,
            width,
            channels,
            tuple(m / scale for m in mean),
            tuple(s / scale for s in std),
            augmentation,
        )
    except (ModelError, DataError) as exc:
        raise ModelError(f"Model directory '{path}': {exc.message}", hint=exc.hint) from None


def load_pretrained_image(cfg: ModelConfig, labels: LabelMap, featurizer: Any):
    """The pretrained model with a fresh head for ``labels`` (``ignore_mismatched_sizes``: the
    old head's shape differs), and the run's dropout where the architecture has one."""
    transformers = quiet_transformers()
    path = resolve_image_model_dir(cfg.name)
    try:
        model = transformers.AutoModelForImageClassification.from_pretrained(
            path,
            config=head_config(path, cfg, labels),
            attn_implementation=cfg.attn_implementation,
            ignore_mismatched_sizes=True,
            use_safetensors=True,
            **PRETRAINED_OPTIONS,
        )
    except Exception as exc:  # corrupt weights surface as several library-specific types
        raise ModelError(
            f"Could not load the image model in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; re-save or re-copy it.",
        ) from exc
    return ImageClassifierModel(model, featurizer, labels, path, pretrained=True)


def write_image_meta(cm: ImageClassifierModel, out_dir: Path, **extra: Any) -> None:
    """The processor config (for transformers users), ``labels.json`` and ``tuneforge.json``:
    task image, labels and the featurizer's shape and normalisation, which load_predictor,
    export and the server read."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source = Path(cm.source_dir or "") / PROCESSOR_FILE
    target = out_dir / PROCESSOR_FILE
    if source.is_file() and source.resolve() != target.resolve():
        shutil.copy2(source, target)
    names = list(cm.labels.names)
    (out_dir / "labels.json").write_text(json.dumps(names, indent=1, ensure_ascii=False), "utf-8")
    meta = {"task": "image", "labels": names, **cm.featurizer.to_meta(), **extra}
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False), "utf-8")


def save_image_model(cm: ImageClassifierModel, out_dir: Path) -> Path:
    """A saved image classifier: the compact CNN's safetensors + JSON, or for a pretrained
    model a plain ``save_pretrained`` directory (safetensors, label names in config.json)."""
    if not cm.pretrained:
        return save_cnn(cm, out_dir)
    save_pretrained_with_labels(cm.model, cm.labels, out_dir)
    write_image_meta(cm, out_dir)
    write_model_card(out_dir, {"base_model": base_reference(cm.source_dir)})
    return out_dir


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        meta = {"error": repr(exc)}
    if not isinstance(meta, dict) or "labels" not in meta:
        raise ModelError(
            f"'{path}' has no readable {META_FILE} with the image model's labels.",
            hint="Point at the artifacts/model (or artifacts/adapter) directory of an image run.",
        )
    return meta


def load_trained_image(model_dir: str | Path) -> ImageClassifierModel:
    """Any image classifier tuneforge saved, in eval mode with its inference featurizer: the
    compact CNN, a fine-tuned Hugging Face model, or its peft adapter (put back on the base
    model named in its tuneforge.json, the trained head restored from ``modules_to_save``)."""
    from ..data.image_features import ImageFeaturizer

    path = Path(model_dir)
    if (path / CNN_CONFIG_FILE).is_file():
        return load_cnn(path)
    meta = _read_meta(path)
    labels = LabelMap(tuple(meta["labels"]))
    try:
        featurizer = ImageFeaturizer.from_meta(meta)
    except DataError as exc:
        raise ModelError(f"'{path}/{META_FILE}': {exc.message}") from None
    adapter = (path / "adapter_config.json").is_file()
    if adapter:
        model = _load_adapter(path, meta, labels)
    else:
        check_model_dir(path)
        model = _load_dir(path)
    n_out = model.config.num_labels if not adapter else len(labels)
    if n_out != len(labels):
        raise ModelError(f"'{path}': {len(labels)} label names but the model has {n_out} outputs.")
    model.eval()
    method = meta.get("method", "full")
    return ImageClassifierModel(model, featurizer, labels, path, method=method, pretrained=True)


def _load_dir(path: Path):
    transformers = quiet_transformers()
    try:
        return transformers.AutoModelForImageClassification.from_pretrained(
            path, use_safetensors=True, **PRETRAINED_OPTIONS
        )
    except Exception as exc:  # corrupt weights surface as several library-specific types
        raise ModelError(
            f"Could not load the trained image model in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; retrain or restore it.",
        ) from exc


def _load_adapter(path: Path, meta: dict, labels: LabelMap):
    if "base_model" not in meta:
        raise ModelError(f"Adapter directory '{path}': its {META_FILE} names no base_model.")
    base_dir = resolve_image_model_dir(meta["base_model"])
    return peft_on_base(
        path, base_dir, "AutoModelForImageClassification", labels, ignore_mismatched_sizes=True
    )
