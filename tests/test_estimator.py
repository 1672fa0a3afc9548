"""TextClassifier: the scikit-learn contract over the same stage functions."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from tuneforge import TextClassifier

from .conftest import make_rows


def _xy(n=40, seed=0):
    rows = make_rows(n, seed=seed)
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_fit_predict_score_and_save_load(tiny_model_dir, tmp_path):
    """fit returns self; predict/predict_proba/score agree; save → load predicts the same."""
    X, y = _xy()
    clf = TextClassifier(model=str(tiny_model_dir), epochs=8, lr=2e-3, batch_size=8)
    clf.set_params(seed=1)
    assert clf.fit(X, y) is clf
    assert list(clf.classes_) == ["account", "billing", "shipping"]
    X_test, y_test = _xy(10, seed=9)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (30, 3)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(1)])
    assert clf.score(X_test, y_test) >= 0.8
    clf.save(tmp_path / "m")
    again = TextClassifier.load(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(X_test), proba, atol=1e-5)


def test_get_params_and_clone():
    """Parameters round-trip through get_params/set_params and clone (sklearn contract)."""
    clf = TextClassifier(epochs=3, lr=1e-4, freeze_layers=0)
    params = clf.get_params()
    assert params["epochs"] == 3 and params["lr"] == 1e-4 and params["freeze_layers"] == 0
    copy = clone(clf)
    assert copy.get_params() == params and copy is not clf
    assert not hasattr(copy, "classes_")
