"""Pretrained models from local Hugging Face directories, with a classification head."""

from .card import write_model_card
from .load import (
    ClassifierModel,
    available_models,
    default_model_dir,
    load_model,
    load_tokenizer,
    load_trained,
    resolve_model_dir,
    save_model,
)
from .tiny import build_tiny_model_dir

__all__ = [
    "ClassifierModel",
    "available_models",
    "build_tiny_model_dir",
    "default_model_dir",
    "load_model",
    "load_tokenizer",
    "load_trained",
    "resolve_model_dir",
    "save_model",
    "write_model_card",
]
