"""Model registry: named model versions with stages, in the same database as the runs.

A version points at one artifact of one run (the trained model or an exported variant). Each
(name, stage) has at most one version; promotions and rollbacks are transactions, so concurrent
promotes and rollbacks never leave two production versions or a half-written row.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..errors import RunError
from .db import Base, RunStore, UTCDateTime
from .names import NAME_MAX, STAGES, check_name

_NAME_LENGTH = NAME_MAX  # the column's length: PostgreSQL refuses longer, SQLite would store it


class ModelVersionRow(Base):
    __tablename__ = "tf_model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_tf_model_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(_NAME_LENGTH), index=True)
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(64))
    artifact: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(32))  # staging | production | archived | none
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # JSON: where a retrained version came from (parent version, queue, label counts)
    lineage: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON: a differentially private version's budget (epsilon spent, delta, accountant)
    privacy: Mapped[str | None] = mapped_column(Text, nullable=True)


class StageEventRow(Base):
    """Every stage change, so a rollback knows what held the stage before."""

    __tablename__ = "tf_stage_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(_NAME_LENGTH), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))  # promote | rollback
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    run_id: str
    variant: str
    artifact: str
    stage: str
    forced: bool
    note: str | None
    created_at: dt.datetime
    lineage: dict | None = None
    privacy: dict | None = None  # ε spent and δ of a DP-trained version; None: not private


def _version(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(
        row.name,
        row.version,
        row.run_id,
        row.variant,
        row.artifact,
        row.stage,
        row.forced,
        row.note,
        row.created_at,
        json.loads(row.lineage) if row.lineage else None,
        json.loads(row.privacy) if row.privacy else None,
    )


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise RunError(f"Unknown stage '{stage}'. Stages: {', '.join(STAGES)}.")


def _check_name(name: str) -> None:
    """The name rule, so a model name is safe in paths and ``NAME@stage`` references; also one
    refusal on every backend (SQLite ignores a VARCHAR's length, PostgreSQL does not)."""
    check_name(name, "model name")


def _lock_name(session: Session, name: str) -> None:
    """Serialise this transaction with every other registry write to ``name``.

    A promote reads the stage's holder, then archives it; a rollback committed in between would
    leave two holders. Reads alone do not prevent that: PostgreSQL's read committed shows each
    statement the latest commits, and pysqlite runs SELECTs outside the transaction until the
    first write. So take the write lock first: SQLite's database lock (BEGIN IMMEDIATE, which
    waits out busy_timeout), or on PostgreSQL the name's rows FOR UPDATE (in id order, so two
    writers never deadlock). The first promote of a name has no rows to lock; the unique
    (name, version) then makes the loser retry.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    else:
        query = select(ModelVersionRow.id).where(ModelVersionRow.name == name)
        session.execute(query.order_by(ModelVersionRow.id).with_for_update())


def _stage_stack(session: Session, name: str, stage: str) -> list[int]:
    """The versions that held ``stage``, replayed from its events as a stack: a promotion
    pushes, a rollback pops, so rolling back twice walks two promotions back instead of
    flipping between two."""
    events = session.scalars(
        select(StageEventRow)
        .where(StageEventRow.name == name, StageEventRow.stage == stage)
        .order_by(StageEventRow.id)
    ).all()
    stack: list[int] = []
    for event in events:
        if event.action == "promote":
            stack.append(event.version)
        elif stack:
            stack.pop()
    return stack


class Registry:
    """Named, staged model versions on top of a RunStore's database."""

    def __init__(self, store: RunStore) -> None:
        self.engine = store.engine  # its tables came with the store's schema (migrations/)

    def _set_stage(self, session: Session, name: str, version: int, stage: str, action: str):
        for row in session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.stage == stage
            )
        ):
            row.stage = "archived"
        target = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.version == version
            )
        ).one()
        target.stage = stage
        session.add(
            StageEventRow(
                name=name,
                stage=stage,
                version=version,
                action=action,
                at=dt.datetime.now(dt.timezone.utc),
            )
        )

    def promote(
        self,
        name: str,
        run_id: str,
        variant: str,
        artifact: str,
        stage: str,
        *,
        forced: bool = False,
        note: str | None = None,
        lineage: dict | None = None,
        privacy: dict | None = None,
    ) -> ModelVersion:
        """Register a new version of ``name`` and give it ``stage``; retried on a race.
        ``lineage`` (JSON-able) says where a retrained version came from, ``privacy`` the
        differential-privacy budget it was trained under."""
        _check_stage(stage)
        _check_name(name)
        for attempt in range(20):
            try:
                with Session(self.engine) as session, session.begin():
                    _lock_name(session, name)
                    latest = session.scalar(
                        select(ModelVersionRow.version)
                        .where(ModelVersionRow.name == name)
                        .order_by(ModelVersionRow.version.desc())
                        .limit(1)
                    )
                    version = (latest or 0) + 1
                    session.add(
                        ModelVersionRow(
                            name=name,
                            version=version,
                            run_id=run_id,
                            variant=variant,
                            artifact=artifact,
                            stage="none",
                            forced=forced,
                            note=note,
                            created_at=dt.datetime.now(dt.timezone.utc),
                            lineage=json.dumps(lineage) if lineage else None,
                            privacy=json.dumps(privacy) if privacy else None,
                        )
                    )
                    session.flush()
                    self._set_stage(session, name, version, stage, "promote")
                return self.get(name, version)
            except (IntegrityError, OperationalError):
                # Another writer took this version number (or held the lock): try again.
                time.sleep(0.05 * (attempt + 1))
        raise RunError(f"Could not promote '{name}': the registry stayed busy; try again.")

    def rollback(self, name: str, stage: str) -> ModelVersion:
        """Give ``stage`` back to the version that held it before the current one."""
        _check_stage(stage)
        with Session(self.engine) as session, session.begin():
            _lock_name(session, name)
            current = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.stage == stage
                )
            ).first()
            if current is None:
                raise RunError(f"'{name}' has no {stage} version to roll back.")
            stack = _stage_stack(session, name, stage)
            if len(stack) < 2:
                raise RunError(
                    f"'{name}' has no earlier {stage} version than v{current.version}; "
                    "nothing was changed."
                )
            previous = stack[-2]
            self._set_stage(session, name, previous, stage, "rollback")
        return self.get(name, previous)

    def rollback_target(self, name: str, stage: str) -> int | None:
        """The version a rollback of ``stage`` would give it back to (None: no earlier one),
        read by the rule ``rollback`` applies, for a confirmation to name it."""
        _check_stage(stage)
        with Session(self.engine) as session:
            stack = _stage_stack(session, name, stage)
        return stack[-2] if len(stack) >= 2 else None

    def get(self, name: str, version: int) -> ModelVersion:
        with Session(self.engine) as session:
            row = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.version == version
                )
            ).one()
            return _version(row)

    def resolve(self, name: str, stage: str) -> ModelVersion:
        """The version of ``name`` currently in ``stage`` (``NAME@stage`` references)."""
        _check_stage(stage)
        with Session(self.engine) as session:
            row = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.stage == stage
                )
            ).first()
            if row is None:
                known = self.names()
                raise RunError(
                    f"No {stage} version of model '{name}'. Registered models: "
                    f"{', '.join(known) or 'none'}.",
                    hint="See 'tuneforge registry list'; promote one with "
                    "'tuneforge registry promote RUN --name NAME --stage STAGE'.",
                )
            return _version(row)

    def versions(self, name: str) -> list[ModelVersion]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.name == name)
                .order_by(ModelVersionRow.version)
            ).all()
            return [_version(r) for r in rows]

    def names(self) -> list[str]:
        with Session(self.engine) as session:
            return sorted(set(session.scalars(select(ModelVersionRow.name)).all()))
