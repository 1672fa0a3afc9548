"""Run directories: creation, atomic status, tolerant metric reading, resolution."""

from __future__ import annotations

import json

import pytest

from tuneforge.errors import RunError
from tuneforge.store import RunDir, default_runs_dir, new_run_id, resolve_run


def test_create_refuses_an_existing_non_empty_directory(tmp_path):
    """Creating a run over an existing one fails and suggests --resume."""
    rd = RunDir.create(tmp_path, "r1")
    rd.update_status(state="running")
    with pytest.raises(RunError, match="already exists.*--resume"):
        RunDir.create(tmp_path, "r1")


def test_update_status_merges_and_leaves_no_temp_files(tmp_path):
    """Status updates merge fields and write atomically (no leftovers)."""
    rd = RunDir.create(tmp_path, "r1")
    rd.update_status(state="running", seed=1)
    rd.update_status(state="succeeded")
    assert json.loads(rd.status_path.read_text()) == {"state": "succeeded", "seed": 1}
    assert sorted(p.name for p in rd.path.iterdir()) == ["status.json"]


def test_truncated_last_metrics_line_is_skipped(tmp_path):
    """A line cut short by a kill does not break reading the others."""
    rd = RunDir.create(tmp_path, "r1")
    rd.append_metrics({"step": 1})
    with rd.metrics_path.open("a") as fh:
        fh.write('{"step": 2, "lo')
    assert rd.read_metrics() == [{"step": 1}]


def test_resolve_by_id_and_by_path_and_unknown(tmp_path):
    """A run resolves by id or path; an unknown one lists recent runs."""
    RunDir.create(tmp_path, "alpha").update_status(state="succeeded")
    assert resolve_run("alpha", tmp_path).run_id == "alpha"
    assert resolve_run(str(tmp_path / "alpha"), tmp_path / "elsewhere").run_id == "alpha"
    with pytest.raises(RunError, match="No run 'beta'.*alpha"):
        resolve_run("beta", tmp_path)
    with pytest.raises(RunError, match="no runs"):
        resolve_run("beta", tmp_path / "empty")


def test_run_ids(monkeypatch):
    """Names are validated; generated ids are unique and sortable by time."""
    assert new_run_id("my-run_1.2") == "my-run_1.2"
    with pytest.raises(RunError, match="not allowed"):
        new_run_id("../escape")
    a, b = new_run_id(None), new_run_id(None)
    assert a.startswith("run-") and a != b


def test_runs_dir_from_flag_env_default(monkeypatch):
    """--runs-dir beats $TUNEFORGE_RUNS_DIR, which beats ./runs."""
    monkeypatch.setenv("TUNEFORGE_RUNS_DIR", "/env/runs")
    assert str(default_runs_dir("/flag")) == "/flag"
    assert str(default_runs_dir()) == "/env/runs"
    monkeypatch.delenv("TUNEFORGE_RUNS_DIR")
    assert str(default_runs_dir()) == "runs"
