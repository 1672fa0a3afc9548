"""RunStore: runs, parameters and metrics in a SQL database through SQLAlchemy.

SQLite under the runs directory by default; any SQLAlchemy URL (PostgreSQL for teams) through
``TUNEFORGE_STORE_URL``. Only portable column types and SQL are used, so the same tables work on
both. Callers get frozen dataclasses, never ORM objects or open sessions: a record can outlive
the store and cross threads without touching the database again.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ..errors import RunError

STATES = ("running", "succeeded", "failed", "interrupted")
# A run killed with SIGKILL never records its end, so "running" must be resumable too.
_RESUMABLE = ("running", "failed", "interrupted")
_UTC = dt.timezone.utc


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC in and out, on every backend.

    SQLite has no timezone type and hands back naive values; PostgreSQL hands back the session's
    zone. Normalising here means callers can always compare and subtract the datetimes they get.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(_UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


class Base(DeclarativeBase):
    """Metadata shared by every ``tf_`` table (the model registry adds its own)."""


class RunRow(Base):
    __tablename__ = "tf_runs"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(32), index=True)
    run_dir: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    git_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    seed: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ParamRow(Base):
    __tablename__ = "tf_params"
    run_id: Mapped[str] = mapped_column(ForeignKey("tf_runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MetricRow(Base):
    __tablename__ = "tf_metrics"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("tf_runs.id"), index=True)
    step: Mapped[int] = mapped_column(sa.Integer)
    epoch: Mapped[float] = mapped_column(sa.Float)
    split: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class RunRecord:
    """One row of ``tf_runs``, detached from any session."""

    id: str
    name: str
    state: str
    run_dir: str
    model: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    git_sha: str | None
    data_fingerprint: str | None
    seed: int | None
    error: str | None


@dataclass(frozen=True)
class MetricRecord:
    """One logged value: ``key`` of ``split`` at ``step``."""

    step: int
    epoch: float
    split: str
    key: str
    value: float


@dataclass(frozen=True)
class StoredRun:
    """The handle ``RunStore.start`` returns, so a training loop need not repeat the run id."""

    run_id: str
    store: RunStore

    def log_metrics(
        self, *, step: int, epoch: float, split: str, metrics: dict[str, Any]
    ) -> None:
        self.store.log_metrics(self.run_id, step=step, epoch=epoch, split=split, metrics=metrics)

    def finish(self, state: str, error: str | None = None) -> None:
        self.store.finish(self.run_id, state, error)


def _now() -> dt.datetime:
    return dt.datetime.now(_UTC)


def flatten(d: dict, prefix: str = "") -> dict[str, str]:
    """Nested config → ``{"train.lr": "0.0002", ...}``: one comparable string per leaf."""
    out: dict[str, str] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = "" if value is None else str(value)
    return out


def default_store_url(runs_dir: Path) -> str:
    """``$TUNEFORGE_STORE_URL``, else a SQLite file beside the runs it indexes."""
    return os.environ.get("TUNEFORGE_STORE_URL") or (
        f"sqlite:///{Path(runs_dir).resolve() / 'tuneforge.db'}"
    )


def _as_metric(value: Any) -> float | None:
    """A finite float, or None for values that are not metrics.

    Booleans and strings are flags and notes, not measurements. NaN is skipped because SQLite
    stores it as NULL (the whole insert would fail); the JSONL file still keeps it.
    """
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)  # also numpy and 0-d torch scalars
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # busy_timeout first: switching to WAL needs the lock, and a second process opening the
    # file at the same moment must wait for it rather than fail with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
    cur.execute("PRAGMA foreign_keys=ON")  # as PostgreSQL: no metrics for an unknown run
    cur.close()


def _record(row: RunRow) -> RunRecord:
    return RunRecord(**{f.name: getattr(row, f.name) for f in fields(RunRecord)})


class RunStore:
    """The index of runs. Every write is one short transaction: all of it lands or none."""

    def __init__(self, url: str) -> None:
        try:
            parsed = sa.make_url(url)
        except ArgumentError:
            raise RunError(
                f"Store URL '{url}' is not a SQLAlchemy database URL.",
                hint="Use e.g. sqlite:///runs/tuneforge.db or postgresql://user@host/db "
                "(set by TUNEFORGE_STORE_URL).",
            ) from None
        self.url = parsed.render_as_string(hide_password=True)
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = sa.create_engine(parsed)
        except ModuleNotFoundError as exc:
            raise RunError(
                f"Store URL '{self.url}' needs the database driver '{exc.name}', "
                "which is not installed.",
                hint=f"pip install {exc.name}",
            ) from None
        if sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_tables()

    def _create_tables(self) -> None:
        for attempt in range(3):
            try:
                Base.metadata.create_all(self.engine)
                return
            except DBAPIError as exc:
                # Two processes opening a fresh database both see no table and both CREATE it;
                # the loser retries and now finds the tables. Anything else is reported.
                if attempt == 2:
                    raise RunError(f"Cannot open the run store {self.url}: {exc.orig}") from exc

    def close(self) -> None:
        """Close pooled connections (tests and short-lived tools open many stores)."""
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        # session.begin() commits on success and rolls back on any exception.
        with Session(self.engine) as session, session.begin():
            yield session

    def start(
        self,
        run_id: str,
        name: str,
        run_dir: str,
        config: dict,
        *,
        model: str | None = None,
        git_sha: str | None = None,
        data_fingerprint: str | None = None,
        seed: int | None = None,
        resume: bool = False,
    ) -> StoredRun:
        """Record a new running run and its flattened config, or reopen one with ``resume``.

        Resuming keeps the run's params and metrics (trim replayed steps with
        ``delete_metrics_after``); ``resume`` must be explicit so a reused name never silently
        appends to an old run.
        """
        params = flatten(config)
        now = _now()
        try:
            with self._write() as session:
                row = session.get(RunRow, run_id, with_for_update=True)
                if row is None:
                    session.add(RunRow(
                        id=run_id, name=name, state="running", run_dir=run_dir, model=model,
                        created_at=now, updated_at=now, git_sha=git_sha, seed=seed,
                        data_fingerprint=data_fingerprint,
                    ))  # fmt: skip
                    session.flush()  # the run row must exist before rows that reference it
                    session.add_all(
                        ParamRow(run_id=run_id, key=k, value=v) for k, v in params.items()
                    )
                elif resume and row.state in _RESUMABLE:
                    # The record keeps what the run started with; only its state reopens.
                    row.state, row.updated_at, row.finished_at, row.error = "running", now, None, None
                else:
                    hint = (
                        "Choose another --name, or --resume it if it did not finish."
                        if row.state in _RESUMABLE
                        else "Choose another --name; a run that succeeded cannot be resumed."
                    )
                    raise RunError(
                        f"Run '{run_id}' is already in the store ({row.state}).", hint=hint
                    )
        except IntegrityError:
            raise RunError(
                f"Run '{run_id}' is already in the store: another process started it just now.",
                hint="Choose another --name.",
            ) from None
        return StoredRun(run_id, self)

    def log_metrics(
        self, run_id: str, *, step: int, epoch: float, split: str, metrics: dict[str, Any]
    ) -> None:
        """Record one row per numeric value; non-numeric and non-finite values are skipped."""
        now = _now()
        rows = [
            MetricRow(run_id=run_id, step=int(step), epoch=float(epoch), split=split, key=key,
                      value=number, created_at=now)  # fmt: skip
            for key, value in metrics.items()
            if (number := _as_metric(value)) is not None
        ]
        if not rows:
            return
        try:
            with self._write() as session:
                session.add_all(rows)
        except IntegrityError:
            raise RunError(f"Run '{run_id}' is not in the store; start it first.") from None

    def finish(self, run_id: str, state: str, error: str | None = None) -> None:
        """Mark the run ended as ``succeeded``, ``failed`` or ``interrupted``."""
        if state not in STATES[1:]:
            raise ValueError(f"finish state must be one of {STATES[1:]}, got {state!r}")
        with self._write() as session:
            row = session.get(RunRow, run_id, with_for_update=True)
            if row is None:
                raise RunError(f"Run '{run_id}' is not in the store.")
            row.state, row.error = state, error
            row.updated_at = row.finished_at = _now()

    def delete_metrics_after(self, run_id: str, step: int) -> int:
        """Drop metrics logged after ``step`` (a resumed run replays them); returns the count."""
        with self._write() as session:
            result = session.execute(
                delete(MetricRow).where(MetricRow.run_id == run_id, MetricRow.step > step)
            )
            return result.rowcount

    def get(self, run_id: str) -> RunRecord | None:
        with Session(self.engine) as session:
            row = session.get(RunRow, run_id)
            return _record(row) if row else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """Newest first."""
        query = select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit)
        with Session(self.engine) as session:
            return [_record(r) for r in session.scalars(query)]

    def params(self, run_id: str) -> dict[str, str]:
        with Session(self.engine) as session:
            rows = session.scalars(select(ParamRow).where(ParamRow.run_id == run_id))
            return {r.key: r.value for r in rows}

    def metrics(self, run_id: str, split: str | None = None) -> list[MetricRecord]:
        """In logging order: by step, then by insertion."""
        query = select(
            MetricRow.step, MetricRow.epoch, MetricRow.split, MetricRow.key, MetricRow.value
        ).where(MetricRow.run_id == run_id)
        if split is not None:
            query = query.where(MetricRow.split == split)
        with Session(self.engine) as session:
            rows = session.execute(query.order_by(MetricRow.step, MetricRow.id))
            return [MetricRecord(*r) for r in rows]

    def latest_metrics(self, run_id: str, split: str) -> dict[str, float]:
        """The last value of each key for ``split`` (e.g. the final test accuracy)."""
        return {m.key: m.value for m in self.metrics(run_id, split)}
