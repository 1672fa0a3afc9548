"""The report's "Model choice" section: shown only for runs that chose their model, with the
winner, the reason, what triggered it and every candidate's figures, escaped."""

from __future__ import annotations

from tuneforge.report.choice import choice_section


def test_the_section_names_the_winner_the_reason_and_every_candidate():
    """Winner marked, validation accuracies and times in the table, the trigger escaped."""
    html = choice_section(
        {
            "chosen": "tfidf-linear",
            "why": "highest validation accuracy (0.9024; char-cnn 0.8882)",
            "trigger": "the encoder <default> does not cover",
            "candidates": {
                "tfidf-linear": {"val_accuracy": 0.9024, "train_seconds": 7.7},
                "char-cnn": {"val_accuracy": 0.8882, "train_seconds": 120.6},
            },
            "n_val": 1199,
        }
    )
    assert "tfidf-linear (chosen)" in html and "char-cnn" in html and "0.8882" in html
    assert "1199 validation examples" in html and "&lt;default&gt;" in html


def test_runs_that_trained_the_model_they_were_given_have_no_section():
    """No record (or a broken one): nothing is shown."""
    assert choice_section(None) == "" and choice_section({"why": "x"}) == ""
