"""A TF-IDF + linear SVM baseline on the same splits: the bar a fine-tuned model must clear."""

from __future__ import annotations

from ..types import Example
from .metrics import accuracy_and_macro_f1


def tfidf_baseline(train: list[Example], test: list[Example]) -> dict:
    """Fit word 1-2-gram + char 2-5-gram TF-IDF with LinearSVC; return its test metrics."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    if not train or not test or len({e.label for e in train}) < 2:
        return {}
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        ),
        LinearSVC(C=1.0),
    )
    model.fit([e.text for e in train], [e.label for e in train])
    predicted = model.predict([e.text for e in test]).tolist()
    names = sorted({e.label for e in train} | {e.label for e in test})
    index = {n: i for i, n in enumerate(names)}
    acc, macro_f1 = accuracy_and_macro_f1(
        [index[e.label] for e in test], [index[p] for p in predicted]
    )
    return {"name": "tfidf-linear-svm", "accuracy": acc, "macro_f1": macro_f1}
