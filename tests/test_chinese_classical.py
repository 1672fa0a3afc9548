"""Chinese without a Chinese encoder: with no --model, train sees that the packaged encoder
does not cover the text, trains the models for any script and keeps the best on validation
(said on the console, in status.json and the report); the chosen tfidf-linear model goes
through export to ONNX with parity, the registry, the server's /v1/predict and /v1/explain,
occlusion per character, and the monitoring profile. --model tfidf-linear trains it
directly, and English data keeps the encoder."""

from __future__ import annotations

import json
import random

import pytest
from fastapi.testclient import TestClient

from tuneforge.cli import main

from .conftest import make_rows, write_csv

POSITIVE = ["味道很好", "送餐很快", "非常好吃", "服务周到", "分量很足", "下次还点"]
NEGATIVE = ["太难吃了", "送得太慢", "菜都凉了", "服务很差", "分量太少", "再也不点"]
LABELS = ("好评", "差评")


def reviews(n: int = 120) -> list[dict]:
    rng = random.Random(1)
    return [
        {
            "text": "".join(rng.sample(POSITIVE if i % 2 else NEGATIVE, 3)) + "。",
            "label": LABELS[0] if i % 2 else LABELS[1],
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory):
    """One default `train` on Chinese reviews; (runs dir, console error output)."""
    root = tmp_path_factory.mktemp("zh-auto")
    data = write_csv(root / "reviews.csv", reviews())
    runs = root / "runs"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    err = io.StringIO()
    capture.setattr(sys, "stderr", err)
    try:
        code = main(["train", str(data), "--runs-dir", str(runs), "--name", "zh", "--no-progress"])
    finally:
        capture.undo()
    assert code == 0, err.getvalue()
    return runs, err.getvalue()


def test_default_train_chooses_a_model_for_any_script_and_says_why(auto_run):
    """The coverage warning, then each candidate's validation accuracy and the winner on the
    console; status.json and the report name the chosen model and the figures."""
    runs, err = auto_run
    assert "does not cover this text's language" in err
    assert "candidate tfidf-linear: validation accuracy" in err
    assert "model choice: tfidf-linear" in err
    status = json.loads((runs / "zh" / "status.json").read_text(encoding="utf-8"))
    assert status["model_dir"] == "tfidf-linear"
    choice = status["model_choice"]
    assert choice["chosen"] == "tfidf-linear" and "validation accuracy" in choice["why"]
    assert choice["candidates"]["tfidf-linear"]["val_accuracy"] >= 0.9
    assert "does not cover" in choice["trigger"]
    report = (runs / "zh" / "report.html").read_text(encoding="utf-8")
    assert "Model choice" in report and "tfidf-linear (chosen)" in report
    evaluation = json.loads((runs / "zh" / "eval.json").read_text(encoding="utf-8"))
    assert evaluation["accuracy"] >= 0.9


def test_onnx_export_passes_parity_and_the_server_predicts_and_explains(auto_run):
    """export --format onnx goes through skl2onnx and the parity gate; the ONNX variant is
    promoted, served (/v1/predict, /v1/explain by occlusion) and answers Chinese labels."""
    from tuneforge.recipes.serve import load_served_model
    from tuneforge.serve import ServeSettings, create_app

    runs, _ = auto_run
    assert main(["export", "zh", "--format", "onnx", "--runs-dir", str(runs)]) == 0
    parity = json.loads((runs / "zh" / "parity.json").read_text(encoding="utf-8"))
    record = parity["onnx-fp32"]
    assert record["passed"] and record["max_abs_prob_diff"] <= 1e-3
    argv = ["registry", "promote", "zh:onnx-fp32", "--name", "reviews", "--stage", "production"]
    assert main([*argv, "--runs-dir", str(runs)]) == 0
    predictor, info = load_served_model("reviews@production", runs, None)
    assert predictor.family == "tfidf-linear" and hasattr(predictor, "session")  # onnxruntime
    app = create_app(predictor, ServeSettings(explain=True), info)
    with TestClient(app) as client:
        r = client.post("/v1/predict", json={"inputs": ["太难吃了菜都凉了", "味道很好 good"]})
        assert r.status_code == 200
        assert [p["label"] for p in r.json()["predictions"]] == ["差评", "好评"]
        r = client.post("/v1/explain", json={"inputs": ["味道很好"], "method": "occlusion"})
        assert r.status_code == 200, r.text
        body = json.dumps(r.json(), ensure_ascii=False)
        assert all(f'"{ch}"' in body for ch in "味道很好")  # one attribution per character
        assert client.post("/v1/predict", json={"inputs": [3]}).status_code == 422


def test_explain_and_the_monitoring_profile_of_the_trained_model(auto_run, capsys):
    """`tuneforge explain` defaults to occlusion for a model without torch (integrated
    gradients are refused with a hint); profile.json records the unseen-character rate."""
    runs, _ = auto_run
    assert main(["explain", "zh", "菜都凉了", "--runs-dir", str(runs)]) == 0
    assert "occlusion" in capsys.readouterr().out
    assert main(["explain", "zh", "菜都凉了", "--method", "ig", "--runs-dir", str(runs)]) != 0
    profile = json.loads((runs / "zh" / "profile.json").read_text(encoding="utf-8"))
    assert 0 <= profile["unknown_token_rate"] < 0.5


def test_given_model_is_trained_as_said_and_english_keeps_the_encoder(tmp_path):
    """--model tfidf-linear trains it without a choice; on English data with no --model the
    task keeps the packaged encoder (no candidates), so that default path is unchanged."""
    from tuneforge.config import DataConfig, RunConfig
    from tuneforge.models import default_model_dir
    from tuneforge.tasks import open_task

    data = write_csv(tmp_path / "tickets.csv", make_rows(20))
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--model", "tfidf-linear", "--runs-dir", str(runs), "--name", "t"]
    assert main([*argv, "--no-progress"]) == 0
    status = json.loads((runs / "t" / "status.json").read_text(encoding="utf-8"))
    assert status["model_dir"] == "tfidf-linear" and "model_choice" not in status
    task = open_task(RunConfig(data=DataConfig(train_file=str(data))))
    task.load_data()
    assert task.family == "" and task.model_ref == str(default_model_dir())
    assert open_task(runs / "t" / "artifacts" / "model").family == "tfidf-linear"


def test_char_cnn_trains_exports_with_parity_and_predicts(tmp_path, capsys):
    """--model char-cnn: safetensors in the run, export --format onnx passes the parity gate,
    and predict answers through the ONNX variant promoted in the registry."""
    data = write_csv(tmp_path / "reviews.csv", reviews(80))
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--model", "char-cnn", "--runs-dir", str(runs), "--name", "c"]
    assert main([*argv, "--no-progress"]) == 0
    assert (runs / "c" / "artifacts" / "model" / "model.safetensors").is_file()
    assert main(["export", "c", "--format", "onnx", "--runs-dir", str(runs)]) == 0
    parity = json.loads((runs / "c" / "parity.json").read_text(encoding="utf-8"))["onnx-fp32"]
    assert parity["passed"] and parity["agreement"] == 1.0
    promote = ["registry", "promote", "c:onnx-fp32", "--name", "cnn", "--stage", "staging"]
    assert main([*promote, "--runs-dir", str(runs)]) == 0
    capsys.readouterr()
    assert main(["predict", "cnn@staging", "菜都凉了", "--json", "--runs-dir", str(runs)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["label"] in LABELS


def test_a_private_run_keeps_the_encoder_and_a_family_refuses_privacy(tmp_path):
    """--privacy dp on Chinese with no --model keeps the encoder (only it trains with DP-SGD,
    the warning still shows); --model tfidf-linear --privacy dp is refused with a hint."""
    from tuneforge.config import DataConfig, ModelConfig, PrivacyConfig, RunConfig
    from tuneforge.errors import ConfigError
    from tuneforge.tasks import open_task

    data = str(write_csv(tmp_path / "reviews.csv", reviews(60)))
    private = PrivacyConfig(mode="dp")
    task = open_task(RunConfig(data=DataConfig(train_file=data), privacy=private))
    loaded = task.load_data()
    assert task.family == "" and any("does not cover" in w for w in task.warnings(loaded))
    given = RunConfig(
        data=DataConfig(train_file=data), model=ModelConfig(name="tfidf-linear"), privacy=private
    )
    with pytest.raises(ConfigError, match="DP-SGD"):
        open_task(given).load_data()
