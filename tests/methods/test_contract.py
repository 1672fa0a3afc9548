"""Contract matrix over every fine-tuning method on a tiny model.

For each method: a short training run lowers the loss; only the intended parameters change
(adapters and head for peft methods, never the frozen base); the saved model and the saved
adapter reload with the trained predictions; plain peft loads the adapter; merged ≈ unmerged.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from tuneforge.config import MethodConfig, ModelConfig, TrainConfig
from tuneforge.errors import ConfigError
from tuneforge.methods import METHODS, apply_method, save_trained
from tuneforge.models import load_model, load_trained
from tuneforge.models.tokens import encode
from tuneforge.train import fit, planned_updates
from tuneforge.train.batching import collate
from tuneforge.types import DatasetSplits, Example, LabelMap

from ..conftest import make_rows

CFG = TrainConfig(epochs=6, batch_size=8, early_stopping_patience=0, precision="fp32")
# A random tiny encoder needs larger steps than a pretrained one to move within a few epochs.
LR_SCALE = 2


def _data() -> DatasetSplits:
    """No validation split: the run ends on its last weights, so the loss check sees training
    itself rather than which epoch a tiny validation set happened to prefer."""
    rows = make_rows(12)
    ex = [Example(r["text"], r["label"], i + 1) for i, r in enumerate(rows)]
    labels = LabelMap.from_labels(r["label"] for r in rows)
    return DatasetSplits(ex, [], [], labels, "t")


@torch.inference_mode()
def _probs(cm, texts: list[str]) -> np.ndarray:
    cm.model.eval()
    ids = encode(cm.tokenizer, texts, cm.max_length)
    batch = collate(ids, cm.tokenizer.pad_token_id or 0)
    return torch.softmax(cm.model(**batch).logits.float(), -1).numpy()


@torch.inference_mode()
def _loss(cm, data: DatasetSplits) -> float:
    cm.model.eval()
    ids = encode(cm.tokenizer, [e.text for e in data.train], cm.max_length)
    logits = cm.model(**collate(ids, cm.tokenizer.pad_token_id or 0)).logits.float()
    target = torch.tensor(cm.labels.ids([e.label for e in data.train]))
    return F.cross_entropy(logits, target).item()


def _base_weights(model) -> dict[str, torch.Tensor]:
    """The original model's weights, by their name in the unwrapped model."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def pretrained_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """A tiny encoder that has learned features (fully fine-tuned once, head dropped): adapters
    adapt a pretrained encoder, and a random one gives them nothing to adapt."""
    data = _data()
    torch.manual_seed(0)
    cm = load_model(ModelConfig(name=str(tiny_model_dir)), data.labels)
    fit(cm, data, replace(CFG, lr=2e-3, epochs=8, freeze_embeddings=False), progress=False)
    out = tmp_path_factory.mktemp("pretrained")
    cm.model.bert.save_pretrained(out, safe_serialization=True)
    cm.tokenizer.save_pretrained(out)
    return out


def _trained(method: str, base_dir: Path):
    data = _data()
    torch.manual_seed(0)
    cm = load_model(ModelConfig(name=str(base_dir)), data.labels)
    before = _base_weights(cm.model)
    cfg = replace(CFG, lr=METHODS[method].default_lr * LR_SCALE)
    cm = apply_method(cm, MethodConfig(name=method), planned_updates(len(data.train), cfg))
    loss_before = _loss(cm, data)
    fit(cm, data, cfg, progress=False)
    return cm, data, before, loss_before


@pytest.fixture(scope="module", params=sorted(METHODS))
def trained(request, pretrained_dir, tmp_path_factory):
    cm, data, before, loss_before = _trained(request.param, pretrained_dir)
    out = tmp_path_factory.mktemp(request.param)
    probs = _probs(cm, [e.text for e in data.train])
    save_trained(cm, out / "model", out / "adapter")
    return request.param, cm, data, before, loss_before, probs, out


def test_a_short_run_lowers_the_training_loss(trained):
    """Every method learns on the tiny data: the training loss falls."""
    method, cm, data, _, loss_before, _, _ = trained
    assert _loss(cm, data) < loss_before - 0.05, method


def test_only_the_intended_parameters_change(trained):
    """Adapters train beside a frozen base; the head always trains; full fine-tuning leaves only
    the frozen word embeddings as they were."""
    method, cm, _, before, _, _, out = trained
    merged = load_trained(out / "model") if METHODS[method].mergeable else None
    head_changed = False
    if method == "full" or merged is not None:
        after = merged.model.state_dict() if merged is not None else cm.model.state_dict()
        for name, old in before.items():
            changed = not torch.allclose(old, after[name].to(old.dtype), atol=1e-7)
            if name.startswith("classifier."):
                head_changed |= changed
            elif name.endswith("word_embeddings.weight"):
                assert not changed, f"{method}: frozen embeddings changed"
    trainable = {n for n, p in cm.model.named_parameters() if p.requires_grad}
    if method == "full":
        assert "bert.embeddings.word_embeddings.weight" not in trainable
        assert any(".encoder." in n for n in trainable)
    else:
        # peft: nothing of the base model trains except the head and pooler copies.
        base_trainable = [
            n
            for n in trainable
            if not any(k in n for k in ("lora_", "ia3_", "prompt_encoder", "modules_to_save"))
        ]
        assert base_trainable == [], f"{method}: base parameters train: {base_trainable[:3]}"
        assert any("modules_to_save" in n and "classifier" in n for n in trainable)
    if merged is not None:
        assert head_changed, f"{method}: the classifier head did not train"


def test_saved_model_and_adapter_reload_with_the_trained_predictions(trained):
    """artifacts/model (merged, or the adapter itself for prefix tuning) and artifacts/adapter
    both reproduce the in-memory model's probabilities."""
    method, _, data, _, _, probs, out = trained
    texts = [e.text for e in data.train]
    reloaded = load_trained(out / "model")
    np.testing.assert_allclose(_probs(reloaded, texts), probs, atol=1e-4)
    assert reloaded.labels == data.labels
    if method == "full":
        assert not (out / "adapter").exists()
        return
    adapter = load_trained(out / "adapter")
    np.testing.assert_allclose(_probs(adapter, texts), probs, atol=1e-4)


def test_plain_peft_loads_the_adapter_with_its_head(trained, pretrained_dir):
    """A user with only transformers and peft gets the trained classifier back, not a random
    head: base model with the run's labels + PeftModel.from_pretrained(artifacts/adapter)."""
    method, _, data, _, _, probs, out = trained
    if method == "full":
        pytest.skip("full fine-tuning writes no adapter")
    import peft
    import transformers

    base = transformers.AutoModelForSequenceClassification.from_pretrained(
        pretrained_dir, num_labels=len(data.labels), attn_implementation="eager"
    )
    model = peft.PeftModel.from_pretrained(base, out / "adapter")
    cm = replace(load_trained(out / "model"), model=model)
    np.testing.assert_allclose(_probs(cm, [e.text for e in data.train]), probs, atol=1e-4)


def test_merged_model_matches_the_unmerged_adapter(trained):
    """Merging the adapter into the base weights changes no prediction beyond float noise."""
    method, _, data, _, _, _, out = trained
    if method == "full" or not METHODS[method].mergeable:
        pytest.skip(f"{method} has nothing to merge")
    texts = [e.text for e in data.train]
    merged = load_trained(out / "model")
    assert not (out / "model" / "adapter_config.json").exists()
    unmerged = load_trained(out / "adapter")
    np.testing.assert_allclose(_probs(merged, texts), _probs(unmerged, texts), atol=1e-4)


def test_unknown_method_and_bad_rank_are_config_errors(tiny_model_dir):
    """A typo in the method name or a zero rank is refused before any training."""
    data = _data()
    cm = load_model(ModelConfig(name=str(tiny_model_dir)), data.labels)
    with pytest.raises(ConfigError, match="lorra"):
        apply_method(cm, MethodConfig(name="lorra"), 10)
    with pytest.raises(ConfigError, match="method.r"):
        apply_method(cm, MethodConfig(name="lora", r=0), 10)
    with pytest.raises(ConfigError, match="does not fit"):
        apply_method(cm, MethodConfig(name="lora", target_modules="no_such_layer"), 10)
