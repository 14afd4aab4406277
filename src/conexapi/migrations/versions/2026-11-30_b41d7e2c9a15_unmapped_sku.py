"""unmapped sku: sales waiting for a SKU that has no usable Siigo product

Revision ID: b41d7e2c9a15
Revises: d37ed504ff7c
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "b41d7e2c9a15"
down_revision: str | None = "d37ed504ff7c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unmapped_sku",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", conexapi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_unmapped_sku_integration_id_integration"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sale.id"], name=op.f("fk_unmapped_sku_sale_id_sale"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_unmapped_sku_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmapped_sku")),
        sa.UniqueConstraint("sale_id", "sku", name=op.f("uq_unmapped_sku_sale_id")),
    )
    op.create_index(
        "ix_unmapped_sku_integration_sku", "unmapped_sku", ["integration_id", "sku"], unique=False
    )
    op.create_index(op.f("ix_unmapped_sku_tenant_id"), "unmapped_sku", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_unmapped_sku_tenant_id"), table_name="unmapped_sku")
    op.drop_index("ix_unmapped_sku_integration_sku", table_name="unmapped_sku")
    op.drop_table("unmapped_sku")
