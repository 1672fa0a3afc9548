"""Image featurizer: train-only normalisation, one input shape, augmentation that keeps shapes,
order (so labels) and handedness unless flips are asked for."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tuneforge.data.image_features import Augmentation, ImageFeaturizer
from tuneforge.errors import DataError
from tuneforge.types import ImageExample

from .test_images import png


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and a busy CPU makes thread hand-offs slow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _examples(n=8, shape=(12, 12, 1), low=0, high=255, seed=0):
    rng = np.random.default_rng(seed)
    return [
        ImageExample(rng.integers(low, high, shape, dtype=np.uint8), str(i % 2), i + 1)
        for i in range(n)
    ]


def _blob(h=16, w=16, y=8, x=8) -> np.ndarray:
    img = np.zeros((h, w, 1), np.uint8)
    img[y - 2 : y + 2, x - 2 : x + 2] = 255
    return img


def test_normalisation_comes_from_the_training_images_only():
    train = _examples(high=100)
    bright_val = _examples(low=200, seed=1)
    f = ImageFeaturizer.fit(train)
    stack = np.stack([e.pixels for e in train]).astype(np.float64) / 255
    assert f.mean == pytest.approx((stack.mean(),)) and f.std == pytest.approx((stack.std(),))
    batch = f.collate(f.encode(train), train=False)["pixel_values"]
    assert batch.shape == (8, 1, 12, 12) and batch.dtype == torch.float32
    assert batch.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert batch.std().item() == pytest.approx(1.0, abs=0.01)
    # Validation images are normalised with the training statistics, not their own.
    val = f.collate(f.encode(bright_val), train=False)["pixel_values"]
    assert val.mean().item() > 2.0


def test_colour_statistics_are_per_channel():
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0], img[..., 1] = 255, np.arange(16).reshape(4, 4) * 10
    f = ImageFeaturizer.fit([ImageExample(img, "a")])
    assert f.channels == 3 and f.mean[0] == pytest.approx(1.0) and f.mean[2] == 0.0
    assert f.std[1] == pytest.approx((np.arange(16) * 10 / 255).std())
    assert f.std[0] == f.std[2] == 1e-3  # constant channels do not divide by zero


def test_mixed_sizes_and_channels_are_conformed_to_the_common_shape():
    examples = [ImageExample(np.full((6, 8, 1), 100, np.uint8), "a") for _ in range(3)]
    examples.append(ImageExample(np.full((12, 16, 3), 100, np.uint8), "b"))
    f = ImageFeaturizer.fit(examples)
    assert (f.height, f.width, f.channels) == (6, 8, 3)  # most common size; colour wins
    items = f.encode(examples)
    assert {item.shape for item in items} == {(6, 8, 3)}
    assert int(items[3][0, 0, 0]) == 100  # a resize of a flat image stays flat
    fixed = ImageFeaturizer.fit(examples, size=(4, 4), channels=1)
    assert fixed.collate(fixed.encode(examples))["pixel_values"].shape == (4, 1, 4, 4)


def test_lazy_paths_are_decoded_per_batch(tmp_path):
    paths = [png(tmp_path / f"{i}.png", 40 * i, size=(5, 4)) for i in range(3)]
    eager = [ImageExample(np.full((4, 5, 1), 40 * i, np.uint8), "x") for i in range(3)]
    lazy = [ImageExample(p, "x") for p in paths]
    f = ImageFeaturizer.fit(lazy)
    assert f == ImageFeaturizer.fit(eager)
    assert f.encode(lazy) == paths  # nothing decoded up front
    torch.testing.assert_close(
        f.collate(f.encode(lazy))["pixel_values"], f.collate(f.encode(eager))["pixel_values"]
    )


def test_augmentation_keeps_shape_and_order_and_only_applies_to_training_batches():
    """Each warped image stays closest to its own original: labels, matched by position, hold."""
    coarse = torch.rand(16, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    smooth = torch.nn.functional.interpolate(coarse, size=(16, 16), mode="bilinear")
    images = (smooth * 255).round().byte().permute(0, 2, 3, 1).numpy()
    train = [ImageExample(img, str(i)) for i, img in enumerate(images)]
    f = ImageFeaturizer.fit(train)  # default augmentation
    items = f.encode(train)
    torch.manual_seed(0)
    batch = f.collate(items, train=True)
    assert set(batch) == {"pixel_values"}
    warped, plain = batch["pixel_values"], f.collate(items, train=False)["pixel_values"]
    assert warped.shape == plain.shape == (16, 1, 16, 16) and warped.dtype == plain.dtype
    assert not torch.allclose(warped, plain)
    assert torch.equal(plain, f.collate(items, train=False)["pixel_values"])  # eval: no warps
    nearest = torch.cdist(warped.flatten(1), plain.flatten(1)).argmin(dim=1)
    assert nearest.tolist() == list(range(16))
    none = ImageFeaturizer.fit(train, augmentation=None)
    assert torch.equal(none.collate(items, train=True)["pixel_values"], plain)


def test_shifts_and_rotations_stay_within_their_bounds():
    """A centred blob's centre of mass moves at most shift × size (plus rounding)."""
    f = ImageFeaturizer(32, 32, 1, (0.0,), (1.0,), Augmentation(rotation_deg=0, shift=0.1, scale=0))
    img = np.zeros((32, 32, 1), np.uint8)
    img[14:18, 14:18] = 255
    torch.manual_seed(1)
    out = f.collate([img] * 200, train=True)["pixel_values"][:, 0]
    grid = torch.arange(32.0)
    mass = out.sum(dim=(1, 2))
    cy = (out.sum(2) * grid).sum(1) / mass
    cx = (out.sum(1) * grid).sum(1) / mass
    assert (cy - 15.5).abs().max() <= 3.2 + 0.5 and (cx - 15.5).abs().max() <= 3.2 + 0.5
    assert (cx - 15.5).abs().max() > 2.0  # and they do move


def test_no_flips_unless_asked():
    """A left-right asymmetric image keeps its handedness under default augmentation."""
    img = np.zeros((16, 16, 1), np.uint8)
    img[:, :4] = 255  # a bar on the left
    f = ImageFeaturizer(16, 16, 1, (0.0,), (1.0,))  # default Augmentation()
    torch.manual_seed(0)
    out = f.collate([img] * 100, train=True)["pixel_values"][:, 0]
    assert bool((out[:, :, :8].mean((1, 2)) > out[:, :, 8:].mean((1, 2))).all())
    flipping = ImageFeaturizer(16, 16, 1, (0.0,), (1.0,), Augmentation(0, 0, 0, flip=True))
    out = flipping.collate([img] * 100, train=True)["pixel_values"][:, 0]
    left = out[:, :, :8].mean((1, 2)) > out[:, :, 8:].mean((1, 2))
    assert 20 < int(left.sum()) < 80
    torch.testing.assert_close(out[~left][0], torch.from_numpy(img[:, ::-1, 0] / 255).float())


def test_elastic_distortion_is_small_and_smooth():
    img = _blob(32, 32, 16, 16)
    f = ImageFeaturizer(32, 32, 1, (0.0,), (1.0,), Augmentation(0, 0, 0, elastic=2.0))
    torch.manual_seed(0)
    out = f.collate([img] * 20, train=True)["pixel_values"]
    assert not torch.allclose(out[0], out[1])
    assert out[:, 0, :10].abs().max() == 0 and out[:, 0, 22:].abs().max() == 0  # stays local


@pytest.mark.parametrize(
    "options", [{"rotation_deg": -1}, {"shift": 1.0}, {"scale": -0.1}, {"elastic": -2}]
)
def test_invalid_augmentation_settings_are_refused(options):
    with pytest.raises(DataError, match="Augmentation"):
        Augmentation(**options)


def test_arrays_that_are_not_uint8_images_are_refused_with_their_row():
    f = ImageFeaturizer.fit(_examples())
    for pixels in (np.zeros((12, 12, 1), np.float32), np.zeros((12, 12), np.uint8), None):
        odd = ImageExample(pixels, "0", 7, "odd.csv")
        with pytest.raises(DataError, match=r"odd\.csv \(row 7\)"):
            f.encode([odd])
    with pytest.raises(DataError, match="No training images"):
        ImageFeaturizer.fit([])


def test_meta_round_trip_drops_augmentation_for_inference():
    f = ImageFeaturizer.fit(_examples(shape=(4, 6, 3)))
    meta = f.to_meta()
    assert meta["image_shape"] == [4, 6, 3] and meta["augmentation"]["flip"] is False
    back = ImageFeaturizer.from_meta(meta)
    assert (back.height, back.width, back.mean, back.std) == (4, 6, f.mean, f.std)
    assert back.augmentation is None
    with pytest.raises(DataError, match="malformed"):
        ImageFeaturizer.from_meta({"image_shape": [4, 6]})
