"""Training the towers: examples are each interaction after a user's first with the items
before it, and in-batch negatives learn a split that random towers do not know."""

from __future__ import annotations

import numpy as np
import torch

from tuneforge.evaluate.ranking import evaluate_ranking, leave_last_out
from tuneforge.models.two_tower import TwoTowerConfig, build_two_tower
from tuneforge.train.two_tower import (
    TowerTraining,
    fit_two_tower,
    next_item_examples,
    tower_scores,
)


def test_each_interaction_after_the_first_is_an_example_of_its_history():
    """User 0 met 3 then 1 then 2: (3 → 1) and (3, 1 → 2), padded with -1 to the length."""
    from tuneforge.evaluate.ranking import Interactions

    train = Interactions(np.array([0, 1, 0, 0]), np.array([3, 4, 1, 2]), 2, 5)
    hist, targets = next_item_examples(train, 3)
    assert targets.tolist() == [1, 2]
    assert hist.tolist() == [[3, -1, -1], [3, 1, -1]]


def test_the_towers_learn_two_tastes_from_in_batch_negatives(one_torch_thread):
    """Users who only meet items 0-9 or only 10-19 (random texts): after training the held-out
    item ranks far better than with the untrained towers."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for user in range(60):
        pool = np.arange(10) if user % 2 else np.arange(10, 20)
        for item in rng.permutation(pool)[:6]:
            users.append(user)
            items.append(int(item))
    history, test = leave_last_out(users, items, 60, 20)
    train, val = leave_last_out(history.users, history.items, 60, 20)
    text = rng.normal(size=(20, 8)).astype(np.float32)
    torch.manual_seed(0)  # the towers' initial weights
    model = build_two_tower(TwoTowerConfig(text_dim=8, n_items=20, dim=8, hidden=16))
    before = evaluate_ranking(tower_scores(model, text, history), history, test, ks=(3,))
    result = fit_two_tower(model, text, train, val, TowerTraining(epochs=15, batch_size=32))
    after = evaluate_ranking(tower_scores(model, text, history), history, test, ks=(3,))
    assert result.best_epoch >= 1 and result.examples == len(train.items) - 60
    assert after.ndcg[3] > before.ndcg[3] + 0.15
