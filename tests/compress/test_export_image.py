"""Release of image runs: ONNX export, int8 variants, the parity gate and the trade-off table go
through the same functions and commands as text runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuneforge.compress import check_parity
from tuneforge.errors import ModelError
from tuneforge.predict import ImagePredictor, load_predictor
from tuneforge.recipes.compress import compress_run
from tuneforge.recipes.export import ParityError, export_run
from tuneforge.recipes.registry import variant_gate
from tuneforge.store import RunDir

from ..tiny_images import LABELS, bar_images, train_tiny_cnn, write_image_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs directory holding one finished image run, 'img' (24 test images)."""
    train, val, test = bar_images(40), bar_images(12, seed=1), bar_images(24, seed=2)
    runs_dir = tmp_path_factory.mktemp("image-release") / "runs"
    write_image_run(
        runs_dir, "img", train_tiny_cnn(train), {"train": train, "val": val, "test": test}
    )
    return runs_dir


def _test_pixels(runs) -> list[np.ndarray]:
    from tuneforge.data.image_splits import load_image_split

    return [e.pixels for e in load_image_split(runs / "img" / "data" / "test.npz")]


def test_onnx_export_reproduces_torch_with_a_dynamic_batch(runs):
    """The ONNX graph takes ``pixel_values`` with any batch size, returns ``logits``, carries the
    image metadata (so load_predictor gives an ImagePredictor) and matches torch within 1e-4;
    its parity record on the run's test images passes the exact gate."""
    import onnx

    built, report = export_run("img", runs, "onnx")
    graph = onnx.load(str(built / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["pixel_values"]
    assert [o.name for o in graph.output] == ["logits"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch axis
    meta = json.loads((built / "tuneforge.json").read_text())
    assert meta["task"] == "image" and meta["variant"] == "onnx-fp32"
    assert meta["format"] == "onnx" and meta["image_shape"] == [8, 8, 1]

    reference = load_predictor(runs / "img" / "artifacts" / "model")
    pixels = _test_pixels(runs)
    expected = reference.predict_proba(pixels)
    assert (
        0.6 < expected.max(axis=1).min() < 0.9999
    )  # not saturated: the comparison means something
    for batch_size in (1, 5, 64):
        onnx_predictor = ImagePredictor.from_onnx(built, batch_size=batch_size)
        np.testing.assert_allclose(onnx_predictor.predict_proba(pixels), expected, atol=1e-4)
    assert isinstance(load_predictor(built), ImagePredictor)
    assert report.passed and report.exact and report.n == 24 and report.agreement == 1.0
    recorded = json.loads((runs / "img" / "parity.json").read_text())["onnx-fp32"]
    assert recorded["passed"] and recorded["max_abs_prob_diff"] <= 1e-4


def test_hf_copy_of_an_image_model_is_exact(runs):
    """``export --format hf`` of an image run is a standalone copy of the saved CNN that loads
    as an image predictor and passes the exact parity gate."""
    built, report = export_run("img", runs, "hf")
    assert (built / "cnn_config.json").is_file() and (built / "model.safetensors").is_file()
    assert isinstance(load_predictor(built), ImagePredictor)
    assert report.passed and report.exact and report.max_abs_prob_diff == 0.0


@pytest.mark.parametrize("quantize", ["int8-dynamic", "int8-static"])
def test_int8_variants_load_predict_and_keep_accuracy(runs, quantize):
    """Both int8 variants (static calibrated on the run's training images) build, load as image
    predictors, store int8 weights, classify every test image as the trained model does and
    are not judged by the exact gate."""
    built, report = export_run("img", runs, "onnx", quantize)
    predictor = load_predictor(built)
    assert isinstance(predictor, ImagePredictor)
    assert predictor.labels == LABELS
    probs = predictor.predict_proba(_test_pixels(runs))
    assert probs.shape == (24, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert not report.exact and report.passed
    assert report.agreement == 1.0 and report.accuracy_delta == 0.0
    assert json.loads((built / "tuneforge.json").read_text())["variant"] == f"onnx-{quantize}"
    assert variant_gate(RunDir(runs / "img"), f"onnx-{quantize}") is None
    import onnx

    graph = onnx.load(str(built / "model.onnx")).graph
    int8 = {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.INT8}
    assert int8  # the weights are stored as int8


def test_parity_gate_refuses_an_export_that_does_not_reproduce_the_model(
    runs, tmp_path, monkeypatch
):
    """An exact export whose network differs from the trained one fails export_run with a
    ParityError and is recorded as failed, so it cannot be promoted without --force."""
    import shutil

    import tuneforge.compress.export as exporters
    from tuneforge.compress.export import export_onnx
    from tuneforge.models.cnn import save_cnn

    shutil.copytree(runs / "img", tmp_path / "runs" / "broken")
    other = save_cnn(train_tiny_cnn(bar_images(40, seed=5), steps=1), tmp_path / "other")
    monkeypatch.setattr(exporters, "export_onnx", lambda model_dir, out: export_onnx(other, out))
    with pytest.raises(ParityError, match="does not reproduce"):
        export_run("broken", tmp_path / "runs", "onnx")
    run = RunDir(tmp_path / "runs" / "broken")
    assert not run.read_json("parity.json")["onnx-fp32"]["passed"]
    assert "failed its parity check" in variant_gate(run, "onnx-fp32")


def test_parity_check_compares_images_not_texts(runs):
    """check_parity feeds a run's image examples to both predictors: the trained model against
    itself agrees exactly; against a differently trained model it fails the exact gate."""
    from tuneforge.data.image_splits import load_image_split

    samples = load_image_split(runs / "img" / "data" / "test.npz")
    reference = load_predictor(runs / "img" / "artifacts" / "model")
    same = check_parity(reference, reference, samples, "model", exact=True)
    assert same.passed and same.reference_accuracy == 1.0 and same.max_abs_prob_diff == 0.0
    other = ImagePredictor.from_model(train_tiny_cnn(bar_images(40, seed=7), steps=1))
    different = check_parity(reference, other, samples, "other", exact=True)
    assert not different.passed and different.max_abs_prob_diff > 1e-3


def test_text_only_variants_are_refused_by_name(runs, capsys):
    """torch-bf16 and distillation exist for transformers only: asking for them on an image run
    is a ModelError naming the image run (the CLI exits 1 with the message), never a crash."""
    from tuneforge.cli import main

    with pytest.raises(ModelError, match="image"):
        export_run("img", runs, "hf", "bf16")
    with pytest.raises(ModelError, match="text"):
        compress_run("img", runs, ["model", "distilled"], log=lambda m: None)
    code = main(["export", "img", "--format", "hf", "--quantize", "bf16", "--runs-dir", str(runs)])
    assert code == 1 and "image" in capsys.readouterr().err


def test_compress_measures_every_image_variant(runs, monkeypatch):
    """compress on an image run skips the text-only variants, measures the model, ONNX and both
    int8 variants on the run's test images, records their parity and recommends one."""
    import tuneforge.compress.tradeoff as tradeoff

    monkeypatch.setattr(tradeoff, "peak_rss_mb", lambda artifact: 1.0)  # one subprocess each
    logged: list[str] = []
    data = compress_run("img", runs, log=logged.append)
    measured = [r["variant"] for r in data["variants"]]
    assert measured == ["model", "onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static"]
    assert any("skipping" in m and "torch-bf16" in m for m in logged)
    assert data["measured_on"] == "run test split (n=24)"
    assert data["recommended"] in measured
    for row in data["variants"]:
        assert row["accuracy"] == 1.0 and row["agreement"] == 1.0
        assert row["p50_ms"] > 0 and row["throughput_batch32"] > 0 and row["size_mb"] > 0
    parity = json.loads((runs / "img" / "parity.json").read_text())
    assert {"onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static"} <= set(parity)
    assert json.loads((runs / "img" / "tradeoff.json").read_text()) == data


def test_compress_measures_on_an_image_folder(runs, tmp_path, monkeypatch):
    """``compress --data FOLDER`` on an image run measures on that folder's labelled images
    (label = subfolder), and refuses a folder with labels the model lacks."""
    import tuneforge.compress.tradeoff as tradeoff
    from tuneforge.errors import DataError

    from ..tiny_images import png_bytes

    monkeypatch.setattr(tradeoff, "peak_rss_mb", lambda artifact: 1.0)
    for i, example in enumerate(bar_images(6, seed=9)):
        folder = tmp_path / "new" / example.label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(png_bytes(example.pixels))
    data = compress_run("img", runs, ["model"], data_file=str(tmp_path / "new"), log=print)
    assert data["measured_on"] == str(tmp_path / "new")
    assert data["variants"][0]["accuracy"] == 1.0
    (tmp_path / "new" / "diagonal").mkdir()
    (tmp_path / "new" / "diagonal" / "x.png").write_bytes(png_bytes(bar_images(1)[0].pixels))
    with pytest.raises(DataError, match="diagonal"):
        compress_run("img", runs, ["model"], data_file=str(tmp_path / "new"), log=print)


def test_peak_memory_probe_loads_an_image_model(runs):
    """The fresh-process memory probe warms an image model up with a blank image of its input
    size (a text would be taken for a file name), so it reports a number, not NaN."""
    from tuneforge.compress.tradeoff import peak_rss_mb

    assert peak_rss_mb(runs / "img" / "artifacts" / "model") > 10


def test_peak_memory_is_the_probe_process_own_not_its_parent(runs):
    """Each variant's peak memory is measured in a process that starts small: a parent that
    has touched 1.5 GB does not lend its high-water mark to the probe (getrusage's ru_maxrss
    survives fork+exec on Linux, so every later variant reported the largest earlier peak)."""
    from tuneforge.compress.tradeoff import peak_rss_mb

    ballast = np.ones(1536 * 1024 * 1024 // 8)  # 1.5 GB, every page touched
    small = peak_rss_mb(runs / "img" / "artifacts" / "model")
    assert 10 < small < 1000, small
    del ballast
