"""Where alerts go: the log (stderr), a JSON-lines file, a webhook.

A webhook is retried with exponential backoff (tenacity) while the failure may pass — no
connection, a timeout, HTTP 408, 429 or 5xx — and given up at once on any other 4xx, which no
retry will change. Each sink is answered for separately, so the caller can remember which sinks
already have an alert and send it only to the others next time.

  - {type: webhook, url: "http://127.0.0.1:9000/alerts", timeout: 5, attempts: 4, backoff: 1}

``attempts`` counts the first try; the waits between them are ``backoff``, 2·``backoff``,
4·``backoff``… seconds, at most 30 s each.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ..errors import ConfigError

log = logging.getLogger("tuneforge.monitor")

SINK_KEYS = {
    "log": {"type"},
    "json": {"type", "path"},
    "webhook": {"type", "url", "timeout", "attempts", "backoff"},
}
MAX_WAIT_S = 30.0


def check_sink(sink: Any, where: str) -> None:
    """Refuse, when the rules are loaded, a sink that could never deliver."""
    kind = sink.get("type") if isinstance(sink, dict) else None
    if kind not in SINK_KEYS:
        raise ConfigError(f"{where}: sink type must be log, json or webhook, got {sink}.")
    unknown = set(sink) - SINK_KEYS[kind]
    if unknown:
        raise ConfigError(
            f"{where}: unknown keys {sorted(unknown)} for a {kind} sink; "
            f"known: {sorted(SINK_KEYS[kind])}."
        )
    if kind == "json" and not sink.get("path"):
        raise ConfigError(f"{where}: a json sink needs a path (the JSON-lines file to append to).")
    if kind != "webhook":
        return
    if not str(sink.get("url", "")).startswith(("http://", "https://")):
        raise ConfigError(f"{where}: a webhook sink needs a url starting with http:// or https://.")
    for key, what, ok in (
        ("attempts", "a whole number >= 1", lambda v: isinstance(v, int) and v >= 1),
        ("timeout", "a number of seconds > 0", lambda v: isinstance(v, (int, float)) and v > 0),
        ("backoff", "a number of seconds >= 0", lambda v: isinstance(v, (int, float)) and v >= 0),
    ):
        value = sink.get(key, 1)
        if isinstance(value, bool) or not ok(value):
            raise ConfigError(f"{where}: {key} must be {what}, got {value!r}.")


def sink_id(sink: dict) -> str:
    """A stable name for a sink spec, kept in the alert state (a digest: no URL, no token)."""
    digest = hashlib.sha256(json.dumps(sink, sort_keys=True).encode()).hexdigest()[:12]
    return f"{sink['type']}:{digest}"


def describe(sink: dict) -> str:
    """The sink as a log line names it: a webhook by its host only, since paths carry tokens."""
    if sink["type"] == "webhook":
        return f"webhook {urllib.parse.urlsplit(sink['url']).netloc.rsplit('@', 1)[-1]}"
    if sink["type"] == "json":
        return f"json {sink['path']}"
    return "log"


def may_pass(exc: BaseException) -> bool:
    """Whether trying the webhook again could succeed."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in (408, 429) or exc.code >= 500
    return isinstance(exc, OSError)  # refused, reset, unreachable, timed out


class DeliveryError(Exception):
    """A webhook that did not take the alert, and how many times it was tried."""

    def __init__(self, reason: BaseException, attempts: int) -> None:
        super().__init__(f"{reason} ({attempts} attempt{'' if attempts == 1 else 's'})")
        self.attempts = attempts


def post_webhook(alert: dict, sink: dict) -> int:
    """POST the alert, retrying with backoff while the failure may pass; returns the attempts
    made, or raises DeliveryError with the last reason and the count."""
    body = json.dumps(alert, ensure_ascii=False).encode()
    timeout = float(sink.get("timeout", 5))
    tries = 0

    def attempt() -> None:
        nonlocal tries
        tries += 1
        request = urllib.request.Request(
            sink["url"], data=body, method="POST", headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout):
            pass

    retrying = Retrying(
        stop=stop_after_attempt(int(sink.get("attempts", 4))),
        wait=wait_exponential(multiplier=float(sink.get("backoff", 1.0)), max=MAX_WAIT_S),
        retry=retry_if_exception(may_pass),
        reraise=True,
    )
    try:
        retrying(attempt)
    except Exception as exc:
        raise DeliveryError(exc, tries) from exc
    return tries


def send(alert: dict, sink: dict) -> None:
    """Deliver to one sink or raise why not."""
    if sink["type"] == "log":
        print(
            f"ALERT {alert['rule']}: {alert['metric']}={alert['value']:.4g} "
            f"{alert['op']} {alert['threshold']} ({alert['model']}, "
            f"{alert['window_start']} .. {alert['window_end']})",
            file=sys.stderr,
        )
    elif sink["type"] == "json":
        with open(sink["path"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(alert, ensure_ascii=False) + "\n")
    else:
        post_webhook(alert, sink)


def deliver(
    alert: dict, sinks: list[dict], skip: Collection[str] = ()
) -> tuple[list[str], list[str]]:
    """Send ``alert`` to every sink whose id is not in ``skip``; returns the ids of the sinks
    that took it and the failures as text. A broken sink never stops the others; each failure
    is logged with the rule, the sink and the reason."""
    taken, failures = [], []
    for i, sink in enumerate(sinks):
        if sink_id(sink) in skip:
            continue
        try:
            send(alert, sink)
        except Exception as exc:  # reported back and logged; other sinks still get the alert
            where = f"sink {i + 1} ({describe(sink)})"
            failures.append(f"{where}: {exc}")
            log.warning(
                "alert '%s' not delivered to %s: %s; the next evaluation tries again",
                alert["rule"],
                where,
                exc,
            )
        else:
            taken.append(sink_id(sink))
    return taken, failures
