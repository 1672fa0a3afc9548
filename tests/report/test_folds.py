"""The report's cross-validation section: mean ± std over folds and every fold's figure."""

from __future__ import annotations

import json

from tuneforge.report import write_report
from tuneforge.report.folds import folds_section


def _cv_eval() -> dict:
    return {
        "split": "out-of-fold (3 folds)",
        "accuracy": 0.8,
        "macro_f1": 0.79,
        "n": 90,
        "cross_validation": {
            "folds": 3,
            "runs": ["cv-fold1", "cv-fold2", "cv-fold3"],
            "metrics": {
                "accuracy": {"mean": 0.8, "std": 0.05, "folds": [0.75, 0.8, 0.85]},
                "macro_f1": {"mean": 0.79, "std": 0.04, "folds": [0.75, 0.79, 0.83]},
            },
        },
    }


def test_each_metric_shows_mean_and_std_then_every_fold():
    """A row per metric: 'mean ± std', then the figure of fold 1..K; the fold runs named."""
    html = folds_section(_cv_eval())
    assert "Cross-validation (3 stratified folds)" in html
    assert "0.8000 ± 0.0500" in html and "0.7500" in html and "0.8500" in html
    assert "cv-fold1, cv-fold2, cv-fold3" in html and "<th>fold 3</th>" in html
    assert folds_section({"accuracy": 0.8}) == ""


def test_the_run_report_of_a_cross_validation_has_the_section(tmp_path):
    """write_report puts the section before the pooled evaluation."""
    (tmp_path / "eval.json").write_text(json.dumps(_cv_eval()), encoding="utf-8")
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert html.index("Cross-validation") < html.index("Evaluation on out-of-fold")
