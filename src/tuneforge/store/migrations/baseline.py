"""The store's schema as it stood before it was versioned: every ``tf_`` table that
``create_all`` made, frozen here so revision 0001 never changes when the models do.

Stores from that time may hold only some of these tables (``create_all`` made the tables of
the modules a process had imported), so adopting one creates the missing tables from these
same definitions before stamping it as revision 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, MetaData, Table, UniqueConstraint

METADATA = MetaData()
_UTC = sa.DateTime(timezone=True)  # the ORM's UTCDateTime stores this type

Table(
    "tf_runs",
    METADATA,
    Column("id", sa.String(128), primary_key=True),
    Column("name", sa.String(256), nullable=False),
    Column("state", sa.String(32), nullable=False, index=True),
    Column("run_dir", sa.Text, nullable=False),
    Column("model", sa.Text),
    Column("created_at", _UTC, nullable=False, index=True),
    Column("updated_at", _UTC, nullable=False),
    Column("finished_at", _UTC),
    Column("git_sha", sa.String(64)),
    Column("data_fingerprint", sa.String(128)),
    Column("seed", sa.BigInteger),
    Column("error", sa.Text),
)
Table(
    "tf_params",
    METADATA,
    Column("run_id", sa.String(128), ForeignKey("tf_runs.id"), primary_key=True),
    Column("key", sa.String(256), primary_key=True),
    Column("value", sa.Text, nullable=False),
)
Table(
    "tf_metrics",
    METADATA,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("run_id", sa.String(128), ForeignKey("tf_runs.id"), nullable=False, index=True),
    Column("step", sa.Integer, nullable=False),
    Column("epoch", sa.Float, nullable=False),
    Column("split", sa.String(32), nullable=False),
    Column("key", sa.String(128), nullable=False),
    Column("value", sa.Float, nullable=False),
    Column("created_at", _UTC, nullable=False),
)
Table(
    "tf_model_versions",
    METADATA,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("name", sa.String(128), nullable=False, index=True),
    Column("version", sa.Integer, nullable=False),
    Column("run_id", sa.String(128), nullable=False),
    Column("variant", sa.String(64), nullable=False),
    Column("artifact", sa.Text, nullable=False),
    Column("stage", sa.String(32), nullable=False),
    Column("forced", sa.Boolean, nullable=False),
    Column("note", sa.Text),
    Column("created_at", _UTC, nullable=False),
    UniqueConstraint("name", "version", name="uq_tf_model_version"),
)
Table(
    "tf_stage_events",
    METADATA,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("name", sa.String(128), nullable=False, index=True),
    Column("stage", sa.String(32), nullable=False),
    Column("version", sa.Integer, nullable=False),
    Column("action", sa.String(32), nullable=False),
    Column("at", _UTC, nullable=False),
)
Table(
    "tf_predictions",
    METADATA,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("at", _UTC, nullable=False, index=True),
    Column("model", sa.String(128), nullable=False, index=True),
    Column("version", sa.String(128)),
    Column("input_hash", sa.String(64), nullable=False),
    Column("input_length", sa.Integer, nullable=False),
    Column("input_text", sa.Text),
    Column("label", sa.String(256), nullable=False),
    Column("confidence", sa.Float, nullable=False),
    Column("latency_ms", sa.Float, nullable=False),
)
