"""The tfidf-linear family: fitted on validation, stored as JSON and npz only, reloaded to the
same logits, and refused clearly when its files are incomplete."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tuneforge.errors import ModelError
from tuneforge.models.tfidf import (
    ARRAYS_FILE,
    CONFIG_FILE,
    fit_linear,
    load_linear,
    normalize,
    open_linear,
    save_linear,
)
from tuneforge.types import Example, LabelMap

GOOD = ["味道很好", "送餐很快", "非常好吃", "服务周到 nice", "分量很足"]
BAD = ["太难吃了", "送得太慢", "菜都凉了", "服务很差 BAD", "分量太少"]
LABELS = LabelMap(("好评", "差评"))


def examples(n: int = 4) -> list[Example]:
    rows = [Example(t, "好评", i) for i, t in enumerate(GOOD * n)]
    return rows + [Example(t, "差评", i) for i, t in enumerate(BAD * n)]


def test_normalize_lowercases_and_folds_every_whitespace_run():
    """The vectorizer and the ONNX graph read the same characters: lowercase, one space."""
    assert normalize("  ABC\t\n好  吃 ") == "abc 好 吃"


def test_fit_chooses_c_on_validation_and_gives_one_logit_per_label():
    """Every C of the grid is scored on validation and recorded; a binary model still has one
    logit per label (first row zero), so softmax and calibration treat it as any other."""
    cm = fit_linear(examples(), examples(1), LABELS)
    assert set(cm.chosen["val_accuracy_by_C"]) == {"0.3", "1.0", "3.0"}
    assert cm.chosen["C"] in (0.3, 1.0, 3.0)
    logits = cm.logits(["味道很好非常好吃", "太难吃了菜都凉了"])
    assert logits.shape == (2, 2) and np.all(logits[:, 0] == 0)
    assert logits[0].argmax() == 0 and logits[1].argmax() == 1


def test_saved_model_is_json_and_npz_and_reloads_to_the_same_logits(tmp_path):
    """Nothing pickled: the vocabulary and settings are JSON, the arrays an npz that loads with
    allow_pickle=False; the reloaded predictor gives the trained logits."""
    cm = fit_linear(examples(), examples(1), LABELS)
    out = save_linear(cm, tmp_path / "model")
    config = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
    assert "味" in config["vocabulary"]
    with zipfile.ZipFile(out / ARRAYS_FILE) as z:
        assert sorted(z.namelist()) == ["coef.npy", "idf.npy", "intercept.npy"]
    assert json.loads((out / "tuneforge.json").read_text("utf-8"))["family"] == "tfidf-linear"
    texts = ["味道很好", "送得太慢 bad", "没见过的字"]
    predictor = open_linear(out)
    assert np.allclose(predictor.predict_logits(texts), cm.logits(texts), atol=1e-6)
    assert predictor.labels == LABELS.names
    assert 0 <= predictor.unknown_rate(["味道很好", "𠀀𠀁"]) <= 1


def test_incomplete_or_mismatched_directories_are_refused(tmp_path):
    """A missing file, or coefficients that do not fit the vocabulary, is a ModelError naming
    the directory, not a crash deep in scikit-learn."""
    out = save_linear(fit_linear(examples(), examples(1), LABELS), tmp_path / "model")
    (out / ARRAYS_FILE).rename(tmp_path / "kept.npz")
    with pytest.raises(ModelError, match="tfidf.npz missing"):
        load_linear(out)
    np.savez(out / ARRAYS_FILE, idf=np.ones(3), coef=np.ones((2, 3)), intercept=np.zeros(2))
    with pytest.raises(ModelError, match="n-grams"):
        load_linear(out)
