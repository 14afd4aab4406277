"""held tokens in rate buckets: a sale's first Siigo request set aside before its MercadoLibre
reads

Revision ID: f2c8d4a6b1e3
Revises: e5a1c7f3b920
Create Date: 2026-11-30 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "f2c8d4a6b1e3"
down_revision: str | None = "e5a1c7f3b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "rate_bucket", sa.Column("held", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("rate_bucket", sa.Column("held_until", conexapi.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rate_bucket") as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("held")
