"""What language a text column is in, and whether an encoder's vocabulary covers it.

The packaged all-MiniLM-L6-v2 has an English WordPiece vocabulary: Chinese text reaches it as
single characters it barely saw in pre-training, and the fine-tuned model ends far below a
character n-gram baseline while the run itself succeeds. These figures let ``data check`` and
``train`` say so before anyone trusts such a run:

- **scripts**: the share of letters in each writing system (Unicode character names: Latin,
  CJK — Han and kana —, Hangul, Cyrillic, …), so mixed Chinese/English tickets show both;
- **coverage** by the tokenizer: the share of unknown tokens, tokens per letter, and the share
  of letters that end up as single-character tokens (CJK text in an English vocabulary).

Coverage is judged on the whole mix: a ticket that is half English and half Chinese is half
covered.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

# First word of a letter's Unicode name → the script reported.
_SCRIPT_OF_NAME = {
    "LATIN": "Latin",
    "CJK": "CJK",
    "HIRAGANA": "CJK",
    "KATAKANA": "CJK",
    "HANGUL": "Hangul",
    "CYRILLIC": "Cyrillic",
    "ARABIC": "Arabic",
    "GREEK": "Greek",
    "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai",
}
SPACELESS = ("CJK", "Thai")  # scripts written without spaces between words
SAMPLE = 2000  # texts a coverage check reads: the figures settle long before
HEAD = 1000  # characters of each text it reads (a 15 MB cell must not reach the tokenizer)
# Poor coverage: more unknown tokens than this share (Chinese through MiniLM: 67%; through a
# Chinese vocabulary: well under 1%), or more letters of space-separated scripts split into
# single characters (English through MiniLM: 3%; a vocabulary that lacks the words: most).
# Single characters alone are no sign for Chinese: Chinese vocabularies are character-level.
MAX_UNKNOWN_SHARE = 0.05
MAX_SINGLE_CHAR_SHARE = 0.5


def script_of(ch: str) -> str | None:
    """The script of a letter (None for digits, punctuation, spaces, symbols)."""
    if not ch.isalpha():
        return None
    try:
        first = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "other"
    return _SCRIPT_OF_NAME.get(first, "other")


def script_shares(texts: Sequence[str]) -> dict[str, float]:
    """Share of letters per script over ``texts``, largest first ({} without letters)."""
    counts: Counter[str] = Counter()
    for text in texts[:SAMPLE]:
        counts.update(s for s in map(script_of, text[:HEAD]) if s)
    total = sum(counts.values())
    return {s: round(n / total, 4) for s, n in counts.most_common()} if total else {}


def is_spaceless(shares: dict[str, float]) -> bool:
    """Whether most letters belong to scripts written without spaces (word n-grams fail)."""
    return sum(shares.get(s, 0.0) for s in SPACELESS) > 0.5


@dataclass(frozen=True)
class Coverage:
    """How a tokenizer reads a text column (see the module docstring)."""

    unknown_share: float  # of tokens
    tokens_per_letter: float
    single_char_share: float  # of letters
    n_texts: int
    spaced_single_char_share: float = 0.0  # of the letters of scripts written with spaces

    @property
    def poor(self) -> bool:
        return (
            self.unknown_share > MAX_UNKNOWN_SHARE
            or self.spaced_single_char_share > MAX_SINGLE_CHAR_SHARE
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "poor": self.poor}


def tokenizer_coverage(tokenizer, texts: Sequence[str]) -> Coverage:
    """Coverage of up to ``SAMPLE`` texts by a fast Hugging Face tokenizer (offsets map each
    token back to the letters it holds)."""
    sample = [t[:HEAD] for t in texts[:SAMPLE] if t and t.strip()]
    unk = getattr(tokenizer, "unk_token_id", None)
    tokens = unknown = letters = single = spaced = spaced_single = 0
    for text, enc in zip(sample, _encode(tokenizer, sample)):
        tokens += len(enc["input_ids"])
        unknown += sum(i == unk for i in enc["input_ids"]) if unk is not None else 0
        for start, end in enc["offset_mapping"]:
            scripts = [s for s in map(script_of, text[start:end]) if s]
            one = end - start == 1
            in_spaced = sum(s not in SPACELESS for s in scripts)
            letters, spaced = letters + len(scripts), spaced + in_spaced
            single += len(scripts) if one else 0
            spaced_single += in_spaced if one else 0
    return Coverage(
        round(unknown / tokens, 4) if tokens else 0.0,
        round(tokens / letters, 3) if letters else 0.0,
        round(single / letters, 4) if letters else 0.0,
        len(sample),
        round(spaced_single / spaced, 4) if spaced else 0.0,
    )


def _encode(tokenizer, texts: list[str]):
    batch = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    return [
        {"input_ids": ids, "offset_mapping": offsets}
        for ids, offsets in zip(batch["input_ids"], batch["offset_mapping"])
    ]


def coverage_warning(shares: dict[str, float], coverage: Coverage, model: str) -> str | None:
    """The warning for data the encoder does not cover, naming the figures (None if it does)."""
    if not coverage.poor:
        return None
    scripts = ", ".join(f"{s} {100 * v:.0f}%" for s, v in shares.items() if v >= 0.005) or "none"
    return (
        f"the encoder {model} does not cover this text's language (letters: {scripts}): "
        f"{100 * coverage.unknown_share:.1f}% of tokens are unknown and "
        f"{100 * coverage.single_char_share:.0f}% of letters become single-character tokens. "
        "A model fine-tuned "
        "from it may stay below the run's own TF-IDF baseline; give --model a local encoder "
        "that knows the language."
    )
