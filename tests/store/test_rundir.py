"""Run directories: creation, atomic writes, tolerant metric reading, resolution, ids."""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest

from tuneforge.errors import RunError
from tuneforge.store import RunDir, default_runs_dir, list_run_dirs, new_run_id, resolve_run


def _run(runs_dir, run_id: str, created: str | None = None) -> RunDir:
    rd = RunDir.create(runs_dir, run_id)
    rd.update_status(state="succeeded", **({"created_at": created} if created else {}))
    return rd


def test_paths_follow_the_run_layout(tmp_path):
    """Each well-known file has its fixed place inside runs/<run_id>/."""
    rd = RunDir.create(tmp_path / "runs", "r1")
    assert rd.path == tmp_path / "runs" / "r1" and rd.path.is_dir() and rd.run_id == "r1"
    relative = {
        name: getattr(rd, name).relative_to(rd.path).as_posix()
        for name in (
            "config_path",
            "status_path",
            "metrics_path",
            "eval_path",
            "report_path",
            "model_dir",
            "checkpoint_dir",
        )
    }
    assert relative == {
        "config_path": "config.yaml",
        "status_path": "status.json",
        "metrics_path": "metrics.jsonl",
        "eval_path": "eval.json",
        "report_path": "report.html",
        "model_dir": "artifacts/model",
        "checkpoint_dir": "checkpoints",
    }


def test_create_refuses_an_existing_non_empty_directory(tmp_path):
    """Creating over a run with files fails and names the directory and --resume; empty is fine."""
    (tmp_path / "empty").mkdir()
    assert RunDir.create(tmp_path, "empty").path.is_dir()
    _run(tmp_path, "r1")
    with pytest.raises(RunError, match=r"Run directory .*r1 already exists.*--name.*--resume"):
        RunDir.create(tmp_path, "r1")
    assert json.loads((tmp_path / "r1" / "status.json").read_text())["state"] == "succeeded"


def test_update_status_merges_and_leaves_no_temp_files(tmp_path):
    """Status updates merge fields into status.json and leave nothing else behind."""
    rd = RunDir.create(tmp_path, "r1")
    assert rd.status() == {}
    rd.update_status(state="running", seed=1)
    assert rd.update_status(state="succeeded") == {"state": "succeeded", "seed": 1}
    assert json.loads(rd.status_path.read_text()) == {"state": "succeeded", "seed": 1}
    assert [p.name for p in rd.path.iterdir()] == ["status.json"]


def test_interrupted_status_write_keeps_the_old_file(tmp_path, monkeypatch):
    """A write killed before its rename leaves the previous status.json whole and no temp file."""
    rd = RunDir.create(tmp_path, "r1")
    rd.update_status(state="running", step=1)

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        rd.update_status(state="running", step=2)
    monkeypatch.undo()
    assert rd.status() == {"state": "running", "step": 1}
    assert [p.name for p in rd.path.iterdir()] == ["status.json"]


def test_truncated_last_metrics_line_is_skipped(tmp_path):
    """A line cut short by a kill is ignored and the next append starts on a fresh line."""
    rd = RunDir.create(tmp_path, "r1")
    assert rd.read_metrics() == []
    rd.append_metrics({"step": 1, "loss": 0.5})
    with rd.metrics_path.open("a") as fh:
        fh.write('{"step": 2, "lo')
    assert rd.read_metrics() == [{"step": 1, "loss": 0.5}]
    rd.append_metrics({"step": 2, "loss": 0.25})
    assert rd.read_metrics() == [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25}]


def test_json_files_round_trip_and_bad_json_is_an_error(tmp_path):
    """write_json/read_json round-trip; a missing file is None, a corrupt one a RunError."""
    rd = RunDir.create(tmp_path, "r1")
    assert rd.read_json("eval.json") is None
    path = rd.write_json("eval.json", {"accuracy": 0.9, "labels": ["a", "b"]})
    assert path == rd.eval_path
    assert rd.read_json("eval.json") == {"accuracy": 0.9, "labels": ["a", "b"]}
    rd.eval_path.write_text("{not json")
    with pytest.raises(RunError, match="eval.json is not valid JSON"):
        rd.read_json("eval.json")


def test_list_run_dirs_is_newest_first(tmp_path):
    """Runs sort by creation time, newest first; folders that are not runs are left out."""
    _run(tmp_path, "old", "2024-01-01T00:00:00+00:00")
    _run(tmp_path, "new", "2024-03-01T00:00:00+00:00")
    _run(tmp_path, "mid", "2024-02-01T00:00:00+00:00")
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "tuneforge.db").write_text("")
    assert [r.run_id for r in list_run_dirs(tmp_path)] == ["new", "mid", "old"]
    assert list_run_dirs(tmp_path / "missing") == []


def test_resolve_by_id_and_by_path(tmp_path):
    """A run resolves by its id under runs_dir, or by a path to its directory."""
    _run(tmp_path / "runs", "alpha")
    assert resolve_run("alpha", tmp_path / "runs").path == tmp_path / "runs" / "alpha"
    by_path = resolve_run(str(tmp_path / "runs" / "alpha"), tmp_path / "elsewhere")
    assert by_path.run_id == "alpha" and by_path.status()["state"] == "succeeded"


def test_unknown_run_lists_the_ten_most_recent(tmp_path):
    """An unknown ref names itself, lists the 10 newest ids and points at `tuneforge runs list`."""
    for i in range(1, 13):
        _run(tmp_path, f"run-{i:02d}", f"2024-01-{i:02d}T00:00:00+00:00")
    with pytest.raises(RunError) as err:
        resolve_run("beta", tmp_path)
    message = str(err.value)
    assert "'beta'" in message and "tuneforge runs list" in message
    listed = re.findall(r"run-\d\d", message)
    assert listed == [f"run-{i:02d}" for i in range(12, 2, -1)]


def test_unknown_run_in_an_empty_runs_dir_says_there_are_none(tmp_path):
    """With no runs at all, the error says so instead of listing nothing."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="No run 'beta'.*no runs in"):
        resolve_run("beta", tmp_path / "empty")
    with pytest.raises(RunError, match="no runs in"):
        resolve_run("beta", tmp_path / "missing")


def test_named_run_ids_are_validated():
    """The name rule: letters, digits, '-', '_', '.' up to 128 characters, starting with a letter
    or digit, pass; other names say what is allowed."""
    assert new_run_id("my-run_1.2") == "my-run_1.2"
    assert new_run_id("a" * 128) == "a" * 128
    bad_names = ("../escape", "a/b", "has space", "..", ".hidden", "-flag", "a@b", "ü", "a\nb")
    for bad in (*bad_names, "a" * 129, ""):
        with pytest.raises(RunError, match="letters, digits"):
            new_run_id(bad)


def test_generated_run_ids_are_utc_stamped_and_unique():
    """Without a name, ids are run-YYYYMMDD-HHMMSS-xxxx in UTC and differ from each other."""
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ids = {new_run_id(None) for _ in range(20)}
    after = dt.datetime.now(dt.timezone.utc)
    assert len(ids) > 1
    for run_id in ids:
        match = re.fullmatch(r"run-(\d{8}-\d{6})-[0-9a-f]{4}", run_id)
        assert match, run_id
        stamp = dt.datetime.strptime(match[1], "%Y%m%d-%H%M%S").replace(tzinfo=dt.timezone.utc)
        assert before <= stamp <= after


def test_runs_dir_from_flag_env_default(monkeypatch):
    """--runs-dir beats $TUNEFORGE_RUNS_DIR, which beats ./runs."""
    monkeypatch.setenv("TUNEFORGE_RUNS_DIR", "/env/runs")
    assert str(default_runs_dir("/flag")) == "/flag"
    assert str(default_runs_dir()) == "/env/runs"
    monkeypatch.delenv("TUNEFORGE_RUNS_DIR")
    assert str(default_runs_dir()) == "runs"
