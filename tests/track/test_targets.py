"""Parsing ``--track`` / ``$TUNEFORGE_TRACK`` and probing a target before any work."""

from __future__ import annotations

import pytest

from tuneforge.errors import ConfigError
from tuneforge.track import TrackTarget, parse_targets, probe

from ..mlflow_server import free_port


def test_defaults_live_under_the_runs_folder(tmp_path, monkeypatch):
    """``mlflow`` alone is a SQLite store under RUNS/mlflow (never MLflow's deprecated file
    store), ``tensorboard`` alone RUNS/tensorboard."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow, board = parse_targets(["mlflow", "tensorboard"], tmp_path)
    assert mlflow == TrackTarget("mlflow", f"sqlite:///{(tmp_path / 'mlflow' / 'mlflow.db')}")
    assert board == TrackTarget("tensorboard", str(tmp_path / "tensorboard"))


def test_mlflow_tracking_uri_is_the_default_server(tmp_path, monkeypatch):
    """A team that exports ``MLFLOW_TRACKING_URI`` gets it for a bare ``--track mlflow``; an
    explicit URI beats it."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.team:5000")
    assert parse_targets(["mlflow"], tmp_path)[0].where == "http://mlflow.team:5000"
    assert parse_targets(["mlflow=http://other:1"], tmp_path)[0].where == "http://other:1"


def test_environment_variable_when_no_flag(tmp_path):
    """``$TUNEFORGE_TRACK`` lists targets (commas or spaces) when no ``--track`` is given;
    a flag replaces it, and a repeated target counts once."""
    env = "mlflow=http://m:5000, tensorboard=/tmp/tb"
    assert [t.kind for t in parse_targets(None, tmp_path, env=env)] == ["mlflow", "tensorboard"]
    assert parse_targets(["tensorboard=/x", "tensorboard=/x"], tmp_path, env=env) == [
        TrackTarget("tensorboard", "/x")
    ]


def test_unknown_tracker_names_the_known_ones(tmp_path):
    """A misspelt tracker is a usage error listing the trackers there are."""
    with pytest.raises(ConfigError, match="mlflow, tensorboard"):
        parse_targets(["wandb"], tmp_path)


def test_probe_says_why_a_server_is_unreachable():
    """A tracking server that does not answer is reported as not reachable, with the reason."""
    problem = probe(TrackTarget("mlflow", f"http://127.0.0.1:{free_port()}"))
    assert problem is not None and "not reachable" in problem and "refused" in problem


def test_probe_of_an_unwritable_folder(tmp_path):
    """A TensorBoard folder that cannot be created (a file is in the way) is reported."""
    (tmp_path / "file").write_text("x")
    problem = probe(TrackTarget("tensorboard", str(tmp_path / "file" / "tb")))
    assert problem is not None and "cannot create" in problem
    assert probe(TrackTarget("tensorboard", str(tmp_path / "tb"))) is None


def test_commands_read_tuneforge_track_when_no_flag_is_given(tmp_path, monkeypatch):
    """``TUNEFORGE_TRACK`` reaches a command's tracking (and is probed) when it has no
    ``--track``; a flag given replaces it."""
    import argparse

    from tuneforge.cli.common import tracking_of

    monkeypatch.setenv("TUNEFORGE_TRACK", f"tensorboard={tmp_path / 'tb'}")
    args = argparse.Namespace(track=None, track_required=False)
    tracking = tracking_of(args, tmp_path)
    assert tracking.checked and tracking.targets == [
        TrackTarget("tensorboard", str(tmp_path / "tb"))
    ]
    args.track = [f"tensorboard={tmp_path / 'other'}"]
    assert tracking_of(args, tmp_path).targets[0].where == str(tmp_path / "other")
