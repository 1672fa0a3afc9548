"""RunStore: runs, parameters and metrics in a SQL database through SQLAlchemy.

SQLite under the runs directory by default; any SQLAlchemy URL (PostgreSQL for teams) through
``TUNEFORGE_STORE_URL``. Callers get frozen dataclasses, never ORM objects or open sessions.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ..errors import RunError


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "tf_runs"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(32), index=True)
    run_dir: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    git_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ParamRow(Base):
    __tablename__ = "tf_params"
    run_id: Mapped[str] = mapped_column(ForeignKey("tf_runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MetricRow(Base):
    __tablename__ = "tf_metrics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("tf_runs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[float] = mapped_column(Float)
    split: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class RunRecord:
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
    step: int
    epoch: float
    split: str
    key: str
    value: float


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    """Nested config → ``{"train.lr": "0.0002", ...}``."""
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = "" if value is None else str(value)
    return out


def default_store_url(runs_dir: Path) -> str:
    return os.environ.get("TUNEFORGE_STORE_URL") or (
        f"sqlite:///{Path(runs_dir).resolve() / 'tuneforge.db'}"
    )


def _record(row: RunRow) -> RunRecord:
    return RunRecord(**{f: getattr(row, f) for f in RunRecord.__dataclass_fields__})


class RunStore:
    """The index of runs. Every write is one short transaction: all of it lands or none."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            # WAL lets readers work beside a writer; the busy timeout makes concurrent
            # processes wait for the lock instead of failing with "database is locked".
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

        Base.metadata.create_all(self.engine)

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
    ) -> None:
        now = _now()
        with Session(self.engine) as session, session.begin():
            row = session.get(RunRow, run_id)
            if row is not None:
                if not resume or row.state == "succeeded":
                    raise RunError(
                        f"Run '{run_id}' is already in the store ({row.state}).",
                        hint="Choose another --name, or --resume it if it did not finish.",
                    )
                row.state, row.updated_at, row.finished_at, row.error = "running", now, None, None
                return
            session.add(
                RunRow(
                    id=run_id,
                    name=name,
                    state="running",
                    run_dir=run_dir,
                    model=model,
                    created_at=now,
                    updated_at=now,
                    git_sha=git_sha,
                    data_fingerprint=data_fingerprint,
                    seed=seed,
                )
            )
            session.flush()
            session.add_all(
                ParamRow(run_id=run_id, key=k, value=v) for k, v in flatten(config).items()
            )

    def log_metrics(
        self, run_id: str, *, step: int, epoch: float, split: str, metrics: dict
    ) -> None:
        now = _now()
        rows = [
            MetricRow(
                run_id=run_id,
                step=step,
                epoch=float(epoch),
                split=split,
                key=k,
                value=float(v),
                created_at=now,
            )
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ]
        if rows:
            with Session(self.engine) as session, session.begin():
                session.add_all(rows)

    def finish(self, run_id: str, state: str, error: str | None = None) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(RunRow, run_id)
            if row is None:
                raise RunError(f"Run '{run_id}' is not in the store.")
            row.state, row.error = state, error
            row.updated_at = row.finished_at = _now()

    def delete_metrics_after(self, run_id: str, step: int) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(MetricRow).where(MetricRow.run_id == run_id, MetricRow.step > step)
            )

    def get(self, run_id: str) -> RunRecord | None:
        with Session(self.engine) as session:
            row = session.get(RunRow, run_id)
            return _record(row) if row else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
            ).all()
            return [_record(r) for r in rows]

    def params(self, run_id: str) -> dict[str, str]:
        with Session(self.engine) as session:
            rows = session.scalars(select(ParamRow).where(ParamRow.run_id == run_id)).all()
            return {r.key: r.value for r in rows}

    def metrics(self, run_id: str, split: str | None = None) -> list[MetricRecord]:
        query = select(MetricRow).where(MetricRow.run_id == run_id)
        if split:
            query = query.where(MetricRow.split == split)
        with Session(self.engine) as session:
            rows = session.scalars(query.order_by(MetricRow.step, MetricRow.id)).all()
            return [MetricRecord(r.step, r.epoch, r.split, r.key, r.value) for r in rows]

    def latest_metrics(self, run_id: str, split: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for m in self.metrics(run_id, split):
            out[m.key] = m.value
        return out
