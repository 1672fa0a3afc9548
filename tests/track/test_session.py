"""An unreachable tracker: training goes on and says once that tracking is off, or, with
``--track-required``, the command fails fast with a clear message and writes no run."""

from __future__ import annotations

import pytest

from tuneforge.cli import main
from tuneforge.errors import TrackingError
from tuneforge.track import RunFacts, Tracking, TrackTarget, tracked
from tuneforge.track import backends as backends_module

from ..conftest import make_rows, write_csv
from ..mlflow_server import free_port
from .conftest import QUICK_TRAIN, train_argv


def test_track_required_fails_fast(tmp_path, tiny_model_dir, capsys):
    """``--track-required`` with a server that does not answer: non-zero exit, the URI and
    what to do in the message, no traceback, no run directory."""
    uri = f"http://127.0.0.1:{free_port()}"
    runs = tmp_path / "runs"
    data = write_csv(tmp_path / "t.csv", make_rows(10))
    argv = train_argv(data, tiny_model_dir, runs, "must", *QUICK_TRAIN)
    code = main([*argv, "--track", f"mlflow={uri}", "--track-required"])
    err = capsys.readouterr().err
    assert code != 0
    assert uri in err and "--track-required" in err and "Traceback" not in err
    assert not (runs / "must").exists()


def test_unreachable_tracker_is_said_once_and_training_goes_on(
    tmp_path, tiny_model_dir, capsys, one_torch_thread
):
    """Without ``--track-required`` the run trains and succeeds untracked; one line says that
    tracking to that URI is off."""
    uri = f"http://127.0.0.1:{free_port()}"
    runs = tmp_path / "runs"
    data = write_csv(tmp_path / "t.csv", make_rows(10))
    argv = train_argv(data, tiny_model_dir, runs, "goes-on", *QUICK_TRAIN, "train.epochs=1")
    assert main([*argv, "--track", f"mlflow={uri}"]) == 0
    err = capsys.readouterr().err
    assert err.count("tracking to mlflow") == 1 and uri in err and "is off" in err
    assert (runs / "goes-on" / "eval.json").is_file()


def test_track_required_without_a_tracker_is_a_usage_error(tmp_path, tiny_model_dir, monkeypatch):
    """``--track-required`` alone names the missing ``--track`` (exit 2)."""
    monkeypatch.delenv("TUNEFORGE_TRACK", raising=False)
    data = write_csv(tmp_path / "t.csv", make_rows(10))
    argv = train_argv(data, tiny_model_dir, tmp_path / "runs", "x", *QUICK_TRAIN)
    assert main([*argv, "--track-required"]) == 2


class Failing:
    """A tracker whose every call fails after it opened (a server gone mid-run)."""

    handle = None

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("server went away")

        return fail


def test_a_tracker_failing_mid_run_is_dropped_once(tmp_path, monkeypatch):
    """A tracker that fails after the run started is dropped at its first failure, said in
    one line, and the other trackers keep recording; under required it raises instead."""
    monkeypatch.setitem(backends_module.BACKENDS, "mlflow", lambda *a: Failing())
    lines: list[str] = []
    board = TrackTarget("tensorboard", str(tmp_path / "tb"))
    gone = TrackTarget("mlflow", "http://gone")
    tracking = Tracking([gone, board], log=lines.append, checked=True)
    with tracked(tracking, RunFacts("r1", {"a": 1})) as run:
        for step in range(3):
            run.log_metrics({"split": "train", "step": step, "epoch": 0.1, "loss": 1.0})
    assert len(lines) == 1 and "http://gone" in lines[0] and "server went away" in lines[0]
    assert [t for t, _ in run.backends] == [board]
    required = Tracking([gone], required=True, log=lines.append, checked=True)
    with pytest.raises(TrackingError, match="server went away"):
        with tracked(required, RunFacts("r2")) as run:
            run.log_metrics({"split": "train", "step": 0, "epoch": 0.1, "loss": 1.0})


def test_a_tracker_refusing_to_open_fails_the_run_it_would_record(
    tmp_path, tiny_model_dir, monkeypatch, capsys
):
    """Under ``--track-required``, a tracker that passes the probe but refuses the run (a
    rejected request) fails the run before training, and the run is marked failed, not left
    running."""
    import json

    def refuse(*args):
        raise PermissionError("403 Forbidden")

    monkeypatch.setitem(backends_module.BACKENDS, "tensorboard", refuse)
    runs = tmp_path / "runs"
    data = write_csv(tmp_path / "t.csv", make_rows(10))
    argv = train_argv(data, tiny_model_dir, runs, "refused", *QUICK_TRAIN)
    code = main([*argv, "--track", f"tensorboard={tmp_path / 'tb'}", "--track-required"])
    assert code == 1
    assert "403 Forbidden" in capsys.readouterr().err
    status = json.loads((runs / "refused" / "status.json").read_text())
    assert status["state"] == "failed" and "403 Forbidden" in status["error"]


def test_a_tracker_off_in_one_trial_stays_off_for_the_next(tmp_path, monkeypatch):
    """When a tracker fails inside one trial of a study, later trials do not try it again and
    nothing more is said: one line for the whole search."""
    opened: list[str] = []

    class OpensThenFails(Failing):
        def __init__(self, facts):
            opened.append(facts.run_id)

    monkeypatch.setitem(backends_module.BACKENDS, "mlflow", lambda t, f, p: OpensThenFails(f))
    lines: list[str] = []
    gone = TrackTarget("mlflow", "http://gone")
    study = Tracking([gone], log=lines.append, checked=True).start(RunFacts("study"))
    trials = study.tracking.children(study)
    for n in range(3):
        with tracked(trials, RunFacts(f"study-t{n}")) as run:
            run.log_metrics({"split": "val", "step": 1, "epoch": 1.0, "macro_f1": 0.5})
    assert opened == ["study", "study-t0"] and len(lines) == 1
