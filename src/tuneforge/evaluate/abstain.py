"""Abstention: a predictor's answers, with the unknown label wherever an out-of-scope score
(:mod:`tuneforge.evaluate.ood`) is below a threshold.

What the scores need is fitted once per run and kept beside the trained model (``ood.npz``:
the validation split's in-scope scores, to choose thresholds for a target recall, and the
class means and shared precision of the pooled features for ``mahalanobis``), at the end of
``train`` or by ``tuneforge calibrate RUN`` for older runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelError
from ..types import Prediction
from .ood import (
    FEATURE_SCORES,
    ClassGaussians,
    check_score,
    check_threshold,
    energy_scores,
    fit_class_gaussians,
    msp_scores,
    recall_at,
    threshold_for_recall,
)

DEFAULT_UNKNOWN = "unknown"
DEFAULT_RECALL = 0.95


def fit_scores(
    predictor, train: Sequence, val: Sequence, oos_label: str | None = None
) -> dict[str, np.ndarray]:
    """The arrays of ood.npz for ``predictor`` (calibrated already): validation scores of every
    score it can give, and the class Gaussians when it can embed (torch text models).
    Examples labelled ``oos_label`` (a class of out-of-scope examples the model was trained
    with) are left out: thresholds keep a share of in-scope inputs, and the Gaussians describe
    the in-scope classes only."""
    from .evaluate import model_input

    if oos_label is not None:
        train = [e for e in train if e.label != oos_label]
        val = [e for e in val if e.label != oos_label]
    temperature = float(getattr(predictor, "temperature", 1.0))
    val_inputs = [model_input(e) for e in val]
    logits = np.asarray(predictor.predict_logits(val_inputs))
    arrays = {
        "temperature": np.array(temperature),
        "val_msp": msp_scores(logits, temperature),
        "val_energy": energy_scores(logits, temperature),
    }
    if oos_label is not None:
        arrays["oos_label"] = np.array(oos_label)
    if getattr(predictor, "embeds", False) and train:
        classes = [name for name in predictor.labels if name != oos_label]
        index = {name: i for i, name in enumerate(classes)}
        features = np.asarray(predictor.embed([model_input(e) for e in train]))
        gaussians = fit_class_gaussians(features, [index[e.label] for e in train], len(classes))
        arrays["means"] = gaussians.means.astype(np.float32)
        arrays["precision"] = gaussians.precision.astype(np.float32)
        arrays["val_mahalanobis"] = gaussians.scores(np.asarray(predictor.embed(val_inputs)))
    return arrays


def write_scores(directory: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """ood.npz beside a saved model (no pickles)."""
    from ..store.rundir import artifact_ood_path

    path = artifact_ood_path(directory)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def read_scores(directory: str | Path) -> dict[str, np.ndarray] | None:
    """ood.npz of a saved model, or None when it has none."""
    from ..store.rundir import artifact_ood_path

    path = artifact_ood_path(directory)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{path} cannot be read ({exc}).", hint="Fit it again with 'tuneforge calibrate RUN'."
        ) from None


@dataclass(frozen=True)
class Abstention:
    """How to abstain: below ``threshold`` of ``score``, answer ``unknown_label``.
    ``val_recall``: the share of validation inputs (all in scope) kept at that threshold."""

    score: str
    threshold: float
    unknown_label: str
    val_recall: float

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "threshold": self.threshold,
            "unknown_label": self.unknown_label,
            "val_recall": self.val_recall,
        }


class Abstainer:
    """A predictor with its fitted scores and one abstention rule."""

    def __init__(self, predictor, arrays: dict[str, np.ndarray], rule: Abstention) -> None:
        self.predictor = predictor
        self.arrays = arrays
        self.rule = rule
        self.gaussians = (
            ClassGaussians(arrays["means"], arrays["precision"]) if "means" in arrays else None
        )
        # The class of out-of-scope examples the model was trained with (--oos-label), if any.
        self.oos_label = str(arrays["oos_label"]) if "oos_label" in arrays else None

    def scores(self, inputs: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated probabilities, the rule's score) of ``inputs``."""
        from ..predict import calibrated_softmax

        temperature = float(getattr(self.predictor, "temperature", 1.0))
        logits = np.asarray(self.predictor.predict_logits(list(inputs)))
        probs = calibrated_softmax(logits, temperature)
        if self.rule.score == "msp":
            return probs, probs.max(axis=1).astype(np.float64)
        if self.rule.score == "energy":
            return probs, energy_scores(logits, temperature)
        return probs, self.gaussians.scores(np.asarray(self.predictor.embed(list(inputs))))

    def rows(self, inputs: Sequence) -> np.ndarray:
        """One row per input: its probabilities, then its score (what a server's micro-batcher
        hands back, so the score costs no second forward pass)."""
        probs, scores = self.scores(inputs)
        return np.hstack([probs.astype(np.float64), scores[:, None]])

    def decide(self, probs: np.ndarray, scores: np.ndarray, top_k: int = 1) -> list[Prediction]:
        """Predictions with the unknown label where the score is below the threshold; each
        carries its out-of-scope score and whether it abstained."""
        from ..predict import top_k_predictions

        out = []
        for p, s in zip(top_k_predictions(probs, self.predictor.labels, top_k), scores):
            abstained = bool(s < self.rule.threshold) or p.label == self.oos_label
            label = self.rule.unknown_label if abstained else p.label
            out.append(Prediction(label, p.score, p.top_k, ood_score=float(s), abstained=abstained))
        return out

    def predict(self, inputs: Sequence, top_k: int = 1) -> list[Prediction]:
        return self.decide(*self.scores(inputs), top_k=top_k)


def plan_abstention(
    predictor,
    artifact_dir: str | Path,
    score: str,
    *,
    threshold: float | None = None,
    recall: float | None = None,
    unknown_label: str = DEFAULT_UNKNOWN,
    run_ref: str = "RUN",
) -> Abstainer:
    """Check the request before anything is predicted and choose the threshold: given, or the
    highest that keeps ``recall`` (default 0.95) of the validation inputs."""
    check_score(score)
    if threshold is not None and recall is not None:
        raise ConfigError("Give --threshold or --in-scope-recall, not both.")
    if threshold is not None:
        check_threshold(score, threshold)
    arrays = read_scores(artifact_dir)
    trained_oos = str(arrays["oos_label"]) if arrays is not None and "oos_label" in arrays else None
    if unknown_label in predictor.labels and unknown_label != trained_oos:
        raise ConfigError(
            f"--unknown-label '{unknown_label}' is one of the model's labels: an abstention "
            "would read as that intent.",
            hint="Choose another name, e.g. --unknown-label out_of_scope.",
        )
    if arrays is None:
        raise ModelError(
            f"{artifact_dir} has no fitted out-of-scope scores (trained before abstention "
            "existed).",
            hint=f"Fit them without retraining: tuneforge calibrate {run_ref}",
        )
    if score in FEATURE_SCORES and (
        "means" not in arrays or not getattr(predictor, "embeds", False)
    ):
        raise ModelError(
            f"The {score} score needs the encoder's pooled representation, which this model "
            "(an image model, or an ONNX file exported before it carried the embedding) does "
            "not give.",
            hint="Use --abstain msp or energy, the run's trained model, or export it again.",
        )
    val = arrays[f"val_{score}"]
    chosen = (
        threshold
        if threshold is not None
        else threshold_for_recall(val, recall if recall is not None else DEFAULT_RECALL)
    )
    rule = Abstention(score, float(chosen), unknown_label, recall_at(val, chosen))
    return Abstainer(predictor, arrays, rule)
