"""The real default model (all-MiniLM-L6-v2 from its package) on a few dozen demo examples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tuneforge.cli import main

DEMO = Path(__file__).parents[1] / "src" / "tuneforge" / "demo" / "intents.csv"
LABELS = {"reset_password", "cancel_order", "talk_to_human"}


@pytest.mark.slow
def test_default_model_fine_tunes_a_few_dozen_examples(tmp_path, runs_dir):
    """The packaged model loads offline, trains in seconds and separates three intents."""
    with DEMO.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] in LABELS]
    train, test = rows[:60], rows[60:]
    for name, part in (("train.csv", train), ("test.csv", test)):
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["text", "label"])
            writer.writeheader()
            writer.writerows(part)
    code = main(
        [
            "train",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--epochs",
            "4",
            "--runs-dir",
            str(runs_dir),
            "--name",
            "real",
            "--no-progress",
        ]
    )
    assert code == 0
    ev = json.loads((runs_dir / "real" / "eval.json").read_text())
    assert ev["n"] == 30
    assert ev["accuracy"] >= 0.8
    config = json.loads((runs_dir / "real" / "artifacts" / "model" / "config.json").read_text())
    assert set(config["id2label"].values()) == LABELS
