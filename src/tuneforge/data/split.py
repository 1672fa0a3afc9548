"""Stratified, seeded train/validation/test splits (scikit-learn's train_test_split underneath).

Stratifying keeps every class's share the same in each split, so validation macro-F1 (which
drives early stopping) sees every class. Classes with fewer than 3 examples cannot give one to
each of train/validation/test; they stay whole in train, where the model can at least learn them.
Generic over the example type: texts and images split by the same rule (only ``.label`` is
read), and a list of ImageExample splits into lists of ImageExample.
"""

from __future__ import annotations

from collections import Counter
from typing import TypeVar

from ..errors import DataError
from ..types import Example, ImageExample

E = TypeVar("E", Example, ImageExample)

MIN_PER_CLASS = 3  # one example each for train, validation and test


def _n_rows(fraction: float, n: int) -> int:
    """Rows for a split: at least one when the fraction asks for a split at all."""
    return max(1, round(fraction * n)) if fraction > 0 else 0


def _cut(
    indices: list[int], labels: list[str], n_cut: int, seed: int
) -> tuple[list[int], list[int]]:
    """Split ``n_cut`` indices off, stratified when scikit-learn can stratify that size."""
    from sklearn.model_selection import train_test_split  # lazy: reading files needs no sklearn

    if n_cut == 0:
        return indices, []
    y = [labels[i] for i in indices]
    counts = Counter(y)
    # sklearn needs >= 2 per class and room for one of each class on both sides; below that a
    # plain seeded shuffle is the best we can do (the caller checks train still has every class).
    can_stratify = min(counts.values()) >= 2 and len(counts) <= n_cut <= len(y) - len(counts)
    rest, cut = train_test_split(
        indices, test_size=n_cut, random_state=seed, stratify=y if can_stratify else None
    )
    return list(rest), list(cut)


def stratified_split(
    examples: list[E], val_fraction: float, test_fraction: float, seed: int
) -> tuple[list[E], list[E], list[E]]:
    """(train, val, test) with label proportions kept, each in input order; same seed, same split.

    A fraction of 0 gives an empty split. Raises DataError when the data is too small for the
    requested splits or a class would be missing from train.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(
            f"Split fractions val={val_fraction}, test={test_fraction} must each be >= 0 and sum "
            "to less than 1.",
            hint="Set data.val_fraction and data.test_fraction, e.g. 0.1 each.",
        )
    labels = [e.label for e in examples]
    counts = Counter(labels)
    common = [i for i, y in enumerate(labels) if counts[y] >= MIN_PER_CLASS]
    n_common_labels = len({labels[i] for i in common})
    n_test = _n_rows(test_fraction, len(examples))
    n_val = _n_rows(val_fraction, len(examples))
    needed = n_test + n_val + n_common_labels  # the cut rows plus one per class left in train
    if (n_test or n_val) and len(common) < needed:
        asked = [f"a {val_fraction:.0%} validation split ({n_val} rows)"] if n_val else []
        asked += [f"a {test_fraction:.0%} test split ({n_test} rows)"] if n_test else []
        raise DataError(
            f"{len(examples)} examples are too few to cut {' and '.join(asked)}: only "
            f"{len(common)} belong to labels with at least {MIN_PER_CLASS} examples, and "
            f"{needed} are needed (the cut rows plus one per label that stays in train).",
            hint=f"Add examples (at least {MIN_PER_CLASS} per label), lower the fractions, or "
            "pass --val/--test files.",
        )
    rest, test = _cut(common, labels, n_test, seed)
    rest, val = _cut(rest, labels, n_val, seed)
    held_out = set(test) | set(val)
    train = [i for i in range(len(examples)) if i not in held_out]
    missing = sorted(set(counts) - {labels[i] for i in train})
    if missing:
        raise DataError(
            f"With seed {seed}, the training split would lack label(s) "
            f"{', '.join(map(repr, missing[:10]))}: all their examples went to validation/test.",
            hint="Add examples for them, use another seed, or pass --val/--test files.",
        )
    return (
        [examples[i] for i in train],
        [examples[i] for i in sorted(val)],
        [examples[i] for i in sorted(test)],
    )
