"""RunStore: runs, params and metrics in SQL. SQLite beside the runs by default, any SQLAlchemy URL
(PostgreSQL for teams) via ``TUNEFORGE_STORE_URL``, so only portable types and SQL are used.
Callers get frozen dataclasses, never ORM objects or sessions: records outlive the store."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ..errors import RunError
from .migrations import ensure_current

STATES = ("running", "succeeded", "failed", "interrupted", "pruned")
# A run killed with SIGKILL never records its end, so "running" must be resumable too.
_RESUMABLE = ("running", "failed", "interrupted")
_UTC = dt.timezone.utc


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC out of every backend (SQLite has no zone type; naive input counts as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return _as_utc(value).replace(tzinfo=None) if dialect.name == "sqlite" else _as_utc(value)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else _as_utc(value)


class Base(DeclarativeBase):
    """Metadata shared by every ``tf_`` table (the model registry and the prediction log add
    theirs). The tables are made by the revisions in migrations/, which must match it."""


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
    # 64-bit: NumPy takes seeds up to 2**32 - 1, past PostgreSQL's INTEGER (SQLite's has 64).
    seed: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
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


_RUN_COLUMNS = [getattr(RunRow, f.name) for f in fields(RunRecord)]


@dataclass(frozen=True)
class StoredRun:
    """What ``RunStore.start`` returns, so a training loop need not carry the run id around."""

    run_id: str
    store: RunStore

    def log_metrics(self, *, step: int, epoch: float, split: str, metrics: dict) -> None:
        self.store.log_metrics(self.run_id, step=step, epoch=epoch, split=split, metrics=metrics)

    def finish(self, state: str, error: str | None = None) -> None:
        self.store.finish(self.run_id, state, error)


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
    env = os.environ.get("TUNEFORGE_STORE_URL")
    return env or f"sqlite:///{Path(runs_dir).resolve() / 'tuneforge.db'}"


def _as_metric(value: Any) -> float | None:
    """A finite float, or None for flags and notes (bool, str). NaN is skipped: SQLite stores it
    as NULL, so the insert would fail (metrics.jsonl keeps it)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(value) else None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # busy_timeout: concurrent processes wait up to 30 s for the write lock instead of failing
    # with "database is locked" (set first: switching to WAL takes that lock). WAL: readers and
    # the writer do not block each other. foreign_keys: as on PostgreSQL, no orphan metrics.
    cur = dbapi_conn.cursor()
    for pragma in ("busy_timeout=30000", "journal_mode=WAL", "foreign_keys=ON"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _open_engine(url: str) -> sa.Engine:
    """An engine for ``url``, with errors that say what to fix instead of a driver traceback."""
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        hint = "Set TUNEFORGE_STORE_URL to e.g. postgresql://user@host/db, or unset it."
        raise RunError(f"Store URL '{url}' is not a database URL.", hint=hint) from None
    # Bare postgresql:// (and Heroku-style postgres://) get the psycopg 3 driver of the
    # `postgres` extra; SQLAlchemy would pick psycopg2, which we do not install.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(parsed)
    except ModuleNotFoundError as exc:
        msg = f"Store URL '{parsed.render_as_string()}' needs the driver '{exc.name}'."
        package = "'tuneforge[postgres]'" if exc.name == "psycopg" else exc.name
        raise RunError(msg, hint=f"Install it: pip install {package}") from None
    except NoSuchModuleError:
        msg = f"Store URL '{parsed.render_as_string()}' names no database SQLAlchemy knows."
        hint = "Use sqlite:///path/to/tuneforge.db or postgresql://user@host/db."
        raise RunError(msg, hint=hint) from None
    if sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _reopen(row: RunRow, resume: bool, now: dt.datetime) -> None:
    """Resume ``row`` (keeping its record, params and metrics), or refuse a second start."""
    if not (resume and row.state in _RESUMABLE):
        how = ", or --resume it." if row.state in _RESUMABLE else "; it cannot be resumed."
        msg = f"Run '{row.id}' is already in the store ({row.state})."
        raise RunError(msg, hint=f"Choose another --name{how}")
    row.state, row.error, row.finished_at, row.updated_at = "running", None, None, now


class RunStore:
    """The index of runs. Every write is one short transaction: all of it lands or none."""

    def __init__(self, url: str) -> None:
        self.engine = _open_engine(url)
        self.url = self.engine.url.render_as_string()  # password hidden
        # The schema is upgraded to the newest revision on every open (migrations/). Processes
        # opening one fresh database take turns under a lock; a backend without one races, and
        # the loser retries and finds the tables. Lasting errors raise.
        for attempt in range(3):
            try:
                ensure_current(self.engine)
                break
            except DBAPIError as exc:
                if attempt == 2:
                    raise RunError(f"Cannot open the run store {self.url}: {exc.orig}") from exc

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

        Resuming keeps the record, params and metrics (``delete_metrics_after`` trims replayed
        steps); it must be asked for, so a reused name never silently continues an old run.
        """
        params, now = flatten(config), dt.datetime.now(_UTC)
        try:
            with Session(self.engine) as session, session.begin():
                row = session.get(RunRow, run_id, with_for_update=True)
                if row is not None:
                    _reopen(row, resume, now)
                    return StoredRun(run_id, self)
                row = RunRow(id=run_id, name=name, state="running", run_dir=run_dir, model=model)
                row.created_at = row.updated_at = now
                row.git_sha, row.data_fingerprint, row.seed = git_sha, data_fingerprint, seed
                session.add(row)
                session.flush()  # the run row must exist before the rows that reference it
                session.add_all(ParamRow(run_id=run_id, key=k, value=p) for k, p in params.items())
        except IntegrityError:  # the same id inserted by a concurrent start
            msg = f"Run '{run_id}' is already in the store: another process just started it."
            raise RunError(msg, hint="Choose another --name.") from None
        return StoredRun(run_id, self)

    def log_metrics(
        self, run_id: str, *, step: int, epoch: float, split: str, metrics: dict[str, Any]
    ) -> None:
        """One row per numeric value, in one transaction; other values are skipped."""
        now = dt.datetime.now(_UTC)
        values = {k: n for k, v in metrics.items() if (n := _as_metric(v)) is not None}
        if not values:
            return
        common = {"run_id": run_id, "step": int(step), "epoch": float(epoch), "split": split}
        rows = [{**common, "key": k, "value": n, "created_at": now} for k, n in values.items()]
        try:
            with Session(self.engine) as session, session.begin():
                session.execute(sa.insert(MetricRow), rows)
        except IntegrityError:
            raise RunError(f"Run '{run_id}' is not in the store; start it first.") from None

    def finish(self, run_id: str, state: str, error: str | None = None) -> None:
        """Mark the run ended: succeeded, failed, interrupted or pruned (by a search)."""
        if state not in STATES[1:]:
            raise ValueError(f"finish state must be one of {STATES[1:]}, got {state!r}")
        with Session(self.engine) as session, session.begin():
            row = session.get(RunRow, run_id, with_for_update=True)
            if row is None:
                raise RunError(f"Run '{run_id}' is not in the store.")
            row.state, row.error = state, error
            row.updated_at = row.finished_at = dt.datetime.now(_UTC)

    def delete_metrics_after(self, run_id: str, step: int) -> int:
        """Drop metrics logged after ``step``, which a resumed run replays; returns the count."""
        query = delete(MetricRow).where(MetricRow.run_id == run_id, MetricRow.step > step)
        with Session(self.engine) as session, session.begin():
            return session.execute(query).rowcount

    def _rows(self, query: sa.Select) -> list[sa.Row]:
        """Plain rows, read in a short transaction: no session outlives the call."""
        with Session(self.engine) as session:
            return list(session.execute(query))

    def get(self, run_id: str) -> RunRecord | None:
        rows = self._rows(select(*_RUN_COLUMNS).where(RunRow.id == run_id))
        return RunRecord(*rows[0]) if rows else None

    def list_runs(self, limit: int | None = 50) -> list[RunRecord]:
        """Newest first; ``limit=None`` lists them all."""
        query = select(*_RUN_COLUMNS).order_by(RunRow.created_at.desc(), RunRow.id.desc())
        return [RunRecord(*r) for r in self._rows(query.limit(limit))]

    def params(self, run_id: str) -> dict[str, str]:
        query = select(ParamRow.key, ParamRow.value).where(ParamRow.run_id == run_id)
        return {key: value for key, value in self._rows(query)}

    def metrics(self, run_id: str, split: str | None = None) -> list[MetricRecord]:
        """In logging order: by step, then by insertion."""
        m = MetricRow
        query = select(m.step, m.epoch, m.split, m.key, m.value).where(m.run_id == run_id)
        if split is not None:
            query = query.where(m.split == split)
        return [MetricRecord(*r) for r in self._rows(query.order_by(m.step, m.id))]

    def latest_metrics(self, run_id: str, split: str) -> dict[str, float]:
        """The last value of each key for ``split`` (e.g. the final test accuracy)."""
        return {m.key: m.value for m in self.metrics(run_id, split)}

    def latest_metrics_by_run(self, split: str, keys: list[str]) -> dict[str, dict[str, float]]:
        """The last value of each of ``keys`` for ``split``, for every run, in one query: a
        page listing a thousand runs must not cost a thousand round trips."""
        m = MetricRow
        query = select(m.run_id, m.key, m.value).where(m.split == split, m.key.in_(keys))
        out: dict[str, dict[str, float]] = {}
        for run_id, key, value in self._rows(query.order_by(m.step, m.id)):
            out.setdefault(run_id, {})[key] = value  # later rows overwrite: the last one stays
        return out

    def params_by_run(self, keys: list[str]) -> dict[str, dict[str, str]]:
        """``keys`` of every run's flattened config, in one query (see latest_metrics_by_run)."""
        query = select(ParamRow.run_id, ParamRow.key, ParamRow.value).where(ParamRow.key.in_(keys))
        out: dict[str, dict[str, str]] = {}
        for run_id, key, value in self._rows(query):
            out.setdefault(run_id, {})[key] = value
        return out
