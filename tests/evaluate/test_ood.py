"""Out-of-scope scores, thresholds chosen for a target in-scope recall, and the open-set
figures of an abstention rule (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.errors import ConfigError
from tuneforge.evaluate.ood import (
    check_threshold,
    energy_scores,
    fit_class_gaussians,
    msp_scores,
    open_set_figures,
    recall_at,
    threshold_for_recall,
)


def _clusters(seed: int = 0):
    """Three tight classes in 8 dimensions, and far-away points that belong to none."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 8)) * 5
    y = rng.integers(0, 3, 300)
    inside = centres[y] + rng.normal(size=(300, 8)) * 0.5
    outside = rng.normal(size=(60, 8)) * 0.5 + 15
    return inside, y, outside


def test_mahalanobis_ranks_in_scope_above_far_away_points():
    """Class means with a Ledoit–Wolf shared covariance score every training-like point above
    every point far from all classes (higher = more in scope)."""
    inside, y, outside = _clusters()
    gaussians = fit_class_gaussians(inside, y, 3)
    assert gaussians.means.shape == (3, 8) and gaussians.precision.shape == (8, 8)
    assert gaussians.scores(inside).min() > gaussians.scores(outside).max()


def test_msp_and_energy_grow_with_the_logits_margin():
    """A confident row scores above a flat one on both; energy keeps the logits' scale that
    the softmax drops (equal probabilities, larger logits: higher energy)."""
    logits = np.array([[8.0, 0.0, 0.0], [0.1, 0.0, 0.0]])
    assert msp_scores(logits)[0] > msp_scores(logits)[1]
    assert energy_scores(logits)[0] > energy_scores(logits)[1]
    shifted = logits + 5.0
    np.testing.assert_allclose(msp_scores(shifted), msp_scores(logits))
    assert (energy_scores(shifted) > energy_scores(logits)).all()
    assert msp_scores(logits, temperature=4.0)[0] < msp_scores(logits)[0]


@pytest.mark.parametrize("recall", [0.5, 0.9, 0.95, 1.0])
def test_threshold_keeps_at_least_the_target_recall(recall):
    """The chosen threshold keeps at least the target share of in-scope scores, and is the
    highest that does."""
    scores = np.random.default_rng(1).normal(size=101)
    t = threshold_for_recall(scores, recall)
    assert recall_at(scores, t) >= recall
    above = np.sort(scores)[np.sort(scores) > t]
    if above.size:
        assert recall_at(scores, above[0]) < recall


@pytest.mark.parametrize("recall", [0.0, -0.1, 1.5, float("nan")])
def test_a_recall_no_threshold_can_meet_is_refused(recall):
    """A target share outside (0, 1] is a ConfigError naming the flag."""
    with pytest.raises(ConfigError, match="--in-scope-recall"):
        threshold_for_recall(np.arange(10.0), recall)


def test_probability_thresholds_must_be_probabilities():
    """msp thresholds outside [0, 1] are refused; energy thresholds may be any number."""
    for bad in (-0.1, 1.2):
        with pytest.raises(ConfigError, match=r"\[0, 1\]"):
            check_threshold("msp", bad)
    check_threshold("msp", 0.0)
    check_threshold("energy", -7.5)


def test_open_set_figures_on_a_small_example():
    """In-scope accuracy counts abstaining on an in-scope row as wrong; unknown recall and
    precision count abstentions on unknown rows; AUROC is 1 when the score separates them."""
    scores = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    in_scope = np.array([True, True, True, False, False])
    correct = np.array([True, False, True, False, False])
    f = open_set_figures(scores, in_scope, correct, threshold=0.5)
    assert f["closed_set_accuracy"] == pytest.approx(2 / 3)
    assert f["in_scope_accuracy"] == pytest.approx(1 / 3)
    assert f["in_scope_recall"] == pytest.approx(2 / 3)
    assert f["unknown_recall"] == 1.0 and f["unknown_precision"] == pytest.approx(2 / 3)
    assert f["auroc"] == 1.0 and f["abstained_share"] == pytest.approx(0.6)
