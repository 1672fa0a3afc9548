"""Words of a text as the tokenizer splits them, and sub-word scores merged back onto them."""

from __future__ import annotations

import pytest

from tuneforge.errors import DataError
from tuneforge.explain.words import (
    merge_token_scores,
    tokenize_words,
    without_word,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from tuneforge.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def test_sub_word_pieces_form_one_word_with_offsets_into_the_text(tokenizer):
    """'refundable' is three WordPiece pieces but one word; 'isn't?' is the tokenizer's words
    isn, ', t, ?; every word's offsets cut it out of the original (cased, accented) text."""
    text = "My refundable Café isn't?"
    tokens = tokenize_words(tokenizer, text, 64)
    words = [tokens.word_text(w) for w in tokens.words]
    assert words == ["My", "refundable", "Café", "isn", "'", "t", "?"]
    refundable = tokens.words[1]
    assert len(refundable.tokens) == 3
    pieces = tokenizer.convert_ids_to_tokens([tokens.ids[i] for i in refundable.tokens])
    assert pieces == ["ref", "##unda", "##ble"]
    assert tokens.special[0] and tokens.special[-1]  # [CLS] ... [SEP]


def test_merged_scores_are_the_sum_of_each_words_pieces(tokenizer):
    """A word's score is the sum over its pieces (special tokens belong to no word), so the
    words' scores add up to the tokens' and completeness survives the merge."""
    tokens = tokenize_words(tokenizer, "refundable invoice", 64)
    # [CLS] ref ##unda ##ble in ##vo ##ice [SEP]
    scores = [1000.0, 1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 1000.0]
    assert len(scores) == len(tokens.ids)
    assert merge_token_scores(tokens, scores) == [6.0, 60.0]


def test_words_beyond_max_length_are_not_explained(tokenizer):
    """Truncated words never reach the model, so they get no attribution."""
    tokens = tokenize_words(tokenizer, "one two three four five six", 5)  # [CLS] + 3 + [SEP]
    assert [tokens.word_text(w) for w in tokens.words] == ["one", "two", "three"]


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200b \x00"])
def test_text_that_tokenizes_to_nothing_is_refused_by_name(tokenizer, text):
    """A text of characters the tokenizer drops is a DataError naming the input's position."""
    with pytest.raises(DataError, match=r"Input 2 .*tokenizes to nothing"):
        tokenize_words(tokenizer, text, 64, index=2)


def test_without_a_tokenizer_words_are_letter_runs_and_punctuation():
    """A predictor that keeps its tokenizer to itself still gets words to occlude."""
    tokens = tokenize_words(None, "where's my parcel?", 64)
    assert [tokens.word_text(w) for w in tokens.words] == ["where", "'", "s", "my", "parcel", "?"]
    with pytest.raises(DataError, match="tokenizes to nothing"):
        tokenize_words(None, "  \t ", 64)


def test_dropping_a_word_keeps_one_space_between_its_neighbours(tokenizer):
    """Occlusion variants read as the text minus one word, not with a double space."""
    text = "where is my parcel?"
    words = tokenize_words(tokenizer, text, 64).words
    assert [without_word(text, w) for w in words] == [
        "is my parcel?",
        "where my parcel?",
        "where is parcel?",
        "where is my ?",
        "where is my parcel",
    ]


def test_fallback_words_split_chinese_into_characters():
    """Without a fast tokenizer (a model of character n-grams), each Han character or kana is a
    word of its own, so occlusion scores characters rather than a whole sentence; Latin words,
    digits and punctuation split as before."""
    from tuneforge.explain.words import tokenize_words

    tokens = tokenize_words(None, "味道很好，good 42次!", 512)
    assert [tokens.word_text(w) for w in tokens.words] == [
        "味",
        "道",
        "很",
        "好",
        "，",
        "good",
        "42",
        "次",
        "!",
    ]
