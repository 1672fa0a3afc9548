"""Metric functions: values checked by hand on small cases."""

import numpy as np
import pytest

from tuneforge.evaluate.metrics import (
    classification_metrics,
    confused_pairs,
    expected_calibration_error,
)


def test_classification_metrics_by_hand():
    """Accuracy, per-class P/R/F1, support and the confusion matrix match a hand count."""
    y_true = [0, 0, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0]
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["per_class"]["a"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["c"]["f1"] == 0.0
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_macro_f1_ignores_labels_absent_from_the_data():
    """A class the evaluation data never contains does not drag macro-F1 down."""
    m = classification_metrics([0, 1], [0, 1], ["a", "b", "c"])
    assert m["macro_f1"] == 1.0
    assert m["per_class"]["c"]["support"] == 0


def test_confused_pairs_rank_mistakes_with_examples():
    """The most common mistake comes first, with its example texts."""
    pairs = confused_pairs([0, 0, 0, 1], [1, 1, 0, 0], ["x", "y", "z", "w"], ["a", "b"])
    assert pairs[0] == {"true": "a", "pred": "b", "count": 2, "examples": ["x", "y"]}
    assert pairs[1]["count"] == 1


def test_calibration_error_zero_when_confidence_matches_accuracy():
    """Perfectly confident and correct predictions have zero calibration error."""
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, [0, 1]) == 0.0
    assert expected_calibration_error(probs, [1, 0]) == pytest.approx(1.0)
