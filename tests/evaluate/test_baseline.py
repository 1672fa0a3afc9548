"""The baseline's verdict: a run that loses to its own baseline says so with the figures and
what to try; one that clears it says nothing."""

from __future__ import annotations

import json

from tuneforge.cli import main
from tuneforge.evaluate.baseline import baseline_verdict, verdict_message

from ..conftest import make_rows, write_csv


def test_a_model_below_its_baseline_gets_the_gap_and_advice():
    """Accuracy 0.60 against a baseline of 0.75: 15 points, advice listed; at or above the
    baseline, or without one, no verdict."""
    metrics = {"accuracy": 0.6, "baseline": {"name": "tfidf-linear-svm", "accuracy": 0.75}}
    verdict = baseline_verdict(metrics)
    assert verdict["gap_points"] == 15.0 and verdict["baseline"] == "tfidf-linear-svm"
    assert any("label audit" in a for a in verdict["advice"])
    message = verdict_message(verdict, "test")
    assert message.startswith("WARNING: the baseline tfidf-linear-svm beats the trained model")
    assert "15.0 points" in message
    assert baseline_verdict({**metrics, "accuracy": 0.75}) is None
    assert baseline_verdict({"accuracy": 0.5}) is None


def test_an_undertrained_run_says_so_on_the_console_in_status_and_in_the_report(
    tiny_model_dir, tmp_path, capsys
):
    """One tiny step at a tiny learning rate cannot learn the keywords a TF-IDF baseline
    reads perfectly: the run succeeds, and says loudly that its baseline beats it."""
    data = write_csv(tmp_path / "d.csv", make_rows(20))
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--name", "weak", "--no-progress", "train.epochs=1", "train.lr=1e-7"]
    assert main([*argv, "report.explain_wrong=0"]) == 0
    assert (
        "WARNING: the baseline tfidf-linear-svm beats the trained model" in capsys.readouterr().err
    )
    status = json.loads((runs / "weak" / "status.json").read_text())
    verdict = status["baseline_beats_model"]
    assert verdict["gap_points"] > 0 and verdict["model_accuracy"] < verdict["baseline_accuracy"]
    html = (runs / "weak" / "report.html").read_text()
    assert "id='baseline-beats-model'" in html and "The baseline beats this model." in html
