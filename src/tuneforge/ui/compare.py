"""The compare page's tables: final metrics side by side and the configuration's differences,
from what ``recipes.runs.compare_runs`` gathers for ``tuneforge runs compare``."""

from __future__ import annotations

# Metrics people look for first; any others the runs logged follow in name order.
FIRST_METRICS = ("accuracy", "macro_f1", "weighted_f1", "loss")
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "weighted_f1": "weighted-F1"}
# Keys that differ between any two runs by construction: not worth a row in the diff.
NOISE_KEYS = frozenset({"name"})


def metric_rows(finals: list[dict]) -> list[dict]:
    """One row per metric any run has: each run's value, and which run is best (highest, or
    lowest for a loss)."""
    keys = [k for k in FIRST_METRICS if any(k in f for f in finals)]
    keys += sorted({k for f in finals for k in f} - set(keys))
    rows = []
    for key in keys:
        values = [f.get(key) for f in finals]
        present = [v for v in values if isinstance(v, (int, float))]
        best = (min if "loss" in key else max)(present) if len(present) > 1 else None
        rows.append({"key": METRIC_NAMES.get(key, key), "cells": values, "best": best})
    return rows


def config_rows(params: list[dict[str, str]]) -> list[dict]:
    """Every configuration key with each run's value and whether they differ; differing keys
    first, each group in key order."""
    keys = sorted({k for p in params for k in p} - NOISE_KEYS)
    rows = [
        {
            "key": k,
            "cells": [p.get(k) for p in params],
            "differs": len({p.get(k) for p in params}) > 1,
        }
        for k in keys
    ]
    return sorted(rows, key=lambda r: not r["differs"])
