"""fiscal truth: product taxes on known products; integration settings without iva_rate and
without ConexAPI's own fallback e-mail

Revision ID: d37ed504ff7c
Revises: 5d2e8f1a7c40
Create Date: 2026-11-30 18:00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "d37ed504ff7c"
down_revision: str | None = "5d2e8f1a7c40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The address every buyer without an e-mail used to get: not the seller's, so it goes (Ley 1581).
OLD_FALLBACK_EMAIL = "facturacion@conexapi.dev"


def _settings(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = json.loads(raw or "{}")
    return dict(raw or {})


def upgrade() -> None:
    with op.batch_alter_table("known_product") as batch:
        batch.add_column(sa.Column("tax_classification", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("taxes", sa.JSON(), nullable=True))
    op.execute(sa.text("UPDATE known_product SET taxes = '[]' WHERE taxes IS NULL"))
    with op.batch_alter_table("known_product") as batch:
        batch.alter_column("taxes", existing_type=sa.JSON(), nullable=False)

    integration = sa.table(
        "integration", sa.column("id", sa.Integer), sa.column("settings", sa.JSON)
    )
    bind = op.get_bind()
    for row_id, raw in bind.execute(sa.select(integration.c.id, integration.c.settings)).all():
        settings = _settings(raw)
        changed = False
        if "iva_rate" in settings:
            # The rate now comes from Siigo's tax catalog for each tax id.
            del settings["iva_rate"]
            changed = True
        if settings.get("fallback_email") == OLD_FALLBACK_EMAIL:
            settings["fallback_email"] = None
            changed = True
        if changed:
            bind.execute(
                integration.update().where(integration.c.id == row_id).values(settings=settings)
            )


def downgrade() -> None:
    with op.batch_alter_table("known_product") as batch:
        batch.drop_column("taxes")
        batch.drop_column("tax_classification")
