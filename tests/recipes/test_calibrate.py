"""Calibration of a run: fitted at the end of training, applied by every predictor, carried by
its variants, fitted afterwards (``tuneforge calibrate``) for runs trained without it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tuneforge.cli import main
from tuneforge.errors import ModelError
from tuneforge.predict import (
    OnnxPredictor,
    TorchPredictor,
    calibrated_softmax,
    load_predictor,
    write_artifact_calibration,
)
from tuneforge.store import RunDir

from ..conftest import train_tiny_run

TEXTS = ["invoice question about the refund", "parcel tracking", "x", "login email password"]


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("calib"), tiny_model_dir, "cal")


@pytest.fixture
def old_run(runs, tmp_path):
    """A copy of the run as a run trained before calibration existed: no calibration.json,
    eval.json without the calibration figures."""
    target = tmp_path / "runs" / "old"
    shutil.copytree(runs / "cal", target)
    run = RunDir(target)
    run.calibration_path.unlink()
    run.report_path.unlink()
    ev = run.read_json(run.eval_path.name)
    for key in ("calibration", "brier_score"):
        ev.pop(key)
    run.write_json(run.eval_path.name, ev)
    return run


def test_training_fits_and_records_a_temperature(runs):
    """A run keeps calibration.json beside its model, and eval.json the ECE and Brier score
    before and after the temperature, with the reliability bins."""
    run = RunDir(runs / "cal")
    record = json.loads(run.calibration_path.read_text())
    assert record["method"] == "temperature" and record["fitted_on"] == "val"
    assert record["temperature"] > 0 and record["n"] == run.status()["n_val"]
    ev = run.read_json(run.eval_path.name)
    assert ev["calibration"]["temperature"] == record["temperature"]
    assert ev["calibration"]["calibrated"] is True
    for side in ("before", "after"):
        figures = ev["calibration"][side]
        assert {"nll", "expected_calibration_error", "brier_score", "reliability"} <= set(figures)
        assert sum(b["count"] for b in figures["reliability"]) == ev["n"]
    assert ev["brier_score"] == pytest.approx(ev["calibration"]["after"]["brier_score"], abs=1e-6)
    assert TorchPredictor.from_dir(run.model_dir).temperature == record["temperature"]
    if record.get("note"):  # the tiny model gets every validation text right: T stays 1
        assert record["temperature"] == 1.0 and ev["calibration"]["note"] == record["note"]


def test_predictors_apply_the_temperature_and_onnx_agrees_with_torch(runs, tmp_path, capsys):
    """softmax(logits / T) is what predict_proba gives, and the ONNX export of the run carries
    T: torch and ONNX give the same calibrated probabilities (and not the raw softmax)."""
    target = tmp_path / "runs" / "hot"
    shutil.copytree(runs / "cal", target)
    run = RunDir(target)
    record = json.loads(run.calibration_path.read_text())
    write_artifact_calibration(run.model_dir, {**record, "temperature": 2.5})
    torch_pred = TorchPredictor.from_dir(run.model_dir)
    logits = torch_pred.predict_logits(TEXTS)
    probs = torch_pred.predict_proba(TEXTS)
    np.testing.assert_allclose(probs, calibrated_softmax(logits, 2.5), atol=1e-6)
    assert np.abs(probs - calibrated_softmax(logits, 1.0)).max() > 1e-3
    code = main(["export", "hot", "--format", "onnx", "--runs-dir", str(target.parent)])
    assert code == 0, capsys.readouterr().err
    onnx_pred = load_predictor(run.variant_dir("onnx-fp32"))
    assert isinstance(onnx_pred, OnnxPredictor) and onnx_pred.temperature == 2.5
    np.testing.assert_allclose(onnx_pred.predict_proba(TEXTS), probs, atol=1e-4)


def test_a_run_without_calibration_still_predicts_and_says_so_once(old_run, capsys):
    """A run trained before calibration predicts with plain softmax (temperature 1), and the
    command says once how to fit one."""
    predictor = load_predictor(old_run.model_dir)
    assert predictor.temperature == 1.0 and not predictor.calibrated
    runs_dir = str(old_run.path.parent)
    assert main(["predict", "old", "parcel tracking", "x", "--json", "--runs-dir", runs_dir]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("tuneforge calibrate old") == 1
    assert len(captured.out.strip().splitlines()) == 2


def test_calibrate_fits_an_old_run_without_retraining(old_run, capsys):
    """`tuneforge calibrate RUN` fits the temperature from the kept validation split, writes it
    beside the model and into built variants, and brings eval.json, the profile and the
    report up to date; the weights are untouched."""
    variant = old_run.variant_dir("hf")
    shutil.copytree(old_run.model_dir, variant)
    weights = (old_run.model_dir / "model.safetensors").read_bytes()
    runs_dir = str(old_run.path.parent)
    assert main(["calibrate", "old", "--json", "--runs-dir", runs_dir]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["previous_temperature"] is None
    record = json.loads(old_run.calibration_path.read_text())
    assert record == out["calibration"]
    assert json.loads((variant / "calibration.json").read_text()) == record
    assert (old_run.model_dir / "model.safetensors").read_bytes() == weights
    ev = old_run.read_json(old_run.eval_path.name)
    assert ev["calibration"]["calibrated"] and "brier_score" in ev
    report = old_run.report_path.read_text()
    assert "reliability diagram" in report and "no fitted temperature" not in report
    assert load_predictor(variant).calibrated


def test_calibrate_refuses_a_run_without_validation_examples(old_run, capsys):
    """No validation examples: a clear error, exit 1, and no calibration.json written."""
    (old_run.split_path("val", ".jsonl")).write_text("")
    assert main(["calibrate", "old", "--runs-dir", str(old_run.path.parent)]) == 1
    assert "no validation examples" in capsys.readouterr().err
    assert not old_run.calibration_path.exists()


def test_a_broken_calibration_file_is_an_error_not_plain_softmax(old_run, capsys):
    """A calibration.json that cannot be read is refused with the command that refits it, and
    that command replaces it."""
    old_run.calibration_path.write_text('{"temperature": "hot"}')
    with pytest.raises(ModelError, match="tuneforge calibrate"):
        load_predictor(old_run.model_dir)
    assert main(["calibrate", "old", "--runs-dir", str(old_run.path.parent)]) == 0
    assert "temperature" in capsys.readouterr().out
    assert load_predictor(old_run.model_dir).calibrated
