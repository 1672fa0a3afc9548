"""The automatic choice between text models trained from scratch: every candidate is trained,
the most accurate on validation wins (ties: the first, cheaper one), and the record names the
winner with every candidate's figures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuneforge.models import text_families
from tuneforge.models.text_families import FAMILIES, AutoChoice, choose, family_of_dir
from tuneforge.train import TrainResult
from tuneforge.types import DatasetSplits, Example, LabelMap

LABELS = LabelMap(("好", "差"))


@dataclass
class Fake:
    """A candidate that answers the first label for a share of the validation texts."""

    name: str
    right: int  # how many of the validation examples it gets right

    def build(self, labels):
        return self

    def fit(self, cm, data):
        return TrainResult(1, 1, 0.0, 1, 1, 0.5, 1.0, "fp32", False)

    def predictor(self, cm):
        right = self.right

        class P:
            labels = LABELS.names

            def predict_proba(self, texts):
                rows = np.zeros((len(texts), 2))
                rows[:right, 0] = 1  # the first `right` examples are labelled 好
                rows[right:, 1] = 1
                return rows

        return P()


def splits() -> DatasetSplits:
    val = [Example(f"文{i}", "好", i) for i in range(4)]
    return DatasetSplits(train=val, val=val, test=val, labels=LABELS, fingerprint="t")


def test_the_most_accurate_candidate_wins_and_the_record_says_why(monkeypatch):
    """The winner is the best on validation; console and record carry every figure."""
    fakes = {"a": Fake("a", 2), "b": Fake("b", 3)}
    monkeypatch.setattr(text_families, "FAMILIES", fakes)
    lines: list[str] = []
    auto = AutoChoice(LABELS, candidates=("a", "b"), reason="uncovered")
    choose(auto, splits(), lines.append)
    assert auto.chosen is fakes["b"]
    record = auto.record
    assert record["chosen"] == "b" and record["trigger"] == "uncovered"
    assert record["candidates"]["a"]["val_accuracy"] == 0.5
    assert "0.7500" in record["why"] and "a 0.5000" in record["why"]
    assert any(line.startswith("model choice: b") for line in lines)


def test_a_tie_keeps_the_first_cheaper_candidate(monkeypatch):
    """Equal validation accuracy: the earlier row (the cheaper model) is kept, and said so."""
    fakes = {"a": Fake("a", 3), "b": Fake("b", 3)}
    monkeypatch.setattr(text_families, "FAMILIES", fakes)
    auto = AutoChoice(LABELS, candidates=("a", "b"))
    choose(auto, splits(), lambda _: None)
    assert auto.record["chosen"] == "a" and "tied" in auto.record["why"]


def test_every_family_is_a_candidate_and_directories_name_their_family(tmp_path):
    """tfidf-linear and char-cnn are both offered; a directory is recognised by its
    tuneforge.json only."""
    assert set(text_families.AUTO_CANDIDATES) == {"tfidf-linear", "char-cnn"}
    (tmp_path / "tuneforge.json").write_text('{"task": "text", "family": "char-cnn"}')
    assert family_of_dir(tmp_path) is FAMILIES["char-cnn"]
    assert family_of_dir(tmp_path / "missing") is None
