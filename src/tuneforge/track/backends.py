"""The trackers behind :class:`tuneforge.track.Tracking`: one table, kind → opener.

Every backend run has the same small surface: ``handle`` (what its children name as parent),
``log_metrics(record)``, ``log_evaluation(split, figures, step)``, ``log_values(values,
step)``, ``log_files(paths)`` and ``end(state)``. Metric names are ``<split>/<name>`` as in
metrics.jsonl (``train/loss``, ``val/macro_f1``); the final evaluation is ``eval/<name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .session import RunFacts
from .targets import TrackTarget

SKIPPED_KEYS = ("split", "step")


def metric_items(record: dict) -> list[tuple[str, float]]:
    """``(name, value)`` of a metrics.jsonl record's numbers: ``<split>/<key>`` (epoch too)."""
    split = record.get("split", "train")
    return [
        (f"{split}/{key}", float(value))
        for key, value in record.items()
        if key not in SKIPPED_KEYS
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ]


def _open_mlflow(target: TrackTarget, facts: RunFacts, parent: Any):
    from .mlflow_run import MlflowRun

    return MlflowRun(target.where, facts, parent)


def _open_tensorboard(target: TrackTarget, facts: RunFacts, parent: Any):
    from .tensorboard_run import TensorBoardRun

    return TensorBoardRun(target.where, facts, parent)


BACKENDS: dict[str, Callable[[TrackTarget, RunFacts, Any], Any]] = {
    "mlflow": _open_mlflow,
    "tensorboard": _open_tensorboard,
}


def open_backend(target: TrackTarget, facts: RunFacts, parent: Any = None):
    """A run of ``facts`` in ``target``'s tracker, child of ``parent`` (its handle) if given."""
    return BACKENDS[target.kind](target, facts, parent)
