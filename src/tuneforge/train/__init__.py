"""The fine-tuning stage: fit() and its batching, precision and checkpoint helpers."""

from ..models.tokens import count_tokens, encode, sorted_batches
from .batching import (
    Featurizer,
    TextFeaturizer,
    collate,
    featurizer_for,
    length_bucketed_batches,
)
from .loop import TrainResult, fit, planned_updates
from .precision import cpu_has_bf16, resolve_precision

# count_tokens, encode and sorted_batches have their home in models.tokens (no torch needed);
# they stay importable from here for callers that train anyway.
__all__ = [
    "Featurizer",
    "TextFeaturizer",
    "featurizer_for",
    "TrainResult",
    "collate",
    "count_tokens",
    "cpu_has_bf16",
    "encode",
    "fit",
    "length_bucketed_batches",
    "planned_updates",
    "resolve_precision",
    "sorted_batches",
]
