"""Leave-last-out ranking: the split, HR/NDCG/Recall by hand-checkable cases, seen items left
out, coverage, and the two baselines on data built for them."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.evaluate.ranking import (
    evaluate_ranking,
    item_knn_scores,
    leave_last_out,
    popularity_scores,
)


def test_each_users_last_interaction_is_held_out_unless_it_is_the_only_one():
    """User 0's last item (2) and user 1's (5) are held out; user 2 has one and stays."""
    train, test = leave_last_out([0, 0, 1, 1, 0, 2, 1], [1, 3, 4, 4, 2, 7, 5], 3, 8)
    assert test == {0: 2, 1: 5}
    assert list(zip(train.users.tolist(), train.items.tolist())) == [
        (0, 1),
        (0, 3),
        (1, 4),
        (1, 4),
        (2, 7),
    ]


def test_hits_and_discounted_gains_follow_the_rank_of_the_held_out_item():
    """A fixed scoring that puts user 0's item first and user 1's third: HR@1 0.5, HR@3 1,
    NDCG@3 = (1 + 1/log2(4)) / 2; seen items are never ranked."""
    train, test = leave_last_out([0, 0, 1, 1], [0, 1, 0, 2], 2, 5)  # held out: 1 and 2
    table = np.array([[9.0, 0.5, 0.1, 0.2, 0.3], [9.0, 5.0, 3.5, 4.0, 3.0]])
    report = evaluate_ranking(lambda users: table[users], train, test, ks=(1, 3))
    assert report.hr == {1: 0.5, 3: 1.0}
    assert report.ndcg[3] == pytest.approx((1 + 1 / np.log2(4)) / 2)
    assert report.to_dict()["recall@3"] == 1.0
    # item 0 is seen by both and has the top score: it must never count
    assert report.coverage == pytest.approx(len({1, 4, 3} | {1, 3, 2}) / 5)


def test_item_knn_recommends_what_co_occurs_and_beats_popularity_there():
    """Two groups of users with disjoint tastes and one very popular item: item-kNN finds each
    user's group item, popularity keeps offering the popular one."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for u in range(60):
        group = [1, 2, 3, 4] if u % 2 else [5, 6, 7, 8]
        history = [0, *rng.permutation(group)[:3].tolist()]  # item 0: everyone's
        users += [u] * len(history)
        items += history
    train, test = leave_last_out(users, items, 60, 9)
    knn = evaluate_ranking(item_knn_scores(train, neighbours=4), train, test, ks=(2,))
    pop = evaluate_ranking(popularity_scores(train), train, test, ks=(2,))
    assert knn.hr[2] > 0.9 and knn.hr[2] > pop.hr[2]


def test_cold_start_holds_items_out_of_training_whole_and_tests_among_them():
    """No training interaction names a cold item; each tested user's held-out item is cold
    and was that user's last cold item; users without a warm history are not tested."""
    from tuneforge.evaluate.ranking import cold_start_split

    users = [0, 0, 0, 1, 1, 2, 2, 2, 3]
    items = [0, 1, 2, 3, 1, 4, 5, 0, 2]
    train, test, cold = cold_start_split(users, items, 4, 6, fraction=0.5, seed=3)
    assert len(cold) == 3
    assert not set(train.items.tolist()) & set(cold.tolist())
    for user, item in test.items():
        assert item in cold
        met = [i for u, i in zip(users, items) if u == user and i in cold]
        assert item == met[-1]
        assert user in set(train.users.tolist())


def test_candidates_restrict_the_ranking_and_the_coverage():
    """With candidates only those items are ranked: a table that prefers item 0 still hits
    the candidate item at rank 1, and coverage is over the candidates."""
    from tuneforge.evaluate.ranking import Interactions

    train = Interactions(np.array([0]), np.array([1]), 1, 4)
    table = np.array([[9.0, 0.0, 1.0, 0.5]])
    report = evaluate_ranking(
        lambda users: table[users], train, {0: 2}, ks=(1,), candidates=np.array([2, 3])
    )
    assert report.hr == {1: 1.0}
    assert report.coverage == 0.5
