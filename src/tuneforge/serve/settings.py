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
    # Image models: encoded bytes per image, and pixels per image as its header declares them
    # (checked before decoding, so a small file that expands to gigapixels is never decoded).
    max_image_bytes: int = 1_000_000
    max_image_pixels: int = 4096 * 4096
    # Connections of the server process: a request's head must arrive whole within
    # header_timeout_s of the connection being ready for it, its body within body_timeout_s
    # of the head; idle keep-alive connections close after keep_alive_s; with
    # max_connections open, further requests get 503.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: float = 5.0
    max_connections: int = 512
    # /v1/explain: off unless asked for (an explanation costs tens of forward passes), with
    # its own limit of explanations computed at once; the rest wait up to request_timeout_s.
    explain: bool = False
    explain_concurrency: int = 1
    # Label Studio's ML backend contract (/health, /setup, /predict, /webhook), its annotation
    # events stored in the queue label_queue (none: they are refused with 409).
    label_studio: bool = False
    label_queue: str | None = None
    # /v1/embed (``embed``) and /v1/similar over the vector index in ``index`` (a directory
    # built by `tuneforge index build` with the served model; it turns /v1/embed on too).
    embed: bool = False
    index: str | None = None
    max_neighbours: int = 100

    def __post_init__(self) -> None:
        from ..data.image_files import MAX_PIXELS

        if self.overlong not in ("reject", "truncate"):
            raise ConfigError(f"overlong must be reject or truncate, got '{self.overlong}'.")
        if self.max_batch_size < 1 or self.max_inputs < 1 or self.max_chars < 1:
            raise ConfigError("max_batch_size, max_inputs and max_chars must be at least 1.")
        if self.max_image_bytes < 1 or not 1 <= self.max_image_pixels <= MAX_PIXELS:
            raise ConfigError(
                f"max_image_bytes must be at least 1 and max_image_pixels between 1 and "
                f"{MAX_PIXELS:,} (the most any image is ever decoded to)."
            )
        if self.label_queue is not None and not self.label_studio:
            raise ConfigError("label_queue (--label-queue) needs label_studio (--label-studio) on.")
        if self.max_neighbours < 1:
            raise ConfigError("max_neighbours must be at least 1.")
        if self.explain_concurrency < 1:
            raise ConfigError("explain_concurrency must be at least 1.")
        timeouts = (self.header_timeout_s, self.body_timeout_s, self.keep_alive_s)
        if min(timeouts) <= 0 or self.max_connections < 1:
            raise ConfigError(
                "header_timeout_s, body_timeout_s and keep_alive_s must be above 0 and "
                "max_connections at least 1."
            )


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
