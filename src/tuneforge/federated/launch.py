"""The coordinator's side of a local federation: find Flower's python, start the server and
one process per client on loopback, watch them, and never wait forever.

Nothing here imports ``flwr``: the processes run under the Flower environment's python
(``scripts/ensure-flower`` builds ``.venv-flower``), with this package's source on their
``PYTHONPATH``, so the main environment keeps its own pins.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, RunError
from .spec import ClientSpec, ServerSpec, outcome_path, read_outcome, write_json

FLOWER_VENV = ".venv-flower"
FLOWER_HINT = (
    "Build Flower's environment with `bash scripts/ensure-flower` (it makes .venv-flower), "
    "or point --flower-python / TUNEFORGE_FLOWER_PYTHON at a python that has flwr==1.42.0."
)


def flower_python(explicit: str | None = None) -> str:
    """The python that runs the Flower processes: ``explicit``, $TUNEFORGE_FLOWER_PYTHON,
    this interpreter when it has flwr, else ``.venv-flower`` in the working directory."""
    chosen = explicit or os.environ.get("TUNEFORGE_FLOWER_PYTHON")
    if chosen:
        if shutil.which(chosen) is None and not Path(chosen).is_file():
            raise ConfigError(f"Flower's python '{chosen}' does not exist.", hint=FLOWER_HINT)
        return chosen
    if importlib.util.find_spec("flwr") is not None:
        return sys.executable
    local = Path(FLOWER_VENV) / "bin" / "python"
    if local.is_file():
        return str(local.absolute())
    raise ConfigError(
        "tuneforge federate runs on Flower, which is not installed.", hint=FLOWER_HINT
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def source_root() -> str | None:
    """The folder holding this tuneforge package, for the processes' PYTHONPATH; None when
    it is an installed site-packages (whose other packages must not leak into Flower's
    environment: tuneforge must then be installed there too)."""
    root = Path(__file__).resolve().parents[2]
    return None if root.name in ("site-packages", "dist-packages") else str(root)


def process_env(threads: int) -> dict:
    env = dict(os.environ)
    root = source_root()
    if root:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["FLWR_TELEMETRY_ENABLED"] = "0"  # Flower reports usage over the network by default
    env.setdefault("OMP_NUM_THREADS", str(threads))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    ended: bool = False


@dataclass
class Federation:
    """A running local federation: the server and its clients, each logging to a file."""

    python: str
    out_dir: Path
    procs: dict[str, Process] = field(default_factory=dict)

    def start(self, name: str, module: str, spec) -> None:
        spec_path = self.out_dir / f"{name}.spec.json"
        write_json(spec_path, spec)
        log = self.out_dir / f"{name}.log"
        threads = max(1, (os.cpu_count() or 1) // 2)
        with log.open("wb") as fh:
            popen = subprocess.Popen(
                [self.python, "-m", module, str(spec_path)],
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=process_env(threads),
            )
        self.procs[name] = Process(name, popen, log)

    def stop(self) -> None:
        """End every process still running: terminate, then kill after a grace period."""
        alive = [p for p in self.procs.values() if p.popen.poll() is None]
        for proc in alive:
            proc.popen.terminate()
        deadline = time.monotonic() + 5
        for proc in alive:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()

    def tail(self, name: str, lines: int = 15) -> str:
        text = self.procs[name].log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def wait(self, timeout: float, log: Callable[[str], None], poll: float = 0.2) -> None:
        """Until the server ends: a RunError (everything stopped) when it fails, when a
        client stops on an error it explained, or past ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                server = self.procs["server"].popen.poll()
                if server is not None:
                    self._check_server(server)
                    self._check_clients(log, explained=False)  # left early: said, not raised
                    return
                self._check_clients(log)
                if time.monotonic() > deadline:
                    raise RunError(
                        f"the federation did not finish within {timeout:g} s; it was stopped.",
                        hint=f"See the logs in {self.out_dir}; raise --round-timeout for "
                        "slow clients.",
                    )
                time.sleep(poll)
        finally:
            self.stop()

    def _check_clients(self, log: Callable[[str], None], explained: bool = True) -> None:
        """Clients that have ended: one that stopped on an error it explained raises (with
        ``explained``), one that died is said once."""
        for proc in self.procs.values():
            if proc.name == "server" or proc.ended or proc.popen.poll() is None:
                continue
            proc.ended = True
            code = proc.popen.returncode
            outcome = read_outcome(outcome_path(self.out_dir, proc.name))
            if explained and outcome is not None and not outcome.ok:
                raise RunError(f"client '{proc.name}': {outcome.message}", hint=outcome.hint)
            if code != 0:
                log(
                    f"warning: client '{proc.name}' exited with code {code} "
                    "before the federation ended; the server goes on without it"
                )

    def _check_server(self, code: int) -> None:
        outcome = read_outcome(outcome_path(self.out_dir, "server"))
        if outcome is not None and outcome.ok and code == 0:
            return
        if outcome is not None and not outcome.ok:
            raise RunError(f"federation server: {outcome.message}", hint=outcome.hint)
        raise RunError(
            f"the federation server exited with code {code}:\n{self.tail('server')}",
            hint=f"Its whole log is {self.procs['server'].log}.",
        )


def run_federation(
    python: str,
    out_dir: Path,
    server: ServerSpec,
    clients: list[ClientSpec],
    timeout: float,
    log: Callable[[str], None],
) -> None:
    """Start the server, then the clients; return when the server has written its result."""
    fed = Federation(python, out_dir)
    try:
        # All at once: clients load while the server does, then wait for its port.
        fed.start("server", "tuneforge.federated.server", server)
        for spec in clients:
            fed.start(spec.name, "tuneforge.federated.client", spec)
    except BaseException:
        fed.stop()
        raise
    fed.wait(timeout, log)
