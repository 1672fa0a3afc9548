"""One run's bookkeeping: started, metrics, outcome — in its directory and in the store.

:meth:`RunRecorder.recording` is a context manager around the science of a run. Whatever ends
the block (success, a pruned trial, Ctrl-C, an error) is written to status.json and the store
before the exception travels on, so a run is never left marked ``running``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import RunPruned
from .db import RunStore
from .provenance import git_sha, package_versions
from .rundir import RunDir


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class RunRecorder:
    """Writes one run's records to its RunDir and its store rows."""

    def __init__(self, rd: RunDir, store: RunStore) -> None:
        self.rd = rd
        self.store = store
        self.run_id = rd.run_id

    def start(self, config: dict, *, name: str, resume: bool, **status: Any) -> None:
        """Register the run (a resumed run is reopened) and mark it running. ``status`` holds
        the run's facts (model, data fingerprint, seed, sizes, ...); model, data_fingerprint
        and seed also go to the store."""
        sha = git_sha()
        self.store.start(
            self.run_id,
            name,
            str(self.rd.path.resolve()),
            config,
            model=status.get("model_dir"),
            git_sha=sha,
            data_fingerprint=status.get("data_fingerprint"),
            seed=status.get("seed"),
            resume=resume,
        )
        self.rd.update_status(
            run_id=self.run_id,
            state="running",
            created_at=self.rd.status().get("created_at", utc_now()),
            git_sha=sha,
            packages=package_versions(),
            **status,
        )

    def log_metrics(self, record: dict) -> None:
        """A metric sink: one record (``split``, ``step``, ``epoch`` and numbers) to
        metrics.jsonl and the store."""
        self.rd.append_metrics(record)
        numeric = {k: v for k, v in record.items() if k not in ("split", "step", "epoch")}
        self.store.log_metrics(
            self.run_id,
            step=record["step"],
            epoch=record["epoch"],
            split=record["split"],
            metrics=numeric,
        )

    def rewind(self, step: int) -> None:
        """A resumed run replays what followed its checkpoint: forget those records."""
        self.store.delete_metrics_after(self.run_id, step)
        self.rd.keep_metrics_until(step)

    def succeeded(self, **status: Any) -> None:
        self.rd.update_status(state="succeeded", finished_at=utc_now(), **status)
        self.store.finish(self.run_id, "succeeded")

    def ended(self, state: str, error: str | None = None) -> None:
        fields = {"error": error} if error else {}
        self.rd.update_status(state=state, finished_at=utc_now(), **fields)
        self.store.finish(self.run_id, state, **fields)

    @contextmanager
    def recording(self, finally_: Callable[[], None] | None = None) -> Iterator[RunRecorder]:
        """Around the science of a started run: an exception leaving the block marks the run
        pruned, interrupted or failed before it travels on, and ``finally_`` (the report) runs
        whatever happened."""
        try:
            yield self
        except RunPruned as exc:
            self.ended("pruned", str(exc))
            raise
        except KeyboardInterrupt:
            self.ended("interrupted")
            raise
        except BaseException as exc:
            self.ended("failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if finally_ is not None:
                finally_()
