"""`tuneforge serve` as a real process on loopback, for the tests that talk to it over sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tuneforge.serve.settings import TOKEN_ENV


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    runs: Path, port: int, *extra: str, token: str | None = None, log: Path | None = None
) -> subprocess.Popen:
    """`tuneforge serve srv` on ``port``, returned once /readyz answers 200; its output (the
    access log is on stdout) goes to ``log`` if given."""
    # The store and the token come from this test, not from the environment pytest runs in.
    env = {k: v for k, v in os.environ.items() if k not in ("TUNEFORGE_STORE_URL", TOKEN_ENV)}
    env["PYTHONUNBUFFERED"] = "1"
    if token:
        env[TOKEN_ENV] = token
    command = [sys.executable, "-m", "tuneforge", "serve", "srv", "--runs-dir", str(runs)]
    command += ["--port", str(port), *extra]
    out = log.open("wb") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    finally:
        if log:
            out.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return proc
        except OSError:
            assert proc.poll() is None, "server exited during start-up"
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not become ready")
