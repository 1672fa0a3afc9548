"""How far annotators agree: Cohen's kappa for each pair of annotators (scikit-learn), Fleiss'
kappa over the items several people labelled, per queue and per label, and the conflicts.

Fleiss' kappa is written here (a dozen lines) because its well-kept implementation lives in
statsmodels, too heavy a dependency for one formula. It is computed on the items with the most
common number of annotators (Fleiss assumes the same count per item), which the result states.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from .queue import Annotation


@dataclass(frozen=True)
class PairKappa:
    first: str
    second: str
    items: int
    kappa: float | None  # None when undefined (both gave one label to every shared item)


@dataclass(frozen=True)
class Conflict:
    item_id: int
    labels: dict[str, str]  # annotator → label


@dataclass(frozen=True)
class Agreement:
    items_multi: int  # items labelled by two or more annotators
    raters_per_item: int  # the count Fleiss' kappa was computed over
    fleiss: float | None
    per_label: dict[str, float | None]
    pairs: list[PairKappa]
    conflicts: list[Conflict] = field(default_factory=list)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa of an items × categories matrix of rating counts (equal row sums)."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or len(counts) == 0:
        return None
    n = counts.sum(axis=1)[0]
    if n < 2:
        return None
    p_item = ((counts * counts).sum(axis=1) - n) / (n * (n - 1))
    p_cat = counts.sum(axis=0) / counts.sum()
    expected = float((p_cat * p_cat).sum())
    if expected >= 1.0:
        return None  # every rating in one category: agreement beyond chance is undefined
    return float((p_item.mean() - expected) / (1.0 - expected))


def _by_item(annotations: Sequence[Annotation]) -> dict[int, dict[str, str]]:
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for a in annotations:
        by_item[a.item_id][a.annotator] = a.label
    return by_item


def _pairs(by_item: dict[int, dict[str, str]]) -> list[PairKappa]:
    from sklearn.metrics import cohen_kappa_score

    shared: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for labels in by_item.values():
        for a, b in combinations(sorted(labels), 2):
            shared[(a, b)].append((labels[a], labels[b]))
    out = []
    for (a, b), rows in sorted(shared.items()):
        first, second = zip(*rows)
        undefined = len(set(first) | set(second)) < 2
        kappa = None if undefined else float(cohen_kappa_score(first, second))
        out.append(PairKappa(a, b, len(rows), kappa))
    return out


def agreement(annotations: Sequence[Annotation], labels: Sequence[str] = ()) -> Agreement:
    """Agreement of the annotations of one queue; ``labels`` orders the per-label kappas."""
    by_item = _by_item(annotations)
    multi = {i: v for i, v in by_item.items() if len(v) >= 2}
    conflicts = [Conflict(i, v) for i, v in sorted(multi.items()) if len(set(v.values())) > 1]
    if not multi:
        return Agreement(0, 0, None, {}, [], conflicts)
    raters = Counter(len(v) for v in multi.values()).most_common(1)[0][0]
    rated = [v for v in multi.values() if len(v) == raters]
    names = list(dict.fromkeys([*labels, *sorted({x for v in rated for x in v.values()})]))
    counts = np.array([[list(v.values()).count(n) for n in names] for v in rated])
    per_label = {
        name: fleiss_kappa(np.stack([counts[:, k], raters - counts[:, k]], axis=1))
        for k, name in enumerate(names)
    }
    return Agreement(
        len(multi), raters, fleiss_kappa(counts), per_label, _pairs(by_item), conflicts
    )
