"""Alert delivery: a webhook that fails is retried with backoff, a rule counts as fired only
once its alert is delivered, and a failure is logged and tried again at the next evaluation."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tuneforge.errors import ConfigError
from tuneforge.monitor.predlog import PredictionLog
from tuneforge.monitor.rules import AlertState, load_rules
from tuneforge.recipes.monitor import evaluate_rules
from tuneforge.store import RunStore
from tuneforge.types import Prediction

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


class FlakyReceiver:
    """A local HTTP server answering ``status`` to the first ``failures`` POSTs, then 204."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures, self.status = failures, status
        self.attempts = 0
        self.received: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                owner.attempts += 1
                if owner.failures:
                    owner.failures -= 1
                    self.send_response(owner.status)
                else:
                    owner.received.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[FlakyReceiver] = []

    def make(failures: int, status: int = 503) -> FlakyReceiver:
        made.append(FlakyReceiver(failures, status))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def store(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    log = PredictionLog(store, "news", "v1")

    async def write():
        await log.start()
        log.record(["a"] * 5, [Prediction("bearish", 0.9, [("bearish", 0.9)])] * 5, 3.0, at=T0)
        await log.stop()

    asyncio.run(write())
    return store


def _rules(tmp_path, *sinks: str):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {name: any, metric: count, op: '>=', threshold: 1, window: 1h,"
        " cooldown: 1h}\nsinks:\n" + "".join(f"  - {s}\n" for s in sinks)
    )
    return load_rules(path)


def _evaluate(store, rules, sinks, state, minutes: int = 1):
    return evaluate_rules(
        store, "news", None, rules, sinks, state, T0 + dt.timedelta(minutes=minutes)
    )


def test_webhook_that_fails_twice_is_retried_and_the_rule_marked_fired(store, tmp_path, receiver):
    """Two 503s then success: the alert is delivered once, after three attempts, and the rule
    is marked fired (so cool-down holds)."""
    server = receiver(failures=2)
    rules, sinks = _rules(tmp_path, f"{{type: webhook, url: '{server.url}', backoff: 0.001}}")
    state = AlertState(tmp_path / "state.json")
    (alert,) = _evaluate(store, rules, sinks, state)
    assert server.attempts == 3 and len(server.received) == 1
    assert alert["delivered"] and alert["sink_failures"] == []
    assert server.received[0]["rule"] == "any"
    assert state.cooling(rules[0], T0 + dt.timedelta(minutes=2))
    assert _evaluate(store, rules, sinks, state, minutes=2) == []  # cooling down


def test_undelivered_alert_is_logged_not_marked_fired_and_sent_again(
    store, tmp_path, receiver, caplog
):
    """A webhook that keeps failing: the failure is logged with the rule, the sink and the
    reason; the rule is not marked fired; the next evaluation tries the webhook again, while
    the JSON sink that already has the alert does not get it twice."""
    server = receiver(failures=10**6)
    alerts_file = tmp_path / "alerts.jsonl"
    rules, sinks = _rules(
        tmp_path,
        f"{{type: json, path: '{alerts_file}'}}",
        f"{{type: webhook, url: '{server.url}', attempts: 3, backoff: 0.001}}",
    )
    state = AlertState(tmp_path / "state.json")
    with caplog.at_level("WARNING", logger="tuneforge.monitor"):
        (alert,) = _evaluate(store, rules, sinks, state)
    assert not state.cooling(rules[0], T0 + dt.timedelta(minutes=2))
    assert not alert["delivered"] and server.attempts == 3
    assert len(alert["sink_failures"]) == 1 and "503" in alert["sink_failures"][0]
    (record,) = [r for r in caplog.records if "not delivered" in r.getMessage()]
    message = record.getMessage()
    assert "'any'" in message and f"127.0.0.1:{server.server.server_port}" in message
    assert "503" in message and "3 attempts" in message

    (again,) = _evaluate(store, rules, sinks, state, minutes=2)
    assert not again["delivered"] and server.attempts == 6
    assert len(alerts_file.read_text().splitlines()) == 1

    server.failures = 0  # the receiver is back
    state = AlertState(tmp_path / "state.json")  # also across a restart
    (third,) = _evaluate(store, rules, sinks, state, minutes=3)
    assert third["delivered"] and len(server.received) == 1
    assert len(alerts_file.read_text().splitlines()) == 1
    assert state.cooling(rules[0], T0 + dt.timedelta(minutes=4))


def test_a_refused_alert_is_not_retried(store, tmp_path, receiver):
    """A 4xx other than 408/429 means the receiver will never take this alert: one attempt,
    no waiting, and the failure names the status."""
    server = receiver(failures=10**6, status=400)
    rules, sinks = _rules(tmp_path, f"{{type: webhook, url: '{server.url}', attempts: 5}}")
    (alert,) = _evaluate(store, rules, sinks, AlertState(tmp_path / "s.json"))
    assert not alert["delivered"] and server.attempts == 1 and "400" in alert["sink_failures"][0]


def test_state_files_of_earlier_versions_still_cool_down(tmp_path):
    """A state file holding only rule → time (as written before partial deliveries were kept)
    is read as before."""
    rules, _ = _rules(tmp_path, "{type: log}")
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"any": T0.isoformat()}))
    assert AlertState(path).cooling(rules[0], T0 + dt.timedelta(minutes=5))


@pytest.mark.parametrize(
    "sink,message",
    [
        ("{type: webhook}", "needs a url"),
        ("{type: webhook, url: 'http://h/', attempts: 0}", "attempts"),
        ("{type: webhook, url: 'http://h/', backoff: soon}", "backoff"),
        ("{type: json}", "needs a path"),
    ],
)
def test_bad_sinks_are_refused_when_loaded(tmp_path, sink, message):
    """A sink that could never deliver is refused when the rules are loaded, naming the sink."""
    with pytest.raises(ConfigError, match=message):
        _rules(tmp_path, sink)
