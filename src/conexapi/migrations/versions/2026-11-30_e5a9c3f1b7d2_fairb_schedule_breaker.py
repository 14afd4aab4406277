"""fairb: a sale's failing-since time (dead after a time budget), the orders a search already
returned for it (prefetched), the breaker per Siigo company
(its tally of sent and refused documents, and the pause on the connection), and the index the
notification retention deletes by

Revision ID: e5a9c3f1b7d2
Revises: c8a4f2e61b07
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "e5a9c3f1b7d2"
down_revision: str | None = "c8a4f2e61b07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs on `sale` (SQLite adds and drops columns in place since 3.35): a batch copy
    # of the table would trip on its generated `sort_at` and lose its triggers.
    op.add_column("sale", sa.Column("failing_since", conexapi.db.UTCDateTime(), nullable=True))
    op.add_column("sale", sa.Column("prefetched", sa.JSON(), nullable=True))
    with op.batch_alter_table("connection") as batch:
        batch.add_column(sa.Column("paused_at", conexapi.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("pause_reason", sa.Text(), nullable=True))
    op.create_table(
        "siigo_tally",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "connection_id",
            sa.Integer(),
            sa.ForeignKey("connection.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hour", conexapi.db.UTCDateTime(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("last_codes", sa.JSON(), nullable=False),
        sa.UniqueConstraint("connection_id", "hour"),
    )
    op.create_index("ix_notification_received_at", "notification", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_received_at", table_name="notification")
    op.drop_table("siigo_tally")
    with op.batch_alter_table("connection") as batch:
        batch.drop_column("pause_reason")
        batch.drop_column("paused_at")
    op.drop_column("sale", "prefetched")
    op.drop_column("sale", "failing_since")
