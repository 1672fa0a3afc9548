"""predict: a finished run's model on texts or images given directly or read from a file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..predict import load_predictor
from ..store import resolve_model
from ..tasks import open_task
from ..types import Prediction, Predictor
from .calibrate import uncalibrated_note


def predict_run(
    ref: str,
    runs_dir: Path,
    inputs: list[str],
    input_file: str | None = None,
    *,
    options: dict | None = None,
    top_k: int = 1,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    abstain: dict | None = None,
) -> tuple[list[str], list[Prediction], str]:
    """Predict ``inputs`` plus those read from ``input_file``: texts for a text run, image
    paths for an image run (``options``: text_column, image_column, format). Returns the
    inputs, their predictions and what the inputs are (``text`` or ``image``). A model
    without a fitted temperature is said so through ``log``, once. ``abstain`` (score,
    threshold, recall, unknown_label): inputs below the out-of-scope threshold get the
    unknown label; the request is checked before anything is read or predicted."""
    _, artifact = resolve_model(ref, runs_dir)
    predictor, abstainer = open_predictor(ref, artifact, abstain, log)
    task = open_task(predictor)
    items = task.inputs(list(inputs), input_file, options or {})
    if not items:
        raise DataError(
            f"Nothing to predict: no {task.input_noun}s given and none read from the input."
        )
    model = abstainer if abstainer is not None else predictor
    return items, model.predict(items, top_k=top_k), task.input_noun


def open_predictor(
    ref: str, artifact: Path, abstain: dict | None, log: Callable[[str], None]
) -> tuple[Predictor, Any]:
    """The predictor of ``artifact`` and, with ``abstain`` (score, threshold, recall,
    unknown_label), its checked abstention rule; says once when the model has no fitted
    temperature. What `predict` and `evaluate` both start with."""
    predictor = load_predictor(artifact)
    abstainer = None
    if abstain is not None:
        from ..evaluate.abstain import plan_abstention

        abstainer = plan_abstention(predictor, artifact, **abstain, run_ref=ref)
    note = uncalibrated_note(predictor, ref)
    if note:
        log(note)
    return predictor, abstainer
