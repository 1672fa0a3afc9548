"""A registered tuneforge version as an MLflow model (``registry promote --mlflow``).

The MLflow model is a pyfunc wrapper around tuneforge's own predictor: the version's artifact
directory travels inside the MLflow model, and ``mlflow.pyfunc.load_model`` loads it with
:func:`tuneforge.predict.load_predictor`, so MLflow serves exactly the predictions
``tuneforge predict`` gives (calibration included). The serving environment needs tuneforge.

The model is logged "from code" (``pyfunc_model.py``), not pickled. ``predict`` has no type
hints on purpose: MLflow would then convert and validate inputs its own way, while tuneforge's
predictor already takes texts, image paths or arrays. This module imports mlflow at the top
(the wrapper subclasses ``PythonModel``); it is only imported when a version is registered or
an MLflow model is loaded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow.pyfunc

from .._version import __version__
from .mlflow_run import client_for, experiment_id

MODEL_PATH = "model"


class TuneforgeModel(mlflow.pyfunc.PythonModel):
    """MLflow's view of a tuneforge predictor: inputs in, one row per input out (``label``,
    ``score`` and ``prob:<label>`` for every label, in the model's label order)."""

    # MLflow's switch (as for its ChatModel) to leave ``predict`` unwrapped: no type-hint
    # validation and no warning that the hints are missing (see the module docstring).
    _skip_type_hint_validation = True

    def load_context(self, context) -> None:
        from ..predict import load_predictor

        self.predictor = load_predictor(context.artifacts["model"])

    def predict(self, context, model_input, params: dict | None = None):
        import numpy as np
        import pandas as pd

        probs = np.asarray(self.predictor.predict_proba(model_inputs(model_input)))
        labels = list(self.predictor.labels)
        best = probs.argmax(axis=1)
        columns = {
            "label": [labels[i] for i in best],
            "score": probs[np.arange(len(best)), best],
        }
        columns.update({f"prob:{label}": probs[:, j] for j, label in enumerate(labels)})
        return pd.DataFrame(columns)


def model_inputs(model_input: Any) -> list:
    """What the predictor takes from what MLflow hands over: a DataFrame's ``text`` column
    (else its first), a Series, an array or a list; a single string is one input."""
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        column = "text" if "text" in model_input.columns else model_input.columns[0]
        return model_input[column].tolist()
    if isinstance(model_input, str):
        return [model_input]
    if hasattr(model_input, "tolist"):
        return model_input.tolist()
    return list(model_input)


def register_version(
    uri: str, name: str, version: int, stage: str, artifact: Path, tags: dict[str, str]
) -> int:
    """Log ``artifact`` as a pyfunc model in a run of ``uri`` and register it under ``name``,
    with ``stage`` as its alias (``models:/NAME@production``; stage ``none`` takes none);
    returns MLflow's version."""
    client = client_for(uri)
    run = client.create_run(
        experiment_id(client, uri), run_name=f"{name}-v{version}", tags=tags
    ).info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / MODEL_PATH
        mlflow.pyfunc.save_model(
            str(saved),
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            artifacts={"model": str(artifact)},
            pip_requirements=[f"tuneforge=={__version__}"],
        )
        client.log_artifacts(run, str(saved), MODEL_PATH)
    client.set_terminated(run, "FINISHED")
    try:
        client.create_registered_model(name)
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = f"{client.get_run(run).info.artifact_uri}/{MODEL_PATH}"
    registered = client.create_model_version(name, source, run_id=run, tags=tags)
    if stage != "none":
        client.set_registered_model_alias(name, stage, registered.version)
    return int(registered.version)
