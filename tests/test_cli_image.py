"""Images end to end through the CLI: the text commands, given a folder of images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tuneforge.cli import main

from .conftest import TINY_IMAGE_TRAIN, shape_image, write_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def trained_image_run(tmp_path, runs_dir, capsys):
    """`tuneforge train FOLDER --task image` with a tiny CNN; returns (runs dir, data folder)."""
    data = write_shapes(tmp_path / "shapes")
    argv = ["train", str(data), "--task", "image", "--runs-dir", str(runs_dir)]
    code = main([*argv, "--name", "shapes-v1", "--no-progress", *TINY_IMAGE_TRAIN])
    assert code == 0
    out = capsys.readouterr().out
    assert "shapes-v1" in out and "pixel-logistic-regression" in out
    return runs_dir, data


def test_train_predict_evaluate_an_image_folder(trained_image_run, tmp_path, capsys, monkeypatch):
    """After training on a folder, `predict RUN a.png b.png` prints a label per image (right
    for clear shapes), `--input FOLDER` predicts every image in it, and `evaluate --data
    FOLDER` scores fresh images and writes eval-<name>.json."""
    runs_dir, _ = trained_image_run
    rng = np.random.default_rng(11)
    files = {}
    for label in ("horizontal", "vertical"):
        files[label] = tmp_path / "new" / f"a_{label}.png"
        files[label].parent.mkdir(exist_ok=True)
        Image.fromarray(shape_image(label, rng), "L").save(files[label])
    runs = ["--runs-dir", str(runs_dir)]
    monkeypatch.chdir(tmp_path / "new")  # short relative paths keep the table rows whole
    code = main(["predict", "shapes-v1", "a_horizontal.png", "a_vertical.png", *runs])
    assert code == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if ".png" in line]
    assert len(rows) == 2
    assert "horizontal" in rows[0].split("a_horizontal.png")[1]
    assert "vertical" in rows[1].split("a_vertical.png")[1]

    output = tmp_path / "predictions.jsonl"
    code = main(
        ["predict", "shapes-v1", "--input", str(tmp_path / "new"), "--output", str(output), *runs]
    )
    assert code == 0
    lines = [json.loads(x) for x in output.read_text().splitlines()]
    assert [x["image"] for x in lines] == sorted(str(p) for p in files.values())
    assert [x["label"] for x in lines] == ["horizontal", "vertical"]

    fresh = write_shapes(tmp_path / "fresh", n_per_label=5, seed=5)
    assert main(["evaluate", "shapes-v1", "--data", str(fresh), *runs]) == 0
    assert "accuracy" in capsys.readouterr().out
    report = json.loads((runs_dir / "shapes-v1" / "eval-fresh.json").read_text())
    assert report["n"] == 15 and report["accuracy"] >= 0.8


def test_image_input_errors_are_one_paragraph(trained_image_run, tmp_path, capsys):
    """A missing image, or evaluation data with a label the model lacks, exits 1 with a
    message naming it and no traceback."""
    runs_dir, data = trained_image_run
    runs = ["--runs-dir", str(runs_dir)]
    assert main(["predict", "shapes-v1", str(tmp_path / "nope.png"), *runs]) == 1
    err = capsys.readouterr().err
    assert "nope.png" in err and "not exist" in err and "Traceback" not in err

    other = write_shapes(tmp_path / "other", n_per_label=3)
    (other / "blob").rename(other / "circle")
    assert main(["evaluate", "shapes-v1", "--data", str(other), *runs]) == 1
    err = capsys.readouterr().err
    assert "'circle'" in err and "not among the model's labels" in err


def test_data_check_and_train_name_a_corrupt_image(tmp_path, runs_dir, capsys):
    """`data check` on a folder with a corrupt file lists it and exits 1; `train` on it stops
    with the file's name before any run directory exists."""
    data = write_shapes(tmp_path / "shapes", n_per_label=5)
    (data / "blob" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert main(["data", "check", str(data)]) == 1
    out = capsys.readouterr().out
    assert "broken.png" in out and "FAILED" in out and "15 images" in out
    assert main(["train", str(data), "--runs-dir", str(runs_dir), "--name", "bad"]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "Traceback" not in err
    assert not (runs_dir / "bad").exists()

    (data / "blob" / "broken.png").unlink()
    assert main(["data", "check", str(data)]) == 0
    assert "OK: no blocking problems" in capsys.readouterr().out


def test_pixel_csv_needs_and_takes_a_shape(tmp_path, runs_dir, capsys):
    """A CSV of pixel values without --image-shape is refused with the likely shape; with it,
    it trains as images."""
    rng = np.random.default_rng(0)
    rows = [
        [*shape_image(label, rng).reshape(-1).tolist(), label]
        for label in ("horizontal", "vertical")
        for _ in range(15)
    ]
    header = [f"pixel{i}" for i in range(144)] + ["label"]
    path = tmp_path / "pixels.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    argv = ["train", str(path), "--runs-dir", str(runs_dir), "--no-progress", *TINY_IMAGE_TRAIN]
    assert main([*argv, "--name", "px"]) == 1
    assert "--image-shape 12x12" in capsys.readouterr().err
    assert main([*argv, "--name", "px", "--image-shape", "12x12"]) == 0
    ev = json.loads((runs_dir / "px" / "eval.json").read_text())
    assert ev["labels"] == ["horizontal", "vertical"]
    assert ev["confused_pairs"] == [] or "row" in ev["confused_pairs"][0]["examples"][0]


def test_exported_onnx_predicts_like_the_trained_image_model(trained_image_run, tmp_path, capsys):
    """Folder → train → `export --format onnx`: the export passes its parity check on the run's
    test images, and the ONNX artifact gives the trained model's probabilities for new files."""
    from tuneforge.predict import ImagePredictor, load_predictor

    runs_dir, _ = trained_image_run
    runs = ["--runs-dir", str(runs_dir)]
    assert main(["export", "shapes-v1", "--format", "onnx", *runs]) == 0
    capsys.readouterr()
    run_dir = runs_dir / "shapes-v1"
    onnx_dir = run_dir / "artifacts" / "onnx-fp32"
    parity = json.loads((run_dir / "parity.json").read_text())["onnx-fp32"]
    assert parity["passed"] and parity["exact"] and parity["n"] > 0

    fresh = write_shapes(tmp_path / "fresh", n_per_label=3, seed=9)
    files = sorted(str(p) for p in fresh.rglob("*.png"))
    onnx = load_predictor(onnx_dir)
    assert isinstance(onnx, ImagePredictor)
    torch_probs = load_predictor(run_dir / "artifacts" / "model").predict_proba(files)
    np.testing.assert_allclose(onnx.predict_proba(files), torch_probs, atol=1e-4)


def test_an_image_queue_from_folder_to_labels(trained_image_run, tmp_path, capsys):
    """Unlabelled images are queued by path (the same image twice is one item), ranked by the
    image model with its suggestion, written for labelling and read back by path."""
    import csv

    runs, _ = trained_image_run
    pool = tmp_path / "pool"
    pool.mkdir()
    rng = np.random.default_rng(4)
    for n, label in enumerate(["blob", "horizontal", "vertical", "blob"]):
        Image.fromarray(shape_image(label, rng)).save(pool / f"img{n}.png")
    Image.open(pool / "img0.png").save(pool / "copy-of-0.png")
    queue = ["--queue", "photos", "--runs-dir", str(runs)]
    assert main(["label", "import", str(pool), *queue]) == 0
    assert "(image): 4 added, 1 already there" in capsys.readouterr().err
    out = tmp_path / "batch.csv"
    argv = ["label", "next", *queue, "--model", "shapes-v1", "--strategy", "entropy"]
    assert main([*argv, "--count", "3", "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3 and all(
        r["suggestion"] in {"blob", "horizontal", "vertical"} for r in rows
    )
    labelled = [{"image": r["image"], "label": "blob"} for r in rows]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "label"])
        writer.writeheader()
        writer.writerows(labelled)
    capsys.readouterr()
    assert main(["label", "submit", str(out), *queue, "--annotator", "ana"]) == 0
    assert "3 label(s) added" in capsys.readouterr().err


def test_an_image_run_is_calibrated_and_its_onnx_export_applies_the_temperature(
    trained_image_run, capsys
):
    """Image runs fit a temperature too (and the scores that need no text encoder); an ONNX
    export carries it, so both runtimes give the same calibrated probabilities, and abstention
    by msp works while mahalanobis (it needs a text encoder) is refused with what to use."""
    from tuneforge.predict import calibrated_softmax, load_predictor, write_artifact_calibration

    runs_dir, data = trained_image_run
    model_dir = runs_dir / "shapes-v1" / "artifacts" / "model"
    record = json.loads((model_dir / "calibration.json").read_text())
    assert record["fitted_on"] == "val"
    with np.load(model_dir / "ood.npz") as arrays:
        assert "val_energy" in arrays.files and "means" not in arrays.files
    write_artifact_calibration(model_dir, {**record, "temperature": 2.0})
    runs = ["--runs-dir", str(runs_dir)]
    assert main(["export", "shapes-v1", "--format", "onnx", *runs]) == 0
    files = sorted(str(p) for p in data.rglob("*.png"))[:6]
    torch_pred = load_predictor(model_dir)
    onnx = load_predictor(runs_dir / "shapes-v1" / "artifacts" / "onnx-fp32")
    assert onnx.temperature == torch_pred.temperature == 2.0
    expected = calibrated_softmax(torch_pred.predict_logits(files), 2.0)
    np.testing.assert_allclose(onnx.predict_proba(files), expected, atol=1e-4)
    capsys.readouterr()
    assert main(["predict", "shapes-v1", files[0], "--abstain", "msp", "--json", *runs]) == 0
    assert json.loads(capsys.readouterr().out)["abstained"] in (True, False)
    assert main(["predict", "shapes-v1", files[0], "--abstain", "mahalanobis", *runs]) == 1
    assert "msp or energy" in capsys.readouterr().err
