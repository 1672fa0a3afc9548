"""Contract matrix over every export variant on a tiny model: builds, loads, parity recorded."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tuneforge.cli import main
from tuneforge.predict import OnnxPredictor, TorchPredictor, load_predictor
from tuneforge.serve import ServeSettings, create_app

from ..conftest import train_tiny_run, write_csv

VARIANTS = [
    ("hf", "none", "hf", True),
    ("hf", "bf16", "torch-bf16", False),
    ("onnx", "none", "onnx-fp32", True),
    ("onnx", "int8-dynamic", "onnx-int8-dynamic", False),
    ("onnx", "int8-static", "onnx-int8-static", False),
    ("onnx", "int4", "onnx-int4", False),
]


@pytest.fixture(scope="module")
def tiny_run(tiny_model_dir, tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("release"), tiny_model_dir, "rel")


@pytest.mark.parametrize("fmt,quantize,variant,exact", VARIANTS)
def test_variant_builds_loads_and_records_parity(tiny_run, fmt, quantize, variant, exact, capsys):
    """Each variant is a loadable artifact with a parity report; exact ones match the model."""
    code = main(
        ["export", "rel", "--format", fmt, "--quantize", quantize, "--runs-dir", str(tiny_run)]
    )
    assert code == 0, capsys.readouterr().err
    artifact = tiny_run / "rel" / "artifacts" / variant
    predictor = load_predictor(artifact)
    assert isinstance(predictor, OnnxPredictor if fmt == "onnx" else TorchPredictor)
    assert predictor.labels == ("account", "billing", "shipping")
    probs = predictor.predict_proba(["invoice question about the refund", "x"])
    assert probs.shape == (2, 3)
    report = json.loads((artifact / "parity.json").read_text())
    for key in ("agreement", "max_abs_prob_diff", "mean_abs_prob_diff", "accuracy_delta", "n"):
        assert key in report
    assert report["n"] == 12  # the run's saved test split
    if exact:
        assert report["passed"] and report["agreement"] >= 0.999
        assert report["max_abs_prob_diff"] <= 1e-3
    assert report["embedding_min_cosine"] >= (0.999 if exact else 0.9)  # every text variant embeds
    recorded = json.loads((tiny_run / "rel" / "parity.json").read_text())
    assert recorded[variant] == report


@pytest.mark.parametrize("variant", ["onnx-fp32", "onnx-int8-dynamic"])
def test_onnx_exports_embed_like_the_trained_model(tiny_run, variant, capsys):
    """An ONNX export carries the encoder's pooled output: `embed` on it gives the trained
    model's vectors (fp32: the same up to float error; int8: close), so `tuneforge embed`,
    /v1/embed and /v1/similar work on a torch-free server."""
    runs = str(tiny_run)
    assert main(["export", "rel", "--format", "onnx", "--runs-dir", runs]) == 0
    if variant != "onnx-fp32":
        assert (
            main(
                [
                    "export",
                    "rel",
                    "--format",
                    "onnx",
                    "--quantize",
                    "int8-dynamic",
                    "--runs-dir",
                    runs,
                ]
            )
            == 0
        )
    texts = ["invoice question about the refund", "where is my parcel", "x"]
    trained = load_predictor(tiny_run / "rel" / "artifacts" / "model").embed(texts)
    exported = load_predictor(tiny_run / "rel" / "artifacts" / variant)
    assert exported.embeds and exported.embedding_dim == trained.shape[1]
    vectors = exported.embed(texts)
    cosine = (trained * vectors).sum(1) / (
        np.linalg.norm(trained, axis=1) * np.linalg.norm(vectors, axis=1)
    )
    assert cosine.min() > (0.9999 if variant == "onnx-fp32" else 0.95)
    app = create_app(exported, ServeSettings(embed=True), {"name": "rel", "version": variant})
    with TestClient(app) as client:
        served = client.post("/v1/embed", json={"inputs": texts[:2]})
    assert served.status_code == 200
    unit = vectors[:2] / np.linalg.norm(vectors[:2], axis=1, keepdims=True)
    # int8 quantises each batch's activations with that batch's own range: the server's
    # batches are not this call's, so its vectors agree closely rather than to the last bit
    assert (np.asarray(served.json()["embeddings"]) * unit).sum(1).min() > 0.999


def test_onnx_has_dynamic_batch_and_sequence(tiny_run):
    """The ONNX graph accepts any batch size and sequence length."""
    main(["export", "rel", "--format", "onnx", "--runs-dir", str(tiny_run)])
    predictor = OnnxPredictor(tiny_run / "rel" / "artifacts" / "onnx-fp32", batch_size=3)
    torch_pred = TorchPredictor.from_dir(tiny_run / "rel" / "artifacts" / "model")
    texts = ["a", "parcel " * 40, "billing invoice", "x y z", "password login email"]
    import numpy as np

    np.testing.assert_allclose(
        predictor.predict_proba(texts), torch_pred.predict_proba(texts), atol=1e-4
    )


def test_invalid_variant_unknown_run_and_corrupt_onnx(tiny_run, tmp_path, capsys):
    """Bad requests fail with a clear message and a non-zero exit."""
    rd = str(tiny_run)
    assert (
        main(["export", "rel", "--format", "hf", "--quantize", "int8-dynamic", "--runs-dir", rd])
        == 2
    )
    assert "not a variant" in capsys.readouterr().err
    assert main(["export", "ghost", "--runs-dir", rd]) == 1
    assert "ghost" in capsys.readouterr().err
    main(["export", "rel", "--format", "onnx", "--runs-dir", rd])
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_run / "rel" / "artifacts" / "onnx-fp32", broken)
    (broken / "model.onnx").write_bytes(b"garbage")
    assert main(["predict", str(tiny_run / "rel"), "x", "--runs-dir", rd]) == 0
    from tuneforge.errors import ModelError

    with pytest.raises(ModelError, match="corrupt"):
        OnnxPredictor(broken)


def test_run_without_model_is_refused(tiny_run, capsys):
    """Exporting a run that has no saved model names the run and its state."""
    import shutil

    shutil.copytree(tiny_run / "rel", tiny_run / "nomodel")
    shutil.rmtree(tiny_run / "nomodel" / "artifacts")
    assert main(["export", "nomodel", "--runs-dir", str(tiny_run)]) == 1
    assert "no saved model" in capsys.readouterr().err


def test_promote_gate_force_and_name_at_stage(tiny_run, capsys):
    """A variant over the accuracy-drop gate is refused unless --force (recorded as forced);
    NAME@stage then resolves in predict."""
    rd = str(tiny_run)
    assert main(["export", "rel", "--format", "onnx", "--runs-dir", rd]) == 0
    assert (
        main(
            [
                "registry",
                "promote",
                "rel:onnx-fp32",
                "--name",
                "tick",
                "--stage",
                "production",
                "--runs-dir",
                rd,
            ]
        )
        == 0
    )
    main(["export", "rel", "--format", "onnx", "--quantize", "int8-dynamic", "--runs-dir", rd])
    parity_path = tiny_run / "rel" / "parity.json"
    parity = json.loads(parity_path.read_text())
    # Simulate a real 2-point loss on a large test set: 80 examples only the trained model
    # gets right, 20 only the variant, of 3,000 (well beyond the noise of that many examples).
    parity["onnx-int8-dynamic"].update(
        accuracy_delta=-0.02, n=3000, reference_only_correct=80, candidate_only_correct=20
    )
    parity_path.write_text(json.dumps(parity))
    capsys.readouterr()
    code = main(
        [
            "registry",
            "promote",
            "rel:onnx-int8-dynamic",
            "--name",
            "tick",
            "--stage",
            "production",
            "--runs-dir",
            rd,
        ]
    )
    assert code == 3 and "loses 2.00 accuracy points" in capsys.readouterr().err
    assert (
        main(
            [
                "registry",
                "promote",
                "rel:onnx-int8-dynamic",
                "--name",
                "tick",
                "--stage",
                "production",
                "--force",
                "--runs-dir",
                rd,
            ]
        )
        == 0
    )
    assert "(forced)" in capsys.readouterr().out
    assert main(["predict", "tick@production", "invoice question", "--runs-dir", rd]) == 0
    assert main(["registry", "rollback", "tick", "--stage", "production", "--runs-dir", rd]) == 0
    assert main(["registry", "show", "tick", "--runs-dir", rd]) == 0
    out = capsys.readouterr().out
    assert "forced" in out and "onnx-fp32" in out


def test_compress_measures_every_variant_and_recommends_one(tiny_run, capsys):
    """compress writes tradeoff.json with every field per variant, a recommendation within
    tolerance, and a trade-off section in the report."""
    code = main(
        [
            "compress",
            "rel",
            "--variants",
            "model,onnx-fp32,onnx-int8-dynamic",
            "--runs-dir",
            str(tiny_run),
        ]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads((tiny_run / "rel" / "tradeoff.json").read_text())
    assert [r["variant"] for r in data["variants"]] == ["model", "onnx-fp32", "onnx-int8-dynamic"]
    for row in data["variants"]:
        for key in (
            "accuracy",
            "macro_f1",
            "agreement",
            "size_mb",
            "peak_rss_mb",
            "p50_ms",
            "p95_ms",
            "throughput_batch32",
            "within_tolerance",
        ):
            assert key in row
        assert row["size_mb"] > 0 and row["p50_ms"] > 0 and row["peak_rss_mb"] > 50
    chosen = next(r for r in data["variants"] if r["variant"] == data["recommended"])
    assert chosen["within_tolerance"]
    eligible = [r for r in data["variants"] if r["within_tolerance"]]
    assert chosen["p50_ms"] == min(r["p50_ms"] for r in eligible)
    assert "Compression trade-off" in (tiny_run / "rel" / "report.html").read_text()
    assert "recommended" in capsys.readouterr().out


def test_compress_rejects_unknown_variants_and_foreign_labels(tiny_run, tmp_path, capsys):
    """Unknown variants and measurement files with labels the model lacks are refused."""
    assert main(["compress", "rel", "--variants", "gguf", "--runs-dir", str(tiny_run)]) == 2
    assert "Unknown variants" in capsys.readouterr().err
    bad = write_csv(tmp_path / "bad.csv", [{"text": "x", "label": "alien"}])
    assert main(["compress", "rel", "--data", str(bad), "--runs-dir", str(tiny_run)]) == 1
    assert "alien" in capsys.readouterr().err


def test_distilled_student_is_smaller_and_initialised_from_the_teacher(tiny_run, capsys):
    """The distilled variants halve the layers, load in plain transformers, and keep labels."""
    import transformers

    code = main(
        ["compress", "rel", "--variants", "distilled,distilled-int8", "--runs-dir", str(tiny_run)]
    )
    assert code == 0, capsys.readouterr().err
    student_dir = tiny_run / "rel" / "artifacts" / "distilled"
    student = transformers.AutoModelForSequenceClassification.from_pretrained(student_dir)
    teacher = transformers.AutoModelForSequenceClassification.from_pretrained(
        tiny_run / "rel" / "artifacts" / "model"
    )
    assert student.config.num_hidden_layers == teacher.config.num_hidden_layers // 2
    assert student.config.id2label == teacher.config.id2label
    data = json.loads((tiny_run / "rel" / "tradeoff.json").read_text())
    sizes = {r["variant"]: r["size_mb"] for r in data["variants"]}
    assert sizes["distilled-int8"] < sizes["distilled"]
    parity = json.loads((tiny_run / "rel" / "parity.json").read_text())
    assert {"distilled", "distilled-int8"} <= set(parity)


def test_student_layers_come_from_the_teacher(tiny_model_dir):
    """make_student copies evenly spaced teacher layers, embeddings and head exactly."""
    import torch

    from tuneforge.compress.distill import make_student
    from tuneforge.config import ModelConfig
    from tuneforge.models import load_model
    from tuneforge.types import LabelMap

    teacher = load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("a", "b")))
    student = make_student(teacher, 1)
    t, s = teacher.model.state_dict(), student.model.state_dict()
    assert torch.equal(s["classifier.weight"], t["classifier.weight"])
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(s[key], t[key])
    assert not any(".layer.1." in k for k in s)


def test_compress_shows_progress_and_keeps_exporter_noise_out(tiny_run, capsys, caplog):
    """compress reports variant by variant (a bar with done/total) and the exporters'
    warnings (onnxruntime's pre-processing advice, tracer warnings) do not reach the user."""
    import logging
    import warnings

    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        code = main(
            ["compress", "rel", "--variants", "model,onnx-fp32,onnx-int8-dynamic", "--json"]
            + ["--runs-dir", str(tiny_run)]
        )
    assert code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["recommended"]  # stdout is the JSON document alone
    err = captured.err
    assert "3/3" in err
    assert not [r for r in caplog.records if "quantization" in r.getMessage()]
    assert not [w for w in seen if "onnx" in str(w.filename)]


@pytest.mark.parametrize(
    "quantize,variant", [("none", "onnx-fp32"), ("int8-dynamic", "onnx-int8-dynamic")]
)
def test_onnx_directory_opens_like_a_transformers_export(tiny_run, quantize, variant, capsys):
    """An ONNX artifact carries config.json with the labels (what Optimum's ORT classes read),
    the labels in the graph's own metadata, a tokenizer that transformers.AutoTokenizer loads,
    and the trained max length in tokenizer_config.json."""
    import onnxruntime as ort
    import transformers

    code = main(
        ["export", "rel", "--format", "onnx", "--quantize", quantize, "--runs-dir", str(tiny_run)]
    )
    assert code == 0, capsys.readouterr().err
    artifact = tiny_run / "rel" / "artifacts" / variant
    labels = ["account", "billing", "shipping"]
    config = json.loads((artifact / "config.json").read_text())
    assert config["id2label"] == {"0": "account", "1": "billing", "2": "shipping"}
    assert config["label2id"] == {name: i for i, name in enumerate(labels)}
    session = ort.InferenceSession(str(artifact / "model.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["labels"]) == labels
    assert json.loads(meta["id2label"]) == {"0": "account", "1": "billing", "2": "shipping"}
    tokenizer = transformers.AutoTokenizer.from_pretrained(artifact)
    assert tokenizer("refund please")["input_ids"][0] == tokenizer.cls_token_id
    assert tokenizer.model_max_length == 128  # the run's max_length, not the base's 512


def test_trained_and_exported_models_carry_a_model_card(tiny_run, capsys):
    """artifacts/model/README.md states the run's data fingerprint, test metrics with the
    test size and the method; an exported variant's card names the variant and its agreement
    with the trained model."""
    assert main(["export", "rel", "--format", "onnx", "--runs-dir", str(tiny_run)]) == 0
    run = tiny_run / "rel"
    status = json.loads((run / "status.json").read_text())
    evaluation = json.loads((run / "eval.json").read_text())
    card = (run / "artifacts" / "model" / "README.md").read_text()
    assert status["data_fingerprint"] in card
    assert f"| test | 12 | {evaluation['accuracy']:.4f} |" in card
    assert "| fine-tuning method | full |" in card
    assert "| 0 | account |" in card
    exported = (run / "artifacts" / "onnx-fp32" / "README.md").read_text()
    assert "onnx-fp32" in exported and status["data_fingerprint"] in exported
    assert "Agreement with the trained model" in exported


def test_text_classifier_opens_an_onnx_export(tiny_run, capsys):
    """TextClassifier.load takes an exported ONNX directory and predicts as the ONNX
    predictor does; saving it again is refused with a clear message."""
    import numpy as np
    import pytest as _pytest

    from tuneforge import TextClassifier
    from tuneforge.errors import DataError

    assert main(["export", "rel", "--format", "onnx", "--runs-dir", str(tiny_run)]) == 0
    artifact = tiny_run / "rel" / "artifacts" / "onnx-fp32"
    clf = TextClassifier.load(artifact)
    texts = ["refund please", "where is my parcel"]
    expected = load_predictor(artifact).predict_proba(texts)
    np.testing.assert_allclose(clf.predict_proba(texts), expected, atol=1e-6)
    assert list(clf.classes_) == ["account", "billing", "shipping"]
    with _pytest.raises(DataError, match="ONNX"):
        clf.save(tiny_run / "copy")


def test_static_int8_calibrates_on_any_number_of_texts(tiny_run, tmp_path):
    """Calibration texts that do not fill the last batch (21 = 16 + 5) still quantise: the
    static quantiser stacks equal-shaped batches, so the remainder is left out."""
    from tuneforge.compress.quantize import quantize_int8_static

    assert main(["export", "rel", "--format", "onnx", "--runs-dir", str(tiny_run)]) == 0
    texts = [f"invoice {i} about parcel " + "word " * (i % 7) for i in range(21)]
    out = quantize_int8_static(tiny_run / "rel" / "artifacts" / "onnx-fp32", tmp_path / "s", texts)
    probs = load_predictor(out).predict_proba(["refund my invoice", "where is my parcel"])
    assert probs.shape == (2, 3)


def test_an_onnx_predictor_never_imports_torch(tiny_run):
    """Loading, predicting and serving an ONNX variant leaves torch and transformers unloaded
    (a separate process, so this suite's own imports do not count)."""
    import subprocess
    import sys

    assert main(["export", "rel", "--format", "onnx", "--runs-dir", str(tiny_run)]) == 0
    artifact = tiny_run / "rel" / "artifacts" / "onnx-fp32"
    script = (
        "import sys\n"
        "from tuneforge.predict import load_predictor\n"
        "from tuneforge.serve import ServeSettings, create_app\n"
        f"p = load_predictor({str(artifact)!r})\n"
        "p.predict(['refund my invoice'])\n"
        "create_app(p, ServeSettings(), {'name': 'm'})\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
