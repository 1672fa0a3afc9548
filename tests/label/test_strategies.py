"""Selection strategies rank the items a person should label first, and diversity spreads a
batch over the representation space."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.label.strategies import (
    STRATEGIES,
    entropy,
    k_center_greedy,
    least_confidence,
    margin,
    rank,
)

PROBS = np.array(
    [
        [0.98, 0.01, 0.01],  # sure
        [0.50, 0.49, 0.01],  # a near tie of two labels
        [0.34, 0.33, 0.33],  # no idea
        [0.70, 0.20, 0.10],
    ]
)


def test_uncertainty_scores_order_sure_and_unsure():
    """Each score puts the sure item last; entropy puts the uniform one first, margin the
    near tie."""
    for score in (margin, entropy, least_confidence):
        assert int(np.argmin(score(PROBS))) == 0
    assert int(np.argmax(entropy(PROBS))) == 2
    assert int(np.argmax(margin(PROBS))) == 1
    assert np.all((entropy(PROBS) >= 0) & (entropy(PROBS) <= 1))


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_ranks_every_item_once(strategy):
    """The contract of the table: a permutation of the items and one score each."""
    ranking = rank(strategy, PROBS, 2, features=np.eye(4), seed=3)
    assert sorted(ranking.order.tolist()) == [0, 1, 2, 3]
    assert ranking.scores.shape == (4,)


def test_random_is_seeded():
    a = rank("random", np.ones((50, 2)) / 2, 5, seed=1).order
    b = rank("random", np.ones((50, 2)) / 2, 5, seed=1).order
    c = rank("random", np.ones((50, 2)) / 2, 5, seed=2).order
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()


def test_k_center_greedy_picks_one_per_cluster():
    """Three tight clusters: three picks land in three different clusters."""
    rng = np.random.default_rng(0)
    centers = np.eye(3) * 10
    points = np.concatenate([c + rng.normal(0, 0.1, (20, 3)) for c in centers])
    picked = k_center_greedy(points, 3)
    assert sorted(set(picked // 20)) == [0, 1, 2]


def test_diverse_batch_is_not_near_copies():
    """Near-copies of one phrase, all a little more uncertain than two other items: margin
    fills the batch with the copies, diverse (within its pool of the most uncertain) takes
    the two others too."""
    copies = np.tile([1.0, 0.0, 0.0], (10, 1)) + np.random.default_rng(0).normal(0, 0.01, (10, 3))
    others = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    features = np.concatenate([copies, others])
    probs = np.concatenate([np.tile([0.5, 0.5], (10, 1)), np.tile([0.52, 0.48], (2, 1))])
    by_margin = rank("margin", probs, 3).order[:3]
    by_diverse = rank("diverse", probs, 3, features=features).order[:3]
    assert set(by_margin.tolist()) <= set(range(10))
    assert {10, 11} <= set(by_diverse.tolist())


def test_unknown_strategy_and_empty_pool():
    with pytest.raises(ValueError, match="unknown strategy"):
        rank("clever", PROBS, 1)
    assert rank("margin", np.zeros((0, 3)), 5).order.size == 0
