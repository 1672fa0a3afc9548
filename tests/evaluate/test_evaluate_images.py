"""evaluate() on images: same metrics as texts, mistakes named by file or row, the most
confident mistakes kept for the report."""

from __future__ import annotations

import numpy as np

from tuneforge.evaluate.evaluate import evaluate
from tuneforge.types import Example, ImageExample


class FixedPredictor:
    """Returns preset probabilities and records what it was given."""

    labels = ("cat", "dog")

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float32)
        self.seen: list = []

    def predict_proba(self, inputs):
        self.seen = list(inputs)
        return self.probs

    def predict(self, inputs, top_k=1):
        raise NotImplementedError


def _images() -> list[ImageExample]:
    pixels = [np.full((2, 2, 1), v, np.uint8) for v in (0, 1, 2, 3)]
    return [
        ImageExample(pixels[0], "cat", 1, "pets/cat/a.png"),
        ImageExample(pixels[1], "cat", 2, "pets/cat/b.png"),
        ImageExample(pixels[2], "dog", 3, "labels.csv"),
        ImageExample(pixels[3], "dog", 4, ""),
    ]


def test_images_are_evaluated_from_their_pixels():
    """The predictor gets the pixel arrays; metrics match the text path's keys and values."""
    predictor = FixedPredictor([[0.9, 0.1], [0.3, 0.7], [0.4, 0.6], [0.2, 0.8]])
    examples = _images()
    report = evaluate(predictor, examples)
    assert all(a is e.pixels for a, e in zip(predictor.seen, examples))
    assert report.accuracy == 0.75 and report.metrics["confusion"] == [[1, 1], [0, 2]]
    assert report.to_dict()["confused_pairs"] == [
        {"true": "cat", "pred": "dog", "count": 1, "examples": ["pets/cat/b.png"]}
    ]


def test_most_confident_mistakes_come_first_with_their_position():
    """wrong_images is sorted by confidence, points into the evaluated list, and names images
    by file, or by row and table."""
    predictor = FixedPredictor([[0.1, 0.9], [0.4, 0.6], [0.95, 0.05], [0.9, 0.1]])
    wrong = evaluate(predictor, _images()).to_dict()["wrong_images"]
    assert [w["index"] for w in wrong] == [2, 0, 3, 1]
    assert [w["source"] for w in wrong] == [
        "row 3 of labels.csv",
        "pets/cat/a.png",
        "row 4",
        "pets/cat/b.png",
    ]
    assert wrong[0] == {
        "index": 2,
        "row": 3,
        "source": "row 3 of labels.csv",
        "true": "dog",
        "pred": "cat",
        "confidence": 0.95,
    }


def test_text_reports_have_no_image_section():
    """Text evaluation is unchanged: texts go in, no wrong_images key comes out."""
    predictor = FixedPredictor([[0.9, 0.1], [0.9, 0.1]])
    report = evaluate(predictor, [Example("hello", "cat", 1), Example("woof", "dog", 2)])
    assert predictor.seen == ["hello", "woof"]
    assert "wrong_images" not in report.to_dict()
    assert report.to_dict()["confused_pairs"][0]["examples"] == ["woof"]
