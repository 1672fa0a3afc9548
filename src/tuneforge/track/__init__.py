"""Experiment tracking: runs written into the team's MLflow or TensorBoard as they train.

``--track mlflow[=URI]`` and ``--track tensorboard[=DIR]`` (or ``$TUNEFORGE_TRACK``) become a
:class:`Tracking`; a recipe checks it before work starts, opens a :class:`TrackedRun` per run
and hands its ``log_metrics`` to the training loop as one more metric sink. mlflow and
tensorboard are imported only when a run is actually tracked.
"""

from __future__ import annotations

from .session import NO_TRACKING, RunFacts, TrackedRun, Tracking, eval_figures, tracked
from .targets import ENV, KINDS, TrackTarget, parse_target, parse_targets, probe

__all__ = [
    "ENV",
    "KINDS",
    "NO_TRACKING",
    "RunFacts",
    "TrackTarget",
    "TrackedRun",
    "Tracking",
    "eval_figures",
    "parse_target",
    "parse_targets",
    "probe",
    "tracked",
]
