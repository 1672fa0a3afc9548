"""explain: why a finished run's model gives its inputs their labels.

Three flows on one model (a run, ``NAME@stage`` or ``NAME@vN``, optionally one of the run's
release variants): explain given inputs (texts, or image files with PNG overlays written);
summarise many texts of a file into the words that push towards each label; and explain the
run's most confidently wrong test examples into ``explanations.json``, which the run report
shows. Which explainer applies is the run's task's choice (:meth:`Task.explain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, RunError
from ..explain import default_method
from ..predict import load_predictor
from ..store import RunDir, resolve_model
from ..tasks import Task, open_task

OVERLAY_DIR = "explanations"  # where image overlays go unless --overlay-dir says otherwise
SUMMARY_LIMIT = 200  # texts a summary explains unless --limit says otherwise
WRONG_LIMIT = 10  # wrong test examples explained for the report


@dataclass
class ExplainResult:
    """What a flow explained and what it wrote: the explanations, the method used, the
    summary (``--summary``), and the files (HTML page, overlays, explanations.json)."""

    run: RunDir
    method: str
    explanations: list = field(default_factory=list)
    summary: list | None = None
    html: Path | None = None
    written: Path | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Explainer:
    """A model ready to explain: its run, predictor and task."""

    run: RunDir
    predictor: Any
    task: Task

    def explain(self, inputs: list, method: str | None, target: str | None, steps: int | None):
        """The task's explanations, with the method the runtime defaults to when none is set
        (``steps`` only reaches integrated gradients, which are the only ones with steps)."""
        chosen = method or default_method(self.predictor)
        options = {"steps": steps} if steps and chosen == "ig" else {}
        return chosen, self.task.explain(self.predictor, inputs, chosen, target, **options)


def open_explainer(ref: str, runs_dir: Path, variant: str | None = None) -> Explainer:
    """The model of ``ref`` (its trained model, or the registered artifact), or the run's
    release ``variant`` (``model``, ``onnx-fp32``, ``onnx-int8-dynamic`` …)."""
    run, artifact = resolve_model(ref, runs_dir)
    if variant is not None:
        artifact = run.variant_dir(variant)
        if not artifact.is_dir():
            built = run.artifacts_dir
            present = (
                sorted(p.name for p in built.iterdir() if p.is_dir()) if built.is_dir() else []
            )
            raise RunError(
                f"Run '{run.run_id}' has no variant '{variant}' ({artifact} does not exist); it "
                f"has: {', '.join(present) or 'none'}.",
                hint=f"Build it first: tuneforge export {run.run_id} (or tuneforge compress).",
            )
    predictor = load_predictor(artifact)
    return Explainer(run, predictor, open_task(predictor))


def explain_run(
    ref: str,
    runs_dir: Path,
    inputs: list[str],
    input_file: str | None = None,
    *,
    options: dict | None = None,
    method: str | None = None,
    target: str | None = None,
    variant: str | None = None,
    steps: int | None = None,
    html: Path | None = None,
    overlay_dir: Path | None = None,
) -> ExplainResult:
    """Explain ``inputs`` plus those read from ``input_file`` (``options``: text_column,
    image_column, format, delimiter); image runs write one PNG overlay per image into
    ``overlay_dir``; ``html`` writes a page of them all."""
    model = open_explainer(ref, runs_dir, variant)
    items = model.task.inputs(list(inputs), input_file, options or {})
    if not items:
        raise DataError(
            f"Nothing to explain: no {model.task.input_noun}s given and none read from the input."
        )
    chosen, explanations = model.explain(items, method, target, steps)
    out_dir = Path(overlay_dir or OVERLAY_DIR)
    explanations = model.task.explanation_files(model.predictor, items, explanations, out_dir)
    result = ExplainResult(model.run, chosen, explanations)
    if html:
        result.html = _write_page(html, model.run, [e.to_dict() for e in explanations])
    return result


def summarize_run(
    ref: str,
    runs_dir: Path,
    data_file: str,
    *,
    options: dict | None = None,
    method: str | None = None,
    variant: str | None = None,
    steps: int | None = None,
    limit: int = SUMMARY_LIMIT,
    top: int = 10,
    html: Path | None = None,
) -> ExplainResult:
    """Explain up to ``limit`` texts of ``data_file`` for their predicted labels and aggregate
    the words that push towards each label (the ``top`` per label)."""
    if limit < 1:
        raise DataError(f"--limit must be at least 1, got {limit}.")
    model = open_explainer(ref, runs_dir, variant)
    model.task.summarize([], top)  # a task without a summary says so before any work
    items = [t for t in model.task.inputs([], data_file, options or {}) if t.strip()]
    if not items:
        raise DataError(f"{data_file} holds no non-empty {model.task.input_noun}s to explain.")
    notes = []
    if len(items) > limit:
        notes.append(f"explained the first {limit} of {len(items)} texts (--limit {limit})")
        items = items[:limit]
    chosen, explanations = model.explain(items, method, None, steps)
    summary = model.task.summarize(_as_shown(explanations, model.run.path), top)
    result = ExplainResult(model.run, chosen, explanations, summary, notes=notes)
    if html:
        result.html = _write_page(html, model.run, [], [s.to_dict() for s in summary])
    return result


def _as_shown(explanations: list, run_dir: Path) -> list:
    """The explained texts of a file as a summary may quote them: a word inside personal data
    (an email split into pieces by the tokenizer) becomes that datum's placeholder, unless the
    run's ``report.redact_examples`` is off."""
    from ..explain.results import TextExplanation
    from ..report.examples import run_redacts_examples, shown_explanation

    if not run_redacts_examples(run_dir):
        return explanations
    return [TextExplanation.from_dict(shown_explanation(e.to_dict())) for e in explanations]


def explain_wrong(
    ref: str,
    runs_dir: Path,
    *,
    method: str | None = None,
    variant: str | None = None,
    steps: int | None = None,
    limit: int = WRONG_LIMIT,
    split: str = "test",
) -> ExplainResult:
    """Explain the run's ``limit`` most confidently wrong ``split`` examples for their
    predicted label, write them to the run's explanations.json and rebuild its report."""
    from ..evaluate.evaluate import model_input
    from ..report import write_report
    from .export import run_examples

    model = open_explainer(ref, runs_dir, variant)
    examples = run_examples(model.run, split)
    probs = np.asarray(model.predictor.predict_proba([model_input(e) for e in examples]))
    result = write_wrong_explanations(model, examples, probs, split, method, steps, limit)
    write_report(model.run.path)
    return result


def write_wrong_explanations(
    model: Explainer,
    examples: list,
    probs: np.ndarray,
    split: str,
    method: str | None = None,
    steps: int | None = None,
    limit: int = WRONG_LIMIT,
) -> ExplainResult:
    """Explain the ``limit`` examples the model got wrong with the highest confidence (``probs``
    are its probabilities for ``examples``, already computed by whoever evaluated them) and
    write them to the run's explanations.json, which the run report shows."""
    from ..evaluate.evaluate import model_input

    labels = list(model.predictor.labels)
    truth = [labels.index(e.label) if e.label in labels else -1 for e in examples]
    predicted = probs.argmax(axis=1)
    wrong = [i for i in range(len(examples)) if predicted[i] != truth[i]]
    wrong = sorted(wrong, key=lambda i: -float(probs[i, predicted[i]]))[:limit]
    result = ExplainResult(model.run, method or default_method(model.predictor))
    if wrong:
        result.method, result.explanations = model.explain(
            [model_input(examples[i]) for i in wrong], method, None, steps
        )
    records = [
        {**e.to_dict(), "true": examples[i].label, "row": examples[i].row}
        for i, e in zip(wrong, result.explanations)
    ]
    payload = {"split": split, "method": result.method, "examples": records}
    result.written = model.run.write_json(model.run.explanations_path.name, payload)
    if not wrong:
        result.notes.append(f"the model got every {split} example right: nothing to explain")
    return result


def _write_page(
    path: Path, run: RunDir, explained: list[dict], summary: list[dict] | None = None
) -> Path:
    from ..report.explanations import explanations_page

    page = explanations_page(f"Explanations · {run.run_id}", explained, summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
