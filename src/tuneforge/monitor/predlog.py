"""The prediction log: every served prediction, written to the store off the request path.

Requests only append to an in-memory queue; a background thread writes the queue in batches,
one transaction each, so a slow database never slows a request and a kill loses at most the
last fraction of a second, never the store's consistency. When the database fails, the writer
says so once, keeps the rows and retries; the queue is bounded, so an outage that outlasts it
drops (and counts) new rows instead of growing the server's memory without limit.

Logged inputs (``log_inputs``) are stored with personal data replaced by placeholders
(``[EMAIL]``, ``[CARD]``, … : :mod:`tuneforge.data.pii`) unless ``redact_inputs`` is off; the
writer thread redacts, so requests never wait for it. The hash is of the input as received,
so the same input is still recognised. With a ``retention``, the writer thread also blanks
the inputs older than its window, at start and periodically (:mod:`tuneforge.monitor.retention`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, String, Text, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..errors import TuneforgeError
from ..store.db import Base, RunStore, UTCDateTime
from ..types import Prediction

if TYPE_CHECKING:
    from .retention import Retention

log = logging.getLogger("tuneforge.predlog")


class PredictionRow(Base):
    __tablename__ = "tf_predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    model: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    input_hash: Mapped[str] = mapped_column(String(64))
    input_length: Mapped[int] = mapped_column(Integer)
    input_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    label: Mapped[str] = mapped_column(String(256))
    confidence: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class LoggedPrediction:
    at: dt.datetime
    label: str
    confidence: float
    input_length: int
    latency_ms: float


class PredictionLog:
    """Asynchronous, batched writer of predictions for one served model."""

    def __init__(
        self,
        store: RunStore,
        model: str,
        version: str | None = None,
        log_inputs: bool = False,
        flush_every_s: float = 0.5,
        batch: int = 512,
        max_queue: int = 100_000,
        *,
        redact_inputs: bool = True,
        retention: Retention | None = None,
    ) -> None:
        self.store, self.engine = store, store.engine  # its schema is migrated when opened
        self.model, self.version, self.log_inputs = model, version, log_inputs
        self.redact_inputs, self.retention = redact_inputs, retention
        self.flush_every_s, self.batch = flush_every_s, batch
        self._queue: queue.Queue[dict] = queue.Queue(maxsize=max_queue)
        self._retry: list[dict] = []  # a batch the database refused, written before new rows
        self._failing = False
        self.dropped = 0  # rows refused because the queue was full
        self.unredacted = 0  # inputs left out because redacting them failed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tuneforge-predlog", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._flush_or_report()
        unwritten = len(self._retry) + self._queue.qsize()
        if unwritten:
            log.error("prediction log: %d prediction(s) not written at shutdown", unwritten)

    def record(
        self,
        inputs: Sequence[str | bytes],
        predictions: Sequence[Prediction],
        latency_ms: float,
        at: dt.datetime | None = None,
        *,
        lengths: Sequence[int] | None = None,
    ) -> None:
        """Queue one request's predictions; never blocks on the database.

        An input is a text, or an image's encoded bytes as uploaded: images are logged by the
        hash of those bytes only, even with ``log_inputs`` (the text column is no place for
        binary data, and the hash finds the same image again). ``lengths`` replaces the
        default length (characters, or bytes) where another measure matches the run's
        reference profile: the pixel count (H×W) of images."""
        when = at or dt.datetime.now(dt.timezone.utc)
        sizes = list(lengths) if lengths is not None else [len(v) for v in inputs]
        for value, size, pred in zip(inputs, sizes, predictions):
            text = None if isinstance(value, (bytes, bytearray)) else value
            raw = bytes(value) if text is None else text.encode("utf-8", "replace")
            row = {
                "at": when,
                "model": self.model,
                "version": self.version,
                "input_hash": hashlib.sha256(raw).hexdigest(),
                "input_length": int(size),
                "input_text": text if self.log_inputs else None,
                "label": pred.label,
                "confidence": float(pred.score),
                "latency_ms": float(latency_ms),
            }
            try:
                self._queue.put_nowait(row)
            except queue.Full:
                if not self.dropped:
                    log.error(
                        "prediction log: %d rows wait for the database; dropping new ones",
                        self._queue.qsize(),
                    )
                self.dropped += 1

    def _run(self) -> None:
        self._prune_if_due()
        while not self._stop.wait(self.flush_every_s):
            self._flush_or_report()
            self._prune_if_due()

    def _prune_if_due(self) -> None:
        """Blank the inputs past the retention window when due; a database error is reported
        and tried again at the next period, never raised (the log must go on)."""
        clock = time.monotonic()
        if self.retention is None or not self.retention.due(clock):
            return
        try:
            cleared = self.retention.prune(self.store, self.model, clock)
        except (SQLAlchemyError, OSError, TuneforgeError) as exc:
            self.retention.last_run = clock
            log.error("prediction log: cannot prune logged inputs, will retry: %s", exc)
        else:
            if cleared:
                log.info("prediction log: %d logged input(s) past retention cleared", cleared)

    def _prepared(self, row: dict) -> dict:
        """A queued row as stored: its input redacted unless the server logs inputs raw. An
        input that cannot be redacted (a detector missing or failing) is not stored at all —
        never stored raw — and the writer goes on."""
        if self.redact_inputs and row["input_text"]:
            try:
                from ..data.pii import redact

                row["input_text"] = redact(row["input_text"])
            except Exception as exc:  # the log must outlive any one input
                if not self.unredacted:
                    log.error("prediction log: cannot redact an input, not storing it: %r", exc)
                self.unredacted += 1
                row["input_text"] = None
        return row

    def _flush_or_report(self) -> None:
        """Write what is queued; a database error is reported once per outage, never raised:
        the thread must outlive the outage to write the rows when the database is back."""
        try:
            self._flush()
        except SQLAlchemyError as exc:  # the rows stay queued for the next try
            if not self._failing:
                log.error("prediction log: cannot write to the store, will retry: %s", exc)
            self._failing = True
        else:
            if self._failing:
                log.warning("prediction log: writing to the store again")
            self._failing = False

    def _flush(self) -> None:
        while True:
            rows, self._retry = self._retry, []
            while len(rows) < self.batch:
                try:
                    rows.append(self._prepared(self._queue.get_nowait()))
                except queue.Empty:
                    break
            if not rows:
                return
            try:
                # Core bulk insert of plain dicts: a fraction of the ORM's per-object cost,
                # which a busy server pays on the same cores as its requests.
                with Session(self.engine) as session, session.begin():
                    session.execute(insert(PredictionRow), rows)
            except Exception:
                self._retry = rows
                raise


def read_predictions(
    store: RunStore, model: str, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[LoggedPrediction]:
    """Logged predictions of ``model`` in [since, until), oldest first."""
    query = select(PredictionRow).where(PredictionRow.model == model)
    if since is not None:
        query = query.where(PredictionRow.at >= since)
    if until is not None:
        query = query.where(PredictionRow.at < until)
    with Session(store.engine) as session:
        rows = session.scalars(query.order_by(PredictionRow.at, PredictionRow.id)).all()
        return [
            LoggedPrediction(_utc(r.at), r.label, r.confidence, r.input_length, r.latency_ms)
            for r in rows
        ]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class LoggedInput:
    """A logged prediction with the input it was made for, as stored: redacted unless the server
    logged raw inputs; None unless it logged inputs (``tuneforge serve --log-inputs``) or once
    retention blanked it (``serve --retention``, ``monitor prune``)."""

    at: dt.datetime
    text: str | None
    label: str
    confidence: float
    version: str | None


def read_logged(
    store: RunStore, model: str, since: dt.datetime, until: dt.datetime
) -> list[LoggedInput]:
    """Predictions of ``model`` in [since, until) with their inputs (where logged), oldest
    first: what ``label from-log`` picks doubtful traffic from."""
    p = PredictionRow
    query = (
        select(p.at, p.input_text, p.label, p.confidence, p.version)
        .where(p.model == model, p.at >= since, p.at < until)
        .order_by(p.at, p.id)
    )
    with Session(store.engine) as session:
        return [
            LoggedInput(_utc(at), text, label, confidence, version)
            for at, text, label, confidence, version in session.execute(query)
        ]
