"""The run page's verdict box: a run whose own baseline beat it shows the figures and advice,
escaped like every other text."""

from __future__ import annotations

import json
import shutil

from fastapi.testclient import TestClient

from tuneforge.ui import UISettings, create_app

from .conftest import PWNED, RUN_A

LOCAL = "http://127.0.0.1:8080"


def test_a_run_beaten_by_its_baseline_says_so_at_the_top(ui_runs, tmp_path):
    """status.json's baseline_beats_model becomes a box with the gap and the advice; a run
    without it has no box."""
    runs = tmp_path / "runs"
    shutil.copytree(ui_runs / RUN_A, runs / RUN_A)  # no store: the page reads the folder
    status_path = runs / RUN_A / "status.json"
    status = json.loads(status_path.read_text())
    client = TestClient(create_app(UISettings(runs_dir=runs)), base_url=LOCAL)
    assert 'id="baseline-beats-model"' not in client.get(f"/runs/{RUN_A}").text
    status["baseline_beats_model"] = {
        "baseline": PWNED,
        "baseline_accuracy": 0.9,
        "model_accuracy": 0.7,
        "gap_points": 20.0,
        "advice": ["check the labels (tuneforge label audit FILE)"],
    }
    status_path.write_text(json.dumps(status))
    page = client.get(f"/runs/{RUN_A}").text
    assert 'id="baseline-beats-model"' in page and "20.0 points below" in page
    assert "tuneforge label audit FILE" in page
    assert "<script>window" not in page and "&lt;script&gt;" in page
