"""Pure metric functions over label ids (scikit-learn underneath)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def accuracy_and_macro_f1(y_true: Sequence[int], y_pred: Sequence[int]) -> tuple[float, float]:
    """Accuracy and macro-F1 over the classes present in either sequence."""
    if len(y_true) == 0:
        return 0.0, 0.0
    return (
        float(accuracy_score(y_true, y_pred)),
        float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    )


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]
) -> dict:
    """Accuracy, macro/weighted F1, per-class P/R/F1/support and the confusion matrix.

    Macro averages run over the labels that occur in ``y_true``: a class absent from the
    evaluation data has no recall to average, and counting it as 0 would punish the model for
    the data's gaps.
    """
    ids = list(range(len(labels)))
    present = sorted(set(y_true))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, zero_division=0
    )
    per_class = {
        labels[i]: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in ids
    }
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)
        ),
        "labels": list(labels),
        "per_class": per_class,
        "confusion": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
    }


def confused_pairs(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    texts: Sequence[str],
    labels: Sequence[str],
    top: int = 10,
    examples: int = 3,
) -> list[dict]:
    """The most frequent (true → predicted) mistakes, with a few example texts each."""
    counts = Counter((t, p) for t, p in zip(y_true, y_pred) if t != p)
    out = []
    for (t, p), count in counts.most_common(top):
        sample = [texts[i] for i in range(len(texts)) if y_true[i] == t and y_pred[i] == p]
        out.append(
            {"true": labels[t], "pred": labels[p], "count": count, "examples": sample[:examples]}
        )
    return out


def expected_calibration_error(probs: np.ndarray, y_true: Sequence[int], bins: int = 10) -> float:
    """Gap between confidence and accuracy, averaged over confidence bins."""
    if len(y_true) == 0:
        return 0.0
    correct = probs.argmax(axis=1) == np.asarray(y_true)
    return calibration_error(probs.max(axis=1), correct, bins)


def calibration_error(
    confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """Expected calibration error from each prediction's confidence and whether it was right
    (what a slice of the data holds, without its full probability rows)."""
    conf, hit = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    if conf.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(hit[mask].mean() - conf[mask].mean())
    return float(ece)
