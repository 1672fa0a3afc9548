"""The report's calibration section: figures before and after, the reliability diagram, and
what it says of a model without a fitted temperature."""

from __future__ import annotations

import numpy as np

from tuneforge.evaluate.calibration import before_and_after
from tuneforge.report.calibration import calibration_section


def _ev(temperature: float, calibrated: bool) -> dict:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    z = rng.normal(size=(200, 3)) * 3
    z[np.arange(200), y] += 3
    return {
        "split": "test",
        "calibration": {**before_and_after(z, y, temperature), "calibrated": calibrated},
    }


def test_section_shows_figures_before_and_after_and_the_diagram():
    """A calibrated run's section states T, its NLL/ECE/Brier before and after, and embeds
    the reliability diagram as a PNG."""
    html = calibration_section(_ev(2.0, True), "run-1")
    assert "T = 2.0000" in html
    for name in ("negative log-likelihood", "expected calibration error", "Brier score"):
        assert name in html
    assert "<img alt='reliability diagram' src=\"data:image/png;base64," in html
    assert "tuneforge calibrate" not in html


def test_an_uncalibrated_model_is_named_with_the_command_that_fits_it():
    """A model without a fitted temperature is said so, with the one-line fix (escaped)."""
    html = calibration_section(_ev(1.0, False), "<b>old</b>")
    assert "no fitted temperature" in html
    assert "tuneforge calibrate &lt;b&gt;old&lt;/b&gt;" in html


def test_no_section_for_an_eval_without_calibration():
    """eval.json from before calibration (an ECE only) gives no section, and no error."""
    assert calibration_section({"expected_calibration_error": 0.1}, "r") == ""


def test_a_temperature_left_at_one_says_why():
    """When the validation split had no mistake to fit on, the section gives that reason
    instead of claiming a fitted temperature."""
    ev = _ev(1.0, True)
    ev["calibration"]["note"] = "the model makes no mistake on the 12 val examples"
    html = calibration_section(ev, "r")
    assert "no mistake on the 12 val examples" in html and "fitted on the validation" not in html
