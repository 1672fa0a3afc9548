"""Training batches: tokenise once, then batch by length (real texts are short, padding them to
128 wastes compute), and turn each batch into torch inputs. The tokenisation itself, shared with
prediction, is :mod:`tuneforge.models.tokens`.

Hand-written rather than ``Trainer``'s ``group_by_length`` because resuming must replay the exact
batch order: the order here is a pure function of (seed, epoch), so no sampler state is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from ..models.tokens import encode, pad_batch


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, bucket_size: int = 50
) -> list[list[int]]:
    """Shuffle, sort by length inside buckets of ``bucket_size`` batches, shuffle the batches.

    Batches hold similar lengths (little padding) while the order stays random across epochs.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    chunk = max(batch_size * max(bucket_size, 1), batch_size)
    batches: list[list[int]] = []
    lengths_arr = np.asarray(lengths)
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths_arr[part], kind="stable")]
        batches.extend(part[i : i + batch_size].tolist() for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def collate(ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence in the batch (never to max_length), as torch tensors."""
    return {k: torch.from_numpy(v) for k, v in pad_batch(ids, pad_id).items()}


class Featurizer(Protocol):
    """How a task turns examples into model inputs; fit() is the same loop for every task."""

    def encode(self, examples: Sequence) -> list:
        """One item per example (token ids for text), computed once before training."""

    def length(self, item) -> int:
        """The size that length bucketing groups by (constant where inputs are fixed-size)."""

    def collate(self, items: list, train: bool) -> dict[str, torch.Tensor]:
        """A batch of model inputs; ``train`` enables training-only work (augmentation)."""


@dataclass(frozen=True)
class TextFeaturizer:
    """Tokenise once, pad each batch only to its longest text."""

    tokenizer: Any
    max_length: int

    def encode(self, examples: Sequence) -> list[list[int]]:
        return encode(self.tokenizer, [e.text for e in examples], self.max_length)

    def length(self, item: list[int]) -> int:
        return len(item)

    def collate(self, items: list, train: bool = False) -> dict[str, torch.Tensor]:
        return collate(items, self.tokenizer.pad_token_id or 0)


def featurizer_for(cm: Any) -> Featurizer:
    """An image model's own featurizer, else text through the model's tokenizer."""
    if getattr(cm, "task", "text") == "image":
        return cm.featurizer
    return TextFeaturizer(cm.tokenizer, cm.max_length)
