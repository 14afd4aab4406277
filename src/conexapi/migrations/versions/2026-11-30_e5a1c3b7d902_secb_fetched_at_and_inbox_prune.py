"""secb: when a sale was last read from MercadoLibre; notifications of unknown sellers dropped

`sale.fetched_at` lets notifications coalesce (one re-fetch per order per short window however
many arrive). Notifications of sellers nobody connected are no longer stored; those stored
before (junk anyone could post) are deleted.

Revision ID: e5a1c3b7d902
Revises: b41d7e2c9a15
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "e5a1c3b7d902"
down_revision: str | None = "b41d7e2c9a15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sale") as batch:
        batch.add_column(sa.Column("fetched_at", conexapi.db.UTCDateTime(), nullable=True))
    op.execute(sa.text("DELETE FROM notification WHERE status = 'ignored'"))


def downgrade() -> None:
    with op.batch_alter_table("sale") as batch:
        batch.drop_column("fetched_at")
