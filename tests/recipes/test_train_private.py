"""`tuneforge train --privacy dp`: a private run is a complete run that records its ε, exports
as plain weights, and meets `registry promote --max-epsilon`; bad budgets store nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneforge.cli import main

from ..conftest import TINY_TRAIN, make_rows, write_csv

pytest.importorskip("opacus")

TINY_DP = [o for o in TINY_TRAIN if not o.startswith("train.epochs=")] + ["train.epochs=2"]


def _train(data: Path, model_dir: Path, runs: Path, name: str, *extra: str) -> int:
    argv = ["train", str(data), "--model", str(model_dir), "--runs-dir", str(runs)]
    return main([*argv, "--name", name, "--no-progress", *TINY_DP, *extra])


@pytest.fixture(scope="module")
def private_run(tmp_path_factory, tiny_model_dir) -> Path:
    """One LoRA run at ε = 8 (the runs folder), trained once for the tests below."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("dp")
    data = write_csv(root / "tickets.csv", make_rows(40))
    runs = root / "runs"
    argv = ("--privacy", "dp", "--epsilon", "8", "--method", "lora")
    assert _train(data, tiny_model_dir, runs, "dp", *argv) == 0
    return runs


def test_a_private_run_records_the_epsilon_it_spent(private_run):
    """status.json holds ε spent (at most the target), δ = 1/(10·n) and the DP-SGD settings;
    config.yaml the privacy section and fp32; the report and the model card state ε."""
    run = private_run / "dp"
    status = json.loads((run / "status.json").read_text())
    privacy = status["privacy"]
    assert status["state"] == "succeeded"
    assert 0 < privacy["epsilon"] <= privacy["target_epsilon"] == 8.0
    assert privacy["delta"] == pytest.approx(1 / (10 * status["n_train"]))
    assert privacy["delta_rule"] == "1/(10·n)" and privacy["accountant"] == "rdp"
    assert status["precision"] == "fp32"
    assert "differential privacy" in (run / "report.html").read_text()
    assert "DP-SGD: ε = " in (run / "report.html").read_text()
    assert not (run / "checkpoints").exists()  # the noise's secret goes with them
    card = (run / "artifacts" / "model" / "README.md").read_text()
    assert f"DP-SGD, ε = {privacy['epsilon']:.3g}" in card and "not the inputs" in card


def test_a_private_run_exports_to_onnx_from_plain_weights(private_run):
    """The saved model is plain safetensors that transformers loads (no Opacus wrapper keys),
    and its ONNX export passes the exact-parity gate; a variant that re-reads the training
    examples is refused."""
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification

    model_dir = private_run / "dp" / "artifacts" / "model"
    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and not any("_module" in k or "grad_sample" in k for k in keys)
    AutoModelForSequenceClassification.from_pretrained(model_dir)
    assert main(["export", "dp", "--runs-dir", str(private_run), "--format", "onnx"]) == 0
    parity = json.loads(
        (private_run / "dp" / "artifacts" / "onnx-fp32" / "parity.json").read_text()
    )
    assert parity["agreement"] >= 0.999
    assert (
        "DP-SGD, ε = " in (private_run / "dp" / "artifacts" / "onnx-fp32" / "README.md").read_text()
    )
    argv = ["export", "dp", "--runs-dir", str(private_run), "--format", "onnx"]
    assert main([*argv, "--quantize", "int8-static"]) == 2


def _promote(runs: Path, ref: str, name: str, *extra: str) -> int:
    argv = ["registry", "promote", ref, "--name", name, "--stage", "staging"]
    return main([*argv, "--runs-dir", str(runs), *extra])


def test_promote_records_epsilon_and_refuses_above_max_epsilon(private_run, capsys):
    """--max-epsilon above the spent ε promotes and records ε and δ with the version; below it
    the gate refuses (exit 3) naming both, and --force promotes, recorded as forced."""
    from tuneforge.store import Registry, open_store

    assert _promote(private_run, "dp", "intents", "--max-epsilon", "100") == 0
    version = Registry(open_store(private_run)).versions("intents")[-1]
    spent = json.loads((private_run / "dp" / "status.json").read_text())["privacy"]["epsilon"]
    assert version.privacy["epsilon"] == spent and "privacy: ε" in version.note
    capsys.readouterr()
    assert _promote(private_run, "dp", "intents", "--max-epsilon", "0.5") == 3
    err = capsys.readouterr().err
    assert "> --max-epsilon 0.5" in err and "--force" in err
    assert _promote(private_run, "dp", "intents", "--max-epsilon", "0.5", "--force") == 0
    assert Registry(open_store(private_run)).versions("intents")[-1].forced


def test_max_epsilon_refuses_a_run_trained_without_dp(tmp_path, tiny_model_dir, capsys):
    """A run without DP has no ε: --max-epsilon refuses it (exit 3)."""
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    runs = tmp_path / "runs"
    assert _train(data, tiny_model_dir, runs, "plain", "train.epochs=1") == 0
    capsys.readouterr()
    assert _promote(runs, "plain", "intents", "--max-epsilon", "8") == 3
    assert "not trained with differential privacy" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--epsilon", "0"), "privacy.epsilon must be a positive number"),
        (("--epsilon", "8", "--delta", "0.5"), "is not between 0 and 1/n"),
        (("--epsilon", "0.01"), "What would work: --epsilon"),
        (("--epsilon", "8", "--precision", "bf16"), "bf16"),
        (("--epsilon", "8", "train.grad_accum=2"), "grad_accum=2"),
        (("--epsilon", "8", "--method", "ia3"), "method 'ia3' cannot be trained with --privacy"),
        (("--epsilon", "8", "--method", "adalora"), "method 'adalora' cannot be trained"),
    ],
)
def test_bad_privacy_input_exits_2_and_stores_nothing(
    tmp_path, tiny_model_dir, capsys, extra, needle
):
    """ε ≤ 0, δ ≥ 1/n, an ε the data cannot meet, settings and methods DP refuses: a usage
    error naming the problem, and no run directory or store."""
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    runs = tmp_path / "runs"
    assert _train(data, tiny_model_dir, runs, "bad", "--privacy", "dp", *extra) == 2
    assert needle in capsys.readouterr().err
    assert not runs.exists() or not any(runs.iterdir())


def test_epsilon_without_privacy_dp_is_refused(tmp_path, tiny_model_dir, capsys):
    """--epsilon (or --max-grad-norm) without --privacy dp would look private while it is not."""
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    runs = tmp_path / "runs"
    assert _train(data, tiny_model_dir, runs, "x", "--epsilon", "8") == 2
    assert "only apply to differentially private runs" in capsys.readouterr().err
    assert _train(data, tiny_model_dir, runs, "x", "--max-grad-norm", "1") == 2
    assert "--max-grad-norm is the per-example clipping bound" in capsys.readouterr().err


def test_folds_and_tune_with_dp_are_refused(tmp_path, tiny_model_dir, capsys):
    """Cross-validation and search would spend ε they do not account: refused with the why."""
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    runs = tmp_path / "runs"
    dp = ("--privacy", "dp", "--epsilon", "8")
    assert _train(data, tiny_model_dir, runs, "cv", *dp, "--folds", "3") == 2
    assert "privacy budgets add up" in capsys.readouterr().err
    argv = ["tune", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    assert main([*argv, "--trials", "1", "privacy.mode=dp", "privacy.epsilon=8"]) == 2
    assert "every trial spends its own ε" in capsys.readouterr().err


def test_compress_skips_variants_that_read_the_training_examples(private_run):
    """For a private run, compress leaves out static int8 calibration and distillation (they
    would read the training examples outside ε) and says so; named, they are refused."""
    from tuneforge.errors import ConfigError
    from tuneforge.recipes.compress import chosen_variants
    from tuneforge.store import RunDir
    from tuneforge.tasks import open_task

    run = RunDir(private_run / "dp")
    said: list[str] = []
    chosen = chosen_variants(open_task(run), run, None, said.append)
    assert "onnx-fp32" in chosen and "onnx-int8-dynamic" in chosen
    assert not {"onnx-int8-static", "distilled", "distilled-int8"} & set(chosen)
    assert any("private run: skipping" in s for s in said)
    with pytest.raises(ConfigError, match="outside the privacy budget"):
        chosen_variants(open_task(run), run, ["distilled"], said.append)


def test_an_image_run_with_dp_is_refused_before_a_run_exists(tmp_path, capsys):
    """DP-SGD is built for text classifiers: an image run with --privacy dp exits 2 and
    stores nothing."""
    from ..conftest import write_shapes

    images = write_shapes(tmp_path / "shapes", n_per_label=6)
    runs = tmp_path / "runs"
    argv = ["train", str(images), "--runs-dir", str(runs), "--name", "img", "--no-progress"]
    assert main([*argv, "--privacy", "dp", "--epsilon", "8"]) == 2
    assert "trains text classifiers; this run's task is image" in capsys.readouterr().err
    assert not (runs / "img").exists()


def test_train_prints_the_budget_it_planned_and_spent(tmp_path, tiny_model_dir, capsys):
    """The console names the plan before training (ε target, δ, noise) and ε spent after."""
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    runs = tmp_path / "runs"
    dp = ("--privacy", "dp", "--epsilon", "3", "--method", "lora", "train.epochs=1")
    assert _train(data, tiny_model_dir, runs, "p", *dp) == 0
    printed = capsys.readouterr()
    assert "differential privacy: ε ≤ 3, δ = " in printed.err
    assert "privacy: DP-SGD: ε = " in printed.out and "(target 3)" in printed.out


def test_the_out_of_scope_class_means_of_a_private_run_come_from_validation(private_run):
    """The Gaussians kept beside a private model describe the validation split, not the
    training examples ε protects: their class means are the validation features' means."""
    import numpy as np

    from tuneforge.evaluate.abstain import read_scores
    from tuneforge.predict import load_predictor
    from tuneforge.recipes.export import run_examples
    from tuneforge.store import RunDir

    run = RunDir(private_run / "dp")
    scores = read_scores(run.saved_model_dir())
    predictor = load_predictor(run.saved_model_dir())
    labels = list(predictor.labels)
    val = run_examples(run, "val")
    features = np.asarray(predictor.embed([e.text for e in val]))
    for k, name in enumerate(labels):
        rows = [i for i, e in enumerate(val) if e.label == name]
        np.testing.assert_allclose(scores["means"][k], features[rows].mean(axis=0), atol=1e-4)
