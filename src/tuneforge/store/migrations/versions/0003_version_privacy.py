"""The differential-privacy budget a model version was trained under (ε spent, δ).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tf_model_versions") as batch:
        batch.add_column(sa.Column("privacy", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tf_model_versions") as batch:
        batch.drop_column("privacy")
