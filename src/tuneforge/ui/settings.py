"""Dashboard settings: where the runs are, where it listens, who may use it, and whether it
may change anything. One frozen dataclass, as the model server's are."""

from __future__ import annotations

import getpass
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError


def os_user() -> str:
    """Who is logged in to this machine: the default name the dashboard labels under."""
    try:
        return getpass.getuser() or "browser"
    except (OSError, KeyError):  # no login name and no user database entry (some containers)
        return "browser"


@dataclass(frozen=True)
class UISettings:
    runs_dir: Path = Path("runs")
    host: str = "127.0.0.1"
    port: int = 8080
    # The same token rule as the model server: required beyond loopback (serve.check_binding),
    # read from --token-file or $TUNEFORGE_TOKEN, never from a flag.
    token: str | None = None
    # Hide every action and refuse every state-changing request (login aside).
    read_only: bool = False
    # Signs the session cookie. Random per process: restarting the dashboard logs everyone
    # out, and no secret is ever written to disk.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    page_size: int = 50
    # Who the labels saved in this dashboard are from (``--annotator``): one name per process,
    # as ``label submit --annotator`` names one file's labeller.
    annotator: str = field(default_factory=os_user)
    # Alert rules (monitor/rules.py YAML) shown on the monitoring pages; None: no rules shown.
    rules_file: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be between 1 and 65535, got {self.port}.")
        if not 1 <= self.page_size <= 1000:
            raise ConfigError(f"page_size must be between 1 and 1000, got {self.page_size}.")
        if not self.annotator.strip() or len(self.annotator) > 256:
            raise ConfigError(
                f"annotator must be a name of 1 to 256 characters, got {self.annotator!r}.",
                hint="Pass --annotator NAME.",
            )
