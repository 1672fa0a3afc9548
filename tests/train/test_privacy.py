"""DP-SGD: the plan (δ rule, refused budgets), a private fit's ε, exact resume, plain weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tuneforge.config import ModelConfig, PrivacyConfig, TrainConfig
from tuneforge.errors import ConfigError, RunError
from tuneforge.models import load_model
from tuneforge.train import fit, loop
from tuneforge.train.checkpoint import find_checkpoint
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


def _data(n_per_label: int = 30) -> DatasetSplits:
    rows = make_rows(n_per_label)
    ex = [Example(r["text"], r["label"], i + 1) for i, r in enumerate(rows)]
    cut = int(len(ex) * 0.75)
    labels = LabelMap.from_labels(r["label"] for r in rows)
    return DatasetSplits(ex[:cut], ex[cut:], [], labels, "t")


def _model(tiny_model_dir: Path, data: DatasetSplits):
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


def test_the_plan_meets_the_target_epsilon():
    """The planned noise spends at most the target ε over the planned steps, at
    q = 1/ceil(n/batch)."""
    plan = plan_privacy(DP, 200, 8, 3)
    assert plan.sample_rate == 1 / 25 and plan.steps == 75 and plan.delta == 1 / 2000
    spent = epsilon_for(plan.noise_multiplier, plan.sample_rate, plan.steps, plan.delta, "rdp")
    assert 7.5 < spent <= 8.0


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


def test_weights_without_per_example_gradients_are_named_before_the_first_step():
    """The probe after the first backward pass names a trainable weight that got no
    per-example gradient, or one gradient for the whole batch, and refuses."""
    from tuneforge.train.privacy import PrivateTraining

    model = torch.nn.Linear(3, 2)
    model.register_parameter("scale", torch.nn.Parameter(torch.ones(2)))
    model.weight.grad_sample = torch.zeros(4, 2, 3)
    model.bias.grad_sample = torch.zeros(1, 2)  # a batch of one: not per example
    private = PrivateTraining(plan_privacy(DP, 200, 8, 3))
    with pytest.raises(ConfigError, match="no per-example gradient") as caught:
        private.check_probe(model, batch_size=4)
    assert caught.value.message.endswith("clip them: bias, scale.")
    model.bias.grad_sample, model.scale.grad_sample = torch.zeros(4, 2), torch.zeros(4, 2)
    private.check_probe(model, batch_size=4)
    assert private.probed


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
    data = _data()
    cm = _model(tiny_model_dir, data)
    keys = list(cm.model.state_dict())
    plan = plan_privacy(DP, len(data.train), CFG.batch_size, CFG.epochs)
    result = fit(cm, data, CFG, progress=False, privacy=plan)
    spent = result.privacy
    assert 0 < spent["epsilon"] <= 8.0
    assert spent["steps"] == plan.steps and spent["delta"] == plan.delta
    assert list(cm.model.state_dict()) == keys
    _assert_plain(cm.model)


def test_a_private_run_resumes_exactly_with_its_accountant(
    tiny_model_dir, tmp_path, monkeypatch, one_torch_thread
):
    """Interrupted after epoch 2 and resumed, a DP run ends with the metrics and ε of one
    straight run: the checkpoint keeps the accountant and the noise's secret seed."""
    import tuneforge.train.privacy as privacy

    monkeypatch.setattr(privacy.secrets, "randbits", lambda bits: 1234567)
    data = _data()
    plan = plan_privacy(DP, len(data.train), CFG.batch_size, CFG.epochs)
    straight: list[dict] = []
    done = fit(
        _model(tiny_model_dir, data),
        data,
        CFG,
        on_metrics=straight.append,
        progress=False,
        privacy=plan,
    )

    class Stop(Exception):
        pass

    def stop_after_two(record):
        if record["split"] == "val" and record["epoch"] >= 2:
            raise Stop

    ckpt = tmp_path / "ckpt"
    monkeypatch.setattr(privacy.secrets, "randbits", lambda bits: 1234567)
    with pytest.raises(Stop):
        loop.fit(
            _model(tiny_model_dir, data),
            data,
            CFG,
            checkpoint_dir=ckpt,
            on_metrics=stop_after_two,
            progress=False,
            privacy=plan,
        )
    assert find_checkpoint(ckpt) is not None
    monkeypatch.setattr(privacy.secrets, "randbits", lambda bits: 7)  # the checkpoint's wins
    resumed: list[dict] = []
    again = fit(
        _model(tiny_model_dir, data),
        data,
        CFG,
        checkpoint_dir=ckpt,
        resume=True,
        on_metrics=resumed.append,
        progress=False,
        privacy=plan,
    )
    last = [r for r in straight if r["split"] == "val"][-1]
    last_resumed = [r for r in resumed if r["split"] == "val"][-1]
    assert last_resumed["loss"] == pytest.approx(last["loss"], rel=1e-5)
    assert again.privacy["epsilon"] == done.privacy["epsilon"]


def test_resume_refuses_a_checkpoint_of_other_dp_settings(
    tiny_model_dir, tmp_path, one_torch_thread
):
    """A checkpoint written under another noise level cannot continue this run's account."""
    data = _data()
    plan = plan_privacy(DP, len(data.train), CFG.batch_size, 1)
    ckpt = tmp_path / "ckpt"
    fit(
        _model(tiny_model_dir, data),
        data,
        replace(CFG, epochs=1),
        checkpoint_dir=ckpt,
        progress=False,
        privacy=plan,
    )
    other = plan_privacy(replace(DP, epsilon=3.0), len(data.train), CFG.batch_size, 2)
    with pytest.raises(RunError, match="resuming would mix two privacy accounts"):
        fit(
            _model(tiny_model_dir, data),
            data,
            replace(CFG, epochs=2),
            checkpoint_dir=ckpt,
            resume=True,
            progress=False,
            privacy=other,
        )
