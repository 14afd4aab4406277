"""notification inbox: pending notifications are applied by workers

Revision ID: 3c1f0a7d9e52
Revises: 9b6450a21fa6
Create Date: 2026-11-28 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c1f0a7d9e52"
down_revision: str | None = "9b6450a21fa6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notification_status_id", "notification", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notification_status_id", table_name="notification")
