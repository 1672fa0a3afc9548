"""Where runs are tracked: ``--track mlflow[=URI]``, ``--track tensorboard[=DIR]``.

A target is parsed and given its default place before anything trains, and probed once
(:func:`probe`), so an unreachable server is known before the run directory exists: training
then goes on untracked (said once) or, under ``--track-required``, stops with a clear message.
Nothing here imports mlflow or torch.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

KINDS = ("mlflow", "tensorboard")
ENV = "TUNEFORGE_TRACK"
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TrackTarget:
    """One tracker: ``kind`` (mlflow, tensorboard) and ``where`` (a tracking URI, a folder)."""

    kind: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.where}"


def parse_target(text: str, runs_dir: Path | str) -> TrackTarget:
    """``mlflow``, ``mlflow=URI``, ``tensorboard``, ``tensorboard=DIR`` → a target with its
    place resolved: MLflow's is ``$MLFLOW_TRACKING_URI``, else a SQLite store under the runs
    folder; TensorBoard's is ``<runs>/tensorboard``."""
    kind, _, where = text.strip().partition("=")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ConfigError(
            f"--track '{text}': unknown tracker '{kind}'.",
            hint=f"Use one of {', '.join(KINDS)}, e.g. --track mlflow=http://mlflow:5000.",
        )
    where = where.strip() or default_place(kind, runs_dir)
    if kind == "tensorboard":
        where = str(Path(where).expanduser())
    return TrackTarget(kind, where)


def default_place(kind: str, runs_dir: Path | str) -> str:
    from ..store.rundir import mlflow_dir, tensorboard_dir

    if kind == "tensorboard":
        return str(tensorboard_dir(runs_dir))
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(mlflow_dir(runs_dir) / 'mlflow.db').resolve()}"


def parse_targets(
    flags: list[str] | None, runs_dir: Path | str, env: str | None = None
) -> list[TrackTarget]:
    """The targets of the ``--track`` flags, else of ``$TUNEFORGE_TRACK`` (targets separated
    by commas or spaces); one per kind and place, in the order given."""
    texts = list(flags or [])
    if not texts:
        env = os.environ.get(ENV, "") if env is None else env
        texts = [t for t in env.replace(",", " ").split() if t]
    targets: list[TrackTarget] = []
    for text in texts:
        target = parse_target(text, runs_dir)
        if target not in targets:
            targets.append(target)
    return targets


def is_local_mlflow(uri: str) -> bool:
    """A store this process writes itself (SQLite, a folder), not a tracking server."""
    return not uri.startswith(("http://", "https://", "databricks"))


def local_artifact_root(uri: str) -> str | None:
    """Artifacts of a local SQLite store go in ``artifacts/`` beside the database (MLflow's
    own default is ``./mlruns`` under whatever folder the command ran in)."""
    if not uri.startswith("sqlite:///"):
        return None
    from ..store.rundir import mlflow_artifact_root

    return mlflow_artifact_root(uri[len("sqlite:///") :]).resolve().as_uri()


def probe(target: TrackTarget) -> str | None:
    """Why ``target`` cannot be written to, or None when it can: a tracking server must answer
    its ``/health`` within a few seconds; a local store or folder must be creatable."""
    if target.kind == "mlflow" and target.where.startswith(("http://", "https://")):
        return _probe_server(target.where)
    if target.kind == "mlflow" and target.where.startswith("sqlite:///"):
        return _probe_folder(Path(target.where[len("sqlite:///") :]).parent)
    if target.kind == "tensorboard":
        return _probe_folder(Path(target.where))
    return None


def _probe_server(uri: str) -> str | None:
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as answer:
            if answer.status >= 400:
                return f"its /health answered HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"its /health answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"not reachable ({reason})"
    return None


def _probe_folder(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {folder} ({exc.strerror or exc})"
    if not os.access(folder, os.W_OK):
        return f"{folder} is not writable"
    return None
