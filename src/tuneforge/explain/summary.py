"""The global view: over many explained texts, the words that most often push towards each
label. A word counts for a label each time it pushes a text explained for that label towards
it: a positive attribution of at least a tenth of that text's strongest (so the near-zero
scores of filler words do not count as pushing). Words are compared lower-cased; bare
punctuation is left out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..data.pii import PLACEHOLDERS
from .results import LabelSummary, TextExplanation, WordSummary

TOP_WORDS = 10
PUSH_SHARE = 0.1  # of the text's largest absolute attribution
_MARKS = frozenset(PLACEHOLDERS.values())  # redacted personal data keeps its placeholder


def summarize(explanations: Sequence[TextExplanation], top: int = TOP_WORDS) -> list[LabelSummary]:
    """One summary per explained label (most texts first), each with its ``top`` words by how
    often they pushed towards it, then by their mean attribution."""
    texts: dict[str, int] = defaultdict(int)
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for explanation in explanations:
        texts[explanation.label] += 1
        strongest = max((abs(w.score) for w in explanation.words), default=0.0)
        for word in explanation.words:
            key = word.word if word.word in _MARKS else word.word.lower()
            pushes = word.score > 0 and word.score >= PUSH_SHARE * strongest
            if pushes and any(c.isalnum() for c in key):
                scores[explanation.label][key].append(word.score)
    out = []
    for label in sorted(texts, key=lambda name: (-texts[name], name)):
        ranked = sorted(
            (WordSummary(w, len(s), sum(s) / len(s)) for w, s in scores[label].items()),
            key=lambda ws: (-ws.count, -ws.mean, ws.word),
        )
        out.append(LabelSummary(label, texts[label], tuple(ranked[:top])))
    return out
