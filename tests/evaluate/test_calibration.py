"""Temperature scaling and the calibration figures (pure functions over logits and labels)."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.evaluate.calibration import (
    brier_score,
    fit_record,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    scaled_probabilities,
)


def _logits(scale: float, n: int = 600, k: int = 4, seed: int = 0):
    """Logits of a model that is right about 70% of the time, multiplied by ``scale``: above
    about 1 overconfident, below it underconfident."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] += 1.5
    return z * scale, y


def test_temperature_lowers_nll_of_an_overconfident_model():
    """An overconfident model gets T > 1, and dividing by it lowers the validation NLL and the
    calibration error without changing a single prediction."""
    z, y = _logits(4.0)
    t = fit_temperature(z, y)
    assert t > 2
    assert negative_log_likelihood(z, y, t) < negative_log_likelihood(z, y, 1.0) - 0.1
    record = fit_record(z, y, "val")
    assert record["after"]["expected_calibration_error"] < (
        record["before"]["expected_calibration_error"] / 2
    )
    assert record["after"]["brier_score"] < record["before"]["brier_score"]
    assert (scaled_probabilities(z, t).argmax(1) == z.argmax(1)).all()
    assert record["n"] == len(y) and record["fitted_on"] == "val" and not record["at_bound"]


def test_underconfident_model_is_sharpened():
    """Scaled-down logits (an underconfident model) give T < 1, the NLL minimum."""
    z, y = _logits(0.3)
    t = fit_temperature(z, y)
    assert t < 0.6
    for other in (t * 0.8, t * 1.25):
        assert negative_log_likelihood(z, y, t) <= negative_log_likelihood(z, y, other)


def test_a_split_without_mistakes_keeps_temperature_one():
    """With no mistake to calibrate on the likelihood has no minimum (T would sink to its lower
    bound and every confidence to 1): T stays 1 and the record says why."""
    y = np.array([0, 1, 2, 0, 1, 2])
    z = np.eye(3)[y] * 3.0
    assert fit_temperature(z, y) < 0.2  # what the bare search would pick
    record = fit_record(z, y, "val")
    assert record["temperature"] == 1.0
    assert "no mistake" in record["note"]


def test_no_examples_mean_temperature_one():
    """An empty split leaves the temperature at 1 rather than failing."""
    assert fit_temperature(np.zeros((0, 3)), []) == 1.0


def test_brier_score_of_perfect_and_uniform_predictions():
    """Brier is 0 for one-hot right answers, 2 for one-hot wrong ones, 1 − 1/K for uniform."""
    y = [0, 1]
    assert brier_score(np.eye(2), y) == 0.0
    assert brier_score(np.eye(2)[::-1], y) == pytest.approx(2.0)
    assert brier_score(np.full((2, 4), 0.25), y) == pytest.approx(0.75)


def test_reliability_bins_cover_every_prediction_and_skip_empty_bins():
    """Each prediction lands in one (lo, hi] bin; bins without predictions are left out."""
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.55, 0.45], [0.1, 0.9]])
    bins = reliability_bins(probs, [0, 1, 0, 1])
    assert sum(b["count"] for b in bins) == 4
    assert [(b["lo"], b["hi"]) for b in bins] == [(0.5, 0.6), (0.8, 0.9), (0.9, 1.0)]
    top = bins[-1]
    assert top["count"] == 2 and top["accuracy"] == 0.5
    assert top["confidence"] == pytest.approx(0.935)
