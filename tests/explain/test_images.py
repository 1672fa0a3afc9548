"""Heat maps for image models: occlusion patches on every runtime, integrated gradients on
torch, and their PNG overlays."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tuneforge.errors import ConfigError, DataError
from tuneforge.explain import ImageExplanation
from tuneforge.explain.images import integrated_gradients_image, patch_windows
from tuneforge.explain.overlay import overlay_name, save_overlay
from tuneforge.predict import ImagePredictor, load_predictor
from tuneforge.tasks import ImageTask, open_task

from ..tiny_images import SIDE


@pytest.fixture(scope="module")
def torch_images(bar_artifacts):
    return ImagePredictor.from_dir(bar_artifacts["model"])


def _bar(images, label: str):
    """The first test image of ``label`` and the mask of its bright bar."""
    example = next(e for e in images if e.label == label)
    return example.pixels, example.pixels[:, :, 0] > 200


@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_the_bar_is_what_pushes_towards_the_label(torch_images, bar_artifacts, method):
    """The heat map is at the model's input size and is hottest on the bar that makes the
    class; explaining the other class turns the bar negative."""
    pixels, bar = _bar(bar_artifacts["images"], "vertical")
    task = open_task(torch_images)
    [own] = task.explain(torch_images, [pixels], method)
    [other] = task.explain(torch_images, [pixels], method, target="horizontal")
    assert isinstance(own, ImageExplanation) and own.heatmap.shape == (SIDE, SIDE)
    assert own.label == own.predicted == "vertical" and other.label == "horizontal"
    assert own.heatmap[bar].mean() > 0 and own.heatmap[bar].mean() > own.heatmap[~bar].mean()
    assert other.heatmap[bar].mean() < 0
    assert own.source == "input 1"


def test_integrated_gradients_on_pixels_are_complete(torch_images, bar_artifacts):
    """The heat map sums to p(image) - p(black image) for the class, within Captum's delta."""
    import torch

    pixels, _ = _bar(bar_artifacts["images"], "horizontal")
    [e] = integrated_gradients_image(torch_images, [pixels], steps=64)
    f = torch_images.cm.featurizer
    x = f.tensor([pixels])
    k = torch_images.labels.index(e.label)
    with torch.no_grad():
        p = torch.softmax(torch_images.cm.model(pixel_values=x).logits, -1)[0, k]
        black = f.background().expand_as(x)
        b = torch.softmax(torch_images.cm.model(pixel_values=black).logits, -1)[0, k]
    assert abs(e.delta) < 0.02
    assert float(e.heatmap.sum()) == pytest.approx(float(p - b), abs=abs(e.delta) + 1e-4)


def test_occlusion_on_onnx_matches_the_torch_model(torch_images, bar_artifacts):
    """The exported image model is explained through predict_proba alone, like torch."""
    onnx = load_predictor(bar_artifacts["onnx"])
    images = [e.pixels for e in bar_artifacts["images"][:4]]
    exported = open_task(onnx).explain(onnx, images)
    reference = open_task(torch_images).explain(torch_images, images, "occlusion")
    for a, b in zip(exported, reference):
        assert a.method == "occlusion" and a.label == b.label
        np.testing.assert_allclose(a.heatmap, b.heatmap, atol=1e-4)


def test_occlusion_sends_every_patch_in_one_call(torch_images, bar_artifacts):
    """All patched copies of all images go to predict_proba together."""
    calls = []
    inner = torch_images.predict_proba

    def counting(images):
        calls.append(len(images))
        return inner(images)

    torch_images.predict_proba = counting
    try:
        images = [e.pixels for e in bar_artifacts["images"][:3]]
        open_task(torch_images).explain(torch_images, images, "occlusion", patch=2)
    finally:
        del torch_images.predict_proba
    assert calls == [3 * (1 + 16)]  # each image, and each with one of 4×4 patches covered


@pytest.mark.parametrize("height,width,patch", [(8, 8, 3), (5, 9, 2), (4, 4, 4), (3, 7, 5)])
def test_patches_cover_every_pixel(height, width, patch):
    """However the size divides, every pixel lies under at least one patch."""
    covered = np.zeros((height, width), bool)
    for y, x in patch_windows(height, width, patch, patch):
        covered[y : y + patch, x : x + patch] = True
    assert covered.all()


def test_overlay_png_shows_the_heat_map_over_the_image(torch_images, bar_artifacts, tmp_path):
    """A PNG is written over a larger original image; it is a real picture (red where the
    attribution is positive), and overlay names stay unique per input."""
    pixels, bar = _bar(bar_artifacts["images"], "horizontal")
    big = np.kron(pixels[:, :, 0], np.ones((6, 6), np.uint8))
    [e] = ImageTask().explain(torch_images, [big], "occlusion")
    path = save_overlay(big, e, tmp_path / overlay_name("x/a b.png", e.method, set()))
    assert path.name == "a_b.occlusion.png"
    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert image.shape[0] >= 300 and image.shape[1] >= 300
    reddish = (image[..., 0] > 150) & (image[..., 0] - image[..., 2] > 60)
    assert reddish.sum() > 500
    taken: set[str] = set()
    names = [overlay_name(s, "ig", taken) for s in ("a/1.png", "b/1.png", "1.jpg")]
    assert names == ["1.ig.png", "1-2.ig.png", "1-3.ig.png"]


def test_image_files_get_overlays_named_after_them(torch_images, bar_artifacts, tmp_path):
    """The task writes one overlay per input file and records its path on the explanation."""
    pixels, _ = _bar(bar_artifacts["images"], "vertical")
    path = tmp_path / "seven.png"
    Image.fromarray(pixels[:, :, 0], "L").save(path)
    task = ImageTask()
    explained = task.explain(torch_images, [str(path)], "ig")
    [e] = task.explanation_files(torch_images, [str(path)], explained, tmp_path / "out")
    assert e.source == str(path) and e.overlay == str(tmp_path / "out" / "seven.ig.png")
    assert Image.open(e.overlay).format == "PNG"


def test_bad_image_inputs_are_refused_by_name(torch_images, tmp_path):
    """A non-image input and an undecodable file are errors naming the input."""
    with pytest.raises(DataError, match="Input 1: expected an image"):
        ImageTask().explain(torch_images, [np.zeros((8, 8), np.uint8), 42], "occlusion")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        ImageTask().explain(torch_images, [str(broken)], "ig")


def test_integrated_gradients_on_an_onnx_image_model_are_refused(bar_artifacts):
    """ONNX image models are explained by occlusion; gradients are refused with the way out."""
    onnx = load_predictor(bar_artifacts["onnx"])
    with pytest.raises(ConfigError, match="--method occlusion"):
        ImageTask().explain(onnx, [np.zeros((8, 8), np.uint8)], "ig")
