"""How a differentially private run's budget reads, in the report, the dashboard and the CLI."""

from __future__ import annotations


def privacy_summary(privacy: dict | None) -> str | None:
    """One line on a DP run's ε and δ (status.json's ``privacy``); None for a normal run.

    A run still training (or interrupted) shows its target: ε spent is known at the end.
    """
    if not isinstance(privacy, dict):
        return None
    delta = privacy.get("delta")
    delta_text = f"δ = {float(delta):.2g}" if isinstance(delta, (int, float)) else "δ unknown"
    target = privacy.get("target_epsilon")
    spent = privacy.get("epsilon")
    if isinstance(spent, (int, float)):
        head = f"ε = {float(spent):.3g} spent"
        if isinstance(target, (int, float)):
            head += f" (target {float(target):g})"
    else:
        head = f"target ε = {target}, spent: known when training ends"
    details = [delta_text]
    if privacy.get("accountant"):
        details.append(f"{str(privacy['accountant']).upper()} accountant")
    if isinstance(privacy.get("noise_multiplier"), (int, float)):
        details.append(f"noise σ {float(privacy['noise_multiplier']):.3g}")
    if isinstance(privacy.get("max_grad_norm"), (int, float)):
        details.append(f"clipping {float(privacy['max_grad_norm']):g}")
    if isinstance(privacy.get("steps"), int):
        details.append(f"{privacy['steps']} steps")
    return f"DP-SGD: {head}; {', '.join(details)}"
