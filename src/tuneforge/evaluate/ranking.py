"""Ranking evaluation for recommendation: leave-last-out splits and HR@k, NDCG@k, Recall@k and
catalogue coverage, and the baselines a practitioner tries first (popularity, item-kNN on
co-occurrence).

Leave-last-out is the protocol of the recommendation literature: each user's
last interaction (by time, then by file order) is held out, everything before it trains, and a
model ranks every item the user has not seen; with one held-out item per user HR@k is the share
of users whose item is in their top k, NDCG@k discounts it by its rank (1/log2(rank+1)), and
Recall@k equals HR@k. Coverage is the share of the catalogue that appears in anyone's top k: a
popularity list covers k items, whatever the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interactions:
    """Users' interactions as integer codes: ``users[i]`` met ``items[i]`` (in time order)."""

    users: np.ndarray
    items: np.ndarray
    n_users: int
    n_items: int

    def seen(self) -> list[set[int]]:
        out: list[set[int]] = [set() for _ in range(self.n_users)]
        for u, i in zip(self.users.tolist(), self.items.tolist()):
            out[u].add(i)
        return out


def leave_last_out(
    users: Sequence[int], items: Sequence[int], n_users: int, n_items: int
) -> tuple[Interactions, dict[int, int]]:
    """Training interactions and each user's held-out last item (users with one interaction
    stay in training only: nothing would be left to learn them from). ``users``/``items`` are in
    time order."""
    users_a, items_a = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    last = {}
    for position, user in enumerate(users_a.tolist()):
        last[user] = position
    counts = np.bincount(users_a, minlength=n_users)
    held = {p for u, p in last.items() if counts[u] >= 2}
    keep = np.array([p not in held for p in range(len(users_a))], dtype=bool)
    test = {int(users_a[p]): int(items_a[p]) for p in sorted(held)}
    return Interactions(users_a[keep], items_a[keep], n_users, n_items), test


@dataclass(frozen=True)
class RankingReport:
    hr: dict[int, float]
    ndcg: dict[int, float]
    coverage: float  # at the largest k
    n_users: int

    def to_dict(self) -> dict:
        out = {f"hr@{k}": v for k, v in self.hr.items()}
        out |= {f"ndcg@{k}": v for k, v in self.ndcg.items()}
        out |= {f"recall@{k}": v for k, v in self.hr.items()}  # one held-out item per user
        return {**out, "coverage": self.coverage, "n_users": self.n_users}


def evaluate_ranking(
    score: Callable[[np.ndarray], np.ndarray],
    train: Interactions,
    test: dict[int, int],
    ks: Sequence[int] = (10, 20),
    batch: int = 256,
    candidates: np.ndarray | None = None,
) -> RankingReport:
    """Rank every unseen item for each test user by ``score(user_codes) -> users×items``;
    with ``candidates`` (item codes) only those are ranked (the cold-start split's new items)
    and coverage is their share shown."""
    seen = train.seen()
    outside = None
    if candidates is not None:
        outside = np.ones(train.n_items, dtype=bool)
        outside[np.asarray(candidates, dtype=np.int64)] = False
    users = np.array(sorted(test), dtype=np.int64)
    top = min(max(ks), train.n_items)  # a catalogue smaller than k ranks every item
    hits = {k: 0.0 for k in ks}
    gains = {k: 0.0 for k in ks}
    shown: set[int] = set()
    for start in range(0, len(users), batch):
        part = users[start : start + batch]
        scores = np.asarray(score(part), dtype=np.float64).copy()
        if outside is not None:
            scores[:, outside] = -np.inf
        for row, user in enumerate(part.tolist()):
            if seen[user]:
                scores[row, list(seen[user])] = -np.inf
            order = np.argpartition(-scores[row], top - 1)[:top]
            ranked = order[np.argsort(-scores[row][order], kind="stable")]
            shown.update(ranked[np.isfinite(scores[row][ranked])].tolist())
            where = np.flatnonzero(ranked == test[user])
            for k in ks:
                if where.size and where[0] < k:
                    hits[k] += 1.0
                    gains[k] += 1.0 / np.log2(where[0] + 2.0)
    n = max(len(users), 1)
    return RankingReport(
        {k: hits[k] / n for k in ks},
        {k: gains[k] / n for k in ks},
        len(shown) / max(train.n_items if candidates is None else len(candidates), 1),
        len(users),
    )


def cold_start_split(
    users: Sequence[int],
    items: Sequence[int],
    n_users: int,
    n_items: int,
    fraction: float,
    seed: int = 0,
) -> tuple[Interactions, dict[int, int], np.ndarray]:
    """Items no training interaction mentions: a seeded ``fraction`` of the items that have
    interactions is held out whole. Training keeps every interaction with the other items;
    each user who met a cold item is tested on the last one they met, ranked among the cold
    items only (what a catalogue's new arrivals ask: which of them would this user pick?).
    Returns (training interactions, user → held-out cold item, the cold item codes)."""
    users_a, items_a = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    met = np.unique(items_a)
    count = int(round(fraction * len(met)))
    if count < 1:
        return Interactions(users_a, items_a, n_users, n_items), {}, np.array([], dtype=np.int64)
    cold = np.sort(np.random.default_rng(seed).choice(met, size=count, replace=False))
    is_cold = np.isin(items_a, cold)
    test = {int(u): int(i) for u, i in zip(users_a[is_cold], items_a[is_cold])}  # last wins
    warm = ~is_cold
    with_history = set(users_a[warm].tolist())
    test = {u: i for u, i in test.items() if u in with_history}  # a user needs a history
    train = Interactions(users_a[warm], items_a[warm], n_users, n_items)
    return train, test, cold


def popularity_scores(train: Interactions) -> Callable[[np.ndarray], np.ndarray]:
    """Everyone gets the items most interacted with."""
    counts = np.bincount(train.items, minlength=train.n_items).astype(np.float64)
    return lambda users: np.tile(counts, (len(users), 1))


def item_knn_scores(
    train: Interactions, neighbours: int = 100
) -> Callable[[np.ndarray], np.ndarray]:
    """Item-kNN on co-occurrence: an item scores the summed cosine similarity (over users who
    met both) to the items in the user's history, keeping each item's ``neighbours`` nearest."""
    from scipy.sparse import csr_matrix

    matrix = csr_matrix(
        (np.ones(len(train.users)), (train.users, train.items)),
        shape=(train.n_users, train.n_items),
    )
    matrix.data[:] = 1.0  # repeated interactions count once
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0))).ravel() + 1e-9
    similar = (matrix.T @ matrix).toarray() / np.outer(norms, norms)
    np.fill_diagonal(similar, 0.0)
    if neighbours < train.n_items:
        cut = np.argpartition(-similar, neighbours, axis=1)[:, neighbours:]
        np.put_along_axis(similar, cut, 0.0, axis=1)
    return lambda users: np.asarray(matrix[users] @ similar)
