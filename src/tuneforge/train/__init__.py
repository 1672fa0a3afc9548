"""The fine-tuning stage: fit() and its batching, precision and checkpoint helpers."""

from .batching import collate, count_tokens, encode, length_bucketed_batches, sorted_batches
from .loop import TrainResult, fit, planned_updates
from .precision import cpu_has_bf16, resolve_precision

__all__ = [
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
