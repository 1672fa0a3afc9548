"""The image Predictor: arrays, files and uploaded bytes give the same probabilities; bad inputs
are named; load_predictor tells an image model from a text one."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tuneforge.data.image_features import ImageFeaturizer
from tuneforge.errors import DataError
from tuneforge.models.cnn import build_cnn, save_cnn
from tuneforge.predict import ImagePredictor, Predictor, load_predictor
from tuneforge.types import ImageExample, LabelMap


def _images(n: int = 6) -> list[ImageExample]:
    rng = np.random.default_rng(0)
    return [
        ImageExample(rng.integers(0, 255, (10, 10, 1), dtype=np.uint8), "ab"[i % 2], i + 1)
        for i in range(n)
    ]


@pytest.fixture
def saved_cnn(tmp_path):
    examples = _images()
    cm = build_cnn(ImageFeaturizer.fit(examples), LabelMap(("a", "b")), widths=(4,), hidden=8)
    return save_cnn(cm, tmp_path / "model"), examples


def test_arrays_files_and_bytes_predict_alike(saved_cnn, tmp_path):
    """The same image as an array, a PNG file and the PNG's bytes gets the same probabilities."""
    model_dir, examples = saved_cnn
    predictor = load_predictor(model_dir)
    assert isinstance(predictor, ImagePredictor) and isinstance(predictor, Predictor)
    pixels = examples[0].pixels
    path = tmp_path / "x.png"
    Image.fromarray(pixels[:, :, 0], "L").save(path)
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0], "L").save(buffer, format="PNG")
    probs = predictor.predict_proba([pixels, str(path), buffer.getvalue(), pixels[:, :, 0]])
    assert probs.shape == (4, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    for row in probs[1:]:
        np.testing.assert_allclose(row, probs[0], atol=1e-6)
    assert predictor.predict([pixels], top_k=2)[0].top_k[0][0] in ("a", "b")


def test_batching_does_not_change_probabilities(saved_cnn):
    """Batch size 2 and one big batch give the same numbers."""
    model_dir, examples = saved_cnn
    arrays = [e.pixels for e in examples]
    big = ImagePredictor.from_dir(model_dir, batch_size=64).predict_proba(arrays)
    small = ImagePredictor.from_dir(model_dir, batch_size=2).predict_proba(arrays)
    np.testing.assert_allclose(big, small, atol=1e-6)


def test_bad_inputs_are_named(saved_cnn):
    """Non-images, undecodable bytes and float arrays raise a DataError, not a crash."""
    model_dir, _ = saved_cnn
    predictor = load_predictor(model_dir)
    with pytest.raises(DataError, match="Input 0"):
        predictor.predict_proba([{"not": "an image"}])
    with pytest.raises(DataError, match="not a readable image"):
        predictor.predict_proba([b"this is not a png"])
    with pytest.raises(DataError, match="uint8"):
        predictor.predict_proba([np.zeros((10, 10), dtype=np.float32)])
