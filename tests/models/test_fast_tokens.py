"""The inference tokenizer reads tokenizer.json without transformers and gives exactly the ids,
offsets, word ids and special-token masks of transformers' own fast tokenizer."""

from __future__ import annotations

import shutil

import pytest

from tuneforge.models import load_tokenizer
from tuneforge.models.fast_tokens import InferenceTokenizer, load_inference_tokenizer

TEXTS = [
    "Where is my parcel?",
    "  leading and   repeated   spaces ",
    "Café déjà vu — naïve façade",
    "退款 refund 请尽快",
    "emoji 🙂 and tabs\tand\nnewlines",
    "UPPER lower MiXeD 12345 3.14 e-mail@example.com",
    "a " * 300,
    "",
]


@pytest.fixture(scope="module")
def both(tiny_model_dir):
    return load_tokenizer(tiny_model_dir), InferenceTokenizer(tiny_model_dir)


@pytest.mark.parametrize("max_length", [None, 8, 128])
def test_batches_match_transformers(both, max_length):
    """Lists of texts: the same ids with and without truncation, and the same offsets."""
    reference, ours = both
    options = {"truncation": max_length is not None, "max_length": max_length}
    expected = reference(TEXTS, return_offsets_mapping=True, **options)
    got = ours(TEXTS, return_offsets_mapping=True, **options)
    assert got["input_ids"] == [list(x) for x in expected["input_ids"]]
    assert got["offset_mapping"] == [[tuple(o) for o in x] for x in expected["offset_mapping"]]


def test_single_texts_match_with_word_ids_and_special_masks(both):
    """One text, as the explainers ask for it: ids, offsets, special tokens and word ids."""
    reference, ours = both
    for text in TEXTS[:6]:
        options = {"truncation": True, "max_length": 16, "return_offsets_mapping": True}
        expected = reference(text, return_special_tokens_mask=True, **options)
        got = ours(text, return_special_tokens_mask=True, **options)
        assert got["input_ids"] == list(expected["input_ids"])
        assert got["special_tokens_mask"] == list(expected["special_tokens_mask"])
        assert got.word_ids() == expected.word_ids()
    assert ours.pad_token_id == reference.pad_token_id
    assert ours.unk_token_id == reference.unk_token_id


def test_without_special_tokens_and_a_directory_without_tokenizer_json(
    both, tiny_model_dir, tmp_path
):
    """add_special_tokens=False is honoured; a directory without tokenizer.json falls back to
    transformers (whatever its tokenizer is)."""
    reference, ours = both
    expected = reference(TEXTS[:3], add_special_tokens=False)["input_ids"]
    assert ours(TEXTS[:3], add_special_tokens=False)["input_ids"] == [list(x) for x in expected]
    assert isinstance(load_inference_tokenizer(tiny_model_dir), InferenceTokenizer)
    copy = tmp_path / "slow"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "tokenizer.json").unlink()
    assert not isinstance(load_inference_tokenizer(copy), InferenceTokenizer)
