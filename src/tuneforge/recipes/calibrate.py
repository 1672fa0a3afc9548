"""calibrate: fit a run's temperature (and out-of-scope scores) on its kept splits, without
retraining.

Every classification run does this at the end of ``train`` (:func:`calibrate_saved`); the
command is for runs trained before calibration existed, and to refit after the validation
split was changed by hand. The temperature is written beside the trained model
(``artifacts/model/calibration.json``) and into every variant already built from it (a
distilled student gets its own, fitted on its own logits), and the run's test figures,
monitoring profile and report follow, so what is served, monitored and reported agree.
The out-of-scope scores that abstention reads (``ood.npz``) are fitted after it, on the
calibrated model. Everything is checked and measured before the first file is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError, RunError
from ..predict import artifact_temperature, load_predictor, write_artifact_calibration
from ..store import RunDir, resolve_model
from ..tasks import Task, open_task
from ..types import Predictor

HOW_TO_FIT = "tuneforge calibrate {run}"  # the one-line fix quoted wherever it is missing


@dataclass
class CalibrateResult:
    run_id: str
    record: dict  # calibration.json of the trained model
    previous: float | None  # the temperature it replaced (None: it had none)
    test: dict = field(default_factory=dict)  # before/after figures on the test split
    written: list[Path] = field(default_factory=list)


def calibrate_saved(
    predictor: Predictor, rd: RunDir, val: list, log: Callable[[str], None]
) -> dict | None:
    """Fit the temperature of a run's freshly saved model on ``val``; write it beside the
    model (and its adapter); the predictor applies it from now on. Returns the record, or
    None when there are no validation examples (the model keeps temperature 1)."""
    from ..evaluate.calibration import fit_predictor_temperature

    if not val:
        log("no validation examples: probabilities stay uncalibrated (temperature 1)")
        return None
    record = fit_predictor_temperature(predictor, val)
    for directory in (rd.model_dir, rd.adapter_dir):
        if directory.is_dir():
            write_artifact_calibration(directory, record)
    predictor.temperature, predictor.calibrated = record["temperature"], True
    before, after = record["before"], record["after"]
    if record.get("note"):
        log(f"calibration: {record['note']}")
        return record
    log(
        f"calibration: temperature {record['temperature']:.3f} on {record['n']} validation "
        f"examples; NLL {before['nll']:.4f} → {after['nll']:.4f}, ECE "
        f"{before['expected_calibration_error']:.4f} → {after['expected_calibration_error']:.4f}"
    )
    return record


def check_oos_label(oos_label: str | None, labels, source: str) -> None:
    """``--oos-label`` must be a label of the data (checked before the run is created)."""
    from ..errors import DataError

    if oos_label is not None and oos_label not in labels:
        shown = ", ".join(repr(x) for x in list(labels)[:10])
        raise DataError(
            f"--oos-label '{oos_label}' is not a label of {source or 'the data'} (labels: "
            f"{shown}{', ...' if len(labels) > 10 else ''}).",
            hint="Name the label your out-of-scope rows carry, or leave out --oos-label.",
        )


def fit_out_of_scope(
    predictor: Predictor, rd: RunDir, train: list, val: list, oos_label: str | None = None
) -> Path | None:
    """Fit the out-of-scope scores of a run's saved, calibrated model (validation scores for
    thresholds; class means and shared covariance of the training split's pooled features)
    and keep them beside the model (and its adapter); None without validation examples.
    ``oos_label``'s examples are left out of both: they are what the scores look for."""
    from ..evaluate.abstain import fit_scores, write_scores

    if not val:
        return None
    arrays = fit_scores(predictor, train, val, oos_label)
    written = None
    for directory in (rd.model_dir, rd.adapter_dir):
        if directory.is_dir():
            written = write_scores(directory, arrays)
    return written


def calibrate_run(ref: str, runs_dir: Path) -> CalibrateResult:
    """Fit (or refit) the temperature and the out-of-scope scores of ``ref``'s trained model
    on its kept splits, and bring its variants, eval.json, profile.json and report up to
    date."""
    from ..evaluate.abstain import fit_scores, write_scores
    from ..evaluate.calibration import fit_predictor_temperature
    from .export import run_examples

    run, _ = resolve_model(ref, runs_dir)
    model_dir = run.saved_model_dir()
    task = open_task(run)
    val = run_examples(run, "val")
    if not val:
        raise RunError(
            f"Run '{run.run_id}' has no validation examples to fit a temperature on.",
            hint="Retrain it with a validation split (data.val_fraction > 0).",
        )
    # A private run (train --privacy dp) describes its classes by the validation split: the
    # training split's features must not leave the run outside ε.
    private = bool((run.status() or {}).get("privacy"))
    train = val if private else run_examples(run, "train")
    try:
        previous = artifact_temperature(model_dir)
    except ModelError:  # an unreadable record is what this command replaces
        previous = None
        run.calibration_path.unlink()
    predictor = task.predictor(run)
    # Everything is measured before anything is written.
    record = fit_predictor_temperature(predictor, val)
    students = _fit_students(run, val)
    test = _test_update(run, task, predictor, record["temperature"], record.get("note", ""))
    predictor.temperature, predictor.calibrated = record["temperature"], True
    scores = fit_scores(predictor, train, val, run.read_config_section("data").get("oos_label"))

    written = []
    for directory in (model_dir, run.adapter_dir, *_variant_dirs(run)):
        if not directory.is_dir():
            continue
        written.append(write_artifact_calibration(directory, students.get(directory, record)))
        if directory not in students:  # a student's features are not the teacher's
            written.append(write_scores(directory, scores))
    result = CalibrateResult(run.run_id, record, previous, test.get("figures", {}), written)
    _write_test_update(run, test, written)
    return result


def _variant_dirs(run: RunDir) -> list[Path]:
    """The run's built variants (not the trained model and its adapter)."""
    if not run.artifacts_dir.is_dir():
        return []
    skip = {run.model_dir.name, run.adapter_dir.name}
    return sorted(
        p
        for p in run.artifacts_dir.iterdir()
        if p.is_dir() and p.name not in skip and (p / "tuneforge.json").is_file()
    )


def _fit_students(run: RunDir, val: list) -> dict[Path, dict]:
    """Distilled variants (their tuneforge.json names a teacher) fit their own temperature."""
    from ..evaluate.calibration import fit_predictor_temperature

    out = {}
    for directory in _variant_dirs(run):
        meta = json.loads((directory / "tuneforge.json").read_text(encoding="utf-8"))
        if meta.get("teacher"):
            out[directory] = fit_predictor_temperature(load_predictor(directory), val)
    return out


def _test_update(
    run: RunDir, task: Task, predictor: Predictor, temperature: float, note: str = ""
) -> dict:
    """The test split's calibration figures and monitoring profile under the new
    temperature (the profile's confidences must be those the server will now give)."""
    from .export import run_examples

    try:
        test = run_examples(run, "test")
    except RunError:
        return {}
    if not test:
        return {}
    from ..evaluate.calibration import before_and_after
    from ..evaluate.evaluate import model_input
    from ..predict import calibrated_softmax

    index = {name: i for i, name in enumerate(predictor.labels)}
    y = [index[e.label] for e in test]
    logits = np.asarray(predictor.predict_logits([model_input(e) for e in test]))
    predictor.temperature, predictor.calibrated = temperature, True
    probs = calibrated_softmax(logits, temperature)
    figures = {**before_and_after(logits, y, temperature), "calibrated": True}
    if note:
        figures["note"] = note
    profile = task.profile(predictor, test, probs).to_dict() if run.profile_path.is_file() else None
    return {"figures": figures, "profile": profile}


def _write_test_update(run: RunDir, test: dict, written: list[Path]) -> None:
    figures = test.get("figures")
    ev = run.read_json(run.eval_path.name)
    if figures and isinstance(ev, dict):
        after = figures["after"]
        ev["calibration"] = figures
        ev["expected_calibration_error"] = after["expected_calibration_error"]
        ev["brier_score"] = after["brier_score"]
        written.append(run.write_json(run.eval_path.name, ev))
    if test.get("profile") is not None:
        written.append(run.write_json(run.profile_path.name, test["profile"]))
    if run.report_path.is_file() or ev is not None:
        from ..report import write_report

        written.append(write_report(run.path))


def uncalibrated_note(predictor: Predictor, ref: str) -> str | None:
    """What to say, once, when a model has no fitted temperature: its probabilities are plain
    softmax, and the one line that fits one."""
    if getattr(predictor, "calibrated", True):
        return None
    return (
        f"note: {ref} has no calibration.json (trained before calibration existed): "
        f"probabilities are uncalibrated (temperature 1). Fit one without retraining: "
        f"{HOW_TO_FIT.format(run=ref)}"
    )
