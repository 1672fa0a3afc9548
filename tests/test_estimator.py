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


def test_integer_labels_keep_their_type_for_score_and_cross_validation(tiny_model_dir):
    """y of ints gives int classes_ and predictions, so score() and cross_val_score work
    (they failed with "Mix of label input types" when classes_ became strings)."""
    from sklearn.model_selection import cross_val_score

    X, y = _xy(12)
    codes = {"account": 0, "billing": 1, "shipping": 2}
    y_int = [codes[v] for v in y]
    clf = TextClassifier(model=str(tiny_model_dir), epochs=2, lr=2e-3, batch_size=8)
    clf.fit(X, y_int)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict(X[:3]).dtype.kind == "i"
    assert 0 <= clf.score(X, y_int) <= 1
    scores = cross_val_score(clf, X, y_int, cv=2)
    assert len(scores) == 2


def test_unfitted_and_bad_input_errors_are_the_ones_scikit_learn_expects():
    """predict before fit raises NotFittedError; non-text input raises a ValueError naming the
    item."""
    import pytest
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TextClassifier().predict(["hello"])
    with pytest.raises(ValueError, match=r"X\[1\] is int"):
        TextClassifier().fit(["a", 3], ["x", "y"])
    with pytest.raises(ValueError, match="one string"):
        TextClassifier().fit("just one", ["x"])


def test_scikit_learn_estimator_checks_for_text_input(tiny_model_dir):
    """The estimator declares text input in its tags; scikit-learn's API checks that make
    sense for an estimator of texts pass (the others feed numeric arrays, which the tags tell
    scikit-learn this estimator does not take)."""
    from sklearn.utils import estimator_checks as checks

    est = TextClassifier(model=str(tiny_model_dir), epochs=1, batch_size=8)
    tags = est.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    for check in (
        checks.check_estimator_tags_renamed,
        checks.check_valid_tag_types,
        checks.check_estimator_repr,
        checks.check_no_attributes_set_in_init,
        checks.check_estimators_unfitted,
        checks.check_do_not_raise_errors_in_init_or_set_params,
        checks.check_mixin_order,
        checks.check_get_params_invariance,
        checks.check_set_params,
        checks.check_parameters_default_constructible,
    ):
        check(type(est).__name__, est)
