"""registry: named model versions with stages — promote behind the release gate, roll back.

A variant may be promoted only when its recorded parity passes and, for a variant that is not
an exact export, its accuracy loss stays within the tolerance ``compress`` measured it with;
with ``max_slice_gap``, also only when no slice of the run's evaluation (eval.json) falls more
than the gap below the overall accuracy (:mod:`tuneforge.evaluate.slice_gate`); with
``max_epsilon``, also only when the run was trained with differential privacy and spent at most
that ε (:func:`privacy_decision`). ``force`` promotes anyway and records why it was forced.
The ε and δ of a private run are recorded with every version promoted from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..compress.gate import GateDecision, accuracy_gate
from ..compress.variants import TRAINED, VARIANTS
from ..errors import ConfigError, GateError, RunError, TrackingError, TuneforgeError
from ..evaluate.slice_gate import SliceDecision, slice_gate
from ..evaluate.slices import ColumnSlices
from ..store import ModelVersion, Registry, RunDir, open_store, resolve_run
from .compress import DEFAULT_MAX_ACCURACY_DROP


def registry(runs_dir: Path) -> Registry:
    return Registry(open_store(runs_dir))


def gate_decision(run: RunDir, variant: str) -> GateDecision:
    """Whether ``variant`` may ship, and the rule that decided, from its recorded parity."""
    if variant == TRAINED:
        return GateDecision(True, "the trained model itself", 0.0)
    report = (run.read_json(run.parity_path.name) or {}).get(variant)
    if report is None:
        rule = f"variant '{variant}' has no parity record; export it with 'tuneforge export'"
        return GateDecision(False, rule, 0.0)
    drop = -100 * report["accuracy_delta"]
    if not report["passed"]:
        rule = f"variant '{variant}' failed its parity check (agreement {report['agreement']:.4f})"
        return GateDecision(False, rule, drop)
    if report["exact"]:
        return GateDecision(True, f"exact export, parity agreement {report['agreement']:.4f}", drop)
    tradeoff = run.read_json(run.tradeoff_path.name) or {}
    limit = tradeoff.get("max_accuracy_drop", DEFAULT_MAX_ACCURACY_DROP)
    b, c = report.get("reference_only_correct"), report.get("candidate_only_correct")
    decision = accuracy_gate(report["n"], b, c, drop, limit)
    return replace(decision, rule=f"variant '{variant}' {decision.rule}")


def slice_decisions(
    run: RunDir, max_gap: float, columns: Sequence[str] = ()
) -> list[SliceDecision]:
    """The slice gate of each of ``columns`` (default: every column the run was evaluated
    by), from the run's eval.json; a column it was not evaluated by is a RunError."""
    if not 0 < max_gap < 1:
        raise ConfigError(
            f"--max-slice-gap {max_gap}: the gap is a share of accuracy between 0 and 1.",
            hint="For example --max-slice-gap 0.05 (5 accuracy points).",
        )
    ev = run.read_json(run.eval_path.name) or {}
    sliced = ev.get("slices") if isinstance(ev.get("slices"), dict) else {}
    known = list((sliced or {}).get("columns") or {})
    wanted = list(dict.fromkeys(columns)) or known
    missing = [c for c in wanted if c not in known] if wanted else ["(any column)"]
    if missing:
        have = f"it was evaluated by {', '.join(known)}" if known else "it has no slices"
        raise RunError(
            f"Run '{run.run_id}' was not evaluated by slice {', '.join(missing)} "
            f"({run.eval_path.name}: {have}), so --max-slice-gap cannot judge it.",
            hint="Train it with --slice COLUMN (its test split must have the column), or "
            "leave out --max-slice-gap.",
        )
    overall = float(sliced["overall"]["accuracy"])
    confidence = float(sliced.get("bootstrap", {}).get("confidence", 0.95))
    min_rows = int(sliced.get("min_judged_support", 10))
    return [
        slice_gate(
            ColumnSlices.from_dict(c, sliced["columns"][c]), overall, max_gap, confidence, min_rows
        )
        for c in wanted
    ]


def version_privacy(run: RunDir, variant: str) -> dict | None:
    """The privacy budget a version of ``run:variant`` inherits (what the registry records):
    the run's ε spent and δ, for the trained model and any variant built from it alone (DP
    holds under post-processing); None for a run trained without DP, and for a variant that
    read the training examples again (calibration, distillation) outside the mechanism."""
    spent = run.status().get("privacy")
    if not isinstance(spent, dict) or spent.get("epsilon") is None:
        return None
    if variant != TRAINED and variant in VARIANTS and VARIANTS[variant].reads_train:
        return None
    keys = ("epsilon", "delta", "target_epsilon", "accountant", "noise_multiplier", "steps")
    return {k: spent.get(k) for k in keys}


def privacy_decision(run: RunDir, variant: str, max_epsilon: float) -> GateDecision:
    """Whether ``run:variant`` was trained within ``max_epsilon`` (the ``--max-epsilon`` gate)."""
    if not max_epsilon > 0:
        raise ConfigError(
            f"--max-epsilon {max_epsilon}: a privacy budget is a positive number.",
            hint="For example --max-epsilon 8.",
        )
    spent = version_privacy(run, variant)
    if spent is None:
        why = "its run was not trained with differential privacy (no ε bounds it)"
        if variant != TRAINED and run.status().get("privacy"):
            why = f"variant '{variant}' read the training examples outside differential privacy"
        return GateDecision(False, f"privacy: {why}, --max-epsilon {max_epsilon:g}", 0.0)
    eps, delta = float(spent["epsilon"]), float(spent["delta"])
    ok = eps <= max_epsilon
    rule = f"privacy: ε = {eps:.3g} {'≤' if ok else '>'} --max-epsilon {max_epsilon:g}"
    return GateDecision(ok, f"{rule} (δ = {delta:.3g})", 0.0)


def variant_gate(run: RunDir, variant: str) -> str | None:
    """Why ``variant`` must not ship, or None when its recorded parity passes the gate."""
    decision = gate_decision(run, variant)
    return None if decision.passed else decision.rule


@dataclass(frozen=True)
class PromoteCheck:
    """What promoting ``run:variant`` would meet: the release gate's decision, the parity
    record it decided from, the tolerance, and the slice decisions when a gap was asked for.
    ``promote`` decides from this very object, so a preview shows what the promotion does."""

    run: RunDir
    variant: str
    artifact: Path
    decision: GateDecision
    parity: dict | None
    tolerance: float | None  # accuracy points a lossy variant may lose
    slices: list[SliceDecision]
    rules: list[str]
    problems: list[str]
    privacy: dict | None = None  # the ε and δ the version inherits; None: not private
    epsilon_gate: GateDecision | None = None  # the --max-epsilon decision when one was asked


def check_promotion(
    ref: str,
    runs_dir: Path,
    max_slice_gap: float | None = None,
    slices: Sequence[str] = (),
    max_epsilon: float | None = None,
) -> PromoteCheck:
    """The gate ``RUN[:VARIANT]`` meets on its way into the registry, decided, not applied."""
    if slices and max_slice_gap is None:
        raise ConfigError(
            f"--slice {' '.join(slices)} needs --max-slice-gap: it names the slices to judge.",
            hint="For example --max-slice-gap 0.05 --slice region.",
        )
    run_ref, _, variant = ref.partition(":")
    variant = variant or TRAINED
    run = resolve_run(run_ref, runs_dir)
    artifact = run.saved_model_dir() if variant == TRAINED else run.variant_dir(variant)
    if not artifact.is_dir():
        raise TuneforgeError(
            f"Run '{run.run_id}' has no variant '{variant}' ({artifact} does not exist).",
            hint="Build it with 'tuneforge export' or 'tuneforge compress' first.",
        )
    decision = gate_decision(run, variant)
    problems = [] if decision.passed else [decision.rule]
    rules = [decision.rule]
    judged: list[SliceDecision] = []
    if max_slice_gap is not None:
        judged = slice_decisions(run, max_slice_gap, slices)
        problems += [f"slices (of the trained model): {d.rule}" for d in judged if not d.passed]
        rules += [f"slices (of the trained model): {d.rule}" for d in judged]
    epsilon_gate = None
    if max_epsilon is not None:
        epsilon_gate = privacy_decision(run, variant, max_epsilon)
        rules.append(epsilon_gate.rule)
        if not epsilon_gate.passed:
            problems.append(epsilon_gate.rule)
    recorded = run.read_json(run.parity_path.name) or {}
    parity = None if variant == TRAINED else recorded.get(variant)
    tradeoff = run.read_json(run.tradeoff_path.name) or {}
    tolerance = tradeoff.get("max_accuracy_drop", DEFAULT_MAX_ACCURACY_DROP) if parity else None
    return PromoteCheck(
        run,
        variant,
        artifact,
        decision,
        parity,
        tolerance,
        judged,
        rules,
        problems,
        version_privacy(run, variant),
        epsilon_gate,
    )


def promote(
    ref: str,
    runs_dir: Path,
    name: str,
    stage: str,
    force: bool = False,
    max_slice_gap: float | None = None,
    slices: Sequence[str] = (),
    max_epsilon: float | None = None,
    mlflow_uri: str | None = None,
) -> ModelVersion:
    """Register ``RUN[:VARIANT]`` as a new version of ``name`` in ``stage``; with
    ``max_slice_gap`` the run's slices (``slices``, default all it was evaluated by) are
    judged too, with ``max_epsilon`` its privacy budget. With ``mlflow_uri`` (checked before
    anything is promoted) the version is also registered in that MLflow model registry."""
    if mlflow_uri is not None:
        _check_mlflow(mlflow_uri)
    check = check_promotion(ref, runs_dir, max_slice_gap, slices, max_epsilon)
    problem = "; ".join(check.problems) or None
    if problem and not force:
        raise GateError(
            f"Refusing to promote {check.run.run_id}:{check.variant} to {name}@{stage}: {problem}.",
            hint="Pass --force to promote anyway (it is recorded as forced).",
        )
    version = registry(runs_dir).promote(
        name,
        check.run.run_id,
        check.variant,
        str(check.artifact.resolve()),
        stage,
        forced=bool(problem),
        note=f"forced: {problem}" if problem else "; ".join(check.rules),
        privacy=check.privacy,
    )
    if mlflow_uri is not None:
        register_in_mlflow(mlflow_uri, version, check.run.status().get("data_fingerprint"))
    return version


def _check_mlflow(uri: str) -> None:
    from ..track import TrackTarget, probe

    problem = probe(TrackTarget("mlflow", uri))
    if problem is not None:
        raise TrackingError(
            f"Cannot register in MLflow: {problem}; nothing was promoted.",
            hint="Start or fix the MLflow server, or promote without --mlflow.",
        )


def register_in_mlflow(uri: str, version: ModelVersion, fingerprint: str | None) -> int:
    """``version`` as a pyfunc model in MLflow's model registry (alias: its stage); returns
    MLflow's version number. A failure leaves tuneforge's promotion standing and says so."""
    from ..track.pyfunc import register_version

    tags = {
        "tuneforge.run_id": version.run_id,
        "tuneforge.variant": version.variant,
        "tuneforge.version": str(version.version),
        "tuneforge.stage": version.stage,
        "tuneforge.data_fingerprint": str(fingerprint or ""),
    }
    try:
        return register_version(
            uri, version.name, version.version, version.stage, Path(version.artifact), tags
        )
    except Exception as exc:
        raise TrackingError(
            f"{version.name} v{version.version} is promoted to {version.stage} in tuneforge, "
            f"but registering it in MLflow at {uri} failed: {type(exc).__name__}: {exc}.",
            hint="Fix the MLflow server and promote again with --mlflow.",
        ) from exc


def rollback(runs_dir: Path, name: str, stage: str) -> ModelVersion:
    """Give ``stage`` of ``name`` back to the version that held it before."""
    return registry(runs_dir).rollback(name, stage)


def rollback_preview(
    runs_dir: Path, name: str, stage: str
) -> tuple[ModelVersion, ModelVersion | None]:
    """The version holding ``stage`` now and the one a rollback would give it back to (None:
    there is no earlier one, and a rollback would change nothing)."""
    reg = registry(runs_dir)
    current = reg.resolve(name, stage)
    target = reg.rollback_target(name, stage)
    return current, None if target is None else reg.get(name, target)


def versions(runs_dir: Path, name: str | None = None) -> dict[str, list[ModelVersion]]:
    """Every registered model's versions (or only ``name``'s), oldest first."""
    reg = registry(runs_dir)
    names = [name] if name is not None else reg.names()
    found = {n: reg.versions(n) for n in names}
    if name is not None and not found[name]:
        raise TuneforgeError(f"No model named '{name}' in the registry.")
    return found
