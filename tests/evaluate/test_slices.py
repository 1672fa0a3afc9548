"""Slice evaluation: per-value figures, the gap to the overall figure with its seeded bootstrap
interval, the worst slice, the cap on values, and errors that name the column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuneforge.errors import DataError
from tuneforge.evaluate.metrics import expected_calibration_error
from tuneforge.evaluate.slices import MAX_SLICES, OTHER, ColumnSlices, example_groups, slice_report
from tuneforge.types import Example


def _predictions(groups: list[str], accuracy: dict[str, float], seed: int = 0):
    """Labels, probabilities and groups where each group is right about ``accuracy[g]``."""
    rng = np.random.default_rng(seed)
    n = len(groups)
    y = rng.integers(0, 3, n)
    right = rng.random(n) < np.array([accuracy[g] for g in groups])
    pred = np.where(right, y, (y + 1) % 3)
    probs = np.full((n, 3), 0.1)
    probs[np.arange(n), pred] = rng.uniform(0.5, 0.8, n)
    return y, probs / probs.sum(axis=1, keepdims=True)


def test_each_slice_has_its_own_figures_and_its_gap_to_the_overall_one():
    """Support, accuracy, macro-F1, mean confidence and ECE per value are those of its rows
    alone, the gap is slice − overall accuracy, and the worst slice is named."""
    groups = ["eu"] * 300 + ["us"] * 200
    y, probs = _predictions(groups, {"eu": 0.9, "us": 0.6})
    report = slice_report(y, probs, {"region": groups})
    region = report.columns["region"]
    assert [s.value for s in region.slices] == ["eu", "us"], "most rows first"
    pred = probs.argmax(axis=1)
    overall = float(np.mean(pred == y))
    assert report.overall["accuracy"] == pytest.approx(overall, abs=1e-6)
    for s in region.slices:
        rows = np.array([g == s.value for g in groups])
        assert s.support == rows.sum()
        assert s.accuracy == pytest.approx(np.mean(pred[rows] == y[rows]))
        assert s.mean_confidence == pytest.approx(probs[rows].max(axis=1).mean())
        assert s.calibration_error == pytest.approx(
            expected_calibration_error(probs[rows], y[rows].tolist())
        )
        assert s.accuracy_gap == pytest.approx(s.accuracy - overall)
        low, high = s.accuracy_gap_ci
        assert low <= s.accuracy_gap <= high
    assert region.worst == "us" and region.worst_slice.accuracy < overall


def test_macro_f1_of_a_slice_averages_the_classes_present_in_it():
    """A slice holding one class is not punished for the classes it lacks."""
    y = np.array([0, 0, 0, 1, 1, 2] * 5)
    probs = np.eye(3)[y] * 0.9 + 0.1 / 3
    groups = ["solo" if label == 0 else "mix" for label in y]
    report = slice_report(y, probs, {"g": groups})
    assert all(s.macro_f1 == pytest.approx(1.0) for s in report.columns["g"].slices)


def test_the_interval_is_seeded_and_wider_for_a_small_slice():
    """Same data and seed, same interval; a 12-row slice gets a far wider interval than a
    400-row one, so its gap is not over-read."""
    groups = ["big"] * 400 + ["tiny"] * 12
    y, probs = _predictions(groups, {"big": 0.85, "tiny": 0.7})
    one = slice_report(y, probs, {"g": groups}, seed=3).columns["g"]
    two = slice_report(y, probs, {"g": groups}, seed=3).columns["g"]
    assert [s.accuracy_gap_ci for s in one.slices] == [s.accuracy_gap_ci for s in two.slices]
    width = {s.value: s.accuracy_gap_ci[1] - s.accuracy_gap_ci[0] for s in one.slices}
    assert width["tiny"] > 3 * width["big"]


def test_slices_under_the_minimum_rows_are_shown_but_never_named_worst():
    """A 4-row slice that is all wrong stays in the table, marked not judged; the worst named
    is the weakest slice with enough rows."""
    groups = ["a"] * 100 + ["b"] * 50 + ["c"] * 4
    y, probs = _predictions(groups, {"a": 0.95, "b": 0.7, "c": 0.0})
    column = slice_report(y, probs, {"g": groups}).columns["g"]
    small = next(s for s in column.slices if s.value == "c")
    assert not small.judged and small.accuracy == 0.0
    assert column.worst == "b"


def test_a_thousand_valued_column_is_capped_and_says_so():
    """1,000 distinct values become at most MAX_SLICES slices: the most frequent, and the rest
    grouped as '(other)', with a note naming how many values and rows were grouped."""
    groups = [f"id{i}" for i in range(1000)] + ["common"] * 200
    y, probs = _predictions(groups, {g: 0.8 for g in set(groups)})
    column = slice_report(y, probs, {"customer": groups}).columns["customer"]
    assert len(column.slices) == MAX_SLICES and column.n_values == 1001
    assert [s.value for s in column.slices[:2]] == [OTHER, "common"], "most rows first"
    assert column.slices[0].support == 1000 - (MAX_SLICES - 2)
    assert "1001 distinct values" in column.note and f"grouped as '{OTHER}'" in column.note
    assert "952 (952 rows)" in column.note


def test_several_columns_are_sliced_independently():
    """Each --slice column has its own slices; the overall figures are the same for all."""
    a = ["x", "y"] * 50
    b = ["p"] * 60 + ["q"] * 40
    y, probs = _predictions(a, {"x": 0.9, "y": 0.8})
    report = slice_report(y, probs, {"a": a, "b": b})
    assert list(report.columns) == ["a", "b"]
    assert {s.value for s in report.columns["b"].slices} == {"p", "q"}
    assert sum(s.support for s in report.columns["b"].slices) == 100


def test_the_json_form_reads_back_and_is_plain_json():
    """to_dict() is what eval.json holds; ColumnSlices.from_dict reads it back unchanged (the
    registry gate reads slices from eval.json)."""
    groups = ["eu"] * 30 + ["us"] * 20
    y, probs = _predictions(groups, {"eu": 0.9, "us": 0.5})
    report = slice_report(y, probs, {"region": groups})
    data = json.loads(json.dumps(report.to_dict()))
    assert data["bootstrap"]["replicates"] > 100 and data["bootstrap"]["confidence"] == 0.95
    back = ColumnSlices.from_dict("region", data["columns"]["region"])
    assert back.worst == report.columns["region"].worst
    assert [s.value for s in back.slices] == ["eu", "us"]
    assert back.slices[1].accuracy == pytest.approx(report.columns["region"].slices[1].accuracy)


def test_bad_inputs_are_refused_with_the_column_named():
    """No examples, or a column whose values do not pair up with the examples, is a DataError
    naming it."""
    with pytest.raises(DataError, match="No examples"):
        slice_report([], np.zeros((0, 2)), {"g": []})
    with pytest.raises(DataError, match="'g' has 2 values for 3 examples"):
        slice_report([0, 1, 0], np.eye(2)[[0, 1, 0]], {"g": ["a", "b"]})


def test_examples_without_the_column_name_it_and_what_they_carry():
    """Evaluating by a column the examples were not read with names the column, the rows and
    the columns they do carry, instead of a KeyError."""
    examples = [Example("a", "x", 1, {"region": "eu"}), Example("b", "y", 2, {"region": "us"})]
    assert example_groups(examples, ["region"], "f.csv") == {"region": ["eu", "us"]}
    with pytest.raises(DataError, match=r"f.csv: 2 example\(s\).*'channel'.*carry region"):
        example_groups(examples, ["channel"], "f.csv")
