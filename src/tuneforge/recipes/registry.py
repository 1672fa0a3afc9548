"""registry: named model versions with stages — promote behind the release gate, roll back.

A variant may be promoted only when its recorded parity passes and, for a variant that is not
an exact export, its accuracy loss stays within the tolerance ``compress`` measured it with;
``force`` promotes anyway and records why it was forced.
"""

from __future__ import annotations

from pathlib import Path

from ..compress.variants import TRAINED
from ..errors import TuneforgeError
from ..store import ModelVersion, Registry, RunDir, open_store, resolve_run
from .compress import DEFAULT_MAX_ACCURACY_DROP


def registry(runs_dir: Path) -> Registry:
    return Registry(open_store(runs_dir))


def variant_gate(run: RunDir, variant: str) -> str | None:
    """Why ``variant`` must not ship, or None when its recorded parity passes the gate."""
    if variant == TRAINED:
        return None
    report = (run.read_json(run.parity_path.name) or {}).get(variant)
    if report is None:
        return f"variant '{variant}' has no parity record; export it with 'tuneforge export'"
    if not report["passed"]:
        return f"variant '{variant}' failed its parity check (agreement {report['agreement']:.4f})"
    tradeoff = run.read_json(run.tradeoff_path.name) or {}
    limit = tradeoff.get("max_accuracy_drop", DEFAULT_MAX_ACCURACY_DROP)
    drop = -100 * report["accuracy_delta"]
    if not report["exact"] and drop > limit:
        return f"variant '{variant}' loses {drop:.2f} accuracy points (limit {limit})"
    return None


def promote(ref: str, runs_dir: Path, name: str, stage: str, force: bool = False) -> ModelVersion:
    """Register ``RUN[:VARIANT]`` as a new version of ``name`` in ``stage``."""
    run_ref, _, variant = ref.partition(":")
    variant = variant or TRAINED
    run = resolve_run(run_ref, runs_dir)
    artifact = run.saved_model_dir() if variant == TRAINED else run.variant_dir(variant)
    if not artifact.is_dir():
        raise TuneforgeError(
            f"Run '{run.run_id}' has no variant '{variant}' ({artifact} does not exist).",
            hint="Build it with 'tuneforge export' or 'tuneforge compress' first.",
        )
    problem = variant_gate(run, variant)
    if problem and not force:
        raise TuneforgeError(
            f"Refusing to promote {run.run_id}:{variant} to {name}@{stage}: {problem}.",
            hint="Pass --force to promote anyway (it is recorded as forced).",
        )
    return registry(runs_dir).promote(
        name,
        run.run_id,
        variant,
        str(artifact.resolve()),
        stage,
        forced=bool(problem),
        note=f"forced: {problem}" if problem else None,
    )


def rollback(runs_dir: Path, name: str, stage: str) -> ModelVersion:
    """Give ``stage`` of ``name`` back to the version that held it before."""
    return registry(runs_dir).rollback(name, stage)


def versions(runs_dir: Path, name: str | None = None) -> dict[str, list[ModelVersion]]:
    """Every registered model's versions (or only ``name``'s), oldest first."""
    reg = registry(runs_dir)
    names = [name] if name is not None else reg.names()
    found = {n: reg.versions(n) for n in names}
    if name is not None and not found[name]:
        raise TuneforgeError(f"No model named '{name}' in the registry.")
    return found
