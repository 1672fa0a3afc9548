"""DP-SGD inside fit(): weights without per-example gradients are named, and a private run
resumes exactly from its checkpoint's accountant and secret, or refuses other DP settings."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from tuneforge.errors import ConfigError, RunError
from tuneforge.train import fit, loop
from tuneforge.train.checkpoint import find_checkpoint
from tuneforge.train.privacy import plan_privacy

from .test_privacy import CFG, DP, small_splits, tiny_classifier

pytest.importorskip("opacus")


def test_weights_without_per_example_gradients_are_named_before_the_first_step():
    """The probe after the first backward pass names a trainable weight that got no
    per-example gradient, or one gradient for the whole batch, and refuses."""
    from tuneforge.train.dp_sgd import PrivateTraining

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


def test_a_private_run_resumes_exactly_with_its_accountant(
    tiny_model_dir, tmp_path, monkeypatch, one_torch_thread
):
    """Interrupted after epoch 2 and resumed, a DP run ends with the metrics and ε of one
    straight run: the checkpoint keeps the accountant and the noise's secret seed."""
    import tuneforge.train.dp_sgd as privacy

    monkeypatch.setattr(privacy.secrets, "randbits", lambda bits: 1234567)
    data = small_splits()
    plan = plan_privacy(DP, len(data.train), CFG.batch_size, CFG.epochs)
    straight: list[dict] = []
    done = fit(
        tiny_classifier(tiny_model_dir, data),
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
            tiny_classifier(tiny_model_dir, data),
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
        tiny_classifier(tiny_model_dir, data),
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
    data = small_splits()
    plan = plan_privacy(DP, len(data.train), CFG.batch_size, 1)
    ckpt = tmp_path / "ckpt"
    fit(
        tiny_classifier(tiny_model_dir, data),
        data,
        replace(CFG, epochs=1),
        checkpoint_dir=ckpt,
        progress=False,
        privacy=plan,
    )
    other = plan_privacy(replace(DP, epsilon=3.0), len(data.train), CFG.batch_size, 2)
    with pytest.raises(RunError, match="resuming would mix two privacy accounts"):
        fit(
            tiny_classifier(tiny_model_dir, data),
            data,
            replace(CFG, epochs=2),
            checkpoint_dir=ckpt,
            resume=True,
            progress=False,
            privacy=other,
        )


def test_batches_that_sample_no_example_still_take_their_noisy_step(
    tiny_model_dir, monkeypatch, one_torch_thread
):
    """With one expected example per batch many Poisson batches are empty: each still counts
    as a noisy step, so the steps taken equal the planned ones the accountant charged."""
    import tuneforge.train.dp_sgd as dp_sgd
    from tuneforge.types import DatasetSplits

    data = small_splits()
    few = DatasetSplits(data.train[:20], data.val, [], data.labels, "t")
    cfg = replace(CFG, batch_size=1, epochs=1)
    plan = plan_privacy(replace(DP, max_noise=100.0), len(few.train), 1, 1)
    monkeypatch.setattr(dp_sgd.secrets, "randbits", lambda bits: 99)
    empty = [b for b in dp_sgd.PrivateTraining(plan).epoch_batches(0) if not b]
    assert empty, "this seed samples some empty batches"
    result = fit(tiny_classifier(tiny_model_dir, few), few, cfg, progress=False, privacy=plan)
    assert result.global_step == plan.steps == 20
    assert result.privacy["steps"] == 20 and result.privacy["epsilon"] <= 8.0
