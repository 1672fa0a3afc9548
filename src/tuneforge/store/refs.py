"""Model references: what ``predict``, ``evaluate``, ``serve`` and ``monitor`` accept as MODEL.

A run id, a run directory, or a registry reference — ``NAME@stage`` (the version a stage holds
now) or ``NAME@vN`` (version N); each resolves to the run and the artifact directory to load.
:func:`parse_model_ref` is the one parser of registry references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import NameRuleError
from .db import RunStore, default_store_url
from .model_registry import ModelVersion, Registry
from .names import STAGES, check_name
from .rundir import RunDir, resolve_run

_VERSION = re.compile(r"v([1-9][0-9]{0,8})")


@dataclass(frozen=True)
class ModelRef:
    """A registry reference: a model name and either a stage or a version number."""

    name: str
    stage: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.stage or f'v{self.version}'}"


def parse_model_ref(ref: str) -> ModelRef | None:
    """``NAME@stage`` or ``NAME@vN`` → ModelRef; None when ``ref`` has no ``@`` (a run id or
    a path). Anything else with an ``@`` is refused, saying what is allowed."""
    if "@" not in ref:
        return None
    name, _, selector = ref.partition("@")
    check_name(name, "model name")
    if selector in STAGES:
        return ModelRef(name, stage=selector)
    match = _VERSION.fullmatch(selector)
    if match:
        return ModelRef(name, version=int(match[1]))
    raise NameRuleError(
        f"Model reference {ref!r}: after '@' comes a stage ({', '.join(STAGES)}) or a version "
        "vN (e.g. intents@production, intents@v3).",
        hint="Model names may not contain '@'.",
    )


def resolve_version(registry: Registry, ref: ModelRef) -> ModelVersion:
    """The registered version ``ref`` names."""
    if ref.stage is not None:
        return registry.resolve(ref.name, ref.stage)
    for version in registry.versions(ref.name):
        if version.version == ref.version:
            return version
    from ..errors import RunError

    raise RunError(
        f"Model '{ref.name}' has no version {ref.version}.",
        hint=f"See 'tuneforge registry show {ref.name}'.",
    )


def resolve_model(ref: str, runs_dir: Path) -> tuple[RunDir, Path]:
    """A run id, run directory or registry reference (``NAME@stage``, ``NAME@vN``) → (run,
    artifact dir)."""
    parsed = None if Path(ref).exists() else parse_model_ref(ref)
    if parsed is not None:
        store = RunStore(default_store_url(runs_dir))
        version = resolve_version(Registry(store), parsed)
        record = store.get(version.run_id)
        run = RunDir(Path(record.run_dir)) if record else RunDir(Path(version.artifact).parents[1])
        return run, Path(version.artifact)
    run = resolve_run(ref, runs_dir)
    return run, run.saved_model_dir()


def served_name(ref: str, run: RunDir) -> tuple[str, str | None]:
    """The name a model's predictions are logged and monitored under, and its stage: the
    registry name for a registry reference, else the run id."""
    parsed = None if Path(ref).exists() else parse_model_ref(ref)
    if parsed is None:
        return run.run_id, None
    return parsed.name, parsed.stage


def open_store(runs_dir: Path) -> RunStore:
    """The store of the runs under ``runs_dir`` (``runs_dir/tuneforge.db`` unless configured)."""
    return RunStore(default_store_url(runs_dir))
