"""Model references: what ``predict``, ``evaluate``, ``serve`` and ``monitor`` accept as MODEL.

A run id, a run directory, or a registry reference ``NAME@stage``; each resolves to the run and
the artifact directory to load.
"""

from __future__ import annotations

from pathlib import Path

from .db import RunStore, default_store_url
from .model_registry import Registry
from .rundir import RunDir, resolve_run


def resolve_model(ref: str, runs_dir: Path) -> tuple[RunDir, Path]:
    """A run id, run directory or registry reference ``NAME@stage`` → (run, artifact dir)."""
    if "@" in ref and not Path(ref).exists():
        name, stage = ref.rsplit("@", 1)
        store = RunStore(default_store_url(runs_dir))
        version = Registry(store).resolve(name, stage)
        record = store.get(version.run_id)
        run = RunDir(Path(record.run_dir)) if record else RunDir(Path(version.artifact).parents[1])
        return run, Path(version.artifact)
    run = resolve_run(ref, runs_dir)
    return run, run.saved_model_dir()


def open_store(runs_dir: Path) -> RunStore:
    """The store of the runs under ``runs_dir`` (``runs_dir/tuneforge.db`` unless configured)."""
    return RunStore(default_store_url(runs_dir))
