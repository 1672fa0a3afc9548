"""Run directories: the files a run hands to later stages, written so a kill never corrupts them."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from ..errors import RunError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_runs_dir(cli_value: str | None = None) -> Path:
    """``--runs-dir``, else ``$TUNEFORGE_RUNS_DIR``, else ``./runs``."""
    return Path(cli_value or os.environ.get("TUNEFORGE_RUNS_DIR") or "runs")


def new_run_id(name: str | None) -> str:
    """The run's name if given (checked), else ``run-YYYYMMDD-HHMMSS-xxxx`` (UTC)."""
    if name:
        if not _NAME.match(name):
            raise RunError(
                f"Run name '{name}' is not allowed: use letters, digits, '-', '_' and '.', "
                "up to 64 characters, starting with a letter or digit."
            )
        return name
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"run-{stamp}-{secrets.token_hex(2)}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder + fsync + rename: all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunDir:
    """One run's directory and its well-known files."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.yaml")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    eval_path = property(lambda self: self.path / "eval.json")
    report_path = property(lambda self: self.path / "report.html")
    model_dir = property(lambda self: self.path / "artifacts" / "model")
    checkpoint_dir = property(lambda self: self.path / "checkpoints")

    @classmethod
    def create(cls, runs_dir: Path, run_id: str) -> RunDir:
        path = Path(runs_dir) / run_id
        if path.exists() and any(path.iterdir()):
            raise RunError(
                f"Run directory '{path}' already exists.",
                hint="Choose another --name, or continue that run with --resume "
                f"{run_id} if it did not finish.",
            )
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def status(self) -> dict:
        return self.read_json("status.json") or {}

    def update_status(self, **fields) -> dict:
        status = {**self.status(), **fields}
        atomic_write_text(self.status_path, json.dumps(status, indent=2, default=str))
        return status

    def append_metrics(self, record: dict) -> None:
        with self.metrics_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()

    def read_metrics(self) -> list[dict]:
        """All complete records; a line cut short by a kill is skipped."""
        if not self.metrics_path.is_file():
            return []
        out = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def write_json(self, name: str, obj) -> Path:
        path = self.path / name
        atomic_write_text(path, json.dumps(obj, indent=1, default=str))
        return path

    def read_json(self, name: str):
        path = self.path / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RunError(f"{path} is not valid JSON ({exc}).") from None


def list_run_dirs(runs_dir: Path) -> list[RunDir]:
    """Run directories under ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    dirs = [
        p
        for p in runs_dir.iterdir()
        if p.is_dir() and ((p / "status.json").is_file() or (p / "config.yaml").is_file())
    ]
    return [RunDir(p) for p in sorted(dirs, key=lambda p: p.stat().st_mtime, reverse=True)]


def resolve_run(ref: str, runs_dir: Path) -> RunDir:
    """A run id under ``runs_dir`` or a path to a run directory."""
    candidates = [Path(runs_dir) / ref, Path(ref)]
    for path in candidates:
        if path.is_dir() and ((path / "status.json").is_file() or (path / "config.yaml").is_file()):
            return RunDir(path)
    recent = [r.run_id for r in list_run_dirs(Path(runs_dir))[:10]]
    listing = (
        f"Recent runs in {runs_dir}: {', '.join(recent)}."
        if recent
        else (f"There are no runs in {runs_dir} yet.")
    )
    raise RunError(
        f"No run '{ref}'. {listing}",
        hint="See 'tuneforge runs list', or pass --runs-dir / a run directory.",
    )
