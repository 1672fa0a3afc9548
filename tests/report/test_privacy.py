"""The one line that states a private run's budget in the report, the dashboard and the CLI."""

from __future__ import annotations

from tuneforge.report.privacy import privacy_summary


def test_a_finished_private_run_states_epsilon_spent_target_and_delta():
    """ε spent with its target, δ, the accountant, the noise, the clipping and the steps."""
    line = privacy_summary(
        {
            "epsilon": 7.9921,
            "target_epsilon": 8.0,
            "delta": 6.9e-4,
            "accountant": "rdp",
            "noise_multiplier": 0.8328,
            "max_grad_norm": 1.0,
            "steps": 72,
        }
    )
    assert line == (
        "DP-SGD: ε = 7.99 spent (target 8); δ = 0.00069, RDP accountant, noise σ 0.833, "
        "clipping 1, 72 steps"
    )


def test_a_running_private_run_shows_its_target_and_a_normal_run_nothing():
    """Before training ends only the target is known; a run without DP has no line."""
    assert privacy_summary({"epsilon": None, "target_epsilon": 3.0, "delta": 1e-5}) == (
        "DP-SGD: target ε = 3.0, spent: known when training ends; δ = 1e-05"
    )
    assert privacy_summary(None) is None
