"""Stratified splits: proportions kept, deterministic, small classes and small data handled."""

from __future__ import annotations

from collections import Counter

import pytest

from tuneforge.data import stratified_split
from tuneforge.errors import DataError
from tuneforge.types import Example


def _examples(counts: dict[str, int]) -> list[Example]:
    pairs = [(k, i) for k, c in counts.items() for i in range(c)]
    return [Example(f"{k} {i}", k, n) for n, (k, i) in enumerate(pairs, start=1)]


def test_splits_are_disjoint_complete_and_stratified():
    """Every example lands in exactly one split, with label shares kept."""
    ex = _examples({"a": 50, "b": 30, "c": 20})
    train, val, test = stratified_split(ex, 0.1, 0.2, seed=0)
    rows = [[e.row for e in part] for part in (train, val, test)]
    assert sorted(rows[0] + rows[1] + rows[2]) == list(range(1, 101))
    assert Counter(e.label for e in test) == {"a": 10, "b": 6, "c": 4}
    assert Counter(e.label for e in val) == {"a": 5, "b": 3, "c": 2}


def test_each_split_keeps_input_order():
    """Splits list their examples in file order, so they read and diff naturally."""
    for part in stratified_split(_examples({"a": 20, "b": 20}), 0.2, 0.2, seed=1):
        assert [e.row for e in part] == sorted(e.row for e in part)


def test_same_seed_same_split_other_seed_differs():
    """A seed reproduces the split; another seed changes it."""
    ex = _examples({"a": 40, "b": 40})
    assert stratified_split(ex, 0.1, 0.1, 3) == stratified_split(ex, 0.1, 0.1, 3)
    assert stratified_split(ex, 0.1, 0.1, 3)[2] != stratified_split(ex, 0.1, 0.1, 4)[2]


def test_rare_labels_stay_whole_in_train():
    """Labels with fewer than 3 examples are kept in train; the rest is still stratified."""
    train, val, test = stratified_split(_examples({"a": 30, "b": 30, "r": 2, "s": 1}), 0.1, 0.1, 0)
    assert Counter(e.label for e in train)["r"] == 2 and Counter(e.label for e in train)["s"] == 1
    assert {e.label for e in val} == {"a", "b"} and {e.label for e in test} == {"a", "b"}


def test_zero_fractions_give_empty_splits():
    """val/test fractions of 0 leave those splits empty and train whole."""
    ex = _examples({"a": 5, "b": 5})
    train, val, test = stratified_split(ex, 0.0, 0.0, 0)
    assert train == ex and val == [] and test == []
    train, val, test = stratified_split(ex, 0.2, 0.0, 0)
    assert len(val) == 2 and test == [] and len(train) == 8


def test_small_fraction_still_gives_one_row():
    """A positive fraction of a small set rounds up to one row rather than an empty split."""
    _, val, _ = stratified_split(_examples({"a": 5, "b": 5}), 0.01, 0.0, 0)
    assert len(val) == 1


def test_too_small_for_a_validation_split_says_how_many_rows_are_needed():
    """Only rare classes: no validation split possible, and the message gives the numbers."""
    with pytest.raises(DataError) as info:
        stratified_split(_examples({"a": 2, "b": 2}), 0.1, 0.0, 0)
    message = str(info.value)
    assert "4 examples are too few to cut a 10% validation split (1 rows)" in message
    assert "only 0 belong to labels with at least 3 examples, and 1 are needed" in message
    assert "test split" not in message and "--val/--test" in message


def test_fractions_too_large_for_the_data_are_refused():
    """Cuts that would leave a class without a training example are refused up front."""
    with pytest.raises(DataError, match=r"only 6 belong .* and 8 are needed"):
        stratified_split(_examples({"a": 3, "b": 3}), 0.45, 0.45, 0)


@pytest.mark.parametrize(("val", "test"), [(-0.1, 0.1), (0.6, 0.4), (1.0, 0.0)])
def test_invalid_fractions_are_refused(val, test):
    """Negative fractions or fractions summing to 1 or more name both values."""
    with pytest.raises(DataError, match=rf"val={val}, test={test}"):
        stratified_split(_examples({"a": 10, "b": 10}), val, test, 0)


def test_train_missing_a_class_is_an_error_naming_it():
    """When an unstratifiable cut takes a whole class, the error names the class and seed."""
    ex = _examples({"a": 3, "b": 3, "c": 3, "d": 3})  # a 3-row test cut < 4 classes: no strata
    for seed in range(500):
        try:
            stratified_split(ex, 0.0, 0.25, seed)
        except DataError as exc:
            assert f"With seed {seed}, the training split would lack label(s) '" in str(exc)
            break
    else:
        pytest.fail("no seed took a whole class into the test split")
