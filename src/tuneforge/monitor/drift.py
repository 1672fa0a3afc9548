"""Pure drift statistics between a reference profile and a window of live predictions.

PSI and chi-square for the label distribution, Kolmogorov–Smirnov for confidences and lengths
(scipy), plus the share of low-confidence predictions. No I/O here: the monitor feeds numbers in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

EPS = 1e-4  # floor for empty bins: PSI is undefined at zero shares


@dataclass(frozen=True)
class Profile:
    """What predictions look like: labels, confidences and input lengths."""

    labels: tuple[str, ...]
    label_counts: dict[str, int]
    confidences: list[float]
    lengths: list[int]
    unknown_token_rate: float = 0.0

    @property
    def n(self) -> int:
        return sum(self.label_counts.values())

    def label_shares(self) -> dict[str, float]:
        total = max(self.n, 1)
        return {k: self.label_counts.get(k, 0) / total for k in self.labels}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        return cls(
            tuple(data["labels"]),
            dict(data["label_counts"]),
            list(data["confidences"]),
            list(data["lengths"]),
            float(data.get("unknown_token_rate", 0.0)),
        )

    @classmethod
    def from_predictions(
        cls,
        labels: Sequence[str],
        predicted: Sequence[str],
        confidences: Sequence[float],
        lengths: Sequence[int],
        unknown_token_rate: float = 0.0,
    ) -> Profile:
        return cls(
            tuple(labels),
            dict(Counter(predicted)),
            [float(c) for c in confidences],
            [int(n) for n in lengths],
            unknown_token_rate,
        )


@dataclass(frozen=True)
class DriftReport:
    n: int
    psi: float
    chi2_p: float
    confidence_ks: float
    confidence_ks_p: float
    length_ks: float
    length_ks_p: float
    low_confidence_share: float
    label_shares: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index Σ (a − e)·ln(a / e) over shares (0.1 small, 0.2 notable)."""
    e = np.clip(np.asarray(expected, dtype=float), EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), EPS, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def label_chi2_p(reference: Profile, current: Profile) -> float:
    """p-value that the current label counts follow the reference shares."""
    from scipy.stats import chisquare

    shares = np.clip(np.array([reference.label_shares()[k] for k in reference.labels]), EPS, None)
    shares = shares / shares.sum()
    observed = np.array([current.label_counts.get(k, 0) for k in reference.labels], dtype=float)
    if observed.sum() == 0:
        return 1.0
    return float(chisquare(observed, shares * observed.sum()).pvalue)


def _ks(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    from scipy.stats import ks_2samp

    if len(a) == 0 or len(b) == 0:
        return 0.0, 1.0
    result = ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


def drift(reference: Profile, current: Profile, low_confidence: float = 0.5) -> DriftReport:
    """Every drift statistic of ``current`` against ``reference``."""
    ref_shares, cur_shares = reference.label_shares(), current.label_shares()
    conf_ks, conf_p = _ks(reference.confidences, current.confidences)
    len_ks, len_p = _ks(reference.lengths, current.lengths)
    low = (
        float(np.mean(np.asarray(current.confidences) < low_confidence))
        if (current.confidences)
        else 0.0
    )
    return DriftReport(
        n=current.n,
        psi=psi(
            [ref_shares[k] for k in reference.labels], [cur_shares[k] for k in reference.labels]
        )
        if current.n
        else 0.0,
        chi2_p=label_chi2_p(reference, current),
        confidence_ks=conf_ks,
        confidence_ks_p=conf_p,
        length_ks=len_ks,
        length_ks_p=len_p,
        low_confidence_share=low,
        label_shares=cur_shares,
    )
