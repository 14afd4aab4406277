"""seller fixes: a sale's manual decisions (invoiced elsewhere, the buyer a person chose), the
invoice a previewing integration would send, and the integration's preview mode

Revision ID: c5a8f3e1d902
Revises: e5a1c3b7d902
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5a8f3e1d902"
down_revision: str | None = "e5a1c3b7d902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sale") as batch:
        batch.add_column(sa.Column("manual", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("preview", sa.JSON(), nullable=True))
    with op.batch_alter_table("integration") as batch:
        batch.add_column(
            sa.Column("preview", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("preview")
    with op.batch_alter_table("sale") as batch:
        batch.drop_column("preview")
        batch.drop_column("manual")
