"""evaluate(predictor, examples) → EvalReport: the numbers every later stage compares against."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..predict import Predictor
from ..types import Example
from .metrics import classification_metrics, confused_pairs, expected_calibration_error


@dataclass
class EvalReport:
    """Metrics of one predictor on one labelled set; ``to_dict()`` is eval.json."""

    split: str
    metrics: dict
    confused: list[dict] = field(default_factory=list)
    calibration_error: float = 0.0
    baseline: dict = field(default_factory=dict)
    probs: np.ndarray | None = field(default=None, repr=False)  # kept in memory, not in JSON

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"]

    @property
    def macro_f1(self) -> float:
        return self.metrics["macro_f1"]

    def to_dict(self) -> dict:
        out = {"split": self.split, **self.metrics}
        out["confused_pairs"] = self.confused
        out["expected_calibration_error"] = self.calibration_error
        if self.baseline:
            out["baseline"] = self.baseline
        return out


def evaluate(
    predictor: Predictor, examples: list[Example], split: str = "test", source: str = "data"
) -> EvalReport:
    """Predict ``examples`` and compare with their labels. Unknown labels are an error."""
    if not examples:
        raise DataError(f"No examples to evaluate in {source}.")
    labels = list(predictor.labels)
    index = {n: i for i, n in enumerate(labels)}
    unseen = sorted({e.label for e in examples} - set(index))
    if unseen:
        rows = [e.row for e in examples if e.label in set(unseen)][:10]
        raise DataError(
            f"{source}: labels {', '.join(repr(u) for u in unseen[:10])} (rows "
            f"{', '.join(map(str, rows))}) were not in the model's training labels.",
            hint="Evaluate on data with the model's labels, or retrain with examples of them.",
        )
    texts = [e.text for e in examples]
    probs = predictor.predict_proba(texts)
    y_pred = probs.argmax(axis=1).tolist()
    y_true = [index[e.label] for e in examples]
    return EvalReport(
        split=split,
        metrics=classification_metrics(y_true, y_pred, labels),
        confused=confused_pairs(y_true, y_pred, texts, labels),
        calibration_error=expected_calibration_error(probs, y_true),
        probs=probs,
    )
