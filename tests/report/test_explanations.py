"""Explanations in HTML: coloured words, the summary, and the run report's wrong texts."""

from __future__ import annotations

import json
import re

from tuneforge.report import write_report
from tuneforge.report.explanations import explanations_page, words_html

EVIL = "<script>alert(1)</script>"


def _explanation(text: str, words: list[tuple[str, float]], label: str = "billing") -> dict:
    out, at = [], 0
    for word, score in words:
        start = text.index(word, at)
        out.append({"word": word, "score": score, "start": start, "end": start + len(word)})
        at = start + len(word)
    return {
        "text": text,
        "label": label,
        "score": 0.9,
        "predicted": label,
        "method": "ig",
        "words": out,
    }


def test_words_are_coloured_in_place_by_sign_and_user_text_is_escaped():
    """The text keeps its spacing and punctuation; positive words are green, negative red,
    the strongest fully; markup in the text is shown, never run."""
    e = _explanation(f"refund  {EVIL}, now!", [("refund", 0.6), ("now", -0.3)])
    html = words_html(e)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert re.search(r"rgba\(26,127,55,0\.85\)[^>]*>refund</span>  &lt;script", html)
    assert "rgba(207,34,46,0.42)" in html  # half the strongest score: half the colour
    assert html.endswith("now</span>!")


def test_the_page_is_self_contained():
    """No scripts and no external resources: the page can be mailed or archived."""
    page = explanations_page(
        f"Explanations · {EVIL}",
        [_explanation("see https://example.com please", [("please", 0.4)])],
        [{"label": EVIL, "n_texts": 3, "words": [{"word": "refund", "count": 2, "mean": 0.3}]}],
    )
    assert "<script" not in page and "https://" not in page and "http://" not in page
    assert "data:image/png;base64," in page  # the summary chart is inline
    assert page.count("&lt;script&gt;") == 3  # <title>, <h1> and the label


def _run(tmp_path, explanations: str | None):
    run = tmp_path / "run"
    run.mkdir(parents=True)
    ev = {"split": "test", "n": 3, "accuracy": 0.6, "macro_f1": 0.5, "labels": ["a", "b"]}
    (run / "eval.json").write_text(json.dumps(ev))
    (run / "status.json").write_text(json.dumps({"run_id": "r", "state": "succeeded"}))
    if explanations is not None:
        (run / "explanations.json").write_text(explanations)
    return run


def test_the_run_report_shows_the_wrong_texts_attributions(tmp_path):
    """A run with explanations.json gets a section with each wrong text's true and predicted
    label, confidence and coloured words."""
    e = {**_explanation(f"my {EVIL} invoice", [("invoice", 0.7)]), "true": "account"}
    data = {"split": "test", "method": "occlusion", "examples": [e]}
    html = write_report(_run(tmp_path, json.dumps(data))).read_text()
    assert "Why the most confidently wrong texts were misread" in html
    assert "attributed by occlusion" in html and "<script>alert" not in html
    section = html[html.index("Why the most confidently wrong") :]
    assert ">account<" in section and ">billing<" in section and ">invoice</span>" in section


def test_no_section_without_explanations_and_a_note_when_unreadable(tmp_path):
    """A run without explanations.json shows no section; a corrupt one, a note."""
    assert "confidently wrong texts" not in write_report(_run(tmp_path / "a", None)).read_text()
    html = write_report(_run(tmp_path / "b", "{cut off")).read_text()
    assert "explanations.json could not be read" in html
