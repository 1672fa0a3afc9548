"""Temperature scaling: one scalar that makes a classifier's confidences mean what they say.

Fine-tuned networks are usually overconfident; dividing their logits by a temperature T fitted
on held-out data (minimum negative log-likelihood) repairs most of it without changing a single
prediction (the arg-max of ``logits / T`` is the arg-max of ``logits``). The figures here are
pure numpy/scipy over logits or probabilities and label ids: negative log-likelihood, the Brier
score, the expected calibration error and the reliability diagram's bins, before and after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from .metrics import expected_calibration_error

# Search range of T. Below 0.05 or above 20 a fit says more about the validation split (all
# right, or nearly random) than about the model; the bound reached is recorded.
T_MIN, T_MAX = 0.05, 20.0
BINS = 10


def scaled_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` in float64."""
    return softmax(np.asarray(logits, dtype=np.float64) / float(temperature), axis=1)


def negative_log_likelihood(
    logits: np.ndarray, y_true: Sequence[int], temperature: float = 1.0
) -> float:
    """Mean −log p(true label) under ``softmax(logits / temperature)``."""
    y = np.asarray(y_true, dtype=int)
    if y.size == 0:
        return 0.0
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / float(temperature), axis=1)
    return float(-logp[np.arange(y.size), y].mean())


def brier_score(probs: np.ndarray, y_true: Sequence[int]) -> float:
    """Mean squared distance between the probability row and the one-hot true label, summed
    over classes (0 is perfect, 2 the worst): it rewards sharp and right at once, where the
    calibration error only measures the gap between confidence and accuracy."""
    y = np.asarray(y_true, dtype=int)
    if y.size == 0:
        return 0.0
    p = np.asarray(probs, dtype=np.float64)
    onehot = np.zeros_like(p)
    onehot[np.arange(y.size), y] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def fit_temperature(logits: np.ndarray, y_true: Sequence[int]) -> float:
    """The temperature that minimises the negative log-likelihood of ``y_true``.

    A bounded scalar search over log T (Brent's method on a convex 1-D function): log T keeps
    T positive and makes T = 0.5 and T = 2 equally far from 1. No examples: 1.
    """
    y = np.asarray(y_true, dtype=int)
    if y.size == 0:
        return 1.0
    z = np.asarray(logits, dtype=np.float64)
    found = minimize_scalar(
        lambda log_t: negative_log_likelihood(z, y, math.exp(log_t)),
        bounds=(math.log(T_MIN), math.log(T_MAX)),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(math.exp(found.x))


def reliability_bins(probs: np.ndarray, y_true: Sequence[int], bins: int = BINS) -> list[dict]:
    """The reliability diagram's points: per confidence bin (equal width, ``(lo, hi]``), how
    many predictions fall in it, their mean confidence and their accuracy. Empty bins are left
    out (a point without data would be drawn as a measurement)."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true, dtype=int)
    if y.size == 0:
        return []
    conf, hit = p.max(axis=1), p.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            out.append(
                {
                    "lo": round(float(lo), 4),
                    "hi": round(float(hi), 4),
                    "count": int(mask.sum()),
                    "confidence": round(float(conf[mask].mean()), 6),
                    "accuracy": round(float(hit[mask].mean()), 6),
                }
            )
    return out


def figures(probs: np.ndarray, y_true: Sequence[int], nll: float | None = None) -> dict:
    """ECE, Brier score, NLL (when known: it needs the logits behind ``probs``) and the
    reliability bins of one set of probabilities."""
    out: dict = {
        "expected_calibration_error": expected_calibration_error(probs, y_true),
        "brier_score": brier_score(probs, y_true),
    }
    if nll is not None:
        out["nll"] = nll
    out["reliability"] = reliability_bins(probs, y_true)
    return out


def before_and_after(logits: np.ndarray, y_true: Sequence[int], temperature: float) -> dict:
    """The calibration figures of raw softmax (``before``) and of ``softmax(logits / T)``
    (``after``) on one labelled set: what eval.json and calibration.json record."""
    return {
        "temperature": float(temperature),
        "before": figures(
            scaled_probabilities(logits, 1.0),
            y_true,
            negative_log_likelihood(logits, y_true, 1.0),
        ),
        "after": figures(
            scaled_probabilities(logits, temperature),
            y_true,
            negative_log_likelihood(logits, y_true, temperature),
        ),
    }


def fit_record(logits: np.ndarray, y_true: Sequence[int], split: str) -> dict:
    """Fit T on ``split``'s logits and say how it went: calibration.json's content (the
    temperature every predictor applies, the split and its size, the figures before and after,
    and whether the search stopped at a bound of its range).

    A split the model gets entirely right has no minimum: the likelihood only grows as T
    shrinks, and the search would sink towards its lower bound, every confidence near 1. There
    is no evidence to sharpen on, so T stays 1 and ``note`` says why.
    """
    temperature = fit_temperature(logits, y_true)
    at_bound = [math.isclose(temperature, t, rel_tol=1e-3) for t in (T_MIN, T_MAX)]
    note = ""
    y = np.asarray(y_true, dtype=int)
    if y.size and (np.asarray(logits).argmax(axis=1) == y).all():
        temperature = 1.0
        note = (
            f"the model makes no mistake on the {len(y_true)} {split} examples: nothing to "
            "calibrate on, temperature left at 1"
        )
    record = {
        "method": "temperature",
        "fitted_on": split,
        "n": int(len(y_true)),
        **before_and_after(logits, y_true, temperature),
        "at_bound": any(at_bound),
    }
    if note:
        record["note"] = note
    return record


def fit_predictor_temperature(predictor, examples: Sequence, split: str = "val") -> dict:
    """Fit the temperature of ``predictor`` (one of :mod:`tuneforge.predict`, which give their
    logits) on labelled ``examples``: :func:`fit_record` of their logits."""
    from .evaluate import model_input

    index = {name: i for i, name in enumerate(predictor.labels)}
    y = [index[e.label] for e in examples]
    logits = np.asarray(predictor.predict_logits([model_input(e) for e in examples]))
    return fit_record(logits, y, split)
