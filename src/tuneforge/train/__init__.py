"""The fine-tuning stage: fit() and its batching, precision and checkpoint helpers."""

from .batching import (
    Featurizer,
    TextFeaturizer,
    collate,
    featurizer_for,
    length_bucketed_batches,
)
from .loop import TrainResult, fit, planned_updates
from .precision import cpu_has_bf16, resolve_precision

__all__ = [
    "Featurizer",
    "TextFeaturizer",
    "featurizer_for",
    "TrainResult",
    "collate",
    "cpu_has_bf16",
    "fit",
    "length_bucketed_batches",
    "planned_updates",
    "resolve_precision",
]
