"""Evaluation per slice: how a model does for each value of a column (a region, a channel, a
text-length bucket), set against its overall figure.

fairlearn's MetricFrame does the grouping and the per-slice metrics. The confidence interval of
each slice's accuracy gap is computed here rather than by MetricFrame's own bootstrap
(``n_boot``): that one recomputes every metric of every group with pandas for each replicate
(seconds per thousand replicates on a 3,000-row set) and gives intervals of the group figures,
not of their gap to the overall figure, which is what a reader and the release gate judge.

The interval is a stratified bootstrap: each slice's rows are resampled with replacement (its
size fixed), and a replicate's overall accuracy is the support-weighted mean of its slices, so
a slice's gap keeps the slice's own share of the overall figure. For accuracy, the number of
correct rows in a resample of m rows is Binomial(m, p̂): it is drawn directly instead of
resampling row by row. Seeded per column, so the same data gives the same interval. Under
:data:`MIN_JUDGED_SUPPORT` rows the bootstrap itself is unreliable (a 3-row slice that is all
wrong has no spread to resample), so such slices are shown but never named worst or judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .metrics import calibration_error

MAX_SLICES = 50  # values shown per column; the rest are grouped as OTHER
OTHER = "(other)"
MIN_JUDGED_SUPPORT = 10
REPLICATES = 2000
CONFIDENCE = 0.95
METRICS = ("accuracy", "macro_f1", "mean_confidence", "calibration_error")


@dataclass(frozen=True)
class SliceStats:
    """One value of a slice column: its rows' figures and its gap to the overall accuracy
    (slice − overall, negative when the slice does worse) with bootstrap intervals."""

    value: str
    support: int
    accuracy: float
    macro_f1: float
    mean_confidence: float
    calibration_error: float
    accuracy_gap: float
    accuracy_gap_ci: tuple[float, float]
    accuracy_ci: tuple[float, float]
    macro_f1_gap: float
    judged: bool  # enough rows (MIN_JUDGED_SUPPORT) to be named worst or fail a gate

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("value", "support", "judged")}
        for key in (*METRICS, "accuracy_gap", "macro_f1_gap"):
            out[key] = round(float(getattr(self, key)), 6)
        out["accuracy_gap_ci"] = [round(float(x), 6) for x in self.accuracy_gap_ci]
        out["accuracy_ci"] = [round(float(x), 6) for x in self.accuracy_ci]
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> SliceStats:
        return cls(
            value=str(d["value"]),
            support=int(d["support"]),
            **{k: float(d[k]) for k in (*METRICS, "accuracy_gap", "macro_f1_gap")},
            accuracy_gap_ci=(float(d["accuracy_gap_ci"][0]), float(d["accuracy_gap_ci"][1])),
            accuracy_ci=(float(d["accuracy_ci"][0]), float(d["accuracy_ci"][1])),
            judged=bool(d.get("judged", int(d["support"]) >= MIN_JUDGED_SUPPORT)),
        )


@dataclass(frozen=True)
class ColumnSlices:
    """Every slice of one column, most rows first; ``worst`` is the judged slice with the
    lowest accuracy (None when no slice has enough rows); ``note`` says what the cap grouped."""

    column: str
    slices: list[SliceStats]
    n_values: int  # distinct values before the cap
    worst: str | None = None
    note: str = ""

    @property
    def worst_slice(self) -> SliceStats | None:
        return next((s for s in self.slices if s.value == self.worst), None)

    def to_dict(self) -> dict:
        return {
            "n_values": self.n_values,
            "worst": self.worst,
            "note": self.note,
            "slices": [s.to_dict() for s in self.slices],
        }

    @classmethod
    def from_dict(cls, column: str, d: Mapping) -> ColumnSlices:
        slices = [SliceStats.from_dict(s) for s in d["slices"]]
        return cls(
            column, slices, int(d.get("n_values", len(slices))), d.get("worst"), d.get("note", "")
        )


@dataclass(frozen=True)
class SliceReport:
    """Slices of one evaluation; ``to_dict()`` is the ``slices`` entry of eval.json."""

    overall: dict
    columns: dict[str, ColumnSlices]
    replicates: int = REPLICATES
    confidence: float = CONFIDENCE
    seed: int = 0
    min_judged_support: int = MIN_JUDGED_SUPPORT
    max_values: int = MAX_SLICES

    @property
    def notes(self) -> list[str]:
        """What the cap grouped, per column that needed it."""
        return [c.note for c in self.columns.values() if c.note]

    def to_dict(self) -> dict:
        return {
            "overall": self.overall,
            "bootstrap": {
                "replicates": self.replicates,
                "confidence": self.confidence,
                "seed": self.seed,
                "method": "stratified: each slice's rows resampled with replacement",
            },
            "min_judged_support": self.min_judged_support,
            "max_values": self.max_values,
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }


def cap_values(values: Sequence[str], column: str, max_values: int = MAX_SLICES):
    """(values with the rarest grouped as OTHER, distinct values before, a note saying so).

    A column with more than ``max_values`` values (an id, a free-text field) would give
    hundreds of one-row slices that no reader can weigh: the ``max_values - 1`` most frequent
    stay, the rest become one OTHER slice, and the note says how many values and rows it took.
    """
    counts = Counter(values)
    if len(counts) <= max_values:
        return list(values), len(counts), ""
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    kept = set(ranked[: max_values - 1])
    grouped = [v if v in kept else OTHER for v in values]
    n_rows = sum(counts[v] for v in ranked[max_values - 1 :])
    note = (
        f"'{column}' has {len(counts)} distinct values, more than the {max_values} slices "
        f"shown: the {max_values - 1} most frequent are kept and the other "
        f"{len(counts) - max_values + 1} ({n_rows} rows) grouped as '{OTHER}'. Bin the column "
        "(e.g. length buckets) for slices that mean something."
    )
    return grouped, len(counts), note


def _macro_f1(y_true, y_pred) -> float:
    """Macro-F1 over the classes present in the slice's labels, as the overall figure is."""
    from sklearn.metrics import f1_score

    present = sorted(set(np.asarray(y_true).tolist()))
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def _accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0


def _mean_confidence(y_true, y_pred, confidence) -> float:
    return float(np.mean(confidence)) if len(confidence) else 0.0


def _calibration(y_true, y_pred, confidence) -> float:
    return calibration_error(confidence, np.asarray(y_true) == np.asarray(y_pred))


def _metric_frame(y_true: np.ndarray, y_pred: np.ndarray, conf: np.ndarray, groups, column: str):
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    return MetricFrame(
        metrics={
            "accuracy": _accuracy,
            "macro_f1": _macro_f1,
            "mean_confidence": _mean_confidence,
            "calibration_error": _calibration,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=pd.Series(list(groups), name=column, dtype=object),
        sample_params={
            "mean_confidence": {"confidence": conf},
            "calibration_error": {"confidence": conf},
        },
    )


def _bootstrap(
    accuracy: np.ndarray, support: np.ndarray, replicates: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(gap intervals, accuracy intervals), each (k, 2), of k slices that partition the data."""
    rng = np.random.default_rng(seed)
    draws = rng.binomial(support[:, None], accuracy[:, None], size=(len(support), replicates))
    acc = draws / support[:, None]
    overall = (draws.sum(axis=0) / support.sum())[None, :]
    tail = 100 * (1 - confidence) / 2
    gap_ci = np.percentile(acc - overall, [tail, 100 - tail], axis=1).T
    acc_ci = np.percentile(acc, [tail, 100 - tail], axis=1).T
    return gap_ci, acc_ci


def column_slices(
    column: str,
    values: Sequence[str],
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    max_values: int = MAX_SLICES,
    replicates: int = REPLICATES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[ColumnSlices, dict]:
    """One column's slices, and the overall figures they are set against."""
    grouped, n_values, note = cap_values(values, column, max_values)
    y_pred, conf = probs.argmax(axis=1), probs.max(axis=1)
    frame = _metric_frame(y_true, y_pred, conf, grouped, column)
    by_group, overall = frame.by_group, frame.overall
    support_of = Counter(grouped)
    order = sorted(by_group.index, key=lambda v: (-support_of[v], str(v)))
    support = np.array([support_of[v] for v in order])
    accuracy = np.array([by_group.loc[v, "accuracy"] for v in order], dtype=float)
    gap_ci, acc_ci = _bootstrap(accuracy, support, replicates, confidence, seed)
    slices = [
        SliceStats(
            value=str(v),
            support=int(m),
            **{k: float(by_group.loc[v, k]) for k in METRICS},
            accuracy_gap=float(by_group.loc[v, "accuracy"] - overall["accuracy"]),
            accuracy_gap_ci=(float(gap_ci[i, 0]), float(gap_ci[i, 1])),
            accuracy_ci=(float(acc_ci[i, 0]), float(acc_ci[i, 1])),
            macro_f1_gap=float(by_group.loc[v, "macro_f1"] - overall["macro_f1"]),
            judged=bool(m >= MIN_JUDGED_SUPPORT),
        )
        for i, (v, m) in enumerate(zip(order, support))
    ]
    judged = [s for s in slices if s.judged]
    worst = min(judged, key=lambda s: (s.accuracy, -s.support)).value if judged else None
    figures = {"n": int(len(y_true)), **{k: round(float(overall[k]), 6) for k in METRICS}}
    return ColumnSlices(column, slices, n_values, worst, note), figures


def slice_report(
    y_true: Sequence[int],
    probs: np.ndarray,
    groups: Mapping[str, Sequence[str]],
    *,
    max_values: int = MAX_SLICES,
    replicates: int = REPLICATES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> SliceReport:
    """Per column of ``groups`` (column → one value per row), per value: support, accuracy,
    macro-F1, mean confidence, calibration error and the accuracy gap to the overall figure
    with its ``confidence`` bootstrap interval; the worst judged slice named."""
    truth, probs = np.asarray(y_true), np.asarray(probs)
    if truth.size == 0:
        raise DataError("No examples to slice.")
    columns, overall = {}, {}
    for column, values in groups.items():
        if len(values) != truth.size:
            raise DataError(
                f"Slice column '{column}' has {len(values)} values for {truth.size} examples."
            )
        columns[column], overall = column_slices(
            column,
            [str(v) for v in values],
            truth,
            probs,
            max_values=max_values,
            replicates=replicates,
            confidence=confidence,
            seed=seed,
        )
    return SliceReport(
        overall, columns, replicates, confidence, seed, MIN_JUDGED_SUPPORT, max_values
    )


def example_groups(examples: Sequence, columns: Sequence[str], source: str) -> dict[str, list]:
    """column → each example's value (its ``meta``); examples read without a column are a
    DataError naming it and the columns they do carry."""
    groups: dict[str, list] = {}
    for column in columns:
        missing = [e.row for e in examples if column not in (getattr(e, "meta", None) or {})]
        if missing:
            carried = sorted({k for e in examples for k in (getattr(e, "meta", None) or {})})
            raise DataError(
                f"{source}: {len(missing)} example(s) (rows {', '.join(map(str, missing[:10]))}) "
                f"carry no slice column '{column}'"
                + (f" (they carry {', '.join(carried)})." if carried else "."),
                hint="Read the data with --slice COLUMN, from a table that has the column.",
            )
        groups[column] = [e.meta[column] for e in examples]
    return groups
