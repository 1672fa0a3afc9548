"""The store: run directories on disk, and their index (runs, params, metrics) in SQL.

No torch here: listing and comparing runs must stay fast and work without the training stack.
"""

from .db import MetricRecord, RunRecord, RunStore, StoredRun, default_store_url, flatten
from .registry import STAGES, ModelVersion, Registry
from .rundir import RunDir, default_runs_dir, list_run_dirs, new_run_id, resolve_run

__all__ = [
    "MetricRecord",
    "ModelVersion",
    "Registry",
    "STAGES",
    "RunDir",
    "RunRecord",
    "RunStore",
    "StoredRun",
    "default_runs_dir",
    "default_store_url",
    "flatten",
    "list_run_dirs",
    "new_run_id",
    "resolve_run",
]
