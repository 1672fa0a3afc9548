"""The store: run directories on disk, and their index (runs, params, metrics) in SQL.

No torch here: listing and comparing runs must stay fast and work without the training stack.
SQLAlchemy loads on first use of the SQL parts (PEP 562), so the CLI can build its parser
(stage names, the name rule) without it.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MetricRecord": "db",
    "RunRecord": "db",
    "RunStore": "db",
    "StoredRun": "db",
    "default_store_url": "db",
    "flatten": "db",
    "RunRecorder": "recorder",
    "open_store": "refs",
    "resolve_model": "refs",
    "STAGES": "names",
    "ModelVersion": "model_registry",
    "Registry": "model_registry",
    "check_name": "names",
    "is_valid_name": "names",
    "RunDir": "rundir",
    "default_runs_dir": "rundir",
    "list_run_dirs": "rundir",
    "monitor_state_path": "rundir",
    "new_run_id": "rundir",
    "resolve_run": "rundir",
    "retention_state_path": "rundir",
    "study_dir": "rundir",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tuneforge.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
