"""Prediction log, alert rules and sinks, and the watch flow end to end on a tiny model."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from tuneforge.errors import ConfigError
from tuneforge.monitor.drift import Profile
from tuneforge.monitor.predlog import PredictionLog, read_predictions
from tuneforge.monitor.rules import AlertState, load_rules, parse_duration
from tuneforge.recipes.monitor import evaluate_rules, window_stats
from tuneforge.store import RunStore
from tuneforge.types import Prediction

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
LABELS = ("bearish", "bullish", "neutral")


def _pred(label: str, score: float = 0.9) -> Prediction:
    return Prediction(label, score, [(label, score)])


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path / 'tf.db'}")


def _log(store, labels_by_minute: dict[int, list[str]]):
    log = PredictionLog(store, "news", "v1")

    async def write():
        await log.start()
        for minute, labels in labels_by_minute.items():
            log.record(
                [f"t{i}" for i in range(len(labels))],
                [_pred(x) for x in labels],
                3.0,
                at=T0 + dt.timedelta(minutes=minute),
            )
        await log.stop()

    asyncio.run(write())


def test_log_is_written_in_the_background_and_read_back(store):
    """Queued predictions land in the store with hash and length, not the text by default."""
    _log(store, {0: ["bullish", "neutral"], 5: ["bearish"]})
    rows = read_predictions(store, "news")
    assert [r.label for r in rows] == ["bullish", "neutral", "bearish"]
    assert rows[0].input_length == 2 and rows[0].latency_ms == 3.0
    assert read_predictions(store, "news", since=T0 + dt.timedelta(minutes=1)) == rows[2:]


def test_rules_fire_once_after_the_shift_with_cooldown(store, tmp_path):
    """A bearish-share rule fires when the window turns bearish, once, then cools down."""
    stream = {m: ["bullish", "neutral", "bearish"] for m in range(0, 30)}
    stream.update({m: ["bearish", "bearish", "bearish", "neutral"] for m in range(30, 60)})
    _log(store, stream)
    rules_file = tmp_path / "rules.yaml"
    alerts_file = tmp_path / "alerts.jsonl"
    rules_file.write_text(
        "rules:\n  - {name: bearish-surge, metric: label_share, label: bearish, op: '>',"
        " threshold: 0.5, window: 10m, cooldown: 1h, min_count: 10}\n"
        f"sinks:\n  - {{type: json, path: '{alerts_file}'}}\n"
    )
    rules, sinks = load_rules(rules_file)
    state = AlertState(tmp_path / "state.json")
    reference = Profile.from_predictions(
        LABELS, ["bullish", "neutral", "bearish"] * 10, [0.9] * 30, [2] * 30
    )
    fired_at = []
    for minute in range(5, 61, 5):
        now = T0 + dt.timedelta(minutes=minute)
        if evaluate_rules(store, "news", reference, rules, sinks, state, now):
            fired_at.append(minute)
    # The shift starts at minute 30; the 25–35 window is already 57% bearish. Then cool-down.
    assert fired_at == [35]
    alert = json.loads(alerts_file.read_text().splitlines()[0])
    assert alert["rule"] == "bearish-surge" and alert["value"] > 0.5
    stats = window_stats(
        store, "news", reference, T0 + dt.timedelta(minutes=40), T0 + dt.timedelta(minutes=50)
    )
    assert stats["psi"] > 0.2 and stats["count"] == 40


def test_webhook_sink_posts_the_alert(store, tmp_path, webhook):
    """The webhook sink POSTs the alert JSON to a local receiver."""
    url, received = webhook
    _log(store, {1: ["bearish"] * 5})
    rules_file = tmp_path / "r.yaml"
    rules_file.write_text(
        "rules:\n  - {name: any, metric: count, op: '>=', threshold: 1, window: 1h}\n"
        f"sinks:\n  - {{type: webhook, url: '{url}'}}\n"
    )
    rules, sinks = load_rules(rules_file)
    alerts = evaluate_rules(
        store,
        "news",
        None,
        rules,
        sinks,
        AlertState(tmp_path / "s.json"),
        T0 + dt.timedelta(minutes=2),
    )
    assert alerts and not alerts[0]["sink_failures"]
    assert received and received[0]["rule"] == "any" and received[0]["value"] == 5


@pytest.mark.parametrize(
    "body,message",
    [
        ("rules:\n  - {name: x, metric: nope, threshold: 1}\n", "metric must be"),
        ("rules:\n  - {name: x, metric: psi, threshold: 1, colour: red}\n", "unknown keys"),
        ("rules:\n  - {name: x, metric: label_share, threshold: 1}\n", "needs a label"),
        ("rules:\n  - {name: x, metric: psi, threshold: high}\n", "threshold must be"),
        ("rules:\n  - {name: x, metric: psi, op: '!=', threshold: 1}\n", "op must be"),
        ("rules: []\nsinks:\n  - {type: email}\n", "sink type"),
    ],
)
def test_bad_rules_name_the_rule(tmp_path, body, message):
    """Rule files with mistakes are refused with the rule and the problem named."""
    path = tmp_path / "rules.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_rules(path)


def test_durations():
    """Durations read as seconds, minutes, hours and days."""
    assert parse_duration("45s").total_seconds() == 45
    assert parse_duration("30m").total_seconds() == 1800
    assert parse_duration("2h").total_seconds() == 7200
    with pytest.raises(ConfigError):
        parse_duration("soon")


def test_writer_survives_a_database_outage_and_writes_the_rows_later(store, monkeypatch, caplog):
    """A failing database is reported once; the writer keeps the rows and writes them when the
    database answers again, instead of dying silently and losing everything after."""
    import tuneforge.monitor.predlog as predlog

    real_session, failures = predlog.Session, {"left": 3}

    def flaky_session(engine):
        if failures["left"]:
            failures["left"] -= 1
            raise predlog.SQLAlchemyError("database is locked")
        return real_session(engine)

    monkeypatch.setattr(predlog, "Session", flaky_session)
    log = PredictionLog(store, "news", "v1", flush_every_s=0.01)

    async def write():
        await log.start()
        log.record(["a", "b"], [_pred("bullish"), _pred("bearish")], 2.0, at=T0)
        while failures["left"]:
            await asyncio.sleep(0.01)
        log.record(["c"], [_pred("neutral")], 2.0, at=T0 + dt.timedelta(seconds=1))
        await log.stop()

    with caplog.at_level("WARNING", logger="tuneforge.predlog"):
        asyncio.run(write())
    assert [r.label for r in read_predictions(store, "news")] == ["bullish", "bearish", "neutral"]
    errors = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(errors) == 1
    assert any("again" in r.getMessage() for r in caplog.records)


def test_a_full_queue_drops_and_counts_new_rows_instead_of_growing(store):
    """The in-memory queue is bounded: beyond it, rows are counted as dropped, never block."""
    log = PredictionLog(store, "news", "v1", max_queue=3)
    log.record([f"t{i}" for i in range(5)], [_pred("bullish")] * 5, 1.0, at=T0)
    assert log.dropped == 2
    asyncio.run(log.stop())
    assert len(read_predictions(store, "news")) == 3


def test_abstentions_are_logged_and_counted_in_unknown_share(store, tmp_path):
    """A served abstention is logged with the unknown label; the window's unknown_share is
    the share of labels that are none of the model's, and a rule on it fires."""
    _log(store, {1: ["bullish", "unknown", "unknown", "neutral"]})
    assert [r.label for r in read_predictions(store, "news")].count("unknown") == 2
    reference = Profile.from_predictions(LABELS, list(LABELS), [0.9] * 3, [5] * 3)
    stats = window_stats(store, "news", reference, T0, T0 + dt.timedelta(minutes=10))
    assert stats["unknown_share"] == 0.5
    rules_file = tmp_path / "r.yaml"
    rules_file.write_text(
        "rules:\n  - {name: oos, metric: unknown_share, op: '>', threshold: 0.3, window: 1h}\n"
    )
    rules, _ = load_rules(rules_file)
    assert rules[0].fires(stats) == (True, 0.5)
