"""Access-log lines without credentials.

A token sent in a URL's query string is refused (the server reads only the Authorization
header), but uvicorn's access log still wrote the URL, token and all, to a file that more
people read than should hold the token. :class:`RedactCredentials` blanks the values of
credential-like query parameters (``token=``, ``access_token=``, ``api_key=``, ...) before a
line is formatted.
"""

from __future__ import annotations

import copy
import logging
from urllib.parse import unquote_plus

REDACTED = "REDACTED"
# A parameter is a credential when its name, lower-cased with '-' read as '_', is one of these
# or ends in one of the suffixes (id_token, client_secret, X-Amz-Signature, ...).
CREDENTIAL_NAMES = frozenset({"auth", "authorization", "sig", "pwd", "jwt", "apikey"})
CREDENTIAL_SUFFIXES = ("token", "key", "secret", "password", "passwd", "signature", "credential")


def is_credential(name: str) -> bool:
    """Whether a query parameter called ``name`` (as sent, percent-encoded) holds a secret."""
    plain = unquote_plus(name).strip().lower().replace("-", "_")
    return plain in CREDENTIAL_NAMES or plain.endswith(CREDENTIAL_SUFFIXES)


def redact_query(target: str) -> str:
    """``target`` (a path with its query string) with every credential's value replaced."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    params = query.split("&")
    for i, param in enumerate(params):
        name, equals, _ = param.partition("=")
        if equals and is_credential(name):
            params[i] = f"{name}={REDACTED}"
    return f"{path}?{'&'.join(params)}"


class RedactCredentials(logging.Filter):
    """A filter for the ``uvicorn.access`` logger, whose records carry ``(client, method,
    path with query, HTTP version, status)`` as their arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            if "?" in args[2]:
                record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def log_config() -> dict:
    """uvicorn's logging configuration with the access log redacted (each worker process
    applies it, so ``--workers N`` redacts too)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    name = f"{RedactCredentials.__module__}.{RedactCredentials.__qualname__}"
    config.setdefault("filters", {})["redact_credentials"] = {"()": name}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_credentials"]
    return config
