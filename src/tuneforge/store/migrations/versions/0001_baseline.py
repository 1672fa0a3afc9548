"""Baseline: the tf_ tables as tuneforge made them before the schema was versioned.

Revision ID: 0001
Revises: none
"""

from alembic import op

from tuneforge.store.migrations.baseline import METADATA

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    METADATA.create_all(op.get_bind())


def downgrade() -> None:
    METADATA.drop_all(op.get_bind())
