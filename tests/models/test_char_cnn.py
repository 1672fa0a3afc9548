"""The char-cnn family: trained from scratch on Chinese characters, saved as safetensors and
JSON, reloaded to the same logits, exported to ONNX with the same predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuneforge.errors import ModelError
from tuneforge.models.char_cnn import (
    CharCNNSettings,
    empty_model,
    encode,
    load_char_cnn,
    open_char_cnn,
    save_char_cnn,
    train_char_cnn,
)
from tuneforge.types import DatasetSplits, Example, LabelMap

GOOD = ["味道很好", "送餐很快", "非常好吃", "服务周到", "分量很足"]
BAD = ["太难吃了", "送得太慢", "菜都凉了", "服务很差", "分量太少"]
LABELS = LabelMap(("好评", "差评"))
SMALL = CharCNNSettings(
    embedding=8, filters=8, epochs=8, patience=8, batch_size=8, lr=1e-2, min_count=1
)


def splits() -> DatasetSplits:
    rows = [Example(a + b, "好评", i) for i, (a, b) in enumerate(zip(GOOD * 3, GOOD[1:] * 3))]
    rows += [Example(a + b, "差评", i) for i, (a, b) in enumerate(zip(BAD * 3, BAD[1:] * 3))]
    return DatasetSplits(train=rows, val=rows[::3], test=rows[::3], labels=LABELS, fingerprint="t")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    cm = empty_model(LABELS, SMALL)
    result = train_char_cnn(cm, splits())
    return cm, result, save_char_cnn(cm, tmp_path_factory.mktemp("cnn") / "model")


def test_encode_maps_unknown_characters_and_pads_to_the_widest_kernel():
    """Unseen characters are id 1, padding 0, and a one-character text still fits a
    four-character convolution."""
    ids = encode(["好", "好X坏"], {"好": 2}, 160)
    assert ids.tolist() == [[2, 0, 0, 0], [2, 1, 1, 0]]


def test_training_learns_the_characters_and_keeps_the_best_epoch(trained):
    """Validation accuracy is recorded per epoch and the best epoch's weights are kept."""
    cm, result, _ = trained
    history = cm.chosen["history"]
    assert max(h["val_accuracy"] for h in history) >= 0.9
    assert result.best_epoch == max(history, key=lambda h: h["val_accuracy"])["epoch"]
    logits = cm.logits(["味道很好非常好吃", "太难吃了菜都凉了"])
    assert logits[0].argmax() == 0 and logits[1].argmax() == 1


def test_saved_model_reloads_and_its_onnx_export_agrees(trained, tmp_path):
    """safetensors + JSON only; the reloaded model and the ONNX export give the trained
    logits (dynamic batch and length)."""
    from tuneforge.compress.char_cnn_export import export_char_cnn_onnx

    cm, _, out = trained
    assert json.loads((out / "tuneforge.json").read_text("utf-8"))["family"] == "char-cnn"
    texts = ["味道很好", "送得太慢，菜都凉了，再也不点", "新"]
    assert np.allclose(load_char_cnn(out).logits(texts), cm.logits(texts), atol=1e-5)
    onnx_dir = export_char_cnn_onnx(out, tmp_path / "onnx")
    predictor = open_char_cnn(onnx_dir)
    assert np.allclose(predictor.predict_logits(texts), cm.logits(texts), atol=1e-4)
    (out / "model.safetensors").rename(tmp_path / "gone")
    with pytest.raises(ModelError, match="model.safetensors missing"):
        load_char_cnn(out)
