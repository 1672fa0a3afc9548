"""The slice gate: a real shortfall is refused, a small slice's noise is not, and the rule
that decided is named with its figures."""

from __future__ import annotations

from tuneforge.evaluate.slice_gate import slice_gate
from tuneforge.evaluate.slices import ColumnSlices, SliceStats


def _slice(value, support, accuracy, gap, ci, judged=True) -> SliceStats:
    return SliceStats(
        value=value,
        support=support,
        accuracy=accuracy,
        macro_f1=accuracy,
        mean_confidence=0.8,
        calibration_error=0.05,
        accuracy_gap=gap,
        accuracy_gap_ci=ci,
        accuracy_ci=(accuracy + ci[0] - gap, accuracy + ci[1] - gap),
        macro_f1_gap=gap,
        judged=judged,
    )


def _column(*slices) -> ColumnSlices:
    judged = [s for s in slices if s.judged]
    worst = min(judged, key=lambda s: s.accuracy).value if judged else None
    return ColumnSlices("region", list(slices), len(slices), worst)


def test_a_slice_far_below_even_at_the_top_of_its_interval_fails():
    """Gap −0.20 with an interval up to −0.12: more than 0.05 below whatever the noise."""
    column = _column(
        _slice("eu", 400, 0.9, 0.02, (0.0, 0.04)), _slice("apac", 200, 0.68, -0.2, (-0.27, -0.12))
    )
    decision = slice_gate(column, 0.88, 0.05, 0.95, 10)
    assert not decision.passed and decision.value == "apac"
    assert "even the top of its 95% bootstrap interval" in decision.rule
    assert "-0.120" in decision.rule and "0.05 allowed" in decision.rule


def test_a_small_slice_over_the_gap_within_its_noise_passes_and_says_why():
    """A 12-row slice 0.13 below the overall figure, whose interval reaches +0.04, is noise:
    it passes "within the noise"."""
    column = _column(
        _slice("eu", 400, 0.9, 0.01, (0.0, 0.02)), _slice("tiny", 12, 0.75, -0.13, (-0.38, 0.04))
    )
    decision = slice_gate(column, 0.88, 0.05, 0.95, 10)
    assert decision.passed and decision.value == "tiny"
    assert "within the noise" in decision.rule and "+0.040" in decision.rule


def test_a_worst_slice_within_the_gap_passes():
    """Gap −0.03 against a 0.05 limit: within the gap, named."""
    column = _column(
        _slice("eu", 400, 0.9, 0.01, (0.0, 0.02)), _slice("us", 300, 0.85, -0.03, (-0.06, 0.0))
    )
    decision = slice_gate(column, 0.88, 0.05, 0.95, 10)
    assert decision.passed and "within the 0.05 allowed" in decision.rule
    assert "'us'" in decision.rule


def test_slices_too_small_to_judge_never_fail_and_are_listed():
    """A 3-row slice that is all wrong (its bootstrap has no spread) is not judged; the rule
    lists it."""
    column = _column(
        _slice("eu", 400, 0.9, 0.0, (-0.01, 0.01)),
        _slice("new", 3, 0.0, -0.9, (-0.9, -0.9), judged=False),
    )
    decision = slice_gate(column, 0.9, 0.05, 0.95, 10)
    assert decision.passed and "1 slice(s) under the minimum rows were not judged" in decision.rule
    only_small = _column(_slice("new", 3, 0.0, -0.9, (-0.9, -0.9), judged=False))
    decision = slice_gate(only_small, 0.9, 0.05, 0.95, 10)
    assert decision.passed and "none is judged" in decision.rule
