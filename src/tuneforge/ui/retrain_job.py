"""The one retrain a dashboard process runs at a time, in a background thread.

A retrain trains a model (minutes), longer than a request may take: the route starts
``recipes.retrain.run_retrain`` here and answers at once, and the page polls
``/api/retrain`` for its log and, when it is done, the decision and the comparison figures.
One at a time per process, because two would compete for the same CPU or GPU and, on the same
model, for the same promotion. The job lives in memory only: a restarted dashboard has none
(the candidate run a killed retrain leaves is resumed by the next retrain, as on the CLI).
"""

from __future__ import annotations

import datetime as dt
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TuneforgeError

LOG_LINES = 200  # the newest lines of the retrain's log that the page shows


class RetrainBusy(Exception):
    """A retrain is already running in this dashboard."""


@dataclass
class RetrainJob:
    model: str
    queue: str
    min_gain: float
    holdout: float
    started_at: dt.datetime
    state: str = "running"  # running | done | failed
    finished_at: dt.datetime | None = None
    log: list[str] = field(default_factory=list)
    record: dict | None = None  # what `tuneforge retrain --json` prints, once done
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "queue": self.queue,
            "min_gain": self.min_gain,
            "holdout": self.holdout,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "log": self.log[-LOG_LINES:],
            "result": self.record,
            "error": self.error,
        }


def result_record(result) -> dict:
    """A RetrainResult as the CLI's ``--json`` shows it, plus whether it was promoted."""
    promoted = result.promoted
    return {
        "plan": result.plan.summary(),
        "decision": result.decision,
        "candidate": result.candidate.run_id if result.candidate else None,
        "comparison": result.comparison.to_dict() if result.comparison else None,
        "promoted": f"{promoted.name} v{promoted.version}" if promoted else None,
    }


class RetrainRunner:
    """Starts a retrain in a thread unless one is running; keeps the latest job's state."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.lock = threading.Lock()
        self.job: RetrainJob | None = None
        self.thread: threading.Thread | None = None

    def start(self, model: str, queue: str, *, min_gain: float, holdout: float) -> RetrainJob:
        with self.lock:
            if self.job is not None and self.job.state == "running":
                raise RetrainBusy(
                    f"A retrain of {self.job.model} on queue '{self.job.queue}' is running; "
                    "wait for it to finish."
                )
            job = RetrainJob(model, queue, min_gain, holdout, dt.datetime.now(dt.timezone.utc))
            self.job = job
            self.thread = threading.Thread(
                target=self._run, args=(job,), name="tuneforge-ui-retrain", daemon=True
            )
            self.thread.start()
        return job

    def _run(self, job: RetrainJob) -> None:
        from ..recipes.retrain import run_retrain

        try:
            result = run_retrain(
                job.model,
                job.queue,
                self.runs_dir,
                holdout=job.holdout,
                min_gain=job.min_gain,
                progress=False,
                log=job.log.append,
            )
            job.record, job.state = result_record(result), "done"
        except TuneforgeError as exc:
            job.error, job.state = exc.message + (f" ({exc.hint})" if exc.hint else ""), "failed"
        except Exception as exc:  # noqa: BLE001 - a thread's error must reach the page
            traceback.print_exc()
            job.error, job.state = f"unexpected error: {type(exc).__name__}: {exc}", "failed"
        finally:
            job.finished_at = dt.datetime.now(dt.timezone.utc)

    def status(self) -> dict | None:
        with self.lock:
            return self.job.to_dict() if self.job else None
