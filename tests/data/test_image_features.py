"""Image featurizer: normalisation from training data, augmentation that keeps shapes and labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tuneforge.data.image_features import ImageFeaturizer
from tuneforge.errors import DataError
from tuneforge.types import ImageExample


def _examples(n=8, shape=(12, 12, 1)):
    rng = np.random.default_rng(0)
    return [
        ImageExample(rng.integers(0, 255, shape, dtype=np.uint8), str(i % 2), i + 1)
        for i in range(n)
    ]


def test_normalisation_comes_from_the_training_images():
    train = _examples()
    f = ImageFeaturizer.fit(train)
    batch = f.collate(f.encode(train), train=False)["pixel_values"]
    assert batch.shape == (8, 1, 12, 12)
    assert batch.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert batch.std().item() == pytest.approx(1.0, abs=0.01)
    assert ImageFeaturizer.from_meta(f.to_meta()).mean == f.mean


def test_augmentation_keeps_shape_and_only_applies_to_training_batches():
    """Training batches are warped (same shape, label untouched), evaluation batches never."""
    train = _examples()
    f = ImageFeaturizer.fit(train)
    items = f.encode(train)
    torch.manual_seed(0)
    warped = f.collate(items, train=True)["pixel_values"]
    plain = f.collate(items, train=False)["pixel_values"]
    assert warped.shape == plain.shape and not torch.allclose(warped, plain)
    assert torch.equal(plain, f.collate(items, train=False)["pixel_values"])
    assert [e.label for e in train] == [str(i % 2) for i in range(8)]


def test_no_flips_unless_asked():
    """A left-right asymmetric image keeps its handedness under default augmentation."""
    img = np.zeros((16, 16, 1), np.uint8)
    img[:, :4] = 255  # a bar on the left
    ex = [ImageExample(img, "left")]
    f = ImageFeaturizer(16, 16, 1, (0.0,), (1.0,), max_rotation_deg=5, max_shift=0.05)
    torch.manual_seed(0)
    for _ in range(20):
        out = f.collate(f.encode(ex), train=True)["pixel_values"][0, 0]
        assert out[:, :8].mean() > out[:, 8:].mean()
    flipping = ImageFeaturizer(
        16, 16, 1, (0.0,), (1.0,), max_rotation_deg=0, max_shift=0, flip=True
    )
    sides = {
        bool(o[:, :8].mean() > o[:, 8:].mean())
        for o in (
            flipping.collate(flipping.encode(ex), train=True)["pixel_values"][0, 0]
            for _ in range(20)
        )
    }
    assert sides == {True, False}


def test_images_of_another_size_are_refused_with_their_row():
    f = ImageFeaturizer.fit(_examples())
    odd = ImageExample(np.zeros((10, 12, 1), np.uint8), "0", 7, "odd.png")
    with pytest.raises(DataError, match=r"odd\.png \(row 7\)"):
        f.encode([odd])
