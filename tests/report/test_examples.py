"""Example texts in reports: personal data redacted unless the run's report.redact_examples is
off, and explained texts keep their colouring with offsets moved to the redacted text."""

from __future__ import annotations

import json

import yaml

from tuneforge.report import write_report
from tuneforge.report.examples import (
    redacts_examples,
    run_redacts_examples,
    shown_explanation,
    shown_text,
)
from tuneforge.report.explanations import words_html


def _explained(text: str, words: list[str], scores: list[float]) -> dict:
    out, at = [], 0
    for word, score in zip(words, scores):
        start = text.index(word, at)
        out.append({"word": word, "score": score, "start": start, "end": start + len(word)})
        at = start + len(word)
    return {"text": text, "label": "billing", "score": 0.9, "method": "ig", "words": out}


def test_words_inside_a_finding_merge_into_its_placeholder():
    """The email's three words become one [EMAIL] word scoring their sum; the words after it
    keep their own text at their moved offsets."""
    e = _explained(
        "write jane@example.com about my refund",
        ["write", "jane", "@", "example.com", "refund"],
        [0.1, 0.2, 0.05, 0.25, 0.4],
    )
    shown = shown_explanation(e)
    assert shown["text"] == "write [EMAIL] about my refund"
    words = [(w["word"], round(w["score"], 6)) for w in shown["words"]]
    assert words == [("write", 0.1), ("[EMAIL]", 0.5), ("refund", 0.4)]
    for w in shown["words"]:
        assert shown["text"][w["start"] : w["end"]] == w["word"]
    assert ">[EMAIL]</span>" in words_html(shown) and "jane" not in words_html(shown)


def test_nothing_changes_without_findings_or_when_asked_raw():
    """A text without personal data, or redaction off, is the explanation unchanged."""
    e = _explained("where is my parcel", ["parcel"], [0.9])
    assert shown_explanation(e) is e
    personal = _explained("mail jane@example.com", ["mail"], [0.3])
    assert shown_explanation(personal, redact_examples=False) is personal
    assert shown_text("mail jane@example.com", False) == "mail jane@example.com"
    assert shown_text("mail jane@example.com") == "mail [EMAIL]"


def test_the_setting_defaults_to_redacting(tmp_path):
    """Only an explicit report.redact_examples: false shows texts as written; a run without
    config.yaml, or one that cannot be read, redacts."""
    assert redacts_examples({}) and redacts_examples(None) and redacts_examples({"report": 1})
    assert not redacts_examples({"report": {"redact_examples": False}})
    assert run_redacts_examples(tmp_path)
    (tmp_path / "config.yaml").write_text("report: {redact_examples: false}\n")
    assert not run_redacts_examples(tmp_path)
    (tmp_path / "config.yaml").write_text("report: [unclosed\n")
    assert run_redacts_examples(tmp_path)


def test_the_wrong_texts_section_is_redacted_by_default(tmp_path):
    """The report's most confidently wrong texts show [PHONE], not the number; with the
    setting off they show it."""
    run = tmp_path / "run"
    run.mkdir()
    ev = {"split": "test", "n": 3, "accuracy": 0.6, "macro_f1": 0.5, "labels": ["a", "b"]}
    (run / "eval.json").write_text(json.dumps(ev))
    (run / "status.json").write_text(json.dumps({"run_id": "r", "state": "succeeded"}))
    e = {**_explained("call +44 20 7946 0958 now", ["call", "now"], [0.2, 0.1]), "true": "a"}
    (run / "explanations.json").write_text(json.dumps({"method": "ig", "examples": [e]}))
    html = write_report(run).read_text()
    assert "[PHONE]" in html and "7946" not in html
    (run / "config.yaml").write_text(yaml.safe_dump({"report": {"redact_examples": False}}))
    assert "7946 0958" in write_report(run).read_text()
