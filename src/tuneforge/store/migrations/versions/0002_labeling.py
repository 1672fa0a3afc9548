"""Labeling queues (queues, items, annotations, suggestions) and model-version lineage.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # the ORM's UTCDateTime stores this type


def upgrade() -> None:
    op.create_table(
        "tf_label_queues",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
    )
    op.create_table(
        "tf_label_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "queue_id", sa.Integer, sa.ForeignKey("tf_label_queues.id"), nullable=False, index=True
        ),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("assigned_at", _UTC),
        sa.Column("batch", sa.String(64)),
        sa.UniqueConstraint("queue_id", "fingerprint", name="uq_tf_label_item"),
    )
    op.create_table(
        "tf_label_annotations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("tf_label_items.id"), nullable=False, index=True
        ),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("annotator", sa.String(256), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.UniqueConstraint("item_id", "annotator", name="uq_tf_label_annotation"),
    )
    op.create_table(
        "tf_label_suggestions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("tf_label_items.id"), nullable=False, index=True
        ),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("at", _UTC, nullable=False),
    )
    with op.batch_alter_table("tf_model_versions") as batch:
        batch.add_column(sa.Column("lineage", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tf_model_versions") as batch:
        batch.drop_column("lineage")
    for table in (
        "tf_label_suggestions",
        "tf_label_annotations",
        "tf_label_items",
        "tf_label_queues",
    ):
        op.drop_table(table)
