"""Out-of-scope scores: how much an input looks like the intents a model was trained on.

Every score is "higher = more in scope", so abstention is one rule for all of them: below the
threshold, answer the unknown label. Pure numpy / scikit-learn over logits and pooled features:

- ``msp``: the calibrated maximum softmax probability (in [0, 1]);
- ``energy``: ``T · logsumexp(logits / T)``, the negative free energy (Liu et al., 2020), which
  keeps the logits' scale that the softmax throws away;
- ``mahalanobis``: minus the smallest Mahalanobis distance of the encoder's pooled
  representation to a class mean, with one covariance shared by the classes (Lee et al.,
  2018), fitted on the training split after training (Ledoit–Wolf shrinkage: a few hundred
  examples cannot estimate a 384×384 covariance unaided).

A threshold is chosen on validation texts, all in scope, for a target in-scope recall: the
highest threshold that keeps at least that share of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax

from ..errors import ConfigError

SCORES = ("msp", "energy", "mahalanobis")
PROBABILITY_SCORES = ("msp",)  # thresholds of these must lie in [0, 1]
FEATURE_SCORES = ("mahalanobis",)  # need the encoder's pooled representation


def msp_scores(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Maximum softmax probability of ``logits / temperature``."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1).max(axis=1)


def energy_scores(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Negative free energy ``T · logsumexp(logits / T)``."""
    z = np.asarray(logits, dtype=np.float64)
    return temperature * logsumexp(z / temperature, axis=1)


@dataclass(frozen=True)
class ClassGaussians:
    """Class means and the shared precision (inverse covariance) of pooled features."""

    means: np.ndarray  # classes × width
    precision: np.ndarray  # width × width

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Minus the smallest squared Mahalanobis distance to a class mean, per row."""
        x = np.asarray(features, dtype=np.float64)
        best = np.full(len(x), np.inf)
        for mean in self.means:
            d = x - mean
            best = np.minimum(best, np.einsum("ij,jk,ik->i", d, self.precision, d))
        return -best


def fit_class_gaussians(features: np.ndarray, y: Sequence[int], n_classes: int) -> ClassGaussians:
    """Class means and a Ledoit–Wolf shared covariance of the class-centred features; a class
    without training examples gets the overall mean (it can then never be the nearest for
    long)."""
    from sklearn.covariance import LedoitWolf

    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(y, dtype=int)
    overall = x.mean(axis=0)
    means = np.stack(
        [x[labels == c].mean(axis=0) if (labels == c).any() else overall for c in range(n_classes)]
    )
    centred = x - means[labels]
    estimator = LedoitWolf(assume_centered=True).fit(centred)
    return ClassGaussians(means=means, precision=estimator.precision_)


def threshold_for_recall(in_scope: np.ndarray, recall: float) -> float:
    """The highest threshold that keeps at least ``recall`` of the in-scope ``scores`` (an
    input is kept when its score is at or above the threshold)."""
    if not (0.0 < recall <= 1.0) or not math.isfinite(recall):
        raise ConfigError(
            f"--in-scope-recall {recall}: no threshold can keep that share of in-scope inputs.",
            hint="Give a share above 0 and at most 1, e.g. --in-scope-recall 0.95.",
        )
    scores = np.sort(np.asarray(in_scope, dtype=np.float64))
    if scores.size == 0:
        raise ConfigError("No in-scope validation scores to choose a threshold on.")
    # Keeping k = ceil(recall · n) of n scores: the threshold is the k-th largest.
    k = max(1, math.ceil(recall * scores.size - 1e-9))
    return float(scores[scores.size - k])


def check_threshold(score: str, threshold: float) -> None:
    """A probability score's threshold must be a probability."""
    if not math.isfinite(threshold):
        raise ConfigError(f"--threshold {threshold} is not a number.")
    if score in PROBABILITY_SCORES and not 0.0 <= threshold <= 1.0:
        raise ConfigError(
            f"--threshold {threshold}: the {score} score is a probability, so its threshold "
            "must lie in [0, 1].",
            hint="e.g. --threshold 0.5, or --in-scope-recall 0.95 to choose it on validation.",
        )


def check_score(score: str) -> None:
    if score not in SCORES:
        raise ConfigError(
            f"Unknown out-of-scope score '{score}'.", hint=f"Known: {', '.join(SCORES)}."
        )


def recall_at(in_scope: np.ndarray, threshold: float) -> float:
    """The share of in-scope scores kept by ``threshold``."""
    scores = np.asarray(in_scope, dtype=np.float64)
    return float((scores >= threshold).mean()) if scores.size else 0.0


def open_set_figures(
    scores: np.ndarray, in_scope: np.ndarray, correct: np.ndarray, threshold: float
) -> dict:
    """How an abstention rule does on labelled data holding in-scope and unknown inputs.

    ``in_scope``: whether each row's true label is one of the model's; ``correct``: whether
    the model's label was right (in-scope rows). In-scope accuracy counts an abstention on an
    in-scope row as a mistake; the closed-set accuracy ignores abstention. AUROC and the
    unknown share kept at 95% in-scope recall (FPR@95) judge the score itself, threshold-free.
    """
    s = np.asarray(scores, dtype=np.float64)
    inside = np.asarray(in_scope, dtype=bool)
    right = np.asarray(correct, dtype=bool)
    kept = s >= threshold
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    out: dict = {
        "threshold": float(threshold),
        "n_in_scope": n_in,
        "n_unknown": n_out,
        "abstained_share": float((~kept).mean()) if s.size else 0.0,
        "in_scope_recall": float(kept[inside].mean()) if n_in else None,
        "closed_set_accuracy": float(right[inside].mean()) if n_in else None,
        "in_scope_accuracy": float((right & kept)[inside].mean()) if n_in else None,
    }
    if n_out:
        abstained = ~kept
        out["unknown_recall"] = float(abstained[~inside].mean())
        out["unknown_precision"] = (
            float((~inside & abstained).sum() / abstained.sum()) if abstained.any() else None
        )
    if n_in and n_out:
        from sklearn.metrics import roc_auc_score

        out["auroc"] = float(roc_auc_score(inside, s))
        at95 = threshold_for_recall(s[inside], 0.95)
        out["fpr_at_95_recall"] = float((s[~inside] >= at95).mean())
    return out
