"""Drift statistics: zero for identical data, large for shifted data, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuneforge.monitor.drift import Profile, drift, psi

LABELS = ("bearish", "bullish", "neutral")


def _profile(counts, conf_mean=0.9, n_len=12, seed=0):
    rng = np.random.default_rng(seed)
    predicted = [k for k, c in zip(LABELS, counts) for _ in range(c)]
    conf = np.clip(rng.normal(conf_mean, 0.05, len(predicted)), 0, 1)
    lengths = rng.poisson(n_len, len(predicted))
    return Profile.from_predictions(LABELS, predicted, conf, lengths)


def test_psi_by_hand():
    """PSI matches Σ (a − e)·ln(a/e) and is 0 for equal shares."""
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected)


def test_same_distribution_shows_no_drift():
    """A window drawn like the reference has small PSI and unremarkable p-values."""
    report = drift(_profile([300, 300, 400]), _profile([30, 30, 40], seed=1))
    assert report.psi < 0.05 and report.chi2_p > 0.05 and report.confidence_ks_p > 0.01


def test_bearish_shift_is_detected():
    """A window dominated by one label has high PSI, tiny chi-square p and its share reported."""
    report = drift(_profile([300, 300, 400]), _profile([80, 10, 10], conf_mean=0.6, seed=1))
    assert report.psi > 0.2 and report.chi2_p < 1e-6
    assert report.label_shares["bearish"] == pytest.approx(0.8)
    assert report.confidence_ks > 0.5 and report.low_confidence_share > 0.0


def test_profile_round_trips_through_dict():
    """Profiles are stored as JSON and read back unchanged."""
    p = _profile([3, 2, 1])
    assert Profile.from_dict(p.to_dict()) == p
