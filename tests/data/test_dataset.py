"""load_dataset: files to DatasetSplits, fingerprints, unseen labels."""

from __future__ import annotations

import pytest

from tuneforge.config import DataConfig
from tuneforge.data import examples_from_lists, load_dataset
from tuneforge.errors import DataError

from ..conftest import make_rows, write_csv


def test_splits_are_cut_from_train_when_not_given(tmp_path):
    """Without val/test files, stratified splits come from the training file."""
    path = write_csv(tmp_path / "t.csv", make_rows(20))
    data = load_dataset(DataConfig(train_file=str(path)))
    assert (len(data.train), len(data.val), len(data.test)) == (48, 6, 6)
    assert data.labels.names == ("account", "billing", "shipping")
    assert data.source["test"].startswith("split from")


def test_fingerprint_tracks_content(tmp_path):
    """Same content and seed → same fingerprint; one changed label → a different one."""
    rows = make_rows(20)
    a = load_dataset(DataConfig(train_file=str(write_csv(tmp_path / "a.csv", rows))))
    b = load_dataset(DataConfig(train_file=str(write_csv(tmp_path / "b.csv", rows))))
    assert a.fingerprint == b.fingerprint
    rows[0] = {**rows[0], "label": "billing" if rows[0]["label"] != "billing" else "account"}
    c = load_dataset(DataConfig(train_file=str(write_csv(tmp_path / "c.csv", rows))))
    assert c.fingerprint != a.fingerprint


def test_given_test_file_is_used_and_train_not_split_for_it(tmp_path):
    """A --test file is used as is; only validation is cut from train."""
    train = write_csv(tmp_path / "train.csv", make_rows(20))
    test = write_csv(tmp_path / "test.csv", make_rows(3, seed=5))
    data = load_dataset(DataConfig(train_file=str(train), test_file=str(test)))
    assert len(data.test) == 9 and len(data.train) + len(data.val) == 60
    assert data.source["test"] == str(test)


def test_unseen_test_labels_are_named(tmp_path):
    """Labels in the test file but not in train stop the run, naming label, file and rows."""
    train = write_csv(tmp_path / "train.csv", make_rows(20))
    test = write_csv(tmp_path / "test.csv", [{"text": "x", "label": "new"}])
    with pytest.raises(DataError, match=r"test.csv: labels 'new' \(rows 1\)"):
        load_dataset(DataConfig(train_file=str(train), test_file=str(test)))


def test_examples_from_lists_checks_lengths_and_empties():
    """In-memory data must have one non-empty label per non-empty text."""
    assert len(examples_from_lists(["a", "b"], ["x", "y"])) == 2
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        examples_from_lists(["a", "b"], ["x"])
    with pytest.raises(DataError, match="Example 1"):
        examples_from_lists(["a", " "], ["x", "y"])
