"""Tokenisation shared by training, evaluation and serving, in plain Python and numpy.

Nothing here imports torch: an onnxruntime server tokenises, sorts and pads through these
functions without loading it. Batches are padded only to their longest text, and inference
batches are length-sorted so that each one pads little.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Tokenizers truncate only after tokenising the whole text, so one huge cell (a pasted log, a
# base64 blob) costs its full length on every pass. No token of these vocabularies stands for
# more than ~100 characters of ordinary text (WordPiece maps a longer word to one [UNK]), so
# keeping the first 100 characters per allowed token changes no ordinary text's ids; every
# runtime cuts the same way, so training, evaluation and serving stay in parity.
_CHARS_PER_TOKEN = 100


def _cut(texts: Sequence[str], max_length: int) -> list[str]:
    budget = max_length * _CHARS_PER_TOKEN
    return [t if len(t) <= budget else t[:budget] for t in texts]


def encode(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length``, unpadded."""
    if not texts:
        return []
    out = tokenizer(_cut(texts, max_length), truncation=True, max_length=max_length)
    return [list(ids) for ids in out["input_ids"]]


def count_tokens(tokenizer, texts: Sequence[str], max_length: int = 512) -> list[int]:
    """Token counts (with special tokens) for data checks and truncation warnings: exact up to
    ``max_length`` and beyond it at least ``max_length + 1`` (a huge cell is counted from its
    first characters only, which is all a truncation warning needs)."""
    if not texts:
        return []
    out = tokenizer(_cut(texts, max_length + 1), truncation=False, verbose=False)
    return [len(ids) for ids in out["input_ids"]]


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Deterministic length-sorted batches for evaluation and prediction."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, np.ndarray]:
    """int64 ``input_ids`` and ``attention_mask``, padded to the longest sequence of the batch
    (never to max_length): the inputs every runtime takes."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}
