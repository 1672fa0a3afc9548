"""The slice gate: refuse a model whose worst slice falls too far below its overall accuracy,
judged so that a small slice cannot fail it by chance.

A slice fails when even the optimistic end of its bootstrap interval of the accuracy gap
(:mod:`tuneforge.evaluate.slices`) is more than ``max_gap`` below the overall figure: then the
shortfall is evidence, not the noise of a few rows. A slice whose measured gap is over the limit
but whose interval reaches back within it passes "within the noise", and slices with fewer than
``MIN_JUDGED_SUPPORT`` rows are not judged at all. The decision says which rule applied, with
the figures, as the accuracy gate of :mod:`tuneforge.compress.gate` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .slices import ColumnSlices, SliceStats


@dataclass(frozen=True)
class SliceDecision:
    passed: bool
    rule: str  # which rule decided, in words, with the figures
    column: str
    value: str | None = None  # the slice the rule is about


def _name(column: str, s: SliceStats) -> str:
    return f"slice {column}={s.value!r} ({s.support} rows, accuracy {s.accuracy:.3f})"


def _unjudged(column: ColumnSlices) -> str:
    small = [s for s in column.slices if not s.judged]
    if not small:
        return ""
    names = ", ".join(repr(s.value) for s in small[:5]) + (" ..." if len(small) > 5 else "")
    return f"; {len(small)} slice(s) under the minimum rows were not judged ({names})"


def slice_gate(
    column: ColumnSlices, overall: float, max_gap: float, confidence: float, min_rows: int
) -> SliceDecision:
    """Whether every judged slice of ``column`` stays within ``max_gap`` (an accuracy fraction,
    0.05 = 5 points) of the ``overall`` accuracy."""
    judged = [s for s in column.slices if s.judged]
    tail = _unjudged(column)
    if not judged:
        rule = (
            f"no slice of '{column.column}' has {min_rows} rows or more, so none is judged "
            f"(too few rows to tell a gap from noise){tail}"
        )
        return SliceDecision(True, rule, column.column)
    failing = [s for s in judged if s.accuracy_gap_ci[1] < -max_gap - 1e-12]
    if failing:
        s = min(failing, key=lambda x: x.accuracy_gap_ci[1])
        rule = (
            f"{_name(column.column, s)} is {-s.accuracy_gap:.3f} below the overall accuracy "
            f"{overall:.3f}; even the top of its {confidence:.0%} bootstrap interval of the gap "
            f"({s.accuracy_gap_ci[1]:+.3f}) is more than the {max_gap} allowed{tail}"
        )
        return SliceDecision(False, rule, column.column, s.value)
    s = min(judged, key=lambda x: x.accuracy_gap)
    if s.accuracy_gap < -max_gap - 1e-12:
        rule = (
            f"{_name(column.column, s)} is {-s.accuracy_gap:.3f} below the overall accuracy "
            f"{overall:.3f}, more than the {max_gap} allowed, but within the noise: its "
            f"{confidence:.0%} bootstrap interval of the gap reaches {s.accuracy_gap_ci[1]:+.3f}"
            f"{tail}"
        )
    elif s.accuracy_gap < 0:
        rule = (
            f"worst {_name(column.column, s)} is {-s.accuracy_gap:.3f} below the overall "
            f"accuracy {overall:.3f}, within the {max_gap} allowed{tail}"
        )
    else:
        rule = f"no slice of '{column.column}' is below the overall accuracy {overall:.3f}{tail}"
    return SliceDecision(True, rule, column.column, s.value)
