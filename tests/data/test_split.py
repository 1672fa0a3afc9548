"""Stratified splits: proportions kept, deterministic, small classes handled."""

from __future__ import annotations

from collections import Counter

import pytest

from tuneforge.data import stratified_split
from tuneforge.errors import DataError
from tuneforge.types import Example


def _examples(counts: dict[str, int]):
    return [
        Example(f"{k} {i}", k, n)
        for n, (k, i) in enumerate(((k, i) for k, c in counts.items() for i in range(c)), start=1)
    ]


def test_splits_are_disjoint_complete_and_stratified():
    """Every example lands in exactly one split, with label shares kept."""
    ex = _examples({"a": 50, "b": 30, "c": 20})
    train, val, test = stratified_split(ex, 0.1, 0.2, seed=0)
    assert len(train) + len(val) + len(test) == 100
    rows = [{e.row for e in part} for part in (train, val, test)]
    assert set.union(*rows) == set(range(1, 101))
    assert sum(len(r) for r in rows) == 100  # no example in two splits
    assert Counter(e.label for e in test) == {"a": 10, "b": 6, "c": 4}
    assert Counter(e.label for e in val) == {"a": 5, "b": 3, "c": 2}


def test_same_seed_same_split_other_seed_differs():
    """A seed reproduces the split; another seed changes it."""
    ex = _examples({"a": 40, "b": 40})
    assert stratified_split(ex, 0.1, 0.1, 3) == stratified_split(ex, 0.1, 0.1, 3)
    assert stratified_split(ex, 0.1, 0.1, 3)[2] != stratified_split(ex, 0.1, 0.1, 4)[2]


def test_rare_labels_stay_in_train():
    """Labels with fewer than 3 examples are kept in train, not lost to a split."""
    train, val, test = stratified_split(_examples({"a": 30, "b": 30, "rare": 2}), 0.1, 0.1, 0)
    assert Counter(e.label for e in train)["rare"] == 2


def test_too_small_for_a_validation_split():
    """Too few rows for the requested validation split is an error saying what to do."""
    with pytest.raises(DataError, match="too few"):
        stratified_split(_examples({"a": 2, "b": 2}), 0.1, 0.0, 0)


def test_zero_fractions_give_empty_splits():
    """val/test fractions of 0 leave those splits empty."""
    train, val, test = stratified_split(_examples({"a": 5, "b": 5}), 0.0, 0.0, 0)
    assert len(train) == 10 and val == [] and test == []
