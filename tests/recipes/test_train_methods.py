"""`tuneforge train --method ...`: adapter runs are complete runs that every later stage reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tuneforge.cli import main
from tuneforge.errors import ConfigError
from tuneforge.predict import TorchPredictor, load_predictor
from tuneforge.store import RunStore, default_store_url

from ..conftest import TINY_TRAIN


def _train(tickets_csv, tiny_model_dir, runs_dir, name, *extra):
    argv = [
        "train",
        str(tickets_csv),
        "--model",
        str(tiny_model_dir),
        "--runs-dir",
        str(runs_dir),
        "--name",
        name,
        "--no-progress",
        *TINY_TRAIN,
        *extra,
    ]
    return main(argv)


@pytest.mark.parametrize("method", ["lora", "prefix"])
def test_adapter_run_keeps_adapter_and_a_loadable_model(
    method, tickets_csv, tiny_model_dir, runs_dir
):
    """The run holds artifacts/adapter (with its head) and artifacts/model that predicts like it;
    config.yaml names the method; evaluation ran on the saved artifact."""
    assert _train(tickets_csv, tiny_model_dir, runs_dir, method, "--method", method) == 0
    run = runs_dir / method
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["method"]["name"] == method
    assert config["train"]["lr"] == pytest.approx(2e-3)  # TINY_TRAIN's explicit lr wins
    adapter = run / "artifacts" / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    meta = json.loads((adapter / "tuneforge.json").read_text())
    assert meta["method"] == method and meta["labels"] == ["account", "billing", "shipping"]
    merged = not (run / "artifacts" / "model" / "adapter_config.json").exists()
    assert merged == (method == "lora")
    texts = ["refund for my invoice", "parcel delivery late", "reset my password"]
    from_model = TorchPredictor.from_dir(run / "artifacts" / "model").predict_proba(texts)
    from_adapter = load_predictor(adapter).predict_proba(texts)
    np.testing.assert_allclose(from_model, from_adapter, atol=1e-4)
    report = json.loads((run / "eval.json").read_text())
    assert 0.0 <= report["accuracy"] <= 1.0
    # Release takes adapter runs as they are: ONNX export passes its exact-parity gate.
    assert main(["export", method, "--runs-dir", str(runs_dir), "--format", "onnx"]) == 0
    parity = json.loads((run / "artifacts" / "onnx-fp32" / "parity.json").read_text())
    assert parity["agreement"] >= 0.999


def test_default_learning_rate_follows_the_method(tickets_csv, tiny_model_dir, runs_dir):
    """Without --lr, config.yaml records the method's default (LoRA needs larger steps)."""
    overrides = [o for o in TINY_TRAIN if not o.startswith("train.lr=")]
    argv = [
        "train",
        str(tickets_csv),
        "--model",
        str(tiny_model_dir),
        "--runs-dir",
        str(runs_dir),
        "--name",
        "lora-default",
        "--no-progress",
        "--method",
        "lora",
        "train.epochs=1",
        *[o for o in overrides if not o.startswith("train.epochs=")],
    ]
    assert main(argv) == 0
    config = yaml.safe_load((runs_dir / "lora-default" / "config.yaml").read_text())
    assert config["train"]["lr"] == pytest.approx(1e-3)
    assert RunStore(default_store_url(runs_dir)).params("lora-default")["method.name"] == "lora"


def test_unknown_method_leaves_no_run_behind(tickets_csv, tiny_model_dir, runs_dir, capsys):
    """A misspelt method in a key=value override is a config error before any run exists."""
    code = _train(tickets_csv, tiny_model_dir, runs_dir, "bad", "method.name=lorra")
    assert code == ConfigError.exit_code
    assert "lorra" in capsys.readouterr().err
    assert not (runs_dir / "bad").exists()
