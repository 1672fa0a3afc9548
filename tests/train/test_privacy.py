"""The DP-SGD plan (δ rule, refused budgets and settings) and a private fit's ε and plain model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tuneforge.config import ModelConfig, PrivacyConfig, TrainConfig
from tuneforge.errors import ConfigError
from tuneforge.models import load_model
from tuneforge.train import fit
from tuneforge.train.privacy import (
    check_private_training,
    epsilon_for,
    plan_privacy,
    resolve_delta,
)
from tuneforge.types import DatasetSplits, Example, LabelMap

from ..conftest import make_rows

pytest.importorskip("opacus")

CFG = TrainConfig(epochs=3, lr=5e-3, batch_size=8, early_stopping_patience=0, precision="fp32")
DP = PrivacyConfig(mode="dp", epsilon=8.0)


def small_splits(n_per_label: int = 30) -> DatasetSplits:
    rows = make_rows(n_per_label)
    ex = [Example(r["text"], r["label"], i + 1) for i, r in enumerate(rows)]
    cut = int(len(ex) * 0.75)
    labels = LabelMap.from_labels(r["label"] for r in rows)
    return DatasetSplits(ex[:cut], ex[cut:], [], labels, "t")


def tiny_classifier(tiny_model_dir: Path, data: DatasetSplits):
    torch.manual_seed(0)
    return load_model(ModelConfig(name=str(tiny_model_dir)), data.labels)


def test_delta_defaults_below_one_over_n_and_a_larger_one_is_refused():
    """δ AUTO is 1/(10·n); a given δ of 1/n or more (or 0) is a ConfigError naming 1/n."""
    assert resolve_delta(DP, 200) == (1 / 2000, "1/(10·n)")
    assert resolve_delta(replace(DP, delta=1e-4), 200) == (1e-4, "given")
    for bad in (1 / 200, 0.5, 0.0):
        with pytest.raises(ConfigError, match="1/n = 0.005"):
            resolve_delta(replace(DP, delta=bad), 200)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan")])
def test_a_non_positive_epsilon_is_refused(epsilon):
    """ε ≤ 0 (or not a number) is refused before any noise is computed."""
    with pytest.raises(ConfigError, match="privacy.epsilon must be a positive number"):
        plan_privacy(replace(DP, epsilon=epsilon), 200, 8, 3)


def test_dp_without_epsilon_and_epsilon_without_dp_are_refused():
    """--privacy dp needs --epsilon, and --epsilon alone would look private while it is not."""
    with pytest.raises(ConfigError, match="needs a privacy budget"):
        plan_privacy(PrivacyConfig(mode="dp"), 200, 8, 3)
    with pytest.raises(ConfigError, match="only apply to differentially private runs"):
        plan_privacy(PrivacyConfig(epsilon=8.0), 200, 8, 3)
    assert plan_privacy(PrivacyConfig(), 200, 8, 3) is None


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_the_plan_meets_the_target_epsilon(accountant):
    """The planned noise spends at most the target ε over the planned steps, at
    q = 1/ceil(n/batch), by either accountant; PRV's tighter account needs less noise."""
    plan = plan_privacy(replace(DP, accountant=accountant), 200, 8, 3)
    assert plan.sample_rate == 1 / 25 and plan.steps == 75 and plan.delta == 1 / 2000
    spent = epsilon_for(plan.noise_multiplier, plan.sample_rate, plan.steps, plan.delta, accountant)
    assert 7.5 < spent <= 8.0
    if accountant == "prv":
        assert plan.noise_multiplier < plan_privacy(DP, 200, 8, 3).noise_multiplier


def test_an_epsilon_the_data_cannot_meet_says_what_would_work():
    """A tiny ε on 60 examples needs noise far above the limit: refused with the smallest ε
    that works here, and fewer epochs or more data as the other ways out."""
    with pytest.raises(ConfigError) as caught:
        plan_privacy(replace(DP, epsilon=0.05), 60, 8, 8)
    err = caught.value
    assert "cannot be met by 8 epochs over 60 training examples" in err.message
    assert "What would work: --epsilon" in err.hint
    assert "training examples" in err.hint


def test_settings_dp_cannot_make_private_are_refused_with_the_reason():
    """bf16 autocast, gradient accumulation, balanced class weights, several processes and a
    method without per-example gradients are each refused, naming why."""
    cases = [
        (replace(CFG, precision="bf16"), {}, "bf16"),
        (replace(CFG, grad_accum=2), {}, "grad_accum=2"),
        (replace(CFG, class_weights="balanced"), {}, "class frequencies"),
        (CFG, {"world": 2}, "distributed"),
        (CFG, {"method": "ia3"}, "method 'ia3' cannot be trained"),
    ]
    for cfg, extra, needle in cases:
        kwargs = {"method": "full", **extra}
        with pytest.raises(ConfigError, match=needle):
            check_private_training(cfg, **kwargs)


def _assert_plain(model: torch.nn.Module) -> None:
    """No Opacus attribute or hook is left on the model."""
    for p in model.parameters():
        assert not hasattr(p, "grad_sample") and not hasattr(p, "_forward_counter")
    assert not hasattr(model, "autograd_grad_sample_hooks")
    for m in model.modules():
        assert not m._forward_hooks and not m._backward_hooks


def test_private_fit_spends_at_most_the_target_and_returns_a_plain_model(
    tiny_model_dir, one_torch_thread
):
    """A DP fit records the ε it spent (at most the target) with δ, and the model comes back
    with its own state-dict keys and no Opacus hooks."""
    data = small_splits()
    cm = tiny_classifier(tiny_model_dir, data)
    keys = list(cm.model.state_dict())
    plan = plan_privacy(DP, len(data.train), CFG.batch_size, CFG.epochs)
    result = fit(cm, data, CFG, progress=False, privacy=plan)
    spent = result.privacy
    assert 0 < spent["epsilon"] <= 8.0
    assert spent["steps"] == plan.steps and spent["delta"] == plan.delta
    assert list(cm.model.state_dict()) == keys
    _assert_plain(cm.model)
