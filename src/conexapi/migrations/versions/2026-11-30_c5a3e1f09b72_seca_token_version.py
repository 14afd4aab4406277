"""token version: a per-user counter in every access token, bumped to revoke them all

Revision ID: c5a3e1f09b72
Revises: c5a8f3e1d902
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5a3e1f09b72"
down_revision: str | None = "c5a8f3e1d902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
    # The sign-in throttle now counts by hashed (account, address) keys: old rows mean nothing.
    op.execute("DELETE FROM login_throttle")


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("token_version")
