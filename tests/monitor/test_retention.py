"""Logged inputs: redacted on the way into the store, blanked past a retention window on SQLite
and PostgreSQL (rows, hashes, labels, confidences and latencies stay), pruned by a server at
start, with a record of what each prune cleared."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tuneforge.errors import ConfigError
from tuneforge.monitor import retention
from tuneforge.monitor.predlog import PredictionLog, PredictionRow
from tuneforge.monitor.retention import (
    Retention,
    parse_retention,
    prune_inputs,
    read_prune_record,
    record_prune,
    window_text,
)
from tuneforge.store import RunStore
from tuneforge.types import Prediction

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _write(store, model, texts_at, **log_options) -> None:
    """Log one prediction per (text, time) through the real writer."""
    log = PredictionLog(store, model, "v1", log_inputs=True, flush_every_s=0.05, **log_options)

    async def write():
        await log.start()
        for text, at in texts_at:
            log.record([text], [Prediction("billing", 0.8, [("billing", 0.8)])], 4.0, at=at)
        await log.stop()

    asyncio.run(write())


def _rows(store, model=None) -> list[PredictionRow]:
    query = select(PredictionRow).order_by(PredictionRow.id)
    if model:
        query = query.where(PredictionRow.model == model)
    with Session(store.engine) as session:
        return list(session.scalars(query).all())


def test_logged_inputs_are_redacted_by_default_and_raw_only_when_asked(tmp_path):
    """--log-inputs stores placeholders for personal data; the hash is of the input as sent,
    so the same input is still recognised; redact_inputs=False stores the input as sent."""
    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    text = "refund to jane@example.com, card 4111 1111 1111 1111"
    _write(store, "redacted", [(text, NOW)])
    _write(store, "raw", [(text, NOW)], redact_inputs=False)
    redacted, raw = _rows(store, "redacted")[0], _rows(store, "raw")[0]
    assert redacted.input_text == "refund to [EMAIL], card [CARD]"
    assert raw.input_text == text
    assert redacted.input_hash == raw.input_hash and redacted.input_length == len(text)


def test_prune_blanks_old_inputs_and_keeps_the_rows(store_url):
    """Past the window only input_text is blanked; hash, label, confidence, latency and the
    newer inputs stay; a second prune clears nothing more (SQLite and PostgreSQL)."""
    store = RunStore(store_url)
    _write(
        store,
        "intents",
        [("old one", NOW - 40 * DAY), ("old two", NOW - 31 * DAY), ("recent", NOW - 2 * DAY)],
    )
    _write(store, "other", [("other old", NOW - 40 * DAY)])
    before = _rows(store)
    assert prune_inputs(store, parse_retention("30d"), model="intents", now=NOW) == 2
    after = _rows(store)
    assert [r.input_text for r in after] == [None, None, "recent", "other old"]
    for old, new in zip(before, after):
        assert (old.input_hash, old.label, old.confidence, old.latency_ms, old.input_length) == (
            new.input_hash,
            new.label,
            new.confidence,
            new.latency_ms,
            new.input_length,
        )
    assert prune_inputs(store, parse_retention("30d"), model="intents", now=NOW) == 0
    assert prune_inputs(store, parse_retention("30d"), now=NOW) == 1  # every model: "other"


def test_prune_works_in_batches(tmp_path, monkeypatch):
    """More old inputs than one batch are all cleared, batch after batch."""
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    _write(store, "m", [(f"text {i}", NOW - 40 * DAY) for i in range(5)])
    assert prune_inputs(store, 30 * DAY, now=NOW) == 5
    assert all(r.input_text is None for r in _rows(store))


@pytest.mark.parametrize("bad", ["30", "0d", "-3d", "thirty days", "", "3y"])
def test_a_retention_window_needs_a_unit_and_a_length(bad):
    """A bare number, zero, a negative or an unknown unit is a ConfigError saying the form."""
    with pytest.raises(ConfigError, match="retention window") as info:
        parse_retention(bad)
    assert "30d" in info.value.hint


def test_windows_read_and_print_in_their_units():
    """'30d' is 30 days and prints back as 30d; 2w and 90m likewise."""
    assert parse_retention("30d") == 30 * DAY
    assert [window_text(parse_retention(w)) for w in ("30d", "2w", "90m", "12h", "45s")] == [
        "30d",
        "2w",
        "90m",
        "12h",
        "45s",
    ]


def test_prune_records_add_up(tmp_path):
    """Each prune's record keeps its window, what it cleared and the total so far."""
    record_prune(tmp_path, "intents", 30 * DAY, 3, NOW, "serve")
    record = record_prune(tmp_path, "intents", 30 * DAY, 2, NOW + DAY, "monitor prune")
    assert read_prune_record(tmp_path, "intents") == record
    assert (record.window, record.cleared, record.cleared_total) == ("30d", 2, 5)
    assert read_prune_record(tmp_path, "never-pruned") is None


def test_a_server_with_retention_prunes_at_start(tmp_path):
    """A prediction log with a retention window blanks old inputs as soon as it starts, and
    records it for the dashboard."""
    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    old = dt.datetime.now(dt.timezone.utc) - 40 * DAY
    _write(store, "intents", [("old input", old)])
    keep = Retention(tmp_path, 30 * DAY)
    _write(store, "intents", [("new input", dt.datetime.now(dt.timezone.utc))], retention=keep)
    assert [r.input_text for r in _rows(store)] == [None, "new input"]
    record = read_prune_record(tmp_path, "intents")
    assert record is not None and (record.cleared, record.by, record.window) == (1, "serve", "30d")
    assert not keep.due(keep.last_run + 59) and keep.due(keep.last_run + keep.every_s)


def test_a_failing_prune_never_stops_the_log(tmp_path, caplog):
    """A prune that hits a database error is logged and tried again next period; the
    predictions are still written."""
    from sqlalchemy.exc import OperationalError

    class Broken(Retention):
        def prune(self, store, model, clock):
            raise OperationalError("UPDATE", {}, Exception("database is locked"))

    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    keep = Broken(tmp_path, 30 * DAY)
    _write(store, "intents", [("still written", dt.datetime.now(dt.timezone.utc))], retention=keep)
    assert [r.input_text for r in _rows(store)] == ["still written"]
    assert "cannot prune logged inputs" in caplog.text and keep.last_run is not None


def test_an_input_that_cannot_be_redacted_is_not_stored(tmp_path, monkeypatch, caplog):
    """When the detector fails, the row is written without its input (never raw), the failure
    is logged once and counted, and the writer goes on."""
    from tuneforge.data import pii

    def broken(text, kinds=None):
        raise ModuleNotFoundError("No module named 'phonenumbers'")

    monkeypatch.setattr(pii, "redact", broken)
    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    _write(store, "intents", [("call +44 20 7946 0958", NOW), ("and again", NOW)])
    assert [(r.input_text, r.label) for r in _rows(store)] == [(None, "billing")] * 2
    assert caplog.text.count("cannot redact an input") == 1
