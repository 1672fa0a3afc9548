"""load_dataset: files to DatasetSplits, column reuse, unseen labels, fingerprints."""

from __future__ import annotations

import csv

import pytest

from tuneforge.config import DataConfig
from tuneforge.data import examples_from_lists, load_dataset
from tuneforge.errors import DataError

LABELS = ("shipping", "billing", "account")


def _rows(n_per_label: int, prefix: str = "t") -> list[tuple[str, str]]:
    return [(f"{prefix} {label} {i}", label) for i in range(n_per_label) for label in LABELS]


def _csv(path, rows, header=("text", "label")) -> str:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def test_splits_are_cut_from_train_when_not_given(tmp_path):
    """Without val/test files, stratified splits come from the training file."""
    path = _csv(tmp_path / "t.csv", _rows(20))
    data = load_dataset(DataConfig(train_file=path))
    assert (len(data.train), len(data.val), len(data.test)) == (48, 6, 6)
    assert data.labels.names == ("account", "billing", "shipping")
    assert data.source == {
        "train": path,
        "val": f"split from {path}",
        "test": f"split from {path}",
        "text_column": "text",
        "label_column": "label",
    }


def test_given_test_file_is_used_and_only_val_is_cut(tmp_path):
    """A test file is used as is; only validation is cut from train."""
    train = _csv(tmp_path / "train.csv", _rows(20))
    test = _csv(tmp_path / "test.csv", _rows(3, prefix="u"))
    data = load_dataset(DataConfig(train_file=train, test_file=test))
    assert len(data.test) == 9 and (len(data.train), len(data.val)) == (54, 6)
    assert data.source["test"] == test and data.source["val"] == f"split from {train}"


def test_given_val_and_test_files_leave_train_whole(tmp_path):
    """With both files given, nothing is cut from train."""
    train = _csv(tmp_path / "train.csv", _rows(5))
    val = _csv(tmp_path / "val.csv", _rows(2, prefix="v"))
    test = _csv(tmp_path / "test.csv", [("only one class", "billing")])
    data = load_dataset(DataConfig(train_file=train, val_file=val, test_file=test))
    assert [e.text for e in data.train] == [t for t, _ in _rows(5)]
    assert (len(data.val), len(data.test)) == (6, 1)  # a single-class test file is fine


def test_val_file_reuses_train_columns_or_detects_its_own(tmp_path):
    """Custom train column names are reused; a file lacking them falls back to detection."""
    train = _csv(tmp_path / "train.csv", _rows(5), header=("body", "topic"))
    same = _csv(tmp_path / "same.csv", _rows(2, prefix="s"), header=("body", "topic"))
    other = _csv(tmp_path / "other.csv", _rows(2, prefix="o"), header=("sentence", "intent"))
    cfg = DataConfig(train_file=train, text_column="body", label_column="topic")
    for val in (same, other):
        data = load_dataset(DataConfig(**{**cfg.__dict__, "val_file": val}))
        assert len(data.val) == 6 and all(e.text.startswith(("s ", "o ")) for e in data.val)
    assert data.source["text_column"] == "body"


def test_unseen_val_labels_name_labels_file_and_rows(tmp_path):
    """Labels in a val/test file but not in train stop the load, naming label, file and rows."""
    train = _csv(tmp_path / "train.csv", _rows(5))
    test = _csv(tmp_path / "test.csv", [("x", "billing"), ("y", "new"), ("z", "newer")])
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(train_file=train, test_file=test))
    message = str(info.value)
    assert f"{test}: 2 label(s) do not occur in the training data {train}" in message
    assert "'new', 'newer' (rows 2, 3)" in message
    assert "Add training examples for them, or remove those rows." in message


def test_blocking_problems_in_any_file_stop_the_load(tmp_path):
    """Empty labels in train or in a val file raise a DataError naming that file and row."""
    bad_train = _csv(tmp_path / "bad_train.csv", _rows(5) + [("no label", "")])
    with pytest.raises(DataError, match=r"bad_train\.csv: 1 row\(s\) have an empty label .*16"):
        load_dataset(DataConfig(train_file=bad_train))
    train = _csv(tmp_path / "train.csv", _rows(5))
    bad_val = _csv(tmp_path / "bad_val.csv", [("", "billing"), ("ok", "billing")])
    with pytest.raises(DataError, match=r"bad_val\.csv: 1 row\(s\) have an empty text .*rows 1\)"):
        load_dataset(DataConfig(train_file=train, val_file=bad_val))


def test_single_class_training_file_is_refused(tmp_path):
    """A training file with one label fails with the two-classes message."""
    path = _csv(tmp_path / "one.csv", [(f"t{i}", "only") for i in range(10)])
    with pytest.raises(DataError, match=r"one\.csv: .*at least two classes"):
        load_dataset(DataConfig(train_file=path))


def test_missing_train_file_setting_is_an_error():
    """An empty train_file says to pass one."""
    with pytest.raises(DataError, match="No training file"):
        load_dataset(DataConfig())


def test_fingerprint_tracks_content_and_split(tmp_path):
    """Same content and seed → same fingerprint; a changed label or seed → a different one."""
    rows = _rows(20)
    a = load_dataset(DataConfig(train_file=_csv(tmp_path / "a.csv", rows)))
    b = load_dataset(DataConfig(train_file=_csv(tmp_path / "b.csv", rows)))
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    rows[0] = (rows[0][0], "billing")
    c = load_dataset(DataConfig(train_file=_csv(tmp_path / "c.csv", rows)))
    assert c.fingerprint != a.fingerprint
    d = load_dataset(DataConfig(train_file=str(tmp_path / "a.csv"), seed=7))
    assert d.fingerprint != a.fingerprint


def test_examples_from_lists_numbers_rows_and_normalises_labels():
    """In-memory examples are numbered from 1; numeric labels become strings like '1'."""
    examples = examples_from_lists(["a", "b"], [1, 2.0])
    assert [(e.text, e.label, e.row) for e in examples] == [("a", "1", 1), ("b", "2", 2)]


def test_examples_from_lists_rejects_mismatch_and_empties_by_index():
    """Length mismatch and empty texts/labels are errors naming counts and 0-based indices."""
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        examples_from_lists(["a", "b"], ["x"])
    with pytest.raises(DataError, match=r"1 of 3 texts are empty \(index 1, 0-based\)"):
        examples_from_lists(["a", " ", "c"], ["x", "y", "z"])
    with pytest.raises(DataError, match=r"2 of 3 labels are empty \(index 0, 2, 0-based\)"):
        examples_from_lists(["a", "b", "c"], [None, "y", ""])


def test_every_file_of_a_run_reads_with_data_delimiter(tmp_path):
    """Semicolon train and test files load with their separator detected; data.delimiter
    forces one on each file (',' breaks them, naming the test file's parse too)."""

    def semicolons(path, rows):
        lines = [f"{text}, thanks;{label}" for text, label in rows]
        path.write_text("text;label\n" + "\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    train = semicolons(tmp_path / "train.csv", _rows(10))
    test = semicolons(tmp_path / "test.csv", _rows(3, "q"))
    splits = load_dataset(DataConfig(train, test_file=test))
    assert splits.test[0].text.endswith(", thanks") and len(splits.test) == 9
    assert load_dataset(DataConfig(train, test_file=test, delimiter=";")).test == splits.test
    with pytest.raises(DataError, match=r"train\.csv could not be parsed as csv"):
        load_dataset(DataConfig(train, delimiter=","))
    comma_train = _csv(tmp_path / "comma.csv", _rows(10))
    with pytest.raises(DataError, match=r"test\.csv could not be parsed as csv"):
        load_dataset(DataConfig(comma_train, test_file=test, delimiter=","))


def test_slice_columns_reach_the_test_split(tmp_path):
    """data.slice_columns are kept in the meta of every split cut from the training file."""
    rows = [(t, y, "eu" if i % 2 else "us") for i, (t, y) in enumerate(_rows(20))]
    path = _csv(tmp_path / "t.csv", rows, ("text", "label", "region"))
    data = load_dataset(DataConfig(train_file=path, slice_columns="region"))
    assert data.test and all(e.meta.get("region") in {"eu", "us"} for e in data.test)
    assert all("region" in e.meta for e in data.train + data.val)


def test_the_evaluated_file_must_have_the_slice_columns(tmp_path):
    """With a --test file, the slice column must be in it (it is what is evaluated), and may
    be missing from the training file; a test file without it is refused before training."""
    train = _csv(tmp_path / "t.csv", _rows(20))
    test_rows = [(t, y, "eu") for t, y in _rows(3, "x")]
    test = _csv(tmp_path / "test.csv", test_rows, ("text", "label", "region"))
    data = load_dataset(DataConfig(train_file=train, test_file=test, slice_columns="region"))
    assert all(e.meta == {"region": "eu"} for e in data.test)
    assert all(e.meta == {} for e in data.train)
    no_column = _csv(tmp_path / "test2.csv", _rows(3, "x"))
    with pytest.raises(DataError, match=r"test2.csv: no column 'region'"):
        load_dataset(DataConfig(train_file=train, test_file=no_column, slice_columns="region"))
    with pytest.raises(DataError, match=r"t.csv: no column 'region'"):
        load_dataset(DataConfig(train_file=train, slice_columns="region"))
