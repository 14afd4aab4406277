"""token renewal marker: the renewal in flight on each connection, committed before the vendor call

Revision ID: 5d2e8f1a7c40
Revises: 7e4b2c9a1d53
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "5d2e8f1a7c40"
down_revision: str | None = "7e4b2c9a1d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connection") as batch:
        batch.add_column(sa.Column("refresh_owner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("refresh_started_at", conexapi.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connection") as batch:
        batch.drop_column("refresh_started_at")
        batch.drop_column("refresh_owner")
