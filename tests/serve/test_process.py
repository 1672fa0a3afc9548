"""The server as a real process: SIGTERM drains in-flight requests and exits 0, auth is enforced
on the wire, and a prediction log killed with -9 under load leaves a consistent store."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tuneforge.monitor.predlog import PredictionLog, read_predictions
from tuneforge.store import RunStore
from tuneforge.types import Prediction

from .servers import free_port, start_server

TOKEN = "process-token-0123456789"
DAY = dt.timedelta(days=1)


def _post(port, text, headers=None) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/predict",
        data=json.dumps({"inputs": [text]}).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _send_predict(port: int, text: str) -> socket.socket:
    """Send one predict request on a fresh connection, without waiting for the answer."""
    body = json.dumps({"inputs": [text]}).encode()
    head = (
        "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(head.encode() + body)
    return sock


def _receive(sock: socket.socket) -> tuple[int, bytes]:
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status, response.read()
    finally:
        sock.close()


def test_sigterm_drains_in_flight_requests_and_exits_zero(served_run):
    """Sixteen requests are inside the server when SIGTERM arrives: all sixteen are answered
    200 with a prediction, new connections are refused meanwhile, the process exits 0 and the
    prediction log holds every answered prediction (flushed on the way out)."""
    db = served_run / "tuneforge.db"
    before = _count(db)
    port = free_port()
    # A long batching wait keeps the requests inside the server (queued for the model) for
    # seconds, so SIGTERM lands while they are in flight rather than after they finished.
    proc = start_server(served_run, port, "--max-wait-ms", "4000", "--max-batch-size", "64")
    try:
        held = [_send_predict(port, f"invoice parcel {i}") for i in range(16)]
        # Barrier without sleeping: the kernel hands connections to the server in the order
        # they were made, and these requests were fully sent before this one connected, so by
        # the time /healthz answers, the server has read all sixteen and is working on them.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)

        refused_while_draining = False
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except ConnectionRefusedError:
                refused_while_draining = proc.poll() is None
                break
            time.sleep(0.05)

        answers = [_receive(sock) for sock in held]
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [status for status, _ in answers] == [200] * 16, answers
    assert all(len(json.loads(body)["predictions"]) == 1 for _, body in answers)
    assert refused_while_draining, "the server kept accepting connections after SIGTERM"
    assert _count(db) - before == 16


def test_auth_is_enforced_by_the_served_process(served_run):
    """With $TUNEFORGE_TOKEN set, the CLI's server answers 401 without it and 200 with it;
    health stays open for probes."""
    port = free_port()
    proc = start_server(served_run, port, "--no-log", token=TOKEN)
    try:
        assert _post(port, "refund") == 401
        assert _post(port, "refund", {"Authorization": "Bearer not-the-token-at-all"}) == 401
        assert _post(port, "refund", {"Authorization": f"Bearer {TOKEN}"}) == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_prediction_log_survives_kill_9_under_load(served_run):
    """Kill -9 while clients are sending and the log writer is writing: the store passes
    SQLite's integrity check, keeps every prediction flushed before the kill, holds no more
    rows than requests sent, and the prediction log can read and write it again."""
    db = served_run / "tuneforge.db"
    before = _count(db)
    port = free_port()
    proc = start_server(served_run, port, "--max-wait-ms", "2")
    sent: list[int] = []
    stop = threading.Event()
    try:
        for i in range(40):
            assert _post(port, f"password login {i}") == 200
        _wait_for_count(db, before + 40)  # flushed: these must survive the kill

        def client(k: int) -> None:
            for i in range(10_000):
                if stop.is_set():
                    return
                sent.append(1)
                try:
                    _post(port, f"card declined {k} {i}")
                except OSError:
                    return  # the server is gone

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        # Kill once the writer has committed rows from this load, so it is mid-stream.
        _wait_for_count(db, before + 41)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join(timeout=60)

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    after = _count(db)
    assert before + 41 <= after <= before + 40 + len(sent)

    store = RunStore(f"sqlite:///{db}")
    log = PredictionLog(store, "srv")

    async def write_one() -> None:
        await log.start()
        log.record(["after the kill"], [Prediction("neg", 0.9, [("neg", 0.9)])], 1.0)
        await log.stop()

    asyncio.run(write_one())
    assert len(read_predictions(store, "srv")) == after + 1


def _wait_for_count(db, target: int, timeout: float = 60.0) -> None:
    """Poll the store until it holds ``target`` rows of model srv (the log flushes every
    0.5 s in a background thread; polling avoids guessing how long that takes here)."""
    deadline = time.monotonic() + timeout
    while _count(db) < target:
        assert time.monotonic() < deadline, f"the prediction log never reached {target} rows"
        time.sleep(0.1)


def _count(db) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=30)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "tf_predictions" not in tables:
            return 0
        return con.execute("SELECT COUNT(*) FROM tf_predictions WHERE model='srv'").fetchone()[0]
    finally:
        con.close()


def test_server_process_hides_its_startup_objects_from_the_collector():
    """The server freezes what exists once its model is loaded: full collections then skip the
    millions of framework objects that otherwise stalled every request for ~200 ms."""
    code = (
        "import gc, torch, transformers\n"
        "from tuneforge.serve.app import quiet_garbage_collector\n"
        "before = gc.get_freeze_count()\n"
        "quiet_garbage_collector()\n"
        "print(before, gc.get_freeze_count(), gc.get_threshold()[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, frozen, threshold = map(int, out.stdout.split())
    assert before == 0 and frozen > 100_000 and threshold >= 10_000


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (read from /proc, no extra dependency)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc")
def test_workers_flag_serves_from_several_processes(served_run):
    """`--workers 2` starts two server processes behind one port; each loads the model and
    every request is answered, with the prediction log written by each worker."""
    port = free_port()
    db = served_run / "tuneforge.db"
    before = _count(db)
    proc = start_server(served_run, port, "--workers", "2")
    try:
        assert len(_children(proc.pid)) >= 2
        assert [_post(port, f"where is parcel {i}") for i in range(12)] == [200] * 12
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert _count(db) - before == 12


def test_served_process_logs_inputs_redacted_and_prunes_at_start(served_run, tmp_path):
    """`serve --log-inputs --retention 30d`: an input 40 days old is blanked as the server
    starts (its row kept, the prune recorded), and a new input is stored with its email and
    card as placeholders."""
    import shutil

    from tuneforge.monitor.predlog import read_logged

    runs = tmp_path / "runs"
    shutil.copytree(served_run / "srv", runs / "srv")
    store = RunStore(f"sqlite:///{runs / 'tuneforge.db'}")
    now = dt.datetime.now(dt.timezone.utc)
    log = PredictionLog(store, "srv", "v0", log_inputs=True)

    async def old():
        await log.start()
        log.record(["an old input"], [Prediction("a", 0.9, [("a", 0.9)])], 1.0, at=now - 40 * DAY)
        await log.stop()

    asyncio.run(old())
    port = free_port()
    proc = start_server(runs, port, "--log-inputs", "--retention", "30d")
    try:
        assert _post(port, "refund jane@example.com card 4111 1111 1111 1111") == 200
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    logged = read_logged(store, "srv", now - 90 * DAY, now + DAY)
    assert [r.text for r in logged] == [None, "refund [EMAIL] card [CARD]"]
    record = json.loads((runs / "monitor" / "srv-retention.json").read_text())
    assert (record["window"], record["cleared"], record["by"]) == ("30d", 1, "serve")
