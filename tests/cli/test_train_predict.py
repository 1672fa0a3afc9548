"""End to end through the CLI: train → evaluate → predict → reload in plain transformers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from tuneforge.cli import main

from ..conftest import TINY_TRAIN


class TrainedRun(NamedTuple):
    path: Path
    stdout: str


@pytest.fixture
def trained_run(tiny_model_dir, tickets_csv, runs_dir, capsys):
    code = main(
        [
            "train",
            str(tickets_csv),
            "--model",
            str(tiny_model_dir),
            "--runs-dir",
            str(runs_dir),
            "--name",
            "e2e",
            "--no-progress",
            *TINY_TRAIN,
        ]
    )
    assert code == 0
    return TrainedRun(runs_dir / "e2e", capsys.readouterr().out)


def test_train_writes_a_complete_run(trained_run):
    """A run directory holds config, status, metrics, eval, report and a loadable model."""
    out, trained_run = trained_run.stdout, trained_run.path
    assert "e2e" in out and "accuracy" in out
    status = json.loads((trained_run / "status.json").read_text())
    assert status["state"] == "succeeded"
    for key in ("git_sha", "packages", "data_fingerprint", "seed", "created_at", "finished_at"):
        assert key in status
    assert status["frozen_layers"] == 0, "a third of the tiny model's 2 blocks, rounded down"
    ev = json.loads((trained_run / "eval.json").read_text())
    for key in ("accuracy", "macro_f1", "per_class", "confusion", "labels"):
        assert key in ev
    assert ev["accuracy"] >= 0.8, "the tiny model learns the keyword task"
    assert ev["baseline"]["name"] == "tfidf-linear-svm"
    assert set(ev["per_class"]) == {"account", "billing", "shipping"}
    lines = (trained_run / "metrics.jsonl").read_text().splitlines()
    assert any(json.loads(x)["split"] == "val" for x in lines)
    html = (trained_run / "report.html").read_text()
    assert "data:image/png;base64" in html and "https://" not in html
    assert (trained_run / "config.yaml").is_file()
    profile = json.loads((trained_run / "profile.json").read_text())
    assert profile["labels"] == ["account", "billing", "shipping"]
    assert sum(profile["label_counts"].values()) == len(profile["confidences"]) == ev["n"]
    assert (trained_run / "artifacts" / "model" / "model.safetensors").is_file()
    assert not (trained_run / "checkpoints").exists()


def test_plain_transformers_reload_predicts_the_same(trained_run):
    """The saved model, loaded by plain transformers, gives tuneforge's probabilities."""
    trained_run = trained_run.path
    import torch
    import transformers

    from tuneforge.predict import TorchPredictor

    model_dir = trained_run / "artifacts" / "model"
    texts = ["invoice question about the refund", "parcel issue with courier", "password my login"]
    ours = TorchPredictor.from_dir(model_dir).predict_proba(texts)
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        logits = model(**tok(texts, padding=True, return_tensors="pt")).logits
    np.testing.assert_allclose(ours, torch.softmax(logits, -1).numpy(), atol=1e-5)
    assert [model.config.id2label[i] for i in ours.argmax(1)] == ["billing", "shipping", "account"]


def test_evaluate_predict_and_runs_commands(trained_run, tickets_csv, runs_dir, tmp_path, capsys):
    """evaluate, predict (texts and file), runs list/show/compare all work on the run."""
    trained_run = trained_run.path
    rd = str(runs_dir)
    assert main(["evaluate", "e2e", "--data", str(tickets_csv), "--runs-dir", rd]) == 0
    assert (trained_run / "eval-tickets.json").is_file()
    assert main(["predict", "e2e", "where is my parcel", "--top-k", "2", "--runs-dir", rd]) == 0
    assert "shipping" in capsys.readouterr().out
    out_file = tmp_path / "preds.jsonl"
    assert (
        main(
            [
                "predict",
                str(trained_run),
                "--input",
                str(tickets_csv),
                "--output",
                str(out_file),
                "--runs-dir",
                rd,
            ]
        )
        == 0
    )
    rows = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert len(rows) == 120 and {"label", "score", "top_k", "text"} <= set(rows[0])
    capsys.readouterr()
    assert main(["runs", "list", "--runs-dir", rd]) == 0
    assert "e2e" in capsys.readouterr().out
    assert main(["runs", "show", "e2e", "--runs-dir", rd]) == 0
    assert "succeeded" in capsys.readouterr().out
    assert main(["runs", "compare", "e2e", "e2e", "--runs-dir", rd]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_every_command_has_help_with_an_example(capsys):
    """--help works on every command and shows an example."""
    for argv in (
        ["train"],
        ["evaluate"],
        ["predict"],
        ["data", "check"],
        ["runs", "list"],
        ["runs", "show"],
        ["runs", "compare"],
    ):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--help"])
        assert exc.value.code == 0
        assert "example:" in capsys.readouterr().out
