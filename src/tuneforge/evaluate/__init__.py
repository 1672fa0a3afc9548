"""The evaluation stage: metrics, the TF-IDF baseline, and evaluate(predictor, examples)."""

from .baseline import tfidf_baseline
from .evaluate import EvalReport, evaluate
from .metrics import accuracy_and_macro_f1, classification_metrics, confused_pairs

__all__ = [
    "EvalReport",
    "accuracy_and_macro_f1",
    "classification_metrics",
    "confused_pairs",
    "evaluate",
    "tfidf_baseline",
]
