"""The evaluation stage: metrics, the TF-IDF baseline, and evaluate(predictor, examples)."""

from .baseline import tfidf_baseline
from .evaluate import EvalReport, evaluate
from .metrics import accuracy_and_macro_f1, classification_metrics, confused_pairs
from .slice_gate import SliceDecision, slice_gate
from .slices import ColumnSlices, SliceReport, SliceStats, slice_report

__all__ = [
    "ColumnSlices",
    "EvalReport",
    "SliceDecision",
    "SliceReport",
    "SliceStats",
    "accuracy_and_macro_f1",
    "classification_metrics",
    "confused_pairs",
    "evaluate",
    "slice_gate",
    "slice_report",
    "tfidf_baseline",
]
