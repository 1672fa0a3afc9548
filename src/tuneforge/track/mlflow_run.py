"""MLflow: one tuneforge run is one MLflow run, written through ``MlflowClient``.

The client API (not ``mlflow.start_run``) keeps no process-wide "active run", so trials of a
search in parallel threads and a study's parent run never mix. Metrics are sent in batches
(at every validation record, at the end, or every ``BATCH`` records) so a remote server costs
few round trips. A resumed run (``train --resume``) continues the MLflow run with its tag.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from .backends import metric_items
from .session import RunFacts
from .targets import local_artifact_root

BATCH = 200
MAX_PARAMS_PER_CALL = 100
MAX_PARAM_VALUE = 6000
EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "tuneforge"
RUN_ID_TAG = "tuneforge.run_id"
STATES = {
    "succeeded": "FINISHED",
    "failed": "FAILED",
    "interrupted": "KILLED",
    "pruned": "KILLED",
}


def client_for(uri: str):
    """An MLflow client of ``uri``. A server that stops answering mid-run should cost seconds,
    not MLflow's default minutes of retries: fewer retries unless the user set them."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    from mlflow import MlflowClient

    # "Creating initial MLflow database tables..." would sit among the run's own lines.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)

    return MlflowClient(tracking_uri=uri)


def experiment_id(client, uri: str) -> str:
    """``$MLFLOW_EXPERIMENT_NAME`` (default ``tuneforge``), created on first use; a local
    store keeps its artifacts beside its database."""
    name = os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=local_artifact_root(uri))
    except Exception:  # another trial thread created it first
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


class MlflowRun:
    """The MLflow run of one tuneforge run (``handle``: its MLflow run id)."""

    def __init__(self, uri: str, facts: RunFacts, parent: str | None = None) -> None:
        from mlflow.entities import RunTag

        self.client = client_for(uri)
        self.pending: list = []
        exp = experiment_id(self.client, uri)
        tags = {"mlflow.runName": facts.run_id, RUN_ID_TAG: facts.run_id, **facts.tags}
        if parent:
            tags["mlflow.parentRunId"] = parent
        existing = self._existing(exp, facts.run_id)
        if existing is None:
            self.handle = self.client.create_run(exp, tags=tags, run_name=facts.run_id).info.run_id
            self._log_params(facts.params)
        else:  # a resumed run: same parameters, so none is logged again
            self.handle = existing
            self.client.update_run(existing, status="RUNNING")
            tag_list = [RunTag(k, str(v)) for k, v in tags.items()]
            self.client.log_batch(existing, tags=tag_list)

    def _existing(self, exp: str, run_id: str) -> str | None:
        found = self.client.search_runs(
            [exp], filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'", max_results=1
        )
        return found[0].info.run_id if found else None

    def _log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        from ..store.db import flatten

        flat = [Param(k, v[:MAX_PARAM_VALUE]) for k, v in flatten(params).items()]
        for i in range(0, len(flat), MAX_PARAMS_PER_CALL):
            self.client.log_batch(self.handle, params=flat[i : i + MAX_PARAMS_PER_CALL])

    def _queue(self, items: Sequence[tuple[str, float]], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        self.pending += [Metric(key, value, stamp, step) for key, value in items]

    def flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
            self.client.log_batch(self.handle, metrics=batch)

    def log_metrics(self, record: dict) -> None:
        self._queue(metric_items(record), int(record["step"]))
        if record.get("split") != "train" or len(self.pending) >= BATCH:
            self.flush()

    def log_evaluation(self, split: str, figures: dict[str, float], step: int) -> None:
        self._queue([(f"eval/{k}", v) for k, v in figures.items()], step)
        self.flush()
        self.client.set_tag(self.handle, "tuneforge.eval_split", split)

    def log_values(self, values: dict[str, float], step: int) -> None:
        self._queue(list(values.items()), step)
        self.flush()

    def log_files(self, paths: Sequence[Path]) -> None:
        for path in paths:
            self.client.log_artifact(self.handle, str(path))

    def end(self, state: str) -> None:
        self.flush()
        self.client.set_tag(self.handle, "tuneforge.state", state)
        self.client.set_terminated(self.handle, STATES.get(state, "FAILED"))
