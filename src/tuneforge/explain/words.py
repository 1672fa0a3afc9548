"""Words of a text as the model's tokenizer sees them, and token scores merged back onto them.

Both explainers speak of the same words: the tokenizer's own word split (a fast tokenizer's
``word_ids``: "tracking?" is the words "tracking" and "?", and "tracking" the pieces "track"
"##ing"), limited to what survives truncation, with character offsets into the original text.
Without a fast tokenizer (a Predictor that keeps its tokenizer to itself) words are runs of
letters and digits and single punctuation marks, which is how BERT-like tokenizers split too;
a Chinese or Japanese character is a word of its own (a model of character n-grams reads them
so).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

# Han characters, kana and Hangul syllables one at a time (those scripts write no spaces, so
# a run of them is a phrase or a sentence); other letters and digits in runs; punctuation alone.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_FALLBACK_WORDS = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")


@dataclass(frozen=True)
class Word:
    """A word of the text: ``text[start:end]``, and the positions of its tokens in the
    tokenised input (empty for the fallback split, which never tokenises)."""

    start: int
    end: int
    tokens: tuple[int, ...] = ()


@dataclass(frozen=True)
class TokenizedText:
    """A text's token ids (with special tokens), which of them are special, and its words."""

    text: str
    ids: tuple[int, ...]
    special: tuple[bool, ...]
    words: tuple[Word, ...]

    def word_text(self, word: Word) -> str:
        return self.text[word.start : word.end]


def describe_input(index: int, text: str) -> str:
    """How an error names an input: its position in the list (from 0, as the image
    predictor and the server count) and the start of the text."""
    shown = text if len(text) <= 40 else text[:39] + "…"
    return f"Input {index} ({shown!r})"


def check_text(index: int, text: object) -> str:
    """The text itself, or a DataError naming the input when it is not a non-empty string."""
    if not isinstance(text, str):
        raise DataError(f"Input {index}: expected a text, got {type(text).__name__}.")
    if not text.strip():
        raise DataError(
            f"Input {index}: the text is empty; there is nothing to explain.",
            hint="Give a text with at least one word.",
        )
    return text


def tokenize_words(tokenizer, text: str, max_length: int, index: int = 0) -> TokenizedText:
    """The tokenizer's words of ``text`` (first ``max_length`` tokens); a DataError naming the
    input when nothing of it becomes a token (control characters, zero-width spaces)."""
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        return _fallback_words(text, index)
    enc = tokenizer(
        text,
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    special = tuple(bool(s) for s in enc["special_tokens_mask"])
    by_word: dict[int, list[int]] = {}
    for position, word_id in enumerate(enc.word_ids()):
        if word_id is not None and not special[position]:
            by_word.setdefault(word_id, []).append(position)
    offsets = enc["offset_mapping"]
    words = []
    for positions in by_word.values():
        start, end = offsets[positions[0]][0], offsets[positions[-1]][1]
        while start < end and text[start].isspace():  # sentencepiece offsets carry the space
            start += 1
        words.append(Word(int(start), int(end), tuple(positions)))
    if not words:
        raise _no_words(index, text)
    return TokenizedText(text, tuple(enc["input_ids"]), special, tuple(words))


def _fallback_words(text: str, index: int) -> TokenizedText:
    words = tuple(Word(m.start(), m.end()) for m in _FALLBACK_WORDS.finditer(text))
    if not words:
        raise _no_words(index, text)
    return TokenizedText(text, (), (), words)


def _no_words(index: int, text: str) -> DataError:
    return DataError(
        f"{describe_input(index, text)} tokenizes to nothing: the model sees no word in it.",
        hint="Give a text with letters, digits or punctuation.",
    )


def without_word(text: str, word: Word) -> str:
    """The text with one word taken out; of the spaces around it one is kept, so the words
    either side stay apart and no double space is left (none at the text's ends)."""
    left, right = text[: word.start], text[word.end :]
    if not left:
        return right.lstrip(" \t")
    if not right:
        return left.rstrip(" \t")
    if left.endswith((" ", "\t")) and right.startswith((" ", "\t")):
        right = right[1:]
    return left + right


def merge_token_scores(tokens: TokenizedText, token_scores: Sequence[float]) -> list[float]:
    """Each word's score: the sum of its pieces' scores (so the words' scores add up to the
    tokens', and integrated gradients stay complete over words)."""
    scores = np.asarray(token_scores, dtype=np.float64)
    return [float(scores[list(w.tokens)].sum()) for w in tokens.words]
