"""The method registry: full fine-tuning and peft adapters (LoRA, AdaLoRA, IA3, prefix tuning).

Every adapter method trains the classification head too (peft's ``modules_to_save``), and the
pretrained pooler where the architecture has one: the head is what makes a classifier, and an
adapter saved without it reloads with a random head and predicts at random.

Hugging Face image models (``pixel_values`` in) take the same methods except prefix tuning: the
adapter wraps them as a plain ``PeftModel`` (no sequence-classification task type, whose forward
passes token ids), and, as peft has no default layers for image models, LoRA/AdaLoRA/IA3 target
the layers named in :data:`_IMAGE_TARGETS` unless ``method.target_modules`` says otherwise.
"""

from __future__ import annotations

import copy
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import MethodConfig, TrainConfig
from ..errors import ConfigError
from ..models import ClassifierModel, save_model
from ..models.card import write_model_card
from ..models.load import base_reference, write_model_meta

# peft 0.21 asks transformers 5 a deprecated question on every save and merge; the answer is
# right, the warning is noise to our users.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

# Modules trained in full beside the adapter, when the model has them. The pooler's Linear, not
# the pooler module: peft's IA3 merge only unwraps Linear-like modules_to_save.
_HEAD_MODULES = ("classifier", "score", "pooler.dense")

# Adapter layers for image models, by how the architecture names its Linear layers; the first
# group the model has wins. Attention query/value, as LoRA targets on text encoders: q_proj and
# v_proj in transformers 5 (ViT, DeiT, BEiT, Swin, DINOv2, CLIP, SigLIP), query/value in models
# written for older versions. ConvNeXt has no attention; its pointwise (1×1) convolutions are
# Linear layers. IA3 rescales keys and values instead.
_IMAGE_TARGETS = {
    "lora": (("q_proj", "v_proj"), ("query", "value"), ("pwconv1", "pwconv2")),
    "ia3": (("k_proj", "v_proj"), ("key", "value"), ("pwconv1", "pwconv2")),
}
_IMAGE_TARGETS["adalora"] = _IMAGE_TARGETS["lora"]


@dataclass(frozen=True)
class Method:
    """One way to fine-tune: its default learning rate, whether it merges, how to wrap a model."""

    name: str
    default_lr: float
    mergeable: bool
    summary: str
    peft_config: Callable[[MethodConfig, Any, int], Any] | None = None  # None: full fine-tuning
    images: bool = True  # whether it fits image models too
    private_refusal: str | None = None  # why DP-SGD (--privacy dp) cannot train it; None: it can


def is_image_model(model) -> bool:
    """A transformers model that takes ``pixel_values`` (ViT, ConvNeXt, …)."""
    return getattr(model, "main_input_name", None) == "pixel_values"


def _task_type(model):
    """peft's sequence-classification wrapper for text; the plain PeftModel for images."""
    import peft

    return None if is_image_model(model) else peft.TaskType.SEQ_CLS


def _targets(cfg: MethodConfig, model, method: str = "lora") -> list[str] | None:
    """``method.target_modules`` when given; for image models the first matching group of
    :data:`_IMAGE_TARGETS`; else None (peft's default for the text architecture)."""
    if cfg.target_modules:
        return [t.strip() for t in cfg.target_modules.split(",") if t.strip()]
    if not is_image_model(model):
        return None
    import torch

    linear = {
        n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)
    }
    for group in _IMAGE_TARGETS[method]:
        if set(group) <= linear:
            return list(group)
    model_type = getattr(getattr(model, "config", None), "model_type", type(model).__name__)
    raise ConfigError(
        f"method '{method}' does not know which layers of this {model_type} image model to "
        f"adapt. Its Linear layers are named: {', '.join(sorted(linear)[:12]) or 'none'}.",
        hint="Name them with method.target_modules=NAME1,NAME2 (or use --method full).",
    )


def _head_modules(model) -> list[str]:
    names = [name for name, _ in model.named_modules()]
    return [m for m in _HEAD_MODULES if any(n == m or n.endswith("." + m) for n in names)]


def _lora(cfg: MethodConfig, model, total_updates: int):
    import peft

    return peft.LoraConfig(
        task_type=_task_type(model),
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=_targets(cfg, model, "lora"),
        modules_to_save=_head_modules(model),
    )


def _adalora(cfg: MethodConfig, model, total_updates: int):
    """AdaLoRA starts every matrix at rank ``r`` and reallocates a budget of ``r // 2`` on
    average, pruning between 10% and 70% of training (peft's schedule needs the step count)."""
    import peft

    total = max(total_updates, 3)
    return peft.AdaLoraConfig(
        task_type=_task_type(model),
        init_r=cfg.r,
        target_r=max(1, cfg.r // 2),
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=_targets(cfg, model, "adalora"),
        modules_to_save=_head_modules(model),
        total_step=total,
        tinit=total // 10,
        tfinal=(3 * total) // 10,
        deltaT=max(1, total // 50),
    )


def _ia3(cfg: MethodConfig, model, total_updates: int):
    import peft

    targets = _targets(cfg, model, "ia3")
    return peft.IA3Config(
        task_type=_task_type(model),
        target_modules=targets,
        feedforward_modules=[] if targets else None,
        modules_to_save=_head_modules(model),
    )


def _prefix(cfg: MethodConfig, model, total_updates: int):
    import peft

    if cfg.virtual_tokens < 1:
        raise ConfigError(f"method.virtual_tokens must be at least 1, got {cfg.virtual_tokens}.")
    return peft.PrefixTuningConfig(
        task_type=peft.TaskType.SEQ_CLS, num_virtual_tokens=cfg.virtual_tokens
    )


# Opacus computes per-example gradients layer by layer (Linear, Embedding, LayerNorm, ...); these
# adapters keep their weights as bare parameters multiplied inside peft's own layers, so no
# per-example gradient exists to clip (measured: none of them gets one).
_BARE_WEIGHTS = (
    "{} are bare parameters inside peft's layers, for which Opacus computes no per-example "
    "gradient to clip"
)

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("full", 2e-4, True, "every weight trains (word embeddings frozen by default)"),
        Method("lora", 1e-3, True, "low-rank updates on attention query/value", _lora),
        Method(
            "adalora",
            1e-3,
            True,
            "LoRA whose ranks are reallocated during training",
            _adalora,
            private_refusal=_BARE_WEIGHTS.format("its singular values and vectors"),
        ),
        Method(
            "ia3",
            5e-3,
            True,
            "learned rescaling of keys, values and FFN activations",
            _ia3,
            private_refusal=_BARE_WEIGHTS.format("its rescaling vectors"),
        ),
        Method("prefix", 1e-2, False, "trained key/value prefixes in every layer", _prefix, False),
    )
}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown fine-tuning method '{name}'.",
            hint=f"Choose one of: {', '.join(METHODS)}.",
        ) from None


def default_lr(train: TrainConfig, method: str) -> float:
    """``train.lr`` when set, else the method's default (adapters need a larger step)."""
    fallback = get_method(method).default_lr  # also refuses an unknown method up front
    return train.lr if train.lr is not None else fallback


def check_fits_images(name: str, image: bool) -> None:
    """A ConfigError when method ``name`` has no meaning for an image model."""
    method = get_method(name)
    if image and not method.images:
        fitting = ", ".join(m.name for m in METHODS.values() if m.images)
        raise ConfigError(
            f"method '{name}' ({method.summary}) works on token sequences and does not apply "
            "to image models.",
            hint=f"For image models use one of: {fitting}.",
        )


def apply_method(cm: ClassifierModel, cfg: MethodConfig, total_updates: int) -> ClassifierModel:
    """Wrap ``cm.model`` for ``cfg.name``; full fine-tuning returns ``cm`` unchanged."""
    method = get_method(cfg.name)
    if method.peft_config is None:
        return cm
    check_fits_images(cfg.name, cm.task == "image")
    if cfg.r < 1:
        raise ConfigError(f"method.r must be at least 1, got {cfg.r}.")
    import peft

    try:
        model = peft.get_peft_model(cm.model, method.peft_config(cfg, cm.model, total_updates))
    except ValueError as exc:  # e.g. target modules that the architecture does not have
        raise ConfigError(f"method '{cfg.name}' does not fit this model: {exc}") from None
    on_update = None
    if cfg.name == "adalora":
        # AdaLoRA's rank budget is updated after every optimizer step (peft's documented loop).
        on_update = model.base_model.update_and_allocate
    return replace(cm, model=model, method=cfg.name, on_update=on_update)


def save_trained(cm: ClassifierModel, model_dir: Path, adapter_dir: Path) -> None:
    """Write what a run keeps: the adapter (with its head) and, where possible, a merged model.

    ``model_dir`` always holds something ``load_trained`` reads: the plain merged model for full
    fine-tuning and mergeable adapters, the adapter itself for prefix tuning. Each directory
    gets its model card, naming the method and the base model.
    """
    method = get_method(cm.method)
    save, write_meta = _writers(cm)
    base = base_reference(cm.source_dir) if cm.source_dir else None  # the CNN has none
    card = {"method": cm.method, "base_model": base}
    if method.peft_config is None:
        save(cm, model_dir)
        write_model_card(model_dir, card)
        return
    adapter_dir.mkdir(parents=True, exist_ok=True)
    cm.model.save_pretrained(adapter_dir, safe_serialization=True)
    write_meta(cm, adapter_dir, method=cm.method, base_model=base_reference(cm.source_dir))
    write_model_card(adapter_dir, {"method": cm.method})
    if method.mergeable:
        merged = copy.deepcopy(cm.model).merge_and_unload()
        save(replace(cm, model=merged, method="full", on_update=None), model_dir)
        write_model_card(model_dir, card)
    else:
        if model_dir.exists():
            shutil.rmtree(model_dir)
        shutil.copytree(adapter_dir, model_dir)


def _writers(cm) -> tuple[Callable, Callable]:
    """How to save a model and write its metadata: text (tokenizer, max length) or image
    (processor config, featurizer shape and normalisation)."""
    if cm.task == "image":
        from ..models.hf_image import save_image_model, write_image_meta

        return save_image_model, write_image_meta
    return save_model, write_model_meta
