"""What the registry pages show: each model's versions (newest first) with their lineage in
words, the stages each model holds, and the run variants a person may promote.

The versions, the gate and every change come from ``recipes/registry.py`` (``versions``,
``check_promotion``, ``promote``, ``rollback_preview``, ``rollback``): this module only shapes
them for the templates.
"""

from __future__ import annotations

from pathlib import Path

from ..compress.variants import TRAINED
from ..store import STAGES, RunDir
from ..store.model_registry import ModelVersion

# Artifact folders that are not promotable variants on their own (an adapter loads with its
# base model through the trained model's folder).
NOT_VARIANTS = frozenset({TRAINED, "adapter"})


def lineage_lines(lineage: dict | None) -> list[str]:
    """A retrained version's lineage (``recipes.retrain``'s record) as a few short lines."""
    if not lineage:
        return []
    lines = []
    parent = lineage.get("parent_version")
    if parent is not None:
        lines.append(f"from v{parent} ({lineage.get('parent_run', '?')})")
    if lineage.get("queue"):
        lines.append(
            f"queue {lineage['queue']}: {lineage.get('labelled_items', '?')} labelled, "
            f"{lineage.get('new_for_training', '?')} trained on, "
            f"{lineage.get('new_held_back', '?')} held back"
        )
    left_out = [
        f"{lineage[k]} {what}"
        for k, what in (
            ("conflicts_left_out", "in conflict"),
            ("already_in_training_data", "known"),
        )
        if lineage.get(k)
    ]
    if left_out:
        lines.append("left out: " + ", ".join(left_out))
    gain = lineage.get("gain")
    if isinstance(gain, (int, float)):
        p = lineage.get("mcnemar_p")
        p_text = f", McNemar p {p:.3g}" if isinstance(p, (int, float)) else ""
        lines.append(
            f"accuracy gain {gain:+.4f} (needed {lineage.get('min_gain', 0):+.4f}{p_text})"
        )
    if lineage.get("new_labels"):
        lines.append("new labels: " + ", ".join(map(str, lineage["new_labels"])))
    return lines


def model_rows(found: dict[str, list[ModelVersion]]) -> list[dict]:
    """Per model: the stages it holds (stage → version) and its versions, newest first."""
    rows = []
    for name, vs in found.items():
        held = {v.stage: v for v in vs if v.stage in STAGES}
        rows.append(
            {
                "name": name,
                "held": [(stage, held[stage]) for stage in STAGES if stage in held],
                "versions": [{"v": v, "lineage": lineage_lines(v.lineage)} for v in reversed(vs)],
            }
        )
    return rows


def promotable(records) -> list[dict]:
    """The finished runs (newest first) and each one's artifacts that may be registered: the
    trained model and the variants export/compress built."""
    out = []
    for record in records:
        if record.state != "succeeded":
            continue
        run = RunDir(Path(record.run_dir))
        built = run.artifacts_dir
        extra = (
            sorted(p.name for p in built.iterdir() if p.is_dir() and p.name not in NOT_VARIANTS)
            if built.is_dir()
            else []
        )
        variants = ([TRAINED] if run.saved_model_dir().is_dir() else []) + extra
        if variants:
            out.append({"run": record.id, "variants": variants})
    return out
