"""Freezing the bottom of an encoder: what stays fixed, what trains, and clear refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from tuneforge.config import ModelConfig
from tuneforge.errors import ConfigError
from tuneforge.models import load_model
from tuneforge.train import fit
from tuneforge.train.freeze import block_list, default_frozen_layers, freeze_bottom

from .test_loop import CFG, _data


def _tiny(tiny_model_dir, data):
    torch.manual_seed(0)
    return load_model(ModelConfig(name=str(tiny_model_dir)), data.labels)


def test_freeze_bottom_fixes_embeddings_and_lower_blocks_only(tiny_model_dir):
    """Embeddings and block 0 stop requiring gradients; block 1, the pooler and the head train."""
    cm = _tiny(tiny_model_dir, _data())
    name, blocks = block_list(cm.model)
    assert len(blocks) == cm.model.config.num_hidden_layers
    frozen = freeze_bottom(cm.model, 1)
    grads = {n: p.requires_grad for n, p in cm.model.named_parameters()}
    assert frozen == sum(p.numel() for n, p in cm.model.named_parameters() if not grads[n])
    assert not any(g for n, g in grads.items() if "embeddings." in n)
    assert not any(g for n, g in grads.items() if n.startswith(f"{name}.0."))
    assert all(g for n, g in grads.items() if n.startswith(f"{name}.1."))
    assert all(g for n, g in grads.items() if "classifier" in n or "pooler" in n)


def test_fit_with_frozen_layers_leaves_them_untouched_and_still_learns(tiny_model_dir):
    """train.freeze_layers=1: block 0 ends bit-identical to the pretrained weights, the blocks
    above change, and the model still learns the keyword task."""
    data = _data()
    cm = _tiny(tiny_model_dir, data)
    before = {n: p.detach().clone() for n, p in cm.model.named_parameters()}
    result = fit(
        cm, data, replace(CFG, epochs=16, freeze_layers=1, freeze_embeddings=False), progress=False
    )
    after = dict(cm.model.named_parameters())
    name, _ = block_list(cm.model)
    for n, p in after.items():
        if n.startswith(f"{name}.0.") or "embeddings." in n:
            assert torch.equal(p, before[n]), n
    assert not torch.equal(
        after[f"{name}.1.output.dense.weight"], before[f"{name}.1.output.dense.weight"]
    )
    assert result.best_val_macro_f1 > 0.9
    assert result.frozen_layers == 1


@pytest.mark.parametrize("layers", [2, 5])
def test_freezing_every_layer_is_refused(tiny_model_dir, layers):
    """Freezing all blocks (or more than exist) would leave only the head: a ConfigError."""
    cm = _tiny(tiny_model_dir, _data())
    n = cm.model.config.num_hidden_layers
    with pytest.raises(ConfigError, match="freeze_layers"):
        freeze_bottom(cm.model, n + layers - 2)


def test_a_model_without_blocks_is_refused():
    """The compact CNN has no transformer blocks: a ConfigError that says to use 0."""
    with pytest.raises(ConfigError, match="freeze_layers=0"):
        freeze_bottom(torch.nn.Sequential(torch.nn.Linear(2, 2)), 1)
    assert freeze_bottom(torch.nn.Sequential(torch.nn.Linear(2, 2)), 0) == 0


def test_default_freezes_a_third_of_a_text_encoder_and_nothing_of_an_image_model():
    """freeze_layers: null means 2 of a 6-block text encoder (as measured on MiniLM-L6), none of
    a 2-block one, and none for image models, where freezing was not measured."""
    import transformers

    def bert(layers):
        config = transformers.BertConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=32,
        )
        return transformers.BertForSequenceClassification(config)

    assert default_frozen_layers(bert(6), "text") == 2
    assert default_frozen_layers(bert(2), "text") == 0
    assert default_frozen_layers(bert(6), "image") == 0
    assert default_frozen_layers(torch.nn.Linear(2, 2), "text") == 0
