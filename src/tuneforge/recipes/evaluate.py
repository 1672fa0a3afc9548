"""evaluate: a finished run's model on any labelled file or image source.

Which reader applies (a labelled table, or an image folder / path table / IDX / pixel CSV) is
the run's task; options not given (an image column, a pixel CSV's shape) default to those the
run was trained with.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import DataError
from ..evaluate.evaluate import EvalReport, evaluate
from ..store import resolve_model
from ..tasks import open_task
from .predict import open_predictor


def evaluate_run(
    ref: str,
    runs_dir: Path,
    data_file: str,
    options: dict | None = None,
    slices: Sequence[str] = (),
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    abstain: dict | None = None,
) -> tuple[EvalReport, Path]:
    """Evaluate the model of ``ref`` on ``data_file``; writes ``eval-<file stem>.json`` in the
    run. ``options``: text_column, label_column, format, delimiter, image_column, image_shape,
    labels_file (None values are ignored). ``slices``: columns of the file to evaluate per
    value (text runs), checked before the model predicts anything. A model without a fitted
    temperature is said so through ``log``, once. ``abstain`` (score, threshold, recall,
    unknown_label): rows labelled with the unknown label are out of scope; the model's own
    figures are measured on the others, and ``abstention`` in the report says how the rule
    does on all of them (in-scope accuracy, unknown recall and precision, AUROC, FPR@95)."""
    run, artifact = resolve_model(ref, runs_dir)
    predictor, abstainer = open_predictor(ref, artifact, abstain, log)
    task = open_task(predictor)
    slices = tuple(dict.fromkeys(slices))
    task.check_slices(slices)
    trained = run.read_config_section("data")
    given = {k: v for k, v in (options or {}).items() if v is not None}
    merged = {k: trained.get(k) for k in ("image_column", "image_shape")} | given
    merged["slice_columns"] = slices
    known = list(predictor.labels) + ([abstainer.rule.unknown_label] if abstainer else [])
    examples = task.labelled(data_file, known, merged)
    in_scope = examples
    if abstainer is not None:
        out_of_scope = {abstainer.rule.unknown_label, abstainer.oos_label}
        in_scope = [e for e in examples if e.label not in out_of_scope]
        if not in_scope:
            raise DataError(
                f"{data_file}: every row is labelled '{abstainer.rule.unknown_label}': there is "
                "nothing in scope to measure the model on."
            )
    seed = run.read_config_section("train").get("seed", 0)
    report = evaluate(
        predictor,
        in_scope,
        split=Path(data_file).name,
        source=data_file,
        slices=slices,
        seed=seed if isinstance(seed, int) else 0,
    )
    if abstainer is not None:
        report.abstention = abstention_figures(abstainer, examples)
    out = run.eval_file_path(data_file)
    run.write_json(out.name, report.to_dict())
    return report, out


def abstention_figures(abstainer, examples: list) -> dict:
    """The abstention rule on every labelled example (unknown-labelled ones included)."""
    import numpy as np

    from ..evaluate.evaluate import model_input
    from ..evaluate.ood import open_set_figures

    unknown = {abstainer.rule.unknown_label, abstainer.oos_label}
    probs, scores = abstainer.scores([model_input(e) for e in examples])
    labels = abstainer.predictor.labels
    in_scope = np.array([e.label not in unknown for e in examples])
    if abstainer.oos_label is not None:  # predicting the trained out-of-scope class abstains
        oos = labels.index(abstainer.oos_label)
        lowest = min(float(scores.min()), abstainer.rule.threshold) - 1.0
        scores = np.where(probs.argmax(1) == oos, lowest, scores)
    correct = np.array([labels[int(i)] == e.label for i, e in zip(probs.argmax(1), examples)])
    return {
        **abstainer.rule.as_dict(),
        **open_set_figures(scores, in_scope, correct, abstainer.rule.threshold),
    }
