"""Simple baselines on the same splits: the bar a trained model must clear.

Texts: TF-IDF + linear SVM (character n-grams for text without spaces). Images: logistic
regression on raw pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import Example
from .metrics import accuracy_and_macro_f1


def tfidf_features(texts: list[str]):
    """Word 1-2-grams with char 2-5-grams inside words; for text written without spaces
    (Chinese, Japanese, Thai: most letters in such scripts), character 1-3-grams alone, since a
    "word" there is a whole sentence. Returns (vectorizer, name)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    from ..data.language import is_spaceless, script_shares

    if is_spaceless(script_shares(texts)):
        chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        return chars, "tfidf-char-linear-svm"
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    pieces = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    return make_union(words, pieces), "tfidf-linear-svm"


def tfidf_baseline(train: list[Example], test: list[Example]) -> dict:
    """Fit TF-IDF (:func:`tfidf_features`) with LinearSVC; return its test metrics."""
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    if not train or not test or len({e.label for e in train}) < 2:
        return {}
    features, name = tfidf_features([e.text for e in train])
    model = make_pipeline(features, LinearSVC(C=1.0))
    model.fit([e.text for e in train], [e.label for e in train])
    predicted = model.predict([e.text for e in test]).tolist()
    names = sorted({e.label for e in train} | {e.label for e in test})
    index = {n: i for i, n in enumerate(names)}
    acc, macro_f1 = accuracy_and_macro_f1(
        [index[e.label] for e in test], [index[p] for p in predicted]
    )
    return {"name": name, "accuracy": acc, "macro_f1": macro_f1}


PIXEL_BASELINE_MAX_TRAIN = 5000  # a linear model's bar needs no more; keeps it to seconds


def pixel_baseline(
    train: np.ndarray, train_labels: Sequence[str], test: np.ndarray, test_labels: Sequence[str]
) -> dict:
    """Logistic regression on flattened 0–1 pixels (N×D uint8 in): what an image model gains
    over a linear model of the same inputs. Trains on at most 5,000 images (a seeded sample)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    if not len(train) or not len(test) or len(set(train_labels)) < 2:
        return {}
    y = np.asarray(train_labels)
    if len(train) > PIXEL_BASELINE_MAX_TRAIN:
        keep = np.random.default_rng(0).choice(len(train), PIXEL_BASELINE_MAX_TRAIN, replace=False)
        train, y = train[keep], y[keep]
    model = LogisticRegression(max_iter=200)
    with warnings.catch_warnings():  # a baseline stopped at 200 iterations is still a bar
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train.astype(np.float32) / 255.0, y)
    predicted = model.predict(test.astype(np.float32) / 255.0).tolist()
    names = sorted(set(y.tolist()) | set(test_labels))
    index = {n: i for i, n in enumerate(names)}
    acc, macro_f1 = accuracy_and_macro_f1(
        [index[t] for t in test_labels], [index[p] for p in predicted]
    )
    return {"name": "pixel-logistic-regression", "accuracy": acc, "macro_f1": macro_f1}


BEATEN_ADVICE = (
    "check the labels (tuneforge label audit FILE)",
    "train longer or with a larger step (train.epochs=20, --lr 5e-4)",
    "try another encoder (--model DIR), one that knows the data's language",
    "or serve the baseline's kind of model: it is this data's bar",
)


def baseline_verdict(metrics: dict) -> dict | None:
    """When the run's own baseline is more accurate than the trained model on the evaluated
    split: the figures and what to try (None when the model clears its bar). A trained model
    that loses to a linear model of the same data is the failure users miss most, since the run
    itself succeeded."""
    base = metrics.get("baseline") if isinstance(metrics.get("baseline"), dict) else None
    if not base or not isinstance(base.get("accuracy"), (int, float)):
        return None
    gap = 100 * (float(base["accuracy"]) - float(metrics["accuracy"]))
    if gap <= 0:
        return None
    return {
        "baseline": base.get("name", "baseline"),
        "baseline_accuracy": round(float(base["accuracy"]), 6),
        "model_accuracy": round(float(metrics["accuracy"]), 6),
        "gap_points": round(gap, 2),
        "advice": list(BEATEN_ADVICE),
    }


def verdict_message(verdict: dict, split: str) -> str:
    """The console's loud line for :func:`baseline_verdict`."""
    return (
        f"WARNING: the baseline {verdict['baseline']} beats the trained model on the {split} "
        f"split by {verdict['gap_points']:.1f} points of accuracy "
        f"({verdict['baseline_accuracy']:.4f} vs {verdict['model_accuracy']:.4f}). Try: "
        + "; ".join(verdict["advice"])
        + "."
    )
