"""The compact CNN: HF-like outputs, config checks, learning, safetensors + JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from tuneforge.data.image_features import Augmentation, ImageFeaturizer
from tuneforge.errors import ModelError
from tuneforge.models.cnn import (
    CNNConfig,
    CompactCNN,
    ImageClassifierModel,
    build_cnn,
    load_cnn,
    save_cnn,
)
from tuneforge.types import ImageExample, LabelMap


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and a busy CPU makes thread hand-offs slow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _bars(n: int, seed: int) -> list[ImageExample]:
    """Vertical vs horizontal bars at random positions on noise: needs shape, not one pixel."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = rng.integers(0, 60, (12, 12, 1), dtype=np.uint8)
        k = int(rng.integers(2, 9))
        if i % 2:
            img[:, k : k + 2] = 255
        else:
            img[k : k + 2, :] = 255
        out.append(ImageExample(img, "vertical" if i % 2 else "horizontal", i + 1))
    return out


def test_forward_returns_logits_like_a_hugging_face_model():
    model = CompactCNN(CNNConfig(28, 28, 1, 10)).eval()
    out = model(pixel_values=torch.randn(3, 1, 28, 28))
    assert out.logits.shape == (3, 10)
    rgb = CompactCNN(CNNConfig(32, 24, 3, 4, widths=(8, 16, 32), convs_per_stage=2))
    assert rgb(torch.randn(2, 3, 32, 24)).logits.shape == (2, 4)
    with pytest.raises(ModelError, match=r"N×1×28×28, got \(3, 1, 32, 32\)"):
        model(torch.randn(3, 1, 32, 32))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"channels": 2}, "invalid channels"),
        ({"num_labels": 1}, "invalid num_labels"),
        ({"dropout": 1.0}, "invalid dropout"),
        ({"widths": ()}, "invalid widths"),
        ({"height": 3}, "too small for 2 pooling stages"),
    ],
)
def test_bad_configs_are_refused(options, message):
    with pytest.raises(ModelError, match=message):
        CNNConfig(**{"height": 28, "width": 28, "channels": 1, "num_labels": 10, **options})


def test_a_plain_training_loop_learns_a_small_task():
    """A few hundred AdamW steps on bars: the loss falls and held-out images are classified."""
    train, test = _bars(256, 0), _bars(64, 1)
    labels = LabelMap.from_labels(e.label for e in train)
    featurizer = ImageFeaturizer.fit(train, augmentation=Augmentation(5, 0.05, 0.05))
    torch.manual_seed(0)
    cm = build_cnn(featurizer, labels, widths=(8, 16), hidden=32, dropout=0.1)
    items, y = featurizer.encode(train), torch.tensor(labels.ids([e.label for e in train]))
    optimizer = torch.optim.AdamW(cm.model.parameters(), lr=3e-3)
    plain = featurizer.collate(items, train=False)

    def train_loss() -> float:
        cm.model.eval()
        with torch.inference_mode():
            return F.cross_entropy(cm.model(**plain).logits, y).item()

    before = train_loss()
    rng = np.random.default_rng(0)
    cm.model.train()
    for _ in range(300):
        batch = rng.choice(len(items), 32, replace=False)
        inputs = featurizer.collate([items[i] for i in batch], train=True)
        loss = F.cross_entropy(cm.model(**inputs).logits, y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = train_loss()
    assert before > 0.5 and after < 0.1 * before
    with torch.inference_mode():
        logits = cm.model(featurizer.tensor(featurizer.encode(test))).logits
    truth = torch.tensor(labels.ids([e.label for e in test]))
    assert (logits.argmax(-1) == truth).float().mean() >= 0.95


def test_save_and_load_give_identical_logits(tmp_path):
    train = _bars(32, 0)
    labels = LabelMap.from_labels(e.label for e in train)
    featurizer = ImageFeaturizer.fit(train)
    torch.manual_seed(0)
    cm = build_cnn(featurizer, labels, widths=(8, 16), hidden=16, batch_norm=True)
    cm.model.train()
    for _ in range(3):  # move the batch-norm running statistics (buffers) off their defaults
        cm.model(**featurizer.collate(featurizer.encode(train), train=True))
    out = save_cnn(cm, tmp_path / "cnn")
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "cnn_config.json",
        "labels.json",
        "model.safetensors",
        "tuneforge.json",
    ]
    assert json.loads((out / "tuneforge.json").read_text())["task"] == "image"
    reloaded = load_cnn(out)
    assert isinstance(reloaded, ImageClassifierModel) and not reloaded.model.training
    assert reloaded.model.config == cm.model.config and reloaded.labels == labels
    assert reloaded.featurizer.augmentation is None
    assert (reloaded.featurizer.mean, reloaded.featurizer.std) == (featurizer.mean, featurizer.std)
    cm.model.eval()
    with torch.inference_mode():
        expected = cm.model(featurizer.tensor(featurizer.encode(train))).logits
        got = reloaded.model(reloaded.featurizer.tensor(reloaded.featurizer.encode(train))).logits
    assert torch.equal(got, expected)


def test_incomplete_or_tampered_model_directories_raise_model_errors(tmp_path):
    train = _bars(8, 0)
    cm = build_cnn(ImageFeaturizer.fit(train), LabelMap(("horizontal", "vertical")), widths=(4,))
    out = save_cnn(cm, tmp_path / "m")
    with pytest.raises(
        ModelError, match="not a saved image model: cnn_config.json, tuneforge.json"
    ):
        load_cnn(tmp_path)
    config = json.loads((out / "cnn_config.json").read_text())
    (out / "cnn_config.json").write_text(json.dumps({**config, "layers": 9}))
    with pytest.raises(ModelError, match="Unknown CNN config key"):
        load_cnn(out)
    (out / "cnn_config.json").write_text(json.dumps({**config, "hidden": 64}))
    with pytest.raises(ModelError, match="Could not load the image model"):
        load_cnn(out)  # weights of another shape
    (out / "cnn_config.json").write_text(json.dumps(config))
    (out / "model.safetensors").write_bytes(b"\x80\x04pickle?")
    with pytest.raises(ModelError, match="model.safetensors' is not a safetensors file.*pickle"):
        load_cnn(out)
