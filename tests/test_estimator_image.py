"""ImageClassifier: the scikit-learn contract over the image run's stage functions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone

from tuneforge import ImageClassifier
from tuneforge.config import TRAIN_DEFAULTS

from .conftest import SHAPES, shape_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = {"widths": (8,), "hidden": 16, "epochs": 12, "batch_size": 16, "lr": 1e-2}


def _xy(n: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Arrays of shapes with integer labels (0 blob, 1 horizontal, 2 vertical)."""
    rng = np.random.default_rng(seed)
    y = [i % 3 for i in range(3 * n)]
    return [shape_image(SHAPES[k], rng) for k in y], y


def test_fit_predict_score_save_load(tmp_path):
    """fit returns self; integer labels come back as integers (so score works); file paths
    predict like arrays; save → load predicts the same probabilities."""
    X, y = _xy(18, seed=0)
    clf = ImageClassifier(**TINY)
    assert clf.fit(X, y) is clf
    assert clf.classes_.tolist() == [0, 1, 2]
    X_test, y_test = _xy(6, seed=4)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (18, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(1)])
    assert clf.score(X_test, y_test) >= 0.8
    path = tmp_path / "x.png"
    Image.fromarray(X_test[0], "L").save(path)
    np.testing.assert_allclose(clf.predict_proba([str(path)])[0], proba[0], atol=1e-6)

    clf.save(tmp_path / "model")
    again = ImageClassifier.load(tmp_path / "model")
    np.testing.assert_allclose(again.predict_proba(X_test), proba, atol=1e-6)
    assert again.get_params()["widths"] == (8,) and again.get_params()["size"] == "12x12"


def test_paths_train_too(tmp_path):
    """Image file paths are accepted as training inputs, labels as text."""
    X, y = _xy(9, seed=1)
    paths = []
    for i, pixels in enumerate(X):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(pixels, "L").save(paths[-1])
    clf = ImageClassifier(**{**TINY, "epochs": 2}).fit(paths, [SHAPES[k] for k in y])
    assert clf.classes_.tolist() == list(SHAPES)
    assert clf.predict(paths[:2]).shape == (2,)


def test_get_params_and_clone():
    """Parameters round-trip through get_params/set_params and clone; defaults are an image
    run's training defaults."""
    clf = ImageClassifier(epochs=3, widths=(16, 32))
    params = clf.get_params()
    assert params["epochs"] == 3 and params["widths"] == (16, 32)
    for key in ("lr", "batch_size", "weight_decay", "warmup_ratio", "early_stopping_patience"):
        assert params[key] == TRAIN_DEFAULTS["image"][key]
    copy = clone(clf.set_params(lr=1e-2))
    assert copy.get_params() == clf.get_params() and copy is not clf
    assert not hasattr(copy, "classes_")
