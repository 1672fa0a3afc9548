"""What an explanation is: typed results every explainer returns and every view reads.

A score is signed and in the explained class's probability units: positive means the word (or
pixel) pushes the model towards ``label``, negative away from it. ``to_dict()`` is the JSON a
``--json`` caller, ``explanations.json`` and the server see; views (terminal, HTML, report)
read only these fields, so they never need torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

METHODS = ("ig", "occlusion")  # integrated gradients (torch models), occlusion (any runtime)


@dataclass(frozen=True)
class WordAttribution:
    """One word of the text (as the tokenizer splits words; sub-word pieces merged) and its
    signed attribution. ``start``/``end`` are character offsets into the text, so a view can
    colour the text in place, keeping its spacing and punctuation."""

    word: str
    score: float
    start: int = 0
    end: int = 0

    def to_dict(self) -> dict:
        return {
            "word": self.word,
            "score": round(self.score, 6),
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class TextExplanation:
    """Why a text gets ``label``: its probability ``score`` and the attribution of each word.

    ``predicted`` is the model's own top label (``label`` differs when a target was asked for);
    ``delta`` is integrated gradients' completeness gap (sum of the attributions minus the
    change of the probability from the baseline), ``None`` for occlusion.
    """

    text: str
    label: str
    score: float
    words: tuple[WordAttribution, ...]
    method: str
    predicted: str = ""
    delta: float | None = None

    def top(self, k: int = 5) -> list[WordAttribution]:
        """The ``k`` words that push hardest towards the label, strongest first."""
        return sorted(self.words, key=lambda w: -w.score)[:k]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "label": self.label,
            "score": round(self.score, 6),
            "predicted": self.predicted or self.label,
            "method": self.method,
            "delta": None if self.delta is None else round(self.delta, 6),
            "words": [w.to_dict() for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict) -> TextExplanation:
        words = tuple(
            WordAttribution(
                str(w["word"]), float(w["score"]), int(w.get("start", 0)), int(w.get("end", 0))
            )
            for w in data.get("words", [])
        )
        delta = data.get("delta")
        return cls(
            str(data["text"]),
            str(data["label"]),
            float(data["score"]),
            words,
            str(data.get("method", "")),
            str(data.get("predicted", "")),
            None if delta is None else float(delta),
        )


@dataclass(frozen=True, eq=False)
class ImageExplanation:
    """Why an image gets ``label``: a signed H×W heat map at the model's input size (what the
    model saw; overlays stretch it over the original image). ``source`` names the input (its
    path, or its position)."""

    label: str
    score: float
    heatmap: np.ndarray
    method: str
    predicted: str = ""
    delta: float | None = None
    source: str = ""
    overlay: str = ""  # the PNG overlay's path, once one is written

    def to_dict(self, digits: int = 5) -> dict:
        return {
            "source": self.source,
            "label": self.label,
            "score": round(self.score, 6),
            "predicted": self.predicted or self.label,
            "method": self.method,
            "delta": None if self.delta is None else round(self.delta, 6),
            "overlay": self.overlay,
            "heatmap": np.round(self.heatmap.astype(np.float64), digits).tolist(),
        }


@dataclass(frozen=True)
class WordSummary:
    """One word's part in a label: how often it pushed towards the label (``count``) and its
    mean attribution when it did."""

    word: str
    count: int
    mean: float

    def to_dict(self) -> dict:
        return {"word": self.word, "count": self.count, "mean": round(self.mean, 6)}


@dataclass(frozen=True)
class LabelSummary:
    """The words that most often push texts towards ``label``, over ``n_texts`` texts the
    model gave that label."""

    label: str
    n_texts: int
    words: tuple[WordSummary, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "n_texts": self.n_texts,
            "words": [w.to_dict() for w in self.words],
        }


def explanation_dict(explanation: Any) -> dict:
    """The JSON form of any explanation (text or image)."""
    return explanation.to_dict()
