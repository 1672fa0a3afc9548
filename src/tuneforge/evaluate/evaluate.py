"""evaluate(predictor, examples) → EvalReport: the numbers every later stage compares against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..types import Example, ImageExample, Predictor
from .calibration import before_and_after, brier_score, figures
from .metrics import classification_metrics, confused_pairs, expected_calibration_error
from .slices import SliceReport, example_groups, slice_report

WRONG_SHOWN = 24  # most confidently wrong images kept for the report's grid


@dataclass
class EvalReport:
    """Metrics of one predictor on one labelled set; ``to_dict()`` is eval.json."""

    split: str
    metrics: dict
    confused: list[dict] = field(default_factory=list)
    calibration_error: float = 0.0
    baseline: dict = field(default_factory=dict)
    wrong_images: list[dict] = field(default_factory=list)  # image runs: confidently wrong
    probs: np.ndarray | None = field(default=None, repr=False)  # kept in memory, not in JSON
    slices: SliceReport | None = None  # per value of the --slice columns
    brier_score: float = 0.0
    # temperature, calibrated (whether the model has a fitted one), before/after figures
    calibration: dict = field(default_factory=dict)
    abstention: dict = field(default_factory=dict)  # evaluate --abstain: the rule's figures

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
        out["brier_score"] = self.brier_score
        if self.calibration:
            out["calibration"] = self.calibration
        if self.abstention:
            out["abstention"] = self.abstention
        if self.baseline:
            out["baseline"] = self.baseline
        if self.wrong_images:
            out["wrong_images"] = self.wrong_images
        if self.slices is not None:
            out["slices"] = self.slices.to_dict()
        return out


def describe(example: Example | ImageExample) -> str:
    """How a report shows one input: the text itself, or where the image came from (its file,
    or ``row N of FILE`` for tables, IDX files and saved splits)."""
    if isinstance(example, Example):
        return example.text
    from pathlib import Path

    from ..data.image_files import IMAGE_SUFFIXES

    if Path(example.source).suffix.lower() in IMAGE_SUFFIXES:
        return example.source
    return f"row {example.row} of {example.source}" if example.source else f"row {example.row}"


def model_input(example: Example | ImageExample):
    """What a Predictor takes for this example: the text, or the pixels (array or file path)."""
    return example.text if isinstance(example, Example) else example.pixels


def _wrong_images(
    examples: list[ImageExample], probs: np.ndarray, y_true: list[int], labels: list[str]
) -> list[dict]:
    """The mistakes the model was surest of, most confident first; ``index`` is the position
    in ``examples`` (the run's saved split), so the report can show the pixels."""
    pred = probs.argmax(axis=1)
    wrong = [i for i in range(len(examples)) if pred[i] != y_true[i]]
    wrong.sort(key=lambda i: -float(probs[i, pred[i]]))
    return [
        {
            "index": i,
            "row": examples[i].row,
            "source": describe(examples[i]),
            "true": labels[y_true[i]],
            "pred": labels[int(pred[i])],
            "confidence": round(float(probs[i, pred[i]]), 6),
        }
        for i in wrong[:WRONG_SHOWN]
    ]


def _probabilities(predictor: Predictor, inputs: list, y_true: list[int]) -> tuple:
    """The predictor's (calibrated) probabilities, and the calibration figures before and
    after its temperature when it can give its logits (tuneforge's own predictors); other
    predictors get the figures of what they return."""
    from ..predict import calibrated_softmax

    if not hasattr(predictor, "predict_logits"):
        probs = np.asarray(predictor.predict_proba(inputs))
        return probs, {"temperature": None, "calibrated": False, "after": figures(probs, y_true)}
    logits = np.asarray(predictor.predict_logits(inputs))
    temperature = float(getattr(predictor, "temperature", 1.0))
    calibration = before_and_after(logits, y_true, temperature)
    calibration["calibrated"] = bool(getattr(predictor, "calibrated", False))
    return calibrated_softmax(logits, temperature), calibration


def evaluate(
    predictor: Predictor,
    examples: list[Example] | list[ImageExample],
    split: str = "test",
    source: str = "data",
    slices: Sequence[str] = (),
    seed: int = 0,
) -> EvalReport:
    """Predict ``examples`` (texts or images) and compare with their labels. Unknown labels are
    an error. Confused pairs quote texts, or name images by file or row. ``slices`` are columns
    the examples carry in their ``meta``: the report then has every slice's figures (bootstrap
    seeded with ``seed``)."""
    if not examples:
        raise DataError(f"No examples to evaluate in {source}.")
    groups = example_groups(examples, slices, source) if slices else {}
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
    y_true = [index[e.label] for e in examples]
    probs, calibration = _probabilities(predictor, [model_input(e) for e in examples], y_true)
    y_pred = probs.argmax(axis=1).tolist()
    is_image = isinstance(examples[0], ImageExample)
    return EvalReport(
        split=split,
        metrics=classification_metrics(y_true, y_pred, labels),
        confused=confused_pairs(y_true, y_pred, [describe(e) for e in examples], labels),
        calibration_error=expected_calibration_error(probs, y_true),
        brier_score=brier_score(probs, y_true),
        calibration=calibration,
        wrong_images=_wrong_images(examples, probs, y_true, labels) if is_image else [],
        probs=probs,
        slices=slice_report(y_true, probs, groups, seed=seed) if groups else None,
    )
