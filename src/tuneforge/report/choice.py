"""The report's "Model choice" section: which model a run picked itself, and why.

A text run without ``--model`` on data the packaged encoder does not cover trains the models
that read any script and keeps the best on validation (status.json ``model_choice``, written by
:func:`tuneforge.models.text_families.choose`); the section shows what triggered the choice
and every candidate's figures.
"""

from __future__ import annotations

from .markup import escape, num, table


def choice_section(record: object) -> str:
    """ "" for runs that trained the model they were given."""
    if not isinstance(record, dict) or not record.get("chosen"):
        return ""
    candidates = record.get("candidates") if isinstance(record.get("candidates"), dict) else {}
    rows = [
        [
            f"{name} (chosen)" if name == record["chosen"] else name,
            num(figures.get("val_accuracy")),
            num(figures.get("train_seconds"), 1),
        ]
        for name, figures in candidates.items()
        if isinstance(figures, dict)
    ]
    trigger = record.get("trigger")
    return (
        "<h2>Model choice</h2><p id='model-choice'>This run chose "
        f"<b>{escape(record['chosen'])}</b>: {escape(record.get('why', ''))}, on "
        f"{escape(record.get('n_val', '?'))} validation examples.</p>"
        + (f"<p class='note'>Why it chose: {escape(trigger)}</p>" if trigger else "")
        + table(["candidate", "val accuracy", "train s"], rows, numeric=(1, 2))
    )
