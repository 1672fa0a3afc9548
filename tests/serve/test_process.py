"""The server as a real process: graceful SIGTERM under load, and a prediction log that
survives kill -9 without corrupting the store."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from ..conftest import train_tiny_run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_run(tiny_model_dir, tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("serve"), tiny_model_dir, "srv")


def _start(runs, port):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tuneforge",
            "serve",
            "srv",
            "--runs-dir",
            str(runs),
            "--port",
            str(port),
            "--max-wait-ms",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return proc
        except OSError:
            assert proc.poll() is None, "server exited during start-up"
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not become ready")


def _post(port, text):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/predict",
        data=json.dumps({"inputs": [text]}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def test_sigterm_finishes_in_flight_requests_and_exits_zero(served_run):
    """Requests already sent when SIGTERM arrives all succeed; the process exits with 0."""
    port = _free_port()
    proc = _start(served_run, port)
    results: list[tuple[float, object]] = []
    stop_at: list[float] = []

    def client(k: int) -> None:
        for i in range(200):
            if stop_at:
                return
            sent = time.time()
            try:
                results.append((sent, _post(port, f"invoice parcel {k} {i}")))
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                results.append((sent, exc))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    term_sent = time.time()
    proc.send_signal(signal.SIGTERM)
    stop_at.append(term_sent)
    for t in threads:
        t.join(timeout=60)
    assert proc.wait(timeout=60) == 0
    before = [r for sent, r in results if sent < term_sent]
    assert len(before) > 10
    failures = [r for r in before if r != 200]
    # A request sent in the last instant before SIGTERM may still be refused at accept time;
    # every request the server had accepted must have completed with 200.
    assert all(isinstance(f, OSError) for f in failures)
    assert len(failures) <= 8


def test_prediction_log_survives_kill_9(served_run):
    """After kill -9 the store opens cleanly and holds the predictions flushed before it."""
    db = served_run / "tuneforge.db"
    before = _count(db)
    port = _free_port()
    proc = _start(served_run, port)
    for i in range(40):
        assert _post(port, f"password login {i}") == 200
    time.sleep(1.5)  # the log flushes every 0.5 s
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    assert _count(db) - before == 40


def _count(db) -> int:
    con = sqlite3.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "tf_predictions" not in tables:
            return 0
        return con.execute("SELECT COUNT(*) FROM tf_predictions WHERE model='srv'").fetchone()[0]
    finally:
        con.close()
