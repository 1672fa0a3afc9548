"""Server settings: limits, batching and auth, one frozen dataclass."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

TOKEN_ENV = "TUNEFORGE_TOKEN"


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_body_bytes: int = 1_000_000
    max_inputs: int = 256
    max_chars: int = 5_000
    overlong: str = "reject"  # reject | truncate
    max_top_k: int = 20
    request_timeout_s: float = 30.0
    token: str | None = None
    workers: int = 1

    def __post_init__(self) -> None:
        if self.overlong not in ("reject", "truncate"):
            raise ConfigError(f"overlong must be reject or truncate, got '{self.overlong}'.")
        if self.max_batch_size < 1 or self.max_inputs < 1 or self.max_chars < 1:
            raise ConfigError("max_batch_size, max_inputs and max_chars must be at least 1.")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_token(token_file: str | None = None) -> str | None:
    """The bearer token from ``--token-file`` or ``$TUNEFORGE_TOKEN`` (never from a flag,
    so it does not end up in shell history or process listings)."""
    if token_file:
        path = Path(token_file)
        if not path.is_file():
            raise ConfigError(f"Token file '{path}' does not exist.")
        token = path.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if token and len(token) < 16:
        raise ConfigError("The bearer token must be at least 16 characters long.")
    return token or None


def check_binding(settings: ServeSettings) -> None:
    """Refuse to listen beyond loopback without a token."""
    if not is_loopback(settings.host) and not settings.token:
        raise ConfigError(
            f"Refusing to serve on {settings.host} without authentication.",
            hint=f"Set ${TOKEN_ENV} or pass --token-file, or bind to 127.0.0.1.",
        )
