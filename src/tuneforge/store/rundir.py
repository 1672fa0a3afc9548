"""Run directories: the files a run hands to later stages, written so a kill never corrupts them.

``runs/<run_id>/`` holds config.yaml, status.json, metrics.jsonl, eval.json (and
eval-<data>.json per ``tuneforge evaluate``), profile.json, parity.json, tradeoff.json,
explanations.json, report.html, data/<split>.jsonl|npz, artifacts/<variant>/ (artifacts/model:
the trained model, with its calibration.json; every variant carries one) and checkpoints/;
a cross-validation run holds oof.npz beside its eval.json. :class:`RunDir` is the only place
these names are joined. JSON files are replaced atomically; metrics.jsonl is append-only and
read tolerantly, because a training process can be killed at any byte.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any

from ..errors import RunError
from .names import check_name, is_valid_name, path_under

_MARKERS = ("status.json", "config.yaml")


def default_runs_dir(cli_value: str | None = None) -> Path:
    """``--runs-dir``, else ``$TUNEFORGE_RUNS_DIR``, else ``./runs``."""
    return Path(cli_value or os.environ.get("TUNEFORGE_RUNS_DIR") or "runs")


def new_run_id(name: str | None) -> str:
    """The run's name if given (checked: it becomes a directory name), else a UTC-stamped id.

    Generated ids (``run-YYYYMMDD-HHMMSS-xxxx``) sort by time; the random suffix keeps two runs
    started in the same second apart.
    """
    if name is not None:
        return check_name(name, "run name")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"run-{stamp}-{secrets.token_hex(2)}"


def artifact_parity_path(artifact_dir: Path | str) -> Path:
    """An exported artifact carries its own parity record beside the model."""
    return Path(artifact_dir) / "parity.json"


CALIBRATION_FILE = "calibration.json"


def artifact_calibration_path(artifact_dir: Path | str) -> Path:
    """A saved model's calibration record (its fitted temperature) lies beside the model, so
    every variant built from it, and every predictor that loads it, applies the same one."""
    return Path(artifact_dir) / CALIBRATION_FILE


OOD_FILE = "ood.npz"


def artifact_ood_path(artifact_dir: Path | str) -> Path:
    """A saved model's fitted out-of-scope scores (validation scores, class means, shared
    precision), beside the model like its calibration."""
    return Path(artifact_dir) / OOD_FILE


def study_dir(runs_dir: Path | str, study: str) -> Path:
    """``<runs_dir>/studies/<study>``: an Optuna study's summary and report."""
    return path_under(Path(runs_dir), "studies", check_name(study, "study name"))


def index_dir(runs_dir: Path | str, name: str) -> Path:
    """``<runs_dir>/indexes/<name>``: a vector index built without ``--output``."""
    return path_under(Path(runs_dir), "indexes", check_name(name, "index name"))


def indexes_root(runs_dir: Path | str) -> Path:
    """``<runs_dir>/indexes``: where the dashboard looks for indexes."""
    return Path(runs_dir) / "indexes"


def monitor_state_path(runs_dir: Path | str, model: str) -> Path:
    """``<runs_dir>/monitor/<model>-alerts.json``: when each alert rule of a model last fired."""
    return path_under(Path(runs_dir), "monitor", f"{check_name(model, 'model name')}-alerts.json")


def retention_state_path(runs_dir: Path | str, model: str) -> Path:
    """``<runs_dir>/monitor/<model>-retention.json``: how long a model's logged inputs are
    kept, and what the last prune cleared."""
    name = f"{check_name(model, 'model name')}-retention.json"
    return path_under(Path(runs_dir), "monitor", name)


def mlflow_dir(runs_dir: Path | str) -> Path:
    """``<runs_dir>/mlflow``: the local MLflow tracking store (``mlflow.db``, SQLite) and its
    ``artifacts/`` when ``--track mlflow`` names no server."""
    return Path(runs_dir) / "mlflow"


def mlflow_artifact_root(database: Path | str) -> Path:
    """``artifacts/`` beside a local MLflow SQLite database: where its runs' files go."""
    return Path(database).parent / "artifacts"


def tensorboard_dir(runs_dir: Path | str) -> Path:
    """``<runs_dir>/tensorboard``: event files of ``--track tensorboard``, one folder per run."""
    return Path(runs_dir) / "tensorboard"


def atomic_write_text(path: Path, text: str) -> None:
    """Write a temporary file in the same folder, fsync, rename: readers see old or new, never half.

    ``os.open`` with mode 0o666 (not ``mkstemp``'s 0o600) so the file gets the umask's usual
    permissions and teammates sharing a runs directory can read it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class RunDir:
    """One run's directory and its well-known files."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    @property
    def run_id(self) -> str:
        # abspath so that RunDir(".") inside a run directory still has its id.
        return Path(os.path.abspath(self.path)).name

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.json"

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    @property
    def profile_path(self) -> Path:
        """Held-out prediction statistics that monitoring compares live traffic with."""
        return self.path / "profile.json"

    @property
    def parity_path(self) -> Path:
        """Every variant's parity against the trained model, keyed by variant."""
        return artifact_parity_path(self.path)

    @property
    def calibration_path(self) -> Path:
        """The trained model's calibration record (``artifacts/model/calibration.json``): the
        temperature fitted on the validation split, with the figures before and after."""
        return artifact_calibration_path(self.model_dir)

    @property
    def tradeoff_path(self) -> Path:
        return self.path / "tradeoff.json"

    @property
    def explanations_path(self) -> Path:
        """Attributions of the test texts the model got wrong most confidently, for the
        report (written at the end of training, and by ``tuneforge explain RUN --wrong``)."""
        return self.path / "explanations.json"

    @property
    def oof_path(self) -> Path:
        """A cross-validation run's out-of-fold predictions: ``probs`` (rows × labels), ``y``
        (label ids), ``labels``, ``fold`` and ``rows`` (the source file's data rows), in the
        order of the run's data/train split."""
        return self.path / "oof.npz"

    @property
    def retrain_path(self) -> Path:
        """A retrained candidate's comparison with the production version it may replace."""
        return self.path / "retrain.json"

    @property
    def retrain_report_path(self) -> Path:
        return self.path / "retrain.html"

    @property
    def federation_dir(self) -> Path:
        """A federated run's Flower side: each process's spec, log and outcome, the server's
        round history (``history.json``) and best global weights (``global.npz``)."""
        return self.path / "federation"

    def eval_file_path(self, data_file: str | Path) -> Path:
        """Where ``tuneforge evaluate --data FILE`` writes: eval-<stem before a dot>.json."""
        return self.path / f"eval-{Path(data_file).name.split('.')[0]}.json"

    @property
    def data_dir(self) -> Path:
        """The exact examples of each split, kept for parity, calibration and compression."""
        return self.path / "data"

    def split_path(self, split: str, suffix: str) -> Path:
        """``data/<split><suffix>``: ``.jsonl`` for texts, ``.npz`` for images."""
        return self.data_dir / f"{split}{suffix}"

    @property
    def artifacts_dir(self) -> Path:
        return self.path / "artifacts"

    def variant_dir(self, variant: str) -> Path:
        """``artifacts/<variant>``; the trained model itself is the variant ``model``."""
        return self.artifacts_dir / variant

    @property
    def model_dir(self) -> Path:
        return self.variant_dir("model")

    @property
    def adapter_dir(self) -> Path:
        """The peft adapter with its classification head (adapter methods only)."""
        return self.variant_dir("adapter")

    def saved_model_dir(self) -> Path:
        """The saved model (a plain model directory, the adapter itself for methods that cannot
        merge, a saved image CNN, a two-tower recommender, a tfidf-linear or char-cnn model), or
        a clear error when the run has none."""
        markers = ("config.json", "adapter_config.json", "cnn_config.json", "two_tower.json")
        markers += ("tfidf.json", "char_cnn.json")
        if not any((self.model_dir / name).is_file() for name in markers):
            state = self.status().get("state", "unknown")
            raise RunError(
                f"Run '{self.run_id}' has no saved model in {self.model_dir} (state: {state}).",
                hint="Pick a succeeded run (tuneforge runs list), or resume this one with "
                "--resume.",
            )
        return self.model_dir

    def read_config_section(self, section: str) -> dict:
        """One section of config.yaml as a mapping ({} when it cannot be read)."""
        import yaml

        try:
            loaded = yaml.safe_load(self.config_path.read_text(encoding="utf-8")).get(section)
        except (OSError, AttributeError, yaml.YAMLError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    def remove_checkpoints(self) -> None:
        import shutil

        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    @classmethod
    def create(cls, runs_dir: Path | str, run_id: str) -> RunDir:
        """Make ``runs_dir/run_id``; an existing non-empty one is refused, never overwritten.
        The id follows the name rule and the folder must resolve inside ``runs_dir``."""
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
        path_under(Path(runs_dir), check_name(run_id, "run id"))  # refuses escapes
        path = Path(runs_dir) / run_id
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            if not path.is_dir() or any(path.iterdir()):
                raise RunError(
                    f"Run directory {path} already exists: choose another --name, "
                    f"or --resume {run_id} if it did not finish."
                ) from None
        return cls(path)

    def status(self) -> dict:
        """status.json, or ``{}`` before the first update."""
        return self.read_json(self.status_path.name) or {}

    def update_status(self, **fields: Any) -> dict:
        """Merge ``fields`` into status.json atomically; returns the new status.

        One writer per run (its training process) is assumed: the merge is not locked.
        """
        status = {**self.status(), **fields}
        atomic_write_text(
            self.status_path, json.dumps(status, indent=2, default=str, ensure_ascii=False)
        )
        return status

    def append_metrics(self, record: dict) -> None:
        """Append one JSON line and flush it, so a crash loses at most the line being written."""
        line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        with self.metrics_path.open("a+b") as fh:
            # After a kill the file may end in a cut-off line; start a new one so this record
            # is not glued onto it (and lost with it).
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = b"\n" + line
            fh.write(line)
            fh.flush()

    def keep_metrics_until(self, step: int) -> None:
        """Drop the records after ``step`` (a resumed run replays the steps after its
        checkpoint)."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in kept)
        atomic_write_text(self.metrics_path, lines)

    def read_metrics(self) -> list[dict]:
        """All complete records; a line cut short by a kill is skipped."""
        if not self.metrics_path.is_file():
            return []
        out = []
        for raw in self.metrics_path.read_bytes().splitlines():
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``name`` in the run directory atomically; returns its path."""
        path = self.path / name
        atomic_write_text(path, json.dumps(obj, indent=1, default=str, ensure_ascii=False))
        return path

    def read_json(self, name: str) -> Any:
        """The parsed file, or None if it does not exist; invalid JSON is a RunError."""
        path = self.path / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunError(f"{path} is not valid JSON ({exc}).") from None


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a run directory: it holds status.json or config.yaml."""
    return path.is_dir() and any((path / m).is_file() for m in _MARKERS)


def _created(run: RunDir) -> float:
    """When the run started: status.json's created_at, else config.yaml's (write-once) mtime.

    Not the directory's mtime: every status update replaces a file in it and would move a
    long-running run to the top.
    """
    try:
        created = run.status().get("created_at")
        if created:
            stamp = dt.datetime.fromisoformat(str(created))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.timezone.utc)
            return stamp.timestamp()
    except (RunError, ValueError, AttributeError):
        pass
    marker = run.config_path if run.config_path.is_file() else run.path
    return marker.stat().st_mtime


def list_run_dirs(runs_dir: Path | str) -> list[RunDir]:
    """Run directories under ``runs_dir`` (those with status.json or config.yaml), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [RunDir(p) for p in runs_dir.iterdir() if is_run_dir(p)]
    return sorted(runs, key=lambda r: (_created(r), r.run_id), reverse=True)


def resolve_run(ref: str, runs_dir: Path | str) -> RunDir:
    """A run id under ``runs_dir``, or a path to a run directory.

    An unknown ref lists the most recent ids, since the usual cause is a typo or the wrong
    ``--runs-dir``.
    """
    runs_dir = Path(runs_dir)
    by_id = runs_dir / ref
    if is_valid_name(ref) and is_run_dir(by_id):
        return RunDir(by_id)
    by_path = Path(ref).expanduser()
    if is_run_dir(by_path):
        return RunDir(by_path)
    recent = [r.run_id for r in list_run_dirs(runs_dir)[:10]]
    listing = (
        f"Most recent runs in {runs_dir}: {', '.join(recent)}."
        if recent
        else f"There are no runs in {runs_dir}."
    )
    raise RunError(
        f"No run '{ref}': it is neither a run id in {runs_dir} nor a run directory. {listing}",
        hint="See 'tuneforge runs list', or pass --runs-dir or the run directory's path.",
    )
