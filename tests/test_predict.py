"""The torch Predictor: probabilities, top-k post-processing, batching invariance."""

import numpy as np
import pytest

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.predict import Predictor, TorchPredictor, top_k_predictions
from tuneforge.types import LabelMap


def test_top_k_orders_labels_by_probability():
    """Top-k lists the k most probable labels, best first, with their scores."""
    preds = top_k_predictions(np.array([[0.1, 0.7, 0.2]]), ["a", "b", "c"], top_k=2)
    assert preds[0].label == "b"
    assert preds[0].top_k == [("b", pytest.approx(0.7)), ("c", pytest.approx(0.2))]
    assert top_k_predictions(np.array([[0.5, 0.5]]), ["a", "b"], top_k=9)[0].top_k[1][0] == "b"


def test_probabilities_do_not_depend_on_batching(tiny_model_dir):
    """A text gets the same probabilities alone or in a padded batch of other lengths."""
    cm = load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("a", "b", "c")))
    predictor = TorchPredictor(cm, batch_size=4)
    assert isinstance(predictor, Predictor)
    texts = ["short", "a somewhat longer text with more tokens in it", "mid length text", "x"]
    together = predictor.predict_proba(texts)
    alone = np.vstack([predictor.predict_proba([t]) for t in texts])
    assert together.shape == (4, 3)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)
