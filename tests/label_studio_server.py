"""A throwaway Label Studio for tests: PyPI's ``label-studio`` from its own virtualenv
(``scripts/ensure-label-studio``), a temporary data folder with SQLite, loopback only.

Start-up copies the migrated, empty data folder the set-up script prepared (migrating from
scratch takes most of a minute; a copy starts in seconds) and creates an admin with a known
API token on the way. The settings that keep it offline and let it reach our servers on
loopback are in :data:`SETTINGS`; everything Label Studio would read from the caller's
environment (``USERNAME``, ``HOST``, ``PORT``, ``LABEL_STUDIO_*``, ...) is left out.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_ENV = "TUNEFORGE_LABEL_STUDIO_VENV"
START_TIMEOUT_S = 240.0  # a cold start (no template) migrates the database first

SETTINGS = {
    "DJANGO_DB": "sqlite",
    "LATEST_VERSION_CHECK": "false",  # else it asks pypi.org on start
    "COLLECT_ANALYTICS": "false",
    "CONVERTER_DOWNLOAD_RESOURCES": "false",
    "LOCAL_FILES_SERVING_ENABLED": "true",  # image tasks by /data/local-files/?d=PATH
    "LOCAL_FILES_DOCUMENT_ROOT": "/",
    "ML_BLOCK_LOCAL_IP": "false",  # our ML backend listens on 127.0.0.1
    "SSRF_PROTECTION_ENABLED": "false",  # so do the webhook receivers
    # Its defaults (1 s for a webhook, 1 s / 3 s for an ML backend's health / setup) are short
    # for a busy test machine; a missed webhook is silently dropped.
    "WEBHOOK_TIMEOUT": "10",
    "ML_TIMEOUT_HEALTH": "10",
    "ML_TIMEOUT_SETUP": "10",
    "LOG_LEVEL": "WARNING",
}
# Names Label Studio reads bare or with a LABEL_STUDIO_ / HEARTEX_ prefix (core.utils.params).
_INHERITED = ("USERNAME", "PASSWORD", "USER_TOKEN", "HOST", "PORT", "DATABASE_NAME", "DEBUG")


def find_venv() -> Path | None:
    """The virtualenv with ``label-studio`` in it: ``$TUNEFORGE_LABEL_STUDIO_VENV``, else the
    repository's ``.venv-label-studio``."""
    venv = Path(os.environ.get(VENV_ENV) or REPO / ".venv-label-studio")
    return venv if (venv / "bin" / "label-studio").is_file() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABEL_STUDIO_", "HEARTEX_")) and k not in _INHERITED
    }
    env.update(SETTINGS, LABEL_STUDIO_BASE_DATA_DIR=str(data_dir))
    return env


class LabelStudioServer:
    """:meth:`start` it, call :attr:`url` with :attr:`headers`, then :meth:`stop`."""

    email = "admin@tuneforge.test"
    password = "tuneforge-test-password"  # noqa: S105 (a throwaway server on loopback)
    token = "tuneforge0test0token0123456789abcdef"  # noqa: S105

    def __init__(self, venv: Path) -> None:
        self.venv = venv
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tuneforge-ls-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.process: subprocess.Popen | None = None
        self.start_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def client(self):
        """An ``httpx.Client`` on the REST API as the admin."""
        import httpx

        return httpx.Client(base_url=self.url, headers=self.headers, timeout=60)

    def start(self) -> LabelStudioServer:
        began = time.monotonic()
        template = self.venv / "tuneforge-template"
        if (template / "label_studio.sqlite3").is_file():
            shutil.copytree(template, self.data)
        else:
            self.data.mkdir()
        command = [
            str(self.venv / "bin" / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--username",
            self.email,
            "--password",
            self.password,
            "--user-token",
            self.token,
            "--enable-legacy-api-token",  # "Authorization: Token ..." as the API docs show
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                env=_environment(self.data),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()
        self.start_seconds = time.monotonic() - began
        return self

    def _wait_until_up(self) -> None:
        """Until /health answers and the admin's token works (the user is created just
        before the web server starts listening)."""
        import httpx

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"Label Studio exited ({code}):\n{self.tail()}")
            try:
                who = httpx.get(f"{self.url}/api/current-user/whoami", headers=self.headers)
                if who.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"No answer from Label Studio in {START_TIMEOUT_S} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.is_file() else ""

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=15)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
