"""known product: product codes found active in Siigo, shared by every worker

Revision ID: 7e4b2c9a1d53
Revises: 3c1f0a7d9e52
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "7e4b2c9a1d53"
down_revision: str | None = "3c1f0a7d9e52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("checked_at", conexapi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connection.id"],
            name=op.f("fk_known_product_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_product")),
        sa.UniqueConstraint("connection_id", "code", name=op.f("uq_known_product_connection_id")),
    )


def downgrade() -> None:
    op.drop_table("known_product")
