"""Text models trained from scratch, for any script: one row per family, and the automatic
choice between them.

A row says how ``--model NAME`` names the family, how to build an untrained model for a run's
labels, train it on the run's splits, save it, and which release variants it has. When the
packaged encoder does not cover the data's language and no ``--model`` is given,
:func:`choose` trains every candidate and keeps the most accurate on the validation split
(ties: the earlier row, the cheaper model), with the figures that decided it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..types import DatasetSplits, LabelMap


@dataclass(frozen=True)
class TextFamily:
    name: str
    summary: str
    build: Callable[[LabelMap], Any]  # labels -> untrained model
    train: Callable[[Any, DatasetSplits], Any]  # (model, splits) -> TrainResult, fits in place
    save: Callable[[Any, Path], Path]
    predictor: Callable[[Any], Any]  # in-memory model -> Predictor (validation accuracy)
    variants: tuple[str, ...] = ("onnx-fp32",)


def _tfidf_build(labels: LabelMap) -> Any:
    from .tfidf import empty_model

    return empty_model(labels)


def _tfidf_train(cm: Any, data: DatasetSplits) -> Any:
    from .tfidf import train_linear

    return train_linear(cm, data)


def _tfidf_save(cm: Any, out: Path) -> Path:
    from .tfidf import save_linear

    return save_linear(cm, out)


def _tfidf_predictor(cm: Any) -> Any:
    from .tfidf import LinearTextPredictor

    return LinearTextPredictor(cm)


FAMILIES: dict[str, TextFamily] = {
    f.name: f
    for f in (
        TextFamily(
            "tfidf-linear",
            "character 1-3-gram TF-IDF with a linear SVM (scikit-learn), C chosen on validation",
            _tfidf_build,
            _tfidf_train,
            _tfidf_save,
            _tfidf_predictor,
        ),
    )
}
AUTO_CANDIDATES: tuple[str, ...] = tuple(FAMILIES)


def family_of_model(cm: Any) -> TextFamily | None:
    """The family row of an in-memory model (None: a Hugging Face encoder)."""
    return FAMILIES.get(str(getattr(cm, "family", "")))


@dataclass
class AutoChoice:
    """What ``train`` fits when it picks the model itself: the candidates' names, and after
    training the winner and the figures (``record``, kept in status.json and the report)."""

    labels: LabelMap
    candidates: tuple[str, ...] = AUTO_CANDIDATES
    reason: str = ""
    chosen: Any = None
    record: dict = field(default_factory=dict)
    method: str = "full"
    family: str = "auto"


def val_accuracy(predictor: Any, examples: list) -> float:
    """Accuracy on ``examples`` (0 when there are none)."""
    if not examples:
        return 0.0
    probs = predictor.predict_proba([e.text for e in examples])
    index = {n: i for i, n in enumerate(predictor.labels)}
    truth = np.array([index.get(e.label, -1) for e in examples])
    return float((probs.argmax(1) == truth).mean())


def choose(auto: AutoChoice, data: DatasetSplits, log: Callable[[str], None]) -> Any:
    """Train every candidate, keep the best on validation; returns the winner's TrainResult
    (its training time is the whole choice's)."""
    start = time.perf_counter()
    scores: dict[str, dict] = {}
    best = None
    for name in auto.candidates:
        family = FAMILIES[name]
        cm = family.build(data.labels)
        result = family.train(cm, data)
        accuracy = val_accuracy(family.predictor(cm), data.val)
        scores[name] = {
            "val_accuracy": round(accuracy, 6),
            "train_seconds": round(result.train_seconds, 2),
        }
        log(f"candidate {name}: validation accuracy {accuracy:.4f} ({result.train_seconds:.1f}s)")
        if best is None or accuracy > best[0]:
            best = (accuracy, name, cm, result)
    accuracy, name, cm, result = best
    auto.chosen = cm
    others = ", ".join(f"{n} {s['val_accuracy']:.4f}" for n, s in scores.items() if n != name)
    why = f"highest validation accuracy ({accuracy:.4f}" + (f"; {others})" if others else ")")
    auto.record = {
        "chosen": name,
        "why": why,
        "trigger": auto.reason,
        "candidates": scores,
        "n_val": len(data.val),
    }
    log(f"model choice: {name} — {why}. Pass --model to choose yourself.")
    result.train_seconds = time.perf_counter() - start
    return result
