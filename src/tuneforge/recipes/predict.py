"""predict: a finished run's model on texts or images given directly or read from a file."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..predict import load_predictor
from ..store import resolve_model
from ..tasks import open_task
from ..types import Prediction


def predict_run(
    ref: str,
    runs_dir: Path,
    inputs: list[str],
    input_file: str | None = None,
    *,
    options: dict | None = None,
    top_k: int = 1,
) -> tuple[list[str], list[Prediction], str]:
    """Predict ``inputs`` plus those read from ``input_file``: texts for a text run, image
    paths for an image run (``options``: text_column, image_column, format). Returns the
    inputs, their predictions and what the inputs are (``text`` or ``image``)."""
    _, artifact = resolve_model(ref, runs_dir)
    predictor = load_predictor(artifact)
    task = open_task(predictor)
    items = task.inputs(list(inputs), input_file, options or {})
    if not items:
        raise DataError(
            f"Nothing to predict: no {task.input_noun}s given and none read from the input."
        )
    return items, predictor.predict(items, top_k=top_k), task.input_noun
