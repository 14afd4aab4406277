"""fair scheduling: sale priority and deferral, paused claims per integration, fair-claim
indexes, adaptive rate buckets

Revision ID: e5a1c7f3b920
Revises: e5a1c3b7d902
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "e5a1c7f3b920"
down_revision: str | None = "e5a1c3b7d902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sale") as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("deferred_until", conexapi.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deferred_reason", sa.String(length=60), nullable=True))
        batch_op.create_index(
            "ix_sale_integration_due", ["integration_id", "priority", "next_attempt_at"]
        )
        batch_op.create_index("ix_sale_lease", ["lease_until"])
    with op.batch_alter_table("integration") as batch_op:
        batch_op.add_column(
            sa.Column("claims_paused_until", conexapi.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("claims_paused_reason", sa.String(length=60), nullable=True))
    with op.batch_alter_table("rate_bucket") as batch_op:
        batch_op.add_column(
            sa.Column("rate_factor", sa.Double(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("rate_bucket") as batch_op:
        batch_op.drop_column("rate_factor")
    with op.batch_alter_table("integration") as batch_op:
        batch_op.drop_column("claims_paused_reason")
        batch_op.drop_column("claims_paused_until")
    with op.batch_alter_table("sale") as batch_op:
        batch_op.drop_index("ix_sale_lease")
        batch_op.drop_index("ix_sale_integration_due")
        batch_op.drop_column("deferred_reason")
        batch_op.drop_column("deferred_until")
        batch_op.drop_column("priority")
