"""runs: what the store knows about runs, gathered for listing and comparing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunError
from ..store import RunDir, RunRecord, RunStore, open_store, resolve_run
from ..store.rundir import is_run_dir


def final_metrics(store: RunStore, run_id: str) -> dict:
    """The run's last test metrics, or its last validation metrics when it has no test split."""
    return store.latest_metrics(run_id, "test") or store.latest_metrics(run_id, "val")


def compare_runs(
    refs: list[str], runs_dir: Path, store: RunStore | None = None
) -> tuple[list[str], list[dict], list[dict]]:
    """Run ids, their parameters and their final metrics, in the order given."""
    store = store or open_store(runs_dir)
    ids = [resolve_run(r, runs_dir).run_id for r in refs]
    return ids, [store.params(i) for i in ids], [final_metrics(store, i) for i in ids]


# Flattened config keys that say what a run was: its task, its data and its method.
SUMMARY_PARAMS = ["data.task", "data.train_file", "method.name"]
SUMMARY_METRICS = ["accuracy", "macro_f1"]


@dataclass(frozen=True)
class RunSummary:
    """One line of a runs listing (the dashboard's runs table): what, on what, how well."""

    id: str
    name: str
    state: str
    task: str
    data: str
    method: str
    model: str
    accuracy: float | None
    macro_f1: float | None
    created_at: dt.datetime | None
    duration_s: float | None
    run_dir: str
    error: str | None = None


def _summary(record: RunRecord, params: dict, metrics: dict) -> RunSummary:
    end = record.finished_at
    data = params.get("data.train_file", "")
    return RunSummary(
        id=record.id,
        name=record.name,
        state=record.state,
        task=params.get("data.task", ""),
        data=Path(data).name if data else "",
        method=params.get("method.name", ""),
        model=Path(record.model).name if record.model else "",
        accuracy=metrics.get("accuracy"),
        macro_f1=metrics.get("macro_f1"),
        created_at=record.created_at,
        duration_s=(end - record.created_at).total_seconds() if end else None,
        run_dir=record.run_dir,
        error=record.error,
    )


def _unindexed(run: RunDir) -> RunSummary:
    """A run directory the store does not know (a store elsewhere, a copied folder): what its
    status.json and eval.json say."""
    try:
        status, ev = run.status(), run.read_json(run.eval_path.name) or {}
    except RunError:
        status, ev = {}, {}
    created = _stamp(status.get("created_at"))
    finished = _stamp(status.get("finished_at"))
    source = status.get("data_source") if isinstance(status.get("data_source"), dict) else {}
    return RunSummary(
        id=run.run_id,
        name=run.run_id,
        state=str(status.get("state", "unknown")),
        task=str(status.get("task", "")),
        data=Path(str(source.get("train", ""))).name,
        method="",
        model=Path(str(status.get("model_dir", ""))).name,
        accuracy=ev.get("accuracy") if isinstance(ev, dict) else None,
        macro_f1=ev.get("macro_f1") if isinstance(ev, dict) else None,
        created_at=created,
        duration_s=(finished - created).total_seconds() if created and finished else None,
        run_dir=str(run.path),
        error=status.get("error"),
    )


def _stamp(value) -> dt.datetime | None:
    try:
        stamp = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def run_summaries(runs_dir: Path, store: RunStore | None = None) -> list[RunSummary]:
    """Every run, newest first: the store's (in four queries, whatever their number) and the
    run directories under ``runs_dir`` it does not index. Final metrics as ``final_metrics``
    takes them: test, else validation. A long-lived caller (the dashboard) passes its store."""
    store = store or open_store(runs_dir)
    records = store.list_runs(limit=None)
    params = store.params_by_run(SUMMARY_PARAMS)
    test = store.latest_metrics_by_run("test", SUMMARY_METRICS)
    val = store.latest_metrics_by_run("val", SUMMARY_METRICS)
    out = [_summary(r, params.get(r.id, {}), test.get(r.id) or val.get(r.id, {})) for r in records]
    known = {r.id for r in records}
    if Path(runs_dir).is_dir():
        unknown = [p for p in Path(runs_dir).iterdir() if p.is_dir() and p.name not in known]
        extra = [_unindexed(RunDir(p)) for p in unknown if is_run_dir(p)]
        out += sorted(extra, key=lambda s: s.created_at or _EPOCH, reverse=True)
    return out


_EPOCH = dt.datetime.fromtimestamp(0, dt.timezone.utc)
