"""Image runs: the same run_train as texts, from a folder or an IDX file to a complete run."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest
import yaml
from PIL import Image

from tuneforge.config import TRAIN_DEFAULTS, load_config
from tuneforge.data.image_splits import load_image_split
from tuneforge.predict import ImagePredictor, load_predictor
from tuneforge.recipes.train import run_train

from ..conftest import SHAPES, TINY_IMAGE_TRAIN, shape_image, write_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _config(runs_dir, name: str, *overrides: str):
    return load_config(
        overrides=[f"runs_dir={runs_dir}", f"name={name}", *TINY_IMAGE_TRAIN, *overrides]
    )


@pytest.fixture
def shapes_with_mislabelled_test(tmp_path):
    """Training shapes, and a test folder of fresh shapes plus one horizontal bar filed under
    "vertical": a trained model must call it horizontal, confidently and wrongly."""
    train = write_shapes(tmp_path / "shapes")
    test = write_shapes(tmp_path / "test", n_per_label=4, seed=7)
    bar = shape_image("horizontal", np.random.default_rng(3))
    Image.fromarray(bar, "L").save(test / "vertical" / "mislabelled.png")
    return train, test


def test_image_folder_run_is_complete(shapes_with_mislabelled_test, runs_dir):
    """A folder trains the compact CNN into a run with the text run's files: the saved model
    (safetensors + JSON), eval.json with the same keys, the monitoring profile, the splits as
    npz, config.yaml with the image defaults resolved (explicit values kept), and a report
    whose grid shows the mislabelled test image first."""
    train, test = shapes_with_mislabelled_test
    cfg = _config(runs_dir, "shapes", f"data.train_file={train}", f"data.test_file={test}")
    result = run_train(cfg, progress=False)
    run = runs_dir / "shapes"
    assert result.run_dir == run

    model = run / "artifacts" / "model"
    for name in ("model.safetensors", "cnn_config.json", "tuneforge.json", "labels.json"):
        assert (model / name).is_file()
    assert json.loads((model / "tuneforge.json").read_text())["task"] == "image"
    assert isinstance(load_predictor(model), ImagePredictor)

    ev = json.loads((run / "eval.json").read_text())
    for key in ("accuracy", "macro_f1", "per_class", "confusion", "labels", "confused_pairs"):
        assert key in ev
    assert ev["labels"] == list(SHAPES) and ev["n"] == 13
    assert ev["accuracy"] >= 0.8, "the CNN learns bars from blobs"
    assert ev["baseline"]["name"] == "pixel-logistic-regression"
    first = ev["wrong_images"][0]
    assert first["source"].endswith("mislabelled.png")
    assert (first["true"], first["pred"]) == ("vertical", "horizontal")
    assert first["confidence"] > 0.5
    pair = next(p for p in ev["confused_pairs"] if p["pred"] == "horizontal")
    assert any(x.endswith("mislabelled.png") for x in pair["examples"])

    test_split = load_image_split(run / "data" / "test.npz")
    assert len(test_split) == 13 and test_split[0].pixels.shape == (12, 12, 1)
    assert test_split[first["index"]].label == "vertical"
    assert {p.name for p in (run / "data").iterdir()} == {"train.npz", "val.npz", "test.npz"}

    profile = json.loads((run / "profile.json").read_text())
    assert sum(profile["label_counts"].values()) == ev["n"]
    assert set(profile["lengths"]) == {144}  # pixels per 12x12 image

    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["data"]["task"] == "image"
    assert config["train"]["lr"] == pytest.approx(1e-2) and config["train"]["batch_size"] == 16
    for key in ("weight_decay", "warmup_ratio", "early_stopping_patience"):
        assert config["train"][key] == TRAIN_DEFAULTS["image"][key]
    assert config["train"]["precision"] == "fp32"
    status = json.loads((run / "status.json").read_text())
    assert (status["state"], status["task"], status["model_dir"]) == (
        "succeeded",
        "image",
        "compact-cnn",
    )

    html = (run / "report.html").read_text()
    grid = html[html.index("Most confidently wrong images") :]
    assert "data:image/png;base64," in grid and "mislabelled.png" in grid
    assert "https://" not in html and "http://" not in html


def _idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_idx_files_are_detected_as_images(tmp_path, runs_dir):
    """An MNIST-style IDX pair trains without --task: the labels file is found by its name."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 15)
    images = np.stack([shape_image(SHAPES[y], rng) for y in labels])
    _idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    cfg = _config(runs_dir, "idx", f"data.train_file={tmp_path / 'train-images-idx3-ubyte.gz'}")
    result = run_train(cfg, progress=False)
    assert result.eval.metrics["labels"] == ["0", "1", "2"]
    assert result.eval.accuracy >= 0.6
    assert yaml.safe_load((result.run_dir / "config.yaml").read_text())["data"]["task"] == "image"


def test_failed_image_run_resumes_to_the_same_result(tmp_path, runs_dir):
    """A run that dies after its first epoch resumes from its checkpoint and ends exactly where
    an uninterrupted run ends (augmentation and batch order replay per epoch)."""
    data = write_shapes(tmp_path / "shapes", n_per_label=12)
    options = (f"data.train_file={data}", "train.epochs=3")
    straight = run_train(_config(runs_dir, "straight", *options), progress=False)

    def crash(record: dict) -> None:
        if record["epoch"] >= 2:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        run_train(_config(runs_dir, "crashed", *options), progress=False, on_validation=crash)
    crashed = runs_dir / "crashed"
    assert json.loads((crashed / "status.json").read_text())["state"] == "failed"
    assert (crashed / "checkpoints").is_dir()

    resumed = run_train(
        load_config(overrides=[f"runs_dir={runs_dir}"]), resume="crashed", progress=False
    )
    assert resumed.train.resumed_from_epoch == 1
    np.testing.assert_allclose(resumed.eval.probs, straight.eval.probs, atol=1e-6)
    assert json.loads((crashed / "status.json").read_text())["state"] == "succeeded"


def test_too_small_images_for_the_cnn_fail_before_a_run_exists(tmp_path, runs_dir):
    """Three pooling stages cannot take 4x4 images: a ModelError before any run directory."""
    from tuneforge.errors import ModelError

    root = tmp_path / "tiny"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(6):
            value = 40 * i + (100 if label == "b" else 0)
            Image.new("L", (4, 4), value).save(root / label / f"{i}.png")
    cfg = _config(runs_dir, "small", f"data.train_file={root}", "image.widths=4,4,4")
    with pytest.raises(ModelError, match="too small"):
        run_train(cfg, progress=False)
    assert not (runs_dir / "small").exists()
