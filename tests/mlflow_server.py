"""A throwaway ``mlflow server`` for tests: loopback, a free port, its own SQLite store and
proxied artifact folder in a temporary directory, torn down (process group and files) after.

The server takes a while to boot on a busy machine, so :meth:`MlflowServer.start` only spawns
it; :meth:`MlflowServer.wait` blocks until ``/health`` answers. A fixture can start it early
and let other tests run meanwhile.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BOOT_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """:meth:`start`, :meth:`wait` for its ``url``, then :meth:`stop`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="tuneforge-mlflow-"))
        self.process: subprocess.Popen | None = None
        self.ready = False

    def start(self) -> MlflowServer:
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.root / 'server.db'}",
            "--artifacts-destination",
            str(self.root / "artifacts"),
            "--workers",
            "1",
        ]
        # No background job runner: the tests need the tracking and registry API only.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.log = (self.root / "server.log").open("wb")
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        return self

    def wait(self) -> str:
        """The server's URL once ``/health`` answers (fails with its log if it never does)."""
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not self.ready:
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"mlflow server did not start:\n{log}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    self.ready = answer.status == 200
            except OSError:
                time.sleep(0.25)
        return self.url

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
