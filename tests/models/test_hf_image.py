"""Hugging Face image classifiers: directory checks, inputs prepared as the model's processor
prepares them, adapters on image models, and saved models that plain transformers reloads."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tuneforge.config import MethodConfig, ModelConfig
from tuneforge.errors import ConfigError, ModelError
from tuneforge.methods import apply_method, save_trained
from tuneforge.models.hf_image import (
    load_pretrained_image,
    load_trained_image,
    processor_featurizer,
    resolve_image_model_dir,
    save_image_model,
)
from tuneforge.predict import ImagePredictor, load_predictor
from tuneforge.types import LabelMap

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LABELS = LabelMap(("blob", "horizontal", "vertical"))


def _rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _processor_pixels(model_dir, images: list[np.ndarray]) -> np.ndarray:
    import transformers

    processor = transformers.AutoImageProcessor.from_pretrained(
        model_dir, local_files_only=True, backend="pil"
    )
    return processor(images, return_tensors="np")["pixel_values"]


def _with_processor(tmp_path, vit_dir, **changes):
    """A copy of the tiny ViT whose preprocessor_config.json has ``changes``."""
    copy = tmp_path / "vit-copy"
    shutil.copytree(vit_dir, copy)
    config_path = copy / "preprocessor_config.json"
    config = json.loads(config_path.read_text())
    config.update(changes)
    config_path.write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
        {"rescale_factor": 1 / 127.5, "image_mean": [1.0, 1.0, 1.0], "image_std": [1.0, 1.0, 1.0]},
        {"do_normalize": False},
    ],
    ids=["vit-default", "imagenet-stats", "rescale-to-minus-one", "no-normalize"],
)
def test_featurizer_reproduces_the_processor(tiny_vit_dir, tmp_path, changes):
    """Our tensor for an image equals the processor's pixel_values (1e-5) whatever the processor
    config's mean, std, rescale factor or normalise flag, at the model's size and after a
    bilinear resize of a larger image (same PIL resize, 1e-4)."""
    model_dir = _with_processor(tmp_path, tiny_vit_dir, **changes) if changes else tiny_vit_dir
    featurizer = processor_featurizer(model_dir)
    assert (featurizer.height, featurizer.width, featurizer.channels) == (16, 16, 3)
    same_size, larger = _rgb(16, 16), _rgb(20, 24, seed=1)
    ours = featurizer.tensor([same_size]).numpy()
    np.testing.assert_allclose(ours, _processor_pixels(model_dir, [same_size]), atol=1e-5)
    ours = featurizer.tensor([larger]).numpy()
    np.testing.assert_allclose(ours, _processor_pixels(model_dir, [larger]), atol=1e-4)


def test_convnext_size_and_default_lora_layers(tmp_path):
    """A ConvNeXt directory (processor size as shortest_edge, ImageNet statistics as the hub's
    ConvNeXt configs state them) gets a square input of that edge and those statistics on the
    0–1 scale; LoRA adapts its pointwise layers by default."""
    import transformers

    config = transformers.ConvNextConfig(
        num_channels=3, num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], num_labels=2
    )
    torch.manual_seed(0)
    out = tmp_path / "convnext"
    transformers.ConvNextForImageClassification(config).save_pretrained(out)
    imagenet = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
    transformers.ConvNextImageProcessor(size={"shortest_edge": 32}, **imagenet).save_pretrained(out)

    featurizer = processor_featurizer(out)
    assert (featurizer.height, featurizer.width, featurizer.channels) == (32, 32, 3)
    np.testing.assert_allclose(featurizer.mean, [0.485, 0.456, 0.406], atol=1e-6)
    np.testing.assert_allclose(featurizer.std, [0.229, 0.224, 0.225], atol=1e-6)

    cm = load_pretrained_image(ModelConfig(name=str(out)), LABELS, featurizer)
    cm = apply_method(cm, MethodConfig(name="lora"), total_updates=10)
    names = [n for n, _ in cm.model.named_parameters() if ".lora_A." in n]
    adapted = {n.split(".lora_A.")[0].rsplit(".", 1)[-1] for n in names}
    assert adapted == {"pwconv1", "pwconv2"}
    logits = cm.model(pixel_values=featurizer.tensor([_rgb(40, 40)])).logits
    assert logits.shape == (1, 3)


def test_text_and_non_model_directories_are_refused(tiny_model_dir, tmp_path):
    """A text model (BERT), a folder without config.json and a model without its processor
    config are ModelErrors that name the directory and what an image run needs."""
    with pytest.raises(ModelError, match="not an image classifier") as text:
        resolve_image_model_dir(tiny_model_dir)
    assert str(tiny_model_dir) in text.value.message
    assert "BertModel" in text.value.message or "bert" in text.value.message

    empty = tmp_path / "photos"
    empty.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        resolve_image_model_dir(empty)


def test_missing_processor_config_and_pickle_weights_are_refused(tiny_vit_dir, tmp_path):
    """Without preprocessor_config.json, or with one whose size gives no input size, the input
    size is unknown: a ModelError naming the directory. A directory whose weights are only a
    pickle is refused before anything is unpickled."""
    no_processor = tmp_path / "no-processor"
    shutil.copytree(tiny_vit_dir, no_processor)
    (no_processor / "preprocessor_config.json").unlink()
    with pytest.raises(ModelError, match="preprocessor_config.json"):
        resolve_image_model_dir(no_processor)
    sizeless = _with_processor(tmp_path, tiny_vit_dir, size={"longest_edge": 16})
    with pytest.raises(ModelError, match="size") as err:
        processor_featurizer(sizeless)
    assert str(sizeless) in err.value.message

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        shutil.copy2(tiny_vit_dir / name, pickled / name)
    (pickled / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(ModelError, match="pickle") as err:
        resolve_image_model_dir(pickled)
    assert "pytorch_model.bin" in err.value.message


def test_saved_model_reloads_in_plain_transformers(tiny_vit_dir, tmp_path):
    """A saved fine-tuned ViT is a plain save_pretrained directory: transformers reloads it with
    the run's label names and, fed the processor's pixel_values, gives the probabilities that
    load_predictor's ImagePredictor gives for the same images."""
    import transformers

    featurizer = processor_featurizer(tiny_vit_dir)
    cm = load_pretrained_image(ModelConfig(name=str(tiny_vit_dir)), LABELS, featurizer)
    out = save_image_model(cm, tmp_path / "model")
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    assert json.loads((out / "tuneforge.json").read_text())["task"] == "image"

    plain = transformers.AutoModelForImageClassification.from_pretrained(
        out, local_files_only=True
    ).eval()
    assert [plain.config.id2label[i] for i in range(3)] == list(LABELS.names)
    images = [_rgb(16, 16, seed=s) for s in range(4)] + [_rgb(30, 20, seed=9)]
    with torch.inference_mode():
        pixels = torch.from_numpy(_processor_pixels(out, images))
        expected = torch.softmax(plain(pixel_values=pixels).logits, -1).numpy()
    predictor = load_predictor(out)
    assert isinstance(predictor, ImagePredictor) and predictor.labels == LABELS.names
    np.testing.assert_allclose(predictor.predict_proba(images), expected, atol=1e-5)


@pytest.mark.parametrize("method", ["lora", "adalora", "ia3"])
def test_adapters_train_only_their_layers_and_the_head(tiny_vit_dir, tmp_path, method):
    """LoRA, AdaLoRA and IA3 wrap a ViT on its attention layers with the classifier head
    trained (modules_to_save); the saved adapter reloads through load_predictor with the
    merged model's predictions."""
    featurizer = processor_featurizer(tiny_vit_dir)
    cm = load_pretrained_image(ModelConfig(name=str(tiny_vit_dir)), LABELS, featurizer)
    cm = apply_method(cm, MethodConfig(name=method), total_updates=10)
    trainable = [n for n, p in cm.model.named_parameters() if p.requires_grad]
    assert any("classifier" in n for n in trainable)
    assert all("classifier" in n or "lora_" in n or "ia3_l" in n for n in trainable)
    torch.manual_seed(1)
    for param in cm.model.parameters():  # as if trained: the head and adapters move
        if param.requires_grad:
            param.data.add_(torch.randn_like(param) * 0.1)
    cm.model.eval()
    save_trained(cm, tmp_path / "model", tmp_path / "adapter")
    images = [_rgb(16, 16, seed=s) for s in range(3)]
    merged = load_predictor(tmp_path / "model").predict_proba(images)
    adapter = load_trained_image(tmp_path / "adapter")
    assert adapter.method == method and (tmp_path / "adapter" / "adapter_config.json").is_file()
    from_adapter = load_predictor(tmp_path / "adapter").predict_proba(images)
    np.testing.assert_allclose(from_adapter, merged, atol=1e-5)


def test_prefix_tuning_is_refused_for_image_models(tiny_vit_dir):
    """Prefix tuning has no meaning without a token sequence: a ConfigError naming the methods
    that do fit image models, not a crash inside peft."""
    featurizer = processor_featurizer(tiny_vit_dir)
    cm = load_pretrained_image(ModelConfig(name=str(tiny_vit_dir)), LABELS, featurizer)
    with pytest.raises(ConfigError, match="prefix") as err:
        apply_method(cm, MethodConfig(name="prefix"), total_updates=10)
    assert "lora" in (err.value.hint or "")
