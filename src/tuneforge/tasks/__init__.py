"""Tasks: the one place that knows what kind of run something is (texts or images today).

A task answers everything that differs by kind: how labelled data and inputs are read, how
splits are kept in a run, which model is the default, the baseline, the monitoring profile,
which release variants exist and what the server accepts. Open one from whatever is at hand —
a config, a run directory, a saved artifact, a loaded model or a predictor — with
:func:`open_task`; models, predictors and artifacts carry their task's name (``.task``,
``tuneforge.json``), so nothing else has to guess. A new kind of task is one new module here
plus its row in :data:`TASKS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import DataConfig, RunConfig
from ..errors import ConfigError
from .base import Task
from .image import ImageTask
from .recommend import RecommendTask
from .text import TextTask

TASKS: dict[str, type[Task]] = {"text": TextTask, "image": ImageTask, "recommend": RecommendTask}


def task_name(source: Any) -> str:
    """The task of a config, a run directory, an artifact path, a model or a predictor."""
    from ..store import RunDir

    if isinstance(source, RunConfig):
        source = source.data
    if isinstance(source, DataConfig):
        from ..data import detect_task

        return detect_task(source)
    if isinstance(source, RunDir):
        recorded = source.status().get("task")
        if recorded:
            return str(recorded)
        source = source.model_dir
    if isinstance(source, (str, Path)):
        from ..predict import artifact_task

        return artifact_task(source)
    return str(getattr(source, "task", "text"))


def open_task(source: Any) -> Task:
    """The task for ``source``; given a RunConfig it is ready to train (``task.cfg``)."""
    name = task_name(source)
    try:
        cls = TASKS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown task '{name}'.", hint=f"Known tasks: {', '.join(TASKS)}."
        ) from None
    if isinstance(source, RunConfig):
        return cls(source)
    task = cls(None)
    task.family = model_family(source)
    return task


def model_family(source: Any) -> str:
    """The from-scratch model family (``tfidf-linear``) of a finished run, an artifact path or
    a predictor; "" for fine-tuned encoders and images."""
    from ..models.text_families import FAMILIES
    from ..store import RunDir

    if isinstance(source, RunDir):
        recorded = str(source.status().get("model_dir") or "")
        if recorded in FAMILIES:
            return recorded
        source = source.model_dir
    if isinstance(source, (str, Path)):
        from ..models.text_families import family_of_dir

        found = family_of_dir(source)
        return found.name if found is not None else ""
    family = str(getattr(source, "family", "") or "")
    return family if family in FAMILIES else ""


__all__ = [
    "TASKS",
    "ImageTask",
    "RecommendTask",
    "Task",
    "TextTask",
    "model_family",
    "open_task",
    "task_name",
]
