"""Tokenise once, then batch by length: real texts are short, padding them to 128 wastes compute.

Hand-written rather than ``Trainer``'s ``group_by_length`` because resuming must replay the exact
batch order: the order here is a pure function of (seed, epoch), so no sampler state is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch


def encode(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length``, unpadded."""
    if not texts:
        return []
    out = tokenizer(list(texts), truncation=True, max_length=max_length)
    return [list(ids) for ids in out["input_ids"]]


def count_tokens(tokenizer, texts: Sequence[str]) -> list[int]:
    """Untruncated token counts (with special tokens), for data checks and truncation warnings."""
    if not texts:
        return []
    out = tokenizer(list(texts), truncation=False, verbose=False)
    return [len(ids) for ids in out["input_ids"]]


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


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Deterministic length-sorted batches for evaluation and prediction."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def collate(ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence in the batch (never to max_length)."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


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
    """The model's own featurizer when it has one (images), else text through its tokenizer."""
    own = getattr(cm, "featurizer", None)
    return own if own is not None else TextFeaturizer(cm.tokenizer, cm.max_length)
