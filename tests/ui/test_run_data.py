"""What the run page shows of example texts: the confusion cell's examples and the most
confidently wrong texts redacted as the report redacts them, unless the run says otherwise."""

from __future__ import annotations

from tuneforge.ui.run_data import cell_examples, wrong_examples

EV = {
    "labels": ["billing", "card"],
    "confusion": [[3, 1], [0, 4]],
    "confused_pairs": [
        {"true": "billing", "pred": "card", "count": 1, "examples": ["mail jane@example.com"]}
    ],
}
EXPLAINED = {
    "method": "ig",
    "examples": [
        {
            "text": "card 4111 1111 1111 1111 lost",
            "label": "card",
            "true": "billing",
            "score": 0.9,
            "words": [{"word": "lost", "score": 0.4, "start": 25, "end": 29}],
        }
    ],
}


def test_cell_examples_are_redacted_unless_asked_raw():
    """A cell's kept example shows [EMAIL]; with redaction off, the address."""
    assert cell_examples(EV, 0, 1)["examples"] == ["mail [EMAIL]"]
    assert cell_examples(EV, 0, 1, redact_examples=False)["examples"] == ["mail jane@example.com"]


def test_wrong_texts_are_redacted_and_keep_their_colouring():
    """The wrong text's card becomes [CARD]; its explained word is still coloured."""
    shown = str(wrong_examples(EXPLAINED)["rows"][0]["words"])
    assert "[CARD]" in shown and "4111" not in shown and ">lost</span>" in shown
    raw = str(wrong_examples(EXPLAINED, redact_examples=False)["rows"][0]["words"])
    assert "4111 1111 1111 1111" in raw
