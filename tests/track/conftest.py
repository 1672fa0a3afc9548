"""Fixtures of the tracking tests: a real ``mlflow server`` on loopback and one tiny run
trained with ``--track mlflow --track tensorboard``, shared by the tests that read it back.

Without mlflow or tensorboard installed (the ``track`` extra) the tests skip, and fail where
tracking is required (CI sets TUNEFORGE_REQUIRE_TRACKING=1 after installing the extra)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import TINY_TRAIN, make_rows, write_csv

# Two epochs, no explained mistakes: these tests check what is recorded, not what is learnt.
QUICK_TRAIN = [*TINY_TRAIN, "train.epochs=2", "report.explain_wrong=0"]


def need(module: str) -> None:
    """Skip without ``module`` (fail where the tracking extra is required)."""
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (pip install 'tuneforge[track]')"
        if os.environ.get("TUNEFORGE_REQUIRE_TRACKING") or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def train_argv(data: Path, model: Path, runs: Path, name: str, *extra: str) -> list[str]:
    return [
        "train",
        str(data),
        "--model",
        str(model),
        "--runs-dir",
        str(runs),
        "--name",
        name,
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="session")
def mlflow_server():
    """A real ``mlflow server`` (SQLite store, proxied artifacts) on a free loopback port for
    the session; spawned here, waited for by ``.wait()`` where it is used, so it boots while
    other tests train."""
    need("mlflow")
    from ..mlflow_server import MlflowServer

    server = MlflowServer().start()
    yield server
    server.stop()


@dataclass
class TrackedTrain:
    runs: Path
    run_dir: Path
    data: Path
    stderr: str


@pytest.fixture(scope="session")
def tracked_train(tmp_path_factory, tiny_model_dir, mlflow_server) -> TrackedTrain:
    """One tiny run trained through the CLI with ``--track mlflow`` (the default local SQLite
    store) and ``--track tensorboard`` (the default folder). It asks for ``mlflow_server``
    only to start it early: the server boots while this run trains."""
    need("mlflow")
    need("tensorboard")
    import contextlib
    import io
    from unittest import mock

    from tuneforge.cli import main

    root = tmp_path_factory.mktemp("tracked")
    data = write_csv(root / "tickets.csv", make_rows(40))
    runs = root / "runs"
    err = io.StringIO()
    argv = train_argv(data, tiny_model_dir, runs, "tracked", *QUICK_TRAIN)
    clean = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TUNEFORGE_TRACK")
    }
    with mock.patch.dict(os.environ, clean, clear=True), contextlib.redirect_stderr(err):
        assert main([*argv, "--track", "mlflow", "--track", "tensorboard"]) == 0
    return TrackedTrain(runs, runs / "tracked", data, err.getvalue())
