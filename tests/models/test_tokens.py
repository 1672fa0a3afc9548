"""Tokenisation without torch: ids, counts, length-sorted batches and numpy padding."""

from __future__ import annotations

import subprocess
import sys

from tuneforge.models import load_tokenizer
from tuneforge.models.tokens import count_tokens, encode, pad_batch, sorted_batches
from tuneforge.train.batching import collate


def test_importing_the_tokenisation_does_not_load_torch():
    """An onnxruntime server tokenises through this module; torch must stay unloaded."""
    code = "import sys, tuneforge.models.tokens; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_encode_truncates_and_count_tokens_does_not(tiny_model_dir):
    """encode cuts at max_length (keeping the special tokens); count_tokens reports the full
    length, which data checks compare with max_length."""
    tokenizer = load_tokenizer(tiny_model_dir)
    texts = ["refund my card", " ".join(["word"] * 40)]
    ids = encode(tokenizer, texts, max_length=8)
    counts = count_tokens(tokenizer, texts)
    assert len(ids[0]) == counts[0] < 8
    assert len(ids[1]) == 8 and counts[1] > 8
    assert encode(tokenizer, [], 8) == [] and count_tokens(tokenizer, []) == []


def test_sorted_batches_are_sorted():
    """Evaluation batches are length-sorted and deterministic."""
    batches = sorted_batches([5, 1, 3, 2], 2)
    assert batches == [[1, 3], [2, 0]]


def test_numpy_padding_matches_the_training_batches():
    """Prediction and training pad the same way: int64 ids and mask, to the batch's longest."""
    ids = [[101, 5, 102], [101, 102]]
    padded = pad_batch(ids, pad_id=0)
    assert padded["input_ids"].dtype.name == padded["attention_mask"].dtype.name == "int64"
    assert padded["input_ids"].tolist() == [[101, 5, 102], [101, 102, 0]]
    assert padded["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    tensors = collate(ids, pad_id=0)
    assert {k: v.tolist() for k, v in tensors.items()} == {k: v.tolist() for k, v in padded.items()}


def test_a_huge_cell_is_cut_before_it_is_tokenised(tiny_model_dir):
    """A megabyte-long text gets the ids its beginning gets, the tokenizer never sees more than
    the allowed characters, and the text still counts as longer than the limit."""
    tok = load_tokenizer(tiny_model_dir)
    seen: list[int] = []

    class Recording:
        def __call__(self, texts, **kwargs):
            seen.extend(len(t) for t in texts)
            return tok(texts, **kwargs)

    unit = "refund my parcel please "
    huge = unit * 50_000
    assert encode(Recording(), [huge], 32) == encode(tok, [unit * 20], 32)
    assert count_tokens(Recording(), [huge], 32)[0] > 32
    assert max(seen) <= 33 * 100 < len(huge)
