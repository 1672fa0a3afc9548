"""Selection strategies: which queued items a person should label next.

Each strategy is a pure function of the model's class probabilities (and, for ``diverse``, a
representation of each item) returning the ranking of the items, best first, with one score
per item (higher = more worth labelling). ``label next`` hands out the top of that ranking.

The uncertainty scores are the textbook ones (Settles, *Active Learning Literature Survey*).
``diverse`` is written here because no well-kept library does it on plain arrays: it takes the
most uncertain part of the pool and picks from it by k-center greedy over cosine distances
(Sener & Savarese, 2018), so a batch spreads over the representation space instead of being
200 near-copies of one confusing phrase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_EPS = 1e-12


@dataclass(frozen=True)
class Ranking:
    order: np.ndarray  # item positions, best first (only the first ``count`` are meaningful)
    scores: np.ndarray  # one score per item, in the input order


def margin(probs: np.ndarray) -> np.ndarray:
    """1 − (top probability − second): a near tie between two labels scores close to 1."""
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    top2 = np.sort(probs, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy of the distribution, normalised to [0, 1] by log(classes)."""
    p = np.clip(probs, _EPS, 1.0)
    h = -(p * np.log(p)).sum(axis=1)
    return h / np.log(probs.shape[1]) if probs.shape[1] > 1 else h


def least_confidence(probs: np.ndarray) -> np.ndarray:
    """1 − the top probability."""
    return 1.0 - probs.max(axis=1)


def _by_score(scores: np.ndarray) -> np.ndarray:
    # Stable on ties, so equal scores keep the queue's order (oldest first).
    return np.argsort(-scores, kind="stable")


def k_center_greedy(features: np.ndarray, count: int, first: int = 0) -> np.ndarray:
    """``count`` rows of ``features``, each the farthest (cosine) from those already picked."""
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.maximum(norms, _EPS)
    picked = [first]
    distance = 1.0 - unit @ unit[first]
    for _ in range(min(count, len(unit)) - 1):
        distance[picked] = -np.inf
        nxt = int(np.argmax(distance))
        picked.append(nxt)
        distance = np.minimum(distance, 1.0 - unit @ unit[nxt])
    return np.array(picked, dtype=int)


def diverse(probs: np.ndarray, features: np.ndarray, count: int, pool_factor: int = 5) -> Ranking:
    """The ``pool_factor × count`` most uncertain items (by margin), then ``count`` of them
    spread by k-center greedy, starting from the most uncertain; the rest follow by margin."""
    scores = margin(probs)
    by_margin = _by_score(scores)
    pool = by_margin[: max(count, min(len(scores), pool_factor * count))]
    chosen = pool[k_center_greedy(features[pool], count)] if len(pool) else pool
    rest = by_margin[~np.isin(by_margin, chosen)]
    return Ranking(np.concatenate([chosen, rest]).astype(int), scores)


def _uncertainty(score: Callable[[np.ndarray], np.ndarray]):
    def rank(probs: np.ndarray, features: np.ndarray | None, count: int, seed: int) -> Ranking:
        scores = score(probs)
        return Ranking(_by_score(scores), scores)

    return rank


def _random(probs: np.ndarray, features: np.ndarray | None, count: int, seed: int) -> Ranking:
    order = np.random.default_rng(seed).permutation(len(probs))
    scores = np.zeros(len(probs))
    scores[order] = np.linspace(1.0, 0.0, len(probs)) if len(probs) else scores
    return Ranking(order, scores)


def _diverse(probs: np.ndarray, features: np.ndarray | None, count: int, seed: int) -> Ranking:
    return diverse(probs, probs if features is None else features, count)


# name → (rank(probs, features, count, seed), needs features, what it does)
STRATEGIES: dict[str, tuple[Callable[..., Ranking], bool, str]] = {
    "margin": (_uncertainty(margin), False, "smallest gap between the two likeliest labels"),
    "entropy": (_uncertainty(entropy), False, "highest entropy of the predicted distribution"),
    "least-confidence": (_uncertainty(least_confidence), False, "lowest top probability"),
    "diverse": (_diverse, True, "uncertain items spread over the model's representation space"),
    "random": (_random, False, "a seeded random sample (the baseline to beat)"),
}


def rank(
    strategy: str,
    probs: np.ndarray,
    count: int,
    *,
    features: np.ndarray | None = None,
    seed: int = 0,
) -> Ranking:
    """The items ranked by ``strategy`` (one of STRATEGIES)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if len(probs) == 0:
        return Ranking(np.zeros(0, dtype=int), np.zeros(0))
    return STRATEGIES[strategy][0](np.asarray(probs, dtype=float), features, count, seed)
