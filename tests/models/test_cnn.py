"""The compact CNN: trains through fit(), saves as safetensors + JSON, reloads identically."""

from __future__ import annotations

import numpy as np
import torch

from tuneforge.config import TrainConfig
from tuneforge.data.image_features import ImageFeaturizer
from tuneforge.models.cnn import CNNConfig, CompactCNN, ImageClassifierModel, load_cnn, save_cnn
from tuneforge.train import fit
from tuneforge.types import DatasetSplits, ImageExample, LabelMap


def _bars(n: int, seed: int) -> list[ImageExample]:
    """Vertical vs horizontal bars at random positions: learnable, not memorisable by pixel."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = rng.integers(0, 40, (12, 12, 1), dtype=np.uint8)
        k = int(rng.integers(2, 10))
        if i % 2:
            img[:, k : k + 2] = 255
        else:
            img[k : k + 2, :] = 255
        out.append(ImageExample(img, "vertical" if i % 2 else "horizontal", i + 1))
    return out


def test_cnn_learns_through_fit_and_round_trips(tmp_path):
    train, val = _bars(96, 0), _bars(32, 1)
    labels = LabelMap.from_labels(e.label for e in train)
    featurizer = ImageFeaturizer.fit(train, max_shift=0.05)
    torch.manual_seed(0)
    model = CompactCNN(CNNConfig(12, 12, 1, len(labels), widths=(8, 16), hidden=32))
    cm = ImageClassifierModel(model, featurizer, labels)
    cfg = TrainConfig(epochs=6, batch_size=16, lr=3e-3, precision="fp32", early_stopping_patience=0)
    result = fit(cm, DatasetSplits(train, val, [], labels, ""), cfg, progress=False)
    assert result.best_val_macro_f1 > 0.9

    out = save_cnn(cm, tmp_path / "cnn")
    assert sorted(p.name for p in out.iterdir()) == [
        "cnn_config.json",
        "labels.json",
        "model.safetensors",
        "tuneforge.json",
    ]
    reloaded = load_cnn(out)
    batch = featurizer.tensor([e.pixels for e in val])
    model.eval()
    with torch.inference_mode():
        np.testing.assert_allclose(
            reloaded.model(reloaded.featurizer.tensor([e.pixels for e in val])).logits.numpy(),
            model(batch).logits.numpy(),
            atol=1e-5,
        )
    assert reloaded.labels == labels and not reloaded.featurizer.augment
