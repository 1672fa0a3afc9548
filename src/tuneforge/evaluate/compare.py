"""Two models on one fixed evaluation set: which is better, by how much, and how sure.

Retraining compares a candidate with the production version on the same examples; the labels
may include ones the production model never learned (it simply cannot predict them), so the
figures are computed from predicted label names, not from either model's label ids. The exact
McNemar test on the examples the two models disagree about says whether the difference could
be chance; the promotion gate itself is the stated margin on accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figures:
    n: int
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class Comparison:
    parts: dict[str, tuple[Figures, Figures]]  # part → (production, candidate); "all" first
    only_candidate_right: int
    only_production_right: int
    mcnemar_p: float
    gain: float  # candidate − production accuracy on "all"

    def to_dict(self) -> dict:
        parts = {
            k: {"production": asdict(a), "candidate": asdict(b)} for k, (a, b) in self.parts.items()
        }
        return {
            "parts": parts,
            "only_candidate_right": self.only_candidate_right,
            "only_production_right": self.only_production_right,
            "mcnemar_p": self.mcnemar_p,
            "gain": self.gain,
        }


def figures(y_true: Sequence[str], y_pred: Sequence[str]) -> Figures:
    """Accuracy and macro-F1 over the labels that occur in ``y_true``."""
    from sklearn.metrics import f1_score

    if not y_true:
        return Figures(0, float("nan"), float("nan"))
    labels = sorted(set(y_true))
    correct = sum(t == p for t, p in zip(y_true, y_pred))
    f1 = f1_score(list(y_true), list(y_pred), labels=labels, average="macro", zero_division=0)
    return Figures(len(y_true), correct / len(y_true), float(f1))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    from scipy.stats import binomtest

    return 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)


def compare(
    y_true: Sequence[str],
    production: Sequence[str],
    candidate: Sequence[str],
    parts: dict[str, Sequence[int]],
) -> Comparison:
    """Figures of both models on every example and on each named part (index lists)."""
    y_true, production, candidate = list(y_true), list(production), list(candidate)
    by_part = {"all": range(len(y_true)), **parts}
    out = {}
    for name, idx in by_part.items():
        truth = [y_true[i] for i in idx]
        out[name] = (
            figures(truth, [production[i] for i in idx]),
            figures(truth, [candidate[i] for i in idx]),
        )
    right_p = [p == t for p, t in zip(production, y_true)]
    right_c = [c == t for c, t in zip(candidate, y_true)]
    b = sum(c and not p for p, c in zip(right_p, right_c))
    c = sum(p and not c for p, c in zip(right_p, right_c))
    gain = out["all"][1].accuracy - out["all"][0].accuracy
    return Comparison(out, b, c, mcnemar_exact(b, c), gain)
