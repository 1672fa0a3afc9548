"""Stratified, seeded train/validation/test splits (scikit-learn underneath)."""

from __future__ import annotations

from collections import Counter

from ..errors import DataError
from ..types import Example


def _cut(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Split off ``fraction`` stratified by label; labels with < 3 examples stay in the rest."""
    from sklearn.model_selection import train_test_split

    if fraction <= 0 or not examples:
        return examples, []
    counts = Counter(e.label for e in examples)
    rare = {k for k, v in counts.items() if v < 3}
    common = [e for e in examples if e.label not in rare]
    kept = [e for e in examples if e.label in rare]
    n_labels = len({e.label for e in common})
    n_cut = round(fraction * len(common))
    if n_cut < 1:
        return examples, []
    stratify = (
        [e.label for e in common] if n_cut >= n_labels and len(common) - n_cut >= n_labels else None
    )
    rest, cut = train_test_split(common, test_size=n_cut, random_state=seed, stratify=stratify)
    return kept + list(rest), list(cut)


def stratified_split(
    examples: list[Example], val_fraction: float, test_fraction: float, seed: int
) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, val, test) with label proportions kept; deterministic for a seed."""
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise DataError(
            f"Split fractions val={val_fraction}, test={test_fraction} must be ≥ 0 and sum to < 1."
        )
    rest, test = _cut(examples, test_fraction, seed)
    share = val_fraction / (1 - test_fraction) if val_fraction else 0.0
    train, val = _cut(rest, share, seed)
    if val_fraction > 0 and not val:
        raise DataError(
            f"Only {len(examples)} examples: too few to cut a {val_fraction:.0%} validation split.",
            hint="Add data (at least 3 per label), or pass --val FILE.",
        )
    missing = {e.label for e in examples} - {e.label for e in train}
    if missing:
        raise DataError(
            f"The training split would lack labels {sorted(missing)[:10]}.",
            hint="Add examples for them.",
        )
    train.sort(key=lambda e: e.row)
    return train, val, test
