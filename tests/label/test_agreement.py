"""Agreement between annotators: Fleiss' kappa matches its textbook values, Cohen's kappa per
pair, per-label kappas, and the conflicts listed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tuneforge.label.agreement import agreement, fleiss_kappa
from tuneforge.label.queue import Annotation

T0 = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


def test_fleiss_kappa_of_fleiss_1971_example():
    """The worked example of Fleiss (1971) as reproduced on Wikipedia: kappa = 0.210."""
    counts = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(counts) == pytest.approx(0.210, abs=5e-4)


def test_perfect_agreement_and_conflicts():
    """Two annotators agreeing on every item give kappa 1 and no conflicts; one disagreement
    lowers it and is listed with both labels."""
    same = [
        Annotation(i, label, who, T0, "csv")
        for i, label in enumerate(["a", "b", "a", "b"])
        for who in ("ana", "bo")
    ]
    result = agreement(same)
    assert result.fleiss == pytest.approx(1.0)
    assert result.pairs[0].kappa == pytest.approx(1.0) and result.conflicts == []
    changed = [*same[:-1], Annotation(3, "a", "bo", T0, "csv")]
    result = agreement(changed, ["a", "b"])
    assert result.fleiss < 1.0 and result.pairs[0].kappa < 1.0
    assert [(c.item_id, c.labels) for c in result.conflicts] == [(3, {"ana": "b", "bo": "a"})]
    assert set(result.per_label) == {"a", "b"}


def test_single_annotator_has_no_agreement_to_measure():
    result = agreement([Annotation(1, "a", "ana", T0, "csv")])
    assert result.items_multi == 0 and result.fleiss is None and result.pairs == []
