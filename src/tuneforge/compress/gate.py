"""The accuracy gate of lossy variants, judged so that a small test set cannot fail it by
chance while real losses on a large one are still refused.

A variant is compared with the trained model example by example: ``b`` examples only the trained
model gets right, ``c`` only the variant. The measured loss is ``(b − c) / n``. With 30 test
rows one flipped answer is a 3.3-point "loss" — noise, not evidence. So a variant passes when
its measured loss is within the tolerance, or when the loss cannot be told apart from the
tolerance: the one-sided 95% lower confidence bound of the loss (an exact Clopper–Pearson bound
on the share of the ``b + c`` discordant examples that go against the variant, as in McNemar's
test) is within the tolerance. The decision says which rule applied.
"""

from __future__ import annotations

from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    rule: str  # which rule decided, in words, with the figures
    loss_points: float
    loss_lower_bound_points: float | None = None


def loss_lower_bound(n: int, b: int, c: int, confidence: float = CONFIDENCE) -> float:
    """One-sided lower confidence bound of the accuracy loss ``(b − c) / n``, in points."""
    from scipy.stats import beta

    discordant = b + c
    if n <= 0 or discordant == 0:
        return 0.0
    share_low = float(beta.ppf(1 - confidence, b, c + 1)) if b > 0 else 0.0
    return 100 * discordant * (2 * share_low - 1) / n


def accuracy_gate(
    n: int, b: int | None, c: int | None, loss_points: float, limit_points: float
) -> GateDecision:
    """Whether a lossy variant's accuracy loss is acceptable. ``b``/``c`` may be None (records
    written before they were counted): then only the measured loss is judged."""
    if loss_points <= limit_points + 1e-9:
        rule = f"loses {loss_points:.2f} accuracy points, within the {limit_points}-point tolerance"
        return GateDecision(True, rule, loss_points)
    if b is None or c is None:
        return GateDecision(
            False, f"loses {loss_points:.2f} accuracy points (limit {limit_points})", loss_points
        )
    low = loss_lower_bound(n, b, c)
    if low <= limit_points:
        rule = (
            f"loses {loss_points:.2f} accuracy points on {n} examples ({b} only the trained "
            f"model gets right, {c} only the variant), within the noise: the loss's "
            f"{CONFIDENCE:.0%} lower bound is {low:.2f} points, within the {limit_points}-point "
            "tolerance"
        )
        return GateDecision(True, rule, loss_points, low)
    rule = (
        f"loses {loss_points:.2f} accuracy points (limit {limit_points}; even its "
        f"{CONFIDENCE:.0%} lower bound, {low:.2f} points on {n} examples, is over it)"
    )
    return GateDecision(False, rule, loss_points, low)


def discordant_counts(truth, reference_pred, candidate_pred) -> tuple[int, int]:
    """(examples only the reference gets right, examples only the candidate gets right)."""
    import numpy as np

    truth, ref, cand = (np.asarray(a) for a in (truth, reference_pred, candidate_pred))
    ref_right, cand_right = ref == truth, cand == truth
    return int((ref_right & ~cand_right).sum()), int((cand_right & ~ref_right).sum())
