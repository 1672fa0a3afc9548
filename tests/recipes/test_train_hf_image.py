"""Image runs with --model DIR: a local Hugging Face image classifier fine-tuned (full or LoRA)
through the same train command, saved, reloaded by plain transformers and peft, exported to
ONNX with the parity gate, and served."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from tuneforge.cli import main
from tuneforge.data.image_splits import load_image_split
from tuneforge.errors import ConfigError, ModelError
from tuneforge.predict import ImagePredictor, load_predictor
from tuneforge.recipes.export import export_run
from tuneforge.recipes.registry import variant_gate
from tuneforge.store import RunDir

from ..conftest import SHAPES, write_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# A random tiny ViT learns the shapes in ten epochs of 72 images (about a second) with large
# steps: 3e-3 in full, 3e-2 for LoRA on its random frozen base. No augmentation or early stop.
TINY_VIT_TRAIN = [
    "--epochs",
    "10",
    "--batch-size",
    "8",
    "image.augment=false",
    "train.early_stopping_patience=0",
]


def _train(data, runs, model_dir, name: str, *extra: str) -> int:
    argv = ["train", str(data), "--model", str(model_dir), "--runs-dir", str(runs)]
    return main([*argv, "--name", name, "--no-progress", *TINY_VIT_TRAIN, *extra])


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_vit_dir):
    """A shapes folder and two finished runs on the tiny ViT: 'vit-full' and 'vit-lora'."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("hf-image-runs")
    data = write_shapes(root / "shapes", n_per_label=30)
    runs_dir = root / "runs"
    assert _train(data, runs_dir, tiny_vit_dir, "vit-full", "--lr", "3e-3") == 0
    lora = ("--method", "lora", "--lr", "3e-2")
    assert _train(data, runs_dir, tiny_vit_dir, "vit-lora", *lora) == 0
    torch.set_num_threads(before)
    return runs_dir


def _test_pixels(run) -> list[np.ndarray]:
    return [e.pixels for e in load_image_split(run / "data" / "test.npz")]


@pytest.mark.parametrize("name", ["vit-full", "vit-lora"])
def test_run_is_complete_and_learns(runs, tiny_vit_dir, name):
    """A run on a Hugging Face image model has the files of any image run: eval.json with the
    usual metrics (better than chance), the splits at the model's input size (16×16 RGB), a
    save_pretrained model with its processor config and image metadata, config.yaml with the
    pretrained-model defaults, and status.json naming the model directory."""
    run = runs / name
    status = json.loads((run / "status.json").read_text())
    assert (status["state"], status["task"]) == ("succeeded", "image")
    assert status["model_dir"] == str(tiny_vit_dir.resolve())

    ev = json.loads((run / "eval.json").read_text())
    assert ev["labels"] == list(SHAPES) and ev["n"] == 9
    assert ev["accuracy"] > 0.6  # chance is 1/3
    assert ev["baseline"]["name"] == "pixel-logistic-regression"
    assert load_image_split(run / "data" / "test.npz")[0].pixels.shape == (16, 16, 3)

    model = run / "artifacts" / "model"
    for file in ("model.safetensors", "config.json", "preprocessor_config.json", "labels.json"):
        assert (model / file).is_file()
    assert not list(model.glob("*.bin"))
    meta = json.loads((model / "tuneforge.json").read_text())
    assert meta["task"] == "image" and meta["image_shape"] == [16, 16, 3]
    assert meta["mean"] == pytest.approx([0.5] * 3) and meta["std"] == pytest.approx([0.5] * 3)

    train = yaml.safe_load((run / "config.yaml").read_text())["train"]
    assert train["lr"] == pytest.approx(3e-3 if name == "vit-full" else 3e-2)
    # The pretrained-model (text) defaults, not the CNN's 64 / 1e-4 / 5% / fp32.
    assert (train["weight_decay"], train["warmup_ratio"], train["precision"]) == (
        0.01,
        0.06,
        "auto",
    )


@pytest.mark.parametrize("name", ["vit-full", "vit-lora"])
def test_saved_model_predicts_like_plain_transformers(runs, name):
    """load_predictor(artifacts/model) is an ImagePredictor whose probabilities on the run's
    test images equal those of the directory loaded by plain transformers and fed the
    processor's pixel_values; the label names come back from config.json."""
    import transformers

    model_dir = runs / name / "artifacts" / "model"
    predictor = load_predictor(model_dir)
    assert isinstance(predictor, ImagePredictor) and predictor.labels == SHAPES
    plain = transformers.AutoModelForImageClassification.from_pretrained(
        model_dir, local_files_only=True
    ).eval()
    assert tuple(plain.config.id2label[i] for i in range(3)) == SHAPES
    processor = transformers.AutoImageProcessor.from_pretrained(
        model_dir, local_files_only=True, backend="pil"
    )
    images = _test_pixels(runs / name)
    with torch.inference_mode():
        pixels = torch.from_numpy(processor(images, return_tensors="np")["pixel_values"])
        expected = torch.softmax(plain(pixel_values=pixels).logits, -1).numpy()
    np.testing.assert_allclose(predictor.predict_proba(images), expected, atol=1e-5)


def test_lora_adapter_loads_in_plain_peft_and_leaves_the_base_frozen(runs, tiny_vit_dir):
    """artifacts/adapter is a peft adapter with the trained classifier head: plain peft on the
    base model reproduces the merged model, and only the attention query/value weights that
    LoRA targets differ from the base model's (embeddings, keys, MLP and norms stay frozen)."""
    import peft
    import transformers

    adapter = runs / "vit-lora" / "artifacts" / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    labels = dict(enumerate(SHAPES))
    base = transformers.AutoModelForImageClassification.from_pretrained(
        tiny_vit_dir,
        local_files_only=True,
        num_labels=3,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        ignore_mismatched_sizes=True,
    )
    model = peft.PeftModel.from_pretrained(base, adapter).eval()
    merged = load_predictor(runs / "vit-lora" / "artifacts" / "model")
    images = _test_pixels(runs / "vit-lora")
    pixels = merged.featurizer.tensor(images)
    with torch.inference_mode():
        probs = torch.softmax(model(pixel_values=pixels).logits, -1).numpy()
    np.testing.assert_allclose(merged.predict_proba(images), probs, atol=1e-5)

    original = transformers.AutoModelForImageClassification.from_pretrained(
        tiny_vit_dir, local_files_only=True
    )
    trained = merged.cm.model.state_dict()
    before = original.state_dict()
    same_shape = [k for k, v in before.items() if k in trained and trained[k].shape == v.shape]
    changed = [k for k in same_shape if not torch.equal(trained[k], before[k])]
    assert changed, "LoRA merged into the attention weights"
    attention = ("q_proj", "v_proj", "query", "value")
    assert all(any(name in k for name in attention) for k in changed), changed


def test_onnx_export_and_int8_pass_the_parity_gate(runs):
    """The fine-tuned ViT exports to ONNX (pixel_values in, logits out, dynamic batch) and
    reproduces torch within the exact gate; int8 dynamic quantises the transformer's MatMuls
    and its recorded parity lets it ship."""
    import onnx

    built, report = export_run("vit-lora", runs, "onnx")
    assert report.passed and report.exact and report.agreement == 1.0
    graph = onnx.load(str(built / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["pixel_values"]
    assert [o.name for o in graph.output] == ["logits"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert (built / "preprocessor_config.json").is_file()
    onnx_predictor = load_predictor(built)
    assert isinstance(onnx_predictor, ImagePredictor)
    images = _test_pixels(runs / "vit-lora")
    reference = load_predictor(runs / "vit-lora" / "artifacts" / "model")
    np.testing.assert_allclose(
        onnx_predictor.predict_proba(images), reference.predict_proba(images), atol=1e-4
    )

    int8, report = export_run("vit-lora", runs, "onnx", "int8-dynamic")
    ops = {n.op_type for n in onnx.load(str(int8 / "model.onnx")).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    assert report.agreement >= 0.9
    assert variant_gate(RunDir(runs / "vit-lora"), "onnx-int8-dynamic") is None


def test_server_answers_with_the_fine_tuned_model(runs):
    """tuneforge serve's app takes an uploaded image for the ViT run: /v1/model reports the
    image task and 16×16×3 input, and /v1/predict returns the predictor's label."""
    from fastapi.testclient import TestClient

    from tuneforge.serve import ServeSettings, create_app

    predictor = load_predictor(runs / "vit-full" / "artifacts" / "model")
    image = _test_pixels(runs / "vit-full")[0]
    buffer = io.BytesIO()
    Image.fromarray(image, "RGB").save(buffer, format="PNG")
    expected = predictor.predict([image])[0].label
    app = create_app(predictor, ServeSettings(), {"name": "vit"})
    with TestClient(app) as client:
        info = client.get("/v1/model").json()
        assert info["task"] == "image" and info["image_shape"] == [16, 16, 3]
        body = {"inputs": [{"image_base64": base64.b64encode(buffer.getvalue()).decode()}]}
        answer = client.post("/v1/predict", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"][0]["label"] == expected


def test_wrong_model_directories_fail_before_a_run_exists(tmp_path, tiny_model_dir, tiny_vit_dir):
    """For image data, --model with a text model or a folder that is no model is a clear
    ModelError (the CLI exits 1 naming the directory); --method prefix and image.size are
    ConfigErrors (exit 2). No run directory is left behind."""
    from tuneforge.config import load_config
    from tuneforge.recipes.train import run_train

    data = write_shapes(tmp_path / "shapes", n_per_label=4)
    runs = tmp_path / "runs"

    def config(model, *extra):
        base = [f"runs_dir={runs}", "name=bad", f"data.train_file={data}", f"model.name={model}"]
        return load_config(overrides=[*base, *extra])

    with pytest.raises(ModelError, match="not an image classifier"):
        run_train(config(tiny_model_dir), progress=False)
    with pytest.raises(ModelError, match="no config.json"):
        run_train(config(data), progress=False)
    with pytest.raises(ConfigError, match="prefix"):
        run_train(config(tiny_vit_dir, "method.name=prefix"), progress=False)
    with pytest.raises(ConfigError, match="image.size"):
        run_train(config(tiny_vit_dir, "image.size=32x32"), progress=False)
    assert _train(data, runs, tiny_model_dir, "bad") == 1
    assert not (runs / "bad").exists()
