"""Resume after kill -9 or a damaged checkpoint: the resumed run succeeds, and after a kill it
ends with the same metrics as an uninterrupted one."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import make_rows, write_csv

SETTINGS = [
    "train.lr=2e-3",
    "train.epochs=10",
    "train.batch_size=8",
    "train.early_stopping_patience=0",
    "--no-progress",
]


def _cmd(data, model, runs_dir, name):
    return [
        sys.executable,
        "-m",
        "tuneforge",
        "train",
        str(data),
        "--model",
        str(model),
        "--runs-dir",
        str(runs_dir),
        "--name",
        name,
        *SETTINGS,
    ]


def _epochs_done(state_file: Path) -> int:
    """Epochs in the last checkpoint, 0 while there is none. A checkpoint is swapped in by
    renaming directories, so the file can vanish between a check and a read: that is a
    checkpoint being replaced, not an error."""
    try:
        return json.loads(state_file.read_text())["epochs_done"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def test_resume_after_kill_matches_uninterrupted_run(tiny_model_dir, tmp_path, runs_dir):
    """kill -9 mid-training, --resume, and the final eval equals a straight run's."""
    data = write_csv(tmp_path / "big.csv", make_rows(80))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    straight = subprocess.run(
        _cmd(data, tiny_model_dir, runs_dir, "straight"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert straight.returncode == 0, straight.stderr

    proc = subprocess.Popen(
        _cmd(data, tiny_model_dir, runs_dir, "killed"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state_file = runs_dir / "killed" / "checkpoints" / "last" / "trainer_state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if _epochs_done(state_file) >= 2:
            break
        assert proc.poll() is None, "training finished before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status = json.loads((runs_dir / "killed" / "status.json").read_text())
    assert status["state"] == "running" and not (runs_dir / "killed" / "eval.json").exists()

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tuneforge",
            "train",
            "--resume",
            "killed",
            "--runs-dir",
            str(runs_dir),
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming killed" in resumed.stderr

    a = json.loads((runs_dir / "straight" / "eval.json").read_text())
    b = json.loads((runs_dir / "killed" / "eval.json").read_text())
    assert b["accuracy"] == a["accuracy"] and b["macro_f1"] == a["macro_f1"]
    assert b["confusion"] == a["confusion"]
    val = [json.loads(x) for x in (runs_dir / "killed" / "metrics.jsonl").read_text().splitlines()]
    val_steps = [r["step"] for r in val if r["split"] == "val"]
    assert val_steps == sorted(set(val_steps)), "replayed steps are not logged twice"
    from tuneforge.store import RunStore, default_store_url

    assert RunStore(default_store_url(runs_dir)).get("killed").state == "succeeded"


def _crash_in_epoch(runs_dir: Path, data: Path, model: Path, name: str, epoch: int) -> Path:
    """A text run that fails during epoch ``epoch``'s validation, its checkpoints left."""
    from tuneforge.config import load_config
    from tuneforge.recipes.train import run_train

    cfg = load_config(
        overrides=[
            f"runs_dir={runs_dir}",
            f"name={name}",
            f"data.train_file={data}",
            f"model.name={model}",
            "train.lr=2e-3",
            "train.epochs=4",
            "train.batch_size=8",
            "train.early_stopping_patience=0",
        ]
    )

    def crash(record: dict) -> None:
        if record["epoch"] >= epoch:
            raise RuntimeError("simulated crash")

    try:
        run_train(cfg, progress=False, on_validation=crash, log=lambda m: None)
    except RuntimeError:
        pass
    return runs_dir / name


@pytest.mark.parametrize(
    "damage,resumed_epoch",
    [("model.safetensors", 1), ("trainer_state.json", 0)],
)
def test_resume_after_a_damaged_checkpoint_succeeds(
    tiny_model_dir, tmp_path, runs_dir, damage, resumed_epoch
):
    """A truncated model.safetensors in the newest checkpoint falls back to the one before;
    a garbled trainer_state.json in every checkpoint restarts the run. Either way `train
    --resume` succeeds, its warning names the damaged file, and no step is logged twice."""
    data = write_csv(tmp_path / "small.csv", make_rows(12))
    run = _crash_in_epoch(runs_dir, data, tiny_model_dir, "damaged", epoch=3)
    checkpoints = run / "checkpoints"
    assert (checkpoints / "last").is_dir() and (checkpoints / "previous").is_dir()
    damaged = [checkpoints / "last" / damage]
    if damage == "trainer_state.json":
        damaged.append(checkpoints / "previous" / damage)
    for path in damaged:
        if path.suffix == ".safetensors":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        else:
            path.write_text('{"epochs_done": 2, "glo')

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tuneforge",
            "train",
            "--resume",
            "damaged",
            "--runs-dir",
            str(runs_dir),
            "--no-progress",
        ],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "unexpected" not in resumed.stderr
    for path in damaged:
        assert str(path) in resumed.stderr
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "succeeded" and (run / "eval.json").is_file()
    step = math.ceil(status["n_train"] / 8) * resumed_epoch  # batch size 8, no accumulation
    expected = (
        f"from its checkpoint at step {step}" if step else "restarting damaged from the start"
    )
    assert expected in resumed.stderr
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    for split in ("train", "val"):
        steps = [r["step"] for r in records if r["split"] == split]
        assert steps == sorted(set(steps)), f"{split} steps logged twice"
