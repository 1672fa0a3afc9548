"""A client's local round, FedProx's proximal term and the label check, without Flower."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import make_rows
from tuneforge.config import load_config
from tuneforge.errors import ConfigError, DataError
from tuneforge.federated.local import (
    LocalTrainer,
    check_method,
    federation_model,
    proximal_term,
    unknown_labels,
)
from tuneforge.federated.server import check_client_labels
from tuneforge.federated.weights import get_trainable, trainable_names
from tuneforge.types import Example


def _cfg(model_dir, method="lora"):
    from tuneforge.recipes.train import resolved_config

    cfg = load_config(
        base={"model": {"name": str(model_dir)}, "method": {"name": method}},
        overrides=["train.batch_size=8", "train.lr=2e-3", "data.train_file=x.csv"],
    )
    return resolved_config(cfg)


def test_every_side_builds_the_same_trainable_names(tiny_model_dir):
    """Server and clients build their models apart; the weights they swap must line up."""
    cfg = _cfg(tiny_model_dir, "full")
    a = federation_model(cfg, ["a", "b", "c"])
    b = federation_model(cfg, ["a", "b", "c"])
    assert trainable_names(a.model) == trainable_names(b.model)
    assert "classifier.weight" in trainable_names(a.model)
    assert not any("word_embeddings" in n for n in trainable_names(a.model))


def test_a_local_round_trains_from_the_global_weights(tiny_model_dir, one_torch_thread):
    """A round starts from the weights it is sent and returns changed ones with its count."""
    cfg = _cfg(tiny_model_dir)
    rows = make_rows(6)
    examples = [Example(r["text"], r["label"], i + 1) for i, r in enumerate(rows)]
    trainer = LocalTrainer(cfg, examples, ["account", "billing", "shipping"])
    start = get_trainable(trainer.cm.model)
    result = trainer.train_round(start, local_epochs=1, mu=0.0)
    assert result.n_examples == len(examples)
    assert len(result.arrays) == len(start)
    assert any((a != b).any() for a, b in zip(result.arrays, start))
    assert "loss" in result.metrics


def test_proximal_term_pulls_gradients_towards_the_start():
    """FedProx adds μ·(w − w_start) to each trainable gradient while open, nothing after."""
    layer = torch.nn.Linear(2, 1, bias=False)
    with proximal_term(layer, mu=0.5):
        with torch.no_grad():
            layer.weight += 1.0  # moved away from the start by 1 everywhere
        layer(torch.zeros(1, 2)).sum().backward()  # the loss's own gradient is 0
    assert torch.allclose(layer.weight.grad, torch.full((1, 2), 0.5))
    layer.weight.grad = None
    layer(torch.zeros(1, 2)).sum().backward()
    assert torch.allclose(layer.weight.grad, torch.zeros(1, 2))


def test_unknown_labels_are_named_with_the_client():
    """The server's refusal names the client, its unknown labels and what it knows."""
    examples = [Example("x", "refunds", 1), Example("y", "billing", 2)]
    assert unknown_labels(examples, ["billing"]) == ["refunds"]
    with pytest.raises(DataError, match=r"client 'branch-b' has 1 label\(s\).*'refunds'"):
        check_client_labels("branch-b", ["billing", "refunds"], ["billing", "shipping"])
    check_client_labels("branch-a", ["billing"], ["billing", "shipping"])


def test_adalora_cannot_be_federated():
    """Each client would reallocate its own ranks: refused with the methods that work."""
    with pytest.raises(ConfigError, match="lora"):
        check_method("adalora")
    check_method("lora")


def test_dp_noise_is_planned_for_every_round(tiny_model_dir, one_torch_thread):
    """A DP client plans its noise for all rounds: after one of three rounds it has spent
    part of ε, and the account keeps the steps of every round so far."""
    from dataclasses import replace

    cfg = _cfg(tiny_model_dir)
    cfg = replace(cfg, privacy=replace(cfg.privacy, mode="dp", epsilon=20.0))
    from tuneforge.recipes.train import resolved_config

    cfg = resolved_config(cfg)
    rows = make_rows(8)
    examples = [Example(r["text"], r["label"], i + 1) for i, r in enumerate(rows)]
    trainer = LocalTrainer(cfg, examples, ["account", "billing", "shipping"])
    plan = trainer.plan_rounds(rounds=3, local_epochs=1)
    assert plan["epochs"] == 3
    result = trainer.train_round(get_trainable(trainer.cm.model), local_epochs=1, mu=0.0)
    assert result.metrics["steps"] == plan["steps_per_epoch"]
    assert 0 < result.metrics["epsilon"] < 20.0
