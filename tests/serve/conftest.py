"""A trained tiny run, and a server process of it with short read deadlines, shared by the
tests that talk to a real server over sockets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import train_tiny_run
from .servers import free_port, start_server

HEADER_S, BODY_S, KEEP_ALIVE_S = 1.0, 2.0, 1.0
STRICT_TOKEN = "strict-server-token-0123456789"


@dataclass(frozen=True)
class StrictServer:
    port: int
    log: Path  # the process's output: uvicorn's access log is on stdout
    headers: dict  # what a client sends to be let in


@pytest.fixture(scope="session")
def served_run(tiny_model_dir, tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("serve"), tiny_model_dir, "srv")


@pytest.fixture(scope="session")
def strict_server(served_run, tmp_path_factory):
    """`tuneforge serve` with a token, read deadlines of HEADER_S and BODY_S seconds and
    keep-alive of KEEP_ALIVE_S, its output kept in a file."""
    port = free_port()
    log = tmp_path_factory.mktemp("strict") / "server.log"
    flags = ["--no-log", "--header-timeout", str(HEADER_S), "--body-timeout", str(BODY_S)]
    flags += ["--keep-alive", str(KEEP_ALIVE_S)]
    proc = start_server(served_run, port, *flags, token=STRICT_TOKEN, log=log)
    yield StrictServer(port, log, {"Authorization": f"Bearer {STRICT_TOKEN}"})
    proc.terminate()
    proc.wait(timeout=60)
