"""Predictors of the text models trained from scratch (:mod:`tuneforge.models.text_families`).

One class runs the in-memory model (scikit-learn or torch; its ``logits``), one the ONNX
export through onnxruntime, given the family's ``feed`` (texts → the graph's inputs, the same
normalisation as training). Both apply the run's temperature through
:func:`tuneforge.predict.calibrated_softmax`, like every other predictor. ``tokenizer`` is
None, so occlusion splits the words itself (one CJK character, one Latin word).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


class ScratchTextPredictor:
    """A from-scratch model's Predictor without ONNX (``model.logits``, ``model.labels``)."""

    task = "text"
    tokenizer = None
    max_length = 1 << 20  # reads every character it keeps

    def __init__(self, model: Any, family: str, temperature: float | None = None) -> None:
        self.model = model
        self.family = family
        self.temperature, self.calibrated = (
            (1.0, False) if temperature is None else (float(temperature), True)
        )

    @classmethod
    def from_model(cls, model: Any, directory: str | Path | None = None) -> ScratchTextPredictor:
        from ..predict import artifact_temperature

        found = artifact_temperature(directory) if directory is not None else None
        return cls(model, model.family, found)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels.names

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.logits(list(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from ..predict import calibrated_softmax

        return calibrated_softmax(self.predict_logits(texts), self.temperature)

    def predict(self, texts: Sequence[str], top_k: int = 1) -> list:
        from ..predict import top_k_predictions

        return top_k_predictions(self.predict_proba(texts), self.labels, top_k)

    def unknown_rate(self, texts: Sequence[str]) -> float:
        """Share of characters the model never saw in training."""
        return float(self.model.unknown_rate(list(texts)))


class ScratchOnnxPredictor(ScratchTextPredictor):
    """The exported graph run by onnxruntime, in batches of ``batch_size`` texts."""

    def __init__(
        self,
        artifact_dir: str | Path,
        feed: Callable[[list[str]], dict],
        family: str,
        threads: int = 0,
        spin: bool = True,
        batch_size: int = 64,
    ) -> None:
        from ..predict import artifact_temperature, onnx_session

        self.dir = Path(artifact_dir)
        meta = json.loads((self.dir / "tuneforge.json").read_text("utf-8"))
        self._labels = tuple(meta["labels"])
        self.session = onnx_session(self.dir / "model.onnx", threads, spin)
        self.feed, self.family, self.batch_size = feed, family, batch_size
        found = artifact_temperature(self.dir)
        self.temperature, self.calibrated = (1.0, False) if found is None else (found, True)

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), len(self._labels)), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            out[start : start + len(chunk)] = self.session.run(["logits"], self.feed(chunk))[0]
        return out

    def unknown_rate(self, texts: Sequence[str]) -> float:
        return float("nan")  # measured on the trained model (profile.json), not the export


def write_family_files(out_dir: Path, family: str, labels: Sequence[str]) -> None:
    """What every from-scratch model directory carries beside its weights: tuneforge.json
    (task, family, labels), labels.json and the model card."""
    from .card import write_model_card

    meta = {"task": "text", "family": family, "labels": list(labels)}
    (out_dir / "tuneforge.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), "utf-8")
    (out_dir / "labels.json").write_text(
        json.dumps(list(labels), indent=1, ensure_ascii=False), "utf-8"
    )
    write_model_card(out_dir, {"base_model": family})


def require_files(path: Path, names: Sequence[str], family: str) -> None:
    """A ModelError naming the files a saved ``family`` model lacks, if any."""
    from ..errors import ModelError

    missing = [n for n in names if not (path / n).is_file()]
    if missing:
        raise ModelError(
            f"'{path}' is not a saved {family} model: {', '.join(missing)} missing.",
            hint=f"Point at the artifacts/model directory of a finished {family} run.",
        )
