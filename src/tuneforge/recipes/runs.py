"""runs: what the store knows about runs, gathered for listing and comparing."""

from __future__ import annotations

from pathlib import Path

from ..store import RunStore, open_store, resolve_run


def final_metrics(store: RunStore, run_id: str) -> dict:
    """The run's last test metrics, or its last validation metrics when it has no test split."""
    return store.latest_metrics(run_id, "test") or store.latest_metrics(run_id, "val")


def compare_runs(refs: list[str], runs_dir: Path) -> tuple[list[str], list[dict], list[dict]]:
    """Run ids, their parameters and their final metrics, in the order given."""
    store = open_store(runs_dir)
    ids = [resolve_run(r, runs_dir).run_id for r in refs]
    return ids, [store.params(i) for i in ids], [final_metrics(store, i) for i in ids]
