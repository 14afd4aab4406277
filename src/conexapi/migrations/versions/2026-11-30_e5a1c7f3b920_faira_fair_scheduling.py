"""fair scheduling: sale priority and deferral, paused claims per integration, fair-claim
indexes, adaptive rate buckets

Revision ID: e5a1c7f3b920
Revises: e5a9c3f1b7d2
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "e5a1c7f3b920"
down_revision: str | None = "e5a9c3f1b7d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs on `sale`: a batch copy of the table would trip on its generated `sort_at`
    # and lose its tally triggers (SQLite adds and drops columns in place since 3.35).
    op.add_column(
        "sale", sa.Column("priority", sa.SmallInteger(), server_default="1", nullable=False)
    )
    op.add_column("sale", sa.Column("deferred_until", conexapi.db.UTCDateTime(), nullable=True))
    op.add_column("sale", sa.Column("deferred_reason", sa.String(length=60), nullable=True))
    op.create_index(
        "ix_sale_integration_due", "sale", ["integration_id", "priority", "next_attempt_at"]
    )
    op.create_index("ix_sale_lease", "sale", ["lease_until"])
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
    op.drop_index("ix_sale_lease", table_name="sale")
    op.drop_index("ix_sale_integration_due", table_name="sale")
    op.drop_column("sale", "deferred_reason")
    op.drop_column("sale", "deferred_until")
    op.drop_column("sale", "priority")
