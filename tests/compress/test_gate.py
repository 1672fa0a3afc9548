"""The accuracy gate of lossy variants: sane on small test sets, still strict on real losses."""

from __future__ import annotations

import pytest

from tuneforge.compress.gate import accuracy_gate, discordant_counts, loss_lower_bound


def test_one_flip_in_thirty_is_noise_not_a_loss():
    """The README's demo case: 30 test rows, the int8 variant gets one more wrong (3.33 points)
    — within the noise, so it passes, and the rule says why."""
    decision = accuracy_gate(30, 1, 0, 100 / 30, 0.5)
    assert decision.passed
    assert "within the noise" in decision.rule and "30 examples" in decision.rule
    assert decision.loss_lower_bound_points is not None
    assert decision.loss_lower_bound_points <= 0.5


@pytest.mark.parametrize(
    ("n", "b", "c"),
    [(3080, 50, 19), (3000, 80, 20), (500, 40, 0)],
)
def test_real_losses_on_large_sets_are_refused(n, b, c):
    """A 1-point loss on BANKING77's 3,080 test rows, or a consistent one-sided loss, is over
    the tolerance even at its lower confidence bound: refused, naming the figures."""
    loss = 100 * (b - c) / n
    decision = accuracy_gate(n, b, c, loss, 0.5)
    assert not decision.passed
    assert f"loses {loss:.2f} accuracy points" in decision.rule


def test_within_tolerance_passes_on_its_own_and_old_records_keep_the_plain_rule():
    """A measured loss within the tolerance passes whatever the counts; a record without
    counts (written before they were kept) is judged by the measured loss alone."""
    assert accuracy_gate(10, 0, 0, 0.2, 0.5).passed
    assert not accuracy_gate(30, None, None, 3.33, 0.5).passed


def test_lower_bound_and_counts():
    """The bound is 0 without discordant examples, grows with consistent losses, and the
    counts compare predictions with the truth example by example."""
    assert loss_lower_bound(100, 0, 0) == 0.0
    assert loss_lower_bound(1000, 30, 0) > loss_lower_bound(1000, 30, 20)
    assert discordant_counts([0, 1, 2, 0], [0, 1, 0, 1], [0, 0, 2, 1]) == (1, 1)
