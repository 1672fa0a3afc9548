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
    """``module`` holds ``empty_model(labels)``, the train, save and open functions named by
    the other fields, and the ONNX export."""

    name: str
    summary: str
    module: str  # under tuneforge.models, imported when the family is used
    train: str  # (model, splits) -> TrainResult, fits the model in place
    save: str  # (model, directory) -> directory
    open: str  # (directory, spin) -> Predictor: the saved model, or its ONNX export
    export_onnx: str  # tuneforge.compress module: (model directory, out directory) -> out
    variants: tuple[str, ...] = ("onnx-fp32",)

    def function(self, field_name: str) -> Callable:
        """The family's function for ``field_name`` (``build``: its ``empty_model``)."""
        from importlib import import_module

        if field_name == "export_onnx":
            module, name = self.export_onnx.split(":")
            return getattr(import_module(f"tuneforge.compress.{module}"), name)
        name = getattr(self, field_name) if field_name != "build" else "empty_model"
        return getattr(import_module(f"tuneforge.models.{self.module}"), name)

    def build(self, labels: LabelMap) -> Any:
        return self.function("build")(labels)

    def fit(self, cm: Any, data: DatasetSplits) -> Any:
        return self.function("train")(cm, data)

    def predictor(self, cm: Any) -> Any:
        from .scratch import ScratchTextPredictor

        return ScratchTextPredictor.from_model(cm)


FAMILIES: dict[str, TextFamily] = {
    f.name: f
    for f in (
        TextFamily(
            "tfidf-linear",
            "character 1-3-gram TF-IDF with a linear SVM (scikit-learn), C chosen on validation",
            "tfidf",
            "train_linear",
            "save_linear",
            "open_linear",
            "tfidf_export:export_tfidf_onnx",
        ),
        TextFamily(
            "char-cnn",
            "a compact character CNN (embedding, 2/3/4-character convolutions) from scratch",
            "char_cnn",
            "train_char_cnn",
            "save_char_cnn",
            "open_char_cnn",
            "char_cnn_export:export_char_cnn_onnx",
        ),
    )
}
AUTO_CANDIDATES: tuple[str, ...] = tuple(FAMILIES)


def family_of_dir(directory: str | Path) -> TextFamily | None:
    """The family a saved directory's tuneforge.json names (None: not a from-scratch text
    model)."""
    import json

    try:
        meta = json.loads((Path(directory) / "tuneforge.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return FAMILIES.get(str(meta.get("family") or "")) if isinstance(meta, dict) else None


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
        result = family.fit(cm, data)
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
    why = _why(name, accuracy, scores)
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


def _why(name: str, accuracy: float, scores: dict[str, dict]) -> str:
    """The reason in words, with every candidate's figure."""
    others = {n: f["val_accuracy"] for n, f in scores.items() if n != name}
    shown = "; ".join(f"{n} {a:.4f}" for n, a in others.items())
    if any(round(accuracy, 6) == a for a in others.values()):
        return f"tied on validation accuracy ({accuracy:.4f}; {shown}): the first, cheaper one"
    return f"highest validation accuracy ({accuracy:.4f}" + (f"; {shown})" if shown else ")")
