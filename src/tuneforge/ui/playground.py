"""The playground's models and what it does with them: the models a person may pick (runs with
a saved model, registry ``NAME@stage``), loaded once and kept in a small cache, and one input
predicted and explained through the same recipes as ``tuneforge predict`` and ``explain``.

Nothing is written: a playground prediction is not logged (it is no traffic of a served model)
and no overlay file is kept; an image's heat map comes back inline as a PNG data URI.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, RunError
from ..explain.overlay import overlay_figure
from ..recipes.explain import Explainer, open_explainer
from ..recipes.runs import RunSummary
from ..report.explanations import METHOD_NAMES
from ..report.plots import figure_data_uri
from ..store import STAGES, Registry, RunDir, RunStore, resolve_model

# Two models at once: one being tried and one compared against it. A loaded model holds its
# weights in memory (hundreds of MB for a base encoder) inside the dashboard's process, which
# also serves every other page; loading takes seconds, so each is loaded once, not per request.
CACHE_SIZE = 2
MAX_TEXT_CHARS = 2000  # occlusion predicts once per word: a long text would hold a worker long
TOP_K = 5


@dataclass(frozen=True)
class Choice:
    """One model in the picker: the reference the recipes take, and what the person reads."""

    ref: str
    title: str


def model_choices(runs: list[RunSummary], store: RunStore) -> list[Choice]:
    """Registry models in a stage first (what is served), then every run with a saved model,
    newest first as the runs table lists them."""
    registry = Registry(store)
    choices = []
    for name in registry.names():
        for version in registry.versions(name):
            if version.stage in STAGES:
                choices.append(
                    Choice(
                        f"{name}@{version.stage}",
                        f"{name}@{version.stage} (v{version.version}, run {version.run_id})",
                    )
                )
    for run in runs:
        if run.state == "succeeded" and _has_model(RunDir(run.run_dir)):
            choices.append(Choice(run.id, f"run {run.id}" + (f" · {run.task}" if run.task else "")))
    return choices


def _has_model(run: RunDir) -> bool:
    try:
        run.saved_model_dir()
    except RunError:
        return False
    return True


class ModelCache:
    """The last ``size`` models used, by artifact directory (a registry stage that moves to
    another version loads the new one). One lock: a model loads once even when two requests
    ask for it together, and a torch model runs one input at a time (its threads are shared
    with the pages' workers)."""

    def __init__(self, runs_dir: Path, size: int = CACHE_SIZE) -> None:
        self.runs_dir, self.size = Path(runs_dir), size
        self._models: OrderedDict[str, Explainer] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, ref: str) -> Explainer:
        """The model of ``ref``, loading it (and dropping the least recently used) if needed.
        Call with :attr:`lock` held."""
        _, artifact = resolve_model(ref, self.runs_dir)
        key = str(artifact)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        model = open_explainer(ref, self.runs_dir)
        self._models[key] = model
        while len(self._models) > self.size:
            self._models.popitem(last=False)
        return model

    def loaded(self) -> list[str]:
        return list(self._models)


def methods(model: Explainer) -> list[tuple[str, str]]:
    """The explanation methods this model offers, as (key, name): occlusion on any runtime,
    integrated gradients where the model is a torch model."""
    from ..explain.methods import torch_model

    offered = [m for m in model.task.explain_methods if m != "ig" or torch_model(model.predictor)]
    return [(m, METHOD_NAMES.get(m, m)) for m in offered]


def pick_method(model: Explainer, method: str) -> str:
    """``method`` if the model offers it, else occlusion (cheap, and on every runtime)."""
    offered = [m for m, _ in methods(model)]
    if method in offered:
        return method
    return "occlusion" if "occlusion" in offered else offered[0]


def ranked(prediction) -> list[dict]:
    return [{"label": label, "score": float(score)} for label, score in prediction.top_k]


def explain_text(model: Explainer, text: str, method: str) -> dict:
    """The top labels of ``text`` and its words' attributions for the top label."""
    if not text.strip():
        raise DataError("Type a text to predict.")
    if len(text) > MAX_TEXT_CHARS:
        raise DataError(
            f"The text has {len(text)} characters; the playground takes up to {MAX_TEXT_CHARS}."
        )
    (prediction,) = model.predictor.predict([text], top_k=TOP_K)
    chosen, (explanation,) = model.explain([text], pick_method(model, method), None, None)
    return {"top": ranked(prediction), "method": chosen, "explanation": explanation.to_dict()}


def explain_image(model: Explainer, pixels, original, method: str) -> dict:
    """The top labels of one decoded image (at the model's input size) and the heat map of the
    top label over the ``original`` upload, as a PNG data URI."""
    (prediction,) = model.predictor.predict([pixels], top_k=TOP_K)
    chosen, (explanation,) = model.explain([pixels], pick_method(model, method), None, None)
    overlay = figure_data_uri(overlay_figure(original, explanation))
    return {
        "top": ranked(prediction),
        "method": chosen,
        "method_name": METHOD_NAMES.get(chosen, chosen),
        "label": explanation.label,
        "score": explanation.score,
        "overlay": overlay,
    }
