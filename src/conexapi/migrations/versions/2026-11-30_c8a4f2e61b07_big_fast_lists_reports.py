"""big sellers: sort key, list indexes, search indexes, state tallies and daily report stats

Revision ID: c8a4f2e61b07
Revises: c5a3e1f09b72
Create Date: 2026-11-30 19:00:00

- `sale.sort_at` (generated: the sale's date, else its creation) orders and filters every list;
  `sale.buyer_ident` is the buyer's identification, searchable.
- Indexes for every list filter (tenant/integration, state, date) and for the exact lookups of
  the search (order, pack, invoice number); a FULLTEXT index on the buyer on MariaDB.
- `sale_state_tally`: per integration and state, delta rows (+1/-1) written by triggers on every
  change of a sale's state, folded now and then (`operations.tally`): counts never scan `sale`.
- `sale_day_mark` (written by triggers when a sale or one of its documents changes) and
  `sale_day_stat` (the day's profit and reconciliation figures, recomputed from the marks by
  `reports.days`): reports read days, not sales.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import conexapi.db

revision: str = "c8a4f2e61b07"
down_revision: str | None = "c5a3e1f09b72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Any change that a report or the reconciliation reads marks the sale's day (old and new).
_DAY_FIELDS = (
    "state",
    "profit",
    "facts",
    "sale_date",
    "total",
    "error_message",
    "external_id",
    "buyer_name",
    "integration_id",
)

_MARIADB_TRIGGERS = [
    """CREATE TRIGGER trg_sale_ai AFTER INSERT ON sale FOR EACH ROW BEGIN
  INSERT INTO sale_state_tally (tenant_id, integration_id, state, n)
    VALUES (NEW.tenant_id, NEW.integration_id, NEW.state, 1);
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    VALUES (NEW.tenant_id, NEW.integration_id, COALESCE(NEW.sale_date, NEW.created_at));
END""",
    """CREATE TRIGGER trg_sale_au AFTER UPDATE ON sale FOR EACH ROW BEGIN
  IF NOT (OLD.state <=> NEW.state) OR NOT (OLD.integration_id <=> NEW.integration_id) THEN
    INSERT INTO sale_state_tally (tenant_id, integration_id, state, n)
      VALUES (OLD.tenant_id, OLD.integration_id, OLD.state, -1),
             (NEW.tenant_id, NEW.integration_id, NEW.state, 1);
  END IF;
  IF """
    + " OR ".join(f"NOT (OLD.{f} <=> NEW.{f})" for f in _DAY_FIELDS)
    + """ THEN
    INSERT INTO sale_day_mark (tenant_id, integration_id, at)
      VALUES (OLD.tenant_id, OLD.integration_id, COALESCE(OLD.sale_date, OLD.created_at)),
             (NEW.tenant_id, NEW.integration_id, COALESCE(NEW.sale_date, NEW.created_at));
  END IF;
END""",
    """CREATE TRIGGER trg_sale_ad AFTER DELETE ON sale FOR EACH ROW BEGIN
  INSERT INTO sale_state_tally (tenant_id, integration_id, state, n)
    VALUES (OLD.tenant_id, OLD.integration_id, OLD.state, -1);
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    VALUES (OLD.tenant_id, OLD.integration_id, COALESCE(OLD.sale_date, OLD.created_at));
END""",
    """CREATE TRIGGER trg_document_ai AFTER INSERT ON document FOR EACH ROW
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    SELECT tenant_id, integration_id, COALESCE(sale_date, created_at) FROM sale
    WHERE id = NEW.sale_id""",
    """CREATE TRIGGER trg_document_au AFTER UPDATE ON document FOR EACH ROW
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    SELECT tenant_id, integration_id, COALESCE(sale_date, created_at) FROM sale
    WHERE id = NEW.sale_id""",
]

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER trg_sale_ai AFTER INSERT ON sale BEGIN
  INSERT INTO sale_state_tally (tenant_id, integration_id, state, n)
    VALUES (NEW.tenant_id, NEW.integration_id, NEW.state, 1);
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    VALUES (NEW.tenant_id, NEW.integration_id, COALESCE(NEW.sale_date, NEW.created_at));
END""",
    """CREATE TRIGGER trg_sale_au_state AFTER UPDATE ON sale
  WHEN OLD.state IS NOT NEW.state OR OLD.integration_id IS NOT NEW.integration_id BEGIN
  INSERT INTO sale_state_tally (tenant_id, integration_id, state, n)
    VALUES (OLD.tenant_id, OLD.integration_id, OLD.state, -1),
           (NEW.tenant_id, NEW.integration_id, NEW.state, 1);
END""",
    """CREATE TRIGGER trg_sale_au_day AFTER UPDATE ON sale WHEN """
    + " OR ".join(f"OLD.{f} IS NOT NEW.{f}" for f in _DAY_FIELDS)
    + """ BEGIN
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    VALUES (OLD.tenant_id, OLD.integration_id, COALESCE(OLD.sale_date, OLD.created_at)),
           (NEW.tenant_id, NEW.integration_id, COALESCE(NEW.sale_date, NEW.created_at));
END""",
    """CREATE TRIGGER trg_sale_ad AFTER DELETE ON sale BEGIN
  INSERT INTO sale_state_tally (tenant_id, integration_id, state, n)
    VALUES (OLD.tenant_id, OLD.integration_id, OLD.state, -1);
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    VALUES (OLD.tenant_id, OLD.integration_id, COALESCE(OLD.sale_date, OLD.created_at));
END""",
    """CREATE TRIGGER trg_document_ai AFTER INSERT ON document BEGIN
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    SELECT tenant_id, integration_id, COALESCE(sale_date, created_at) FROM sale
    WHERE id = NEW.sale_id;
END""",
    """CREATE TRIGGER trg_document_au AFTER UPDATE ON document BEGIN
  INSERT INTO sale_day_mark (tenant_id, integration_id, at)
    SELECT tenant_id, integration_id, COALESCE(sale_date, created_at) FROM sale
    WHERE id = NEW.sale_id;
END""",
]

_TRIGGER_NAMES = (
    "trg_sale_ai",
    "trg_sale_au",
    "trg_sale_au_state",
    "trg_sale_au_day",
    "trg_sale_ad",
    "trg_document_ai",
    "trg_document_au",
)


def _fks(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=f"fk_{table}_tenant_id_tenant", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=f"fk_{table}_integration_id_integration",
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "sale",
        sa.Column("buyer_ident", sa.String(length=40), server_default="", nullable=False),
    )
    # SQLite adds only virtual generated columns to an existing table; MariaDB stores it.
    op.add_column(
        "sale",
        sa.Column(
            "sort_at",
            conexapi.db.UTCDateTime(),
            sa.Computed("coalesce(sale_date, created_at)", persisted=not sqlite),
            nullable=True,
        ),
    )
    op.create_index("ix_sale_tenant_sort", "sale", ["tenant_id", "sort_at", "id", "state"])
    op.drop_index("ix_sale_tenant_state", table_name="sale")  # ix_sale_tenant_state_sort has it
    op.create_index("ix_sale_tenant_state_sort", "sale", ["tenant_id", "state", "sort_at", "id"])
    op.create_index(
        "ix_sale_integration_sort", "sale", ["integration_id", "sort_at", "id", "state"]
    )
    op.create_index(
        "ix_sale_integration_state_sort", "sale", ["integration_id", "state", "sort_at", "id"]
    )
    op.create_index("ix_sale_external_id", "sale", ["external_id"])
    op.create_index("ix_sale_buyer_ident", "sale", ["buyer_ident"])
    # Words of the buyer's name and identification: FULLTEXT on MariaDB (prefix search in
    # boolean mode); SQLite has no FULLTEXT index, the same columns get a plain one there.
    op.create_index(
        "ft_sale_buyer",
        "sale",
        ["buyer_name", "buyer_ident"],
        mysql_prefix="FULLTEXT",
        mariadb_prefix="FULLTEXT",
    )
    op.create_index("ix_sale_order_order_id", "sale_order", ["order_id"])
    op.create_index("ix_document_tenant_number", "document", ["tenant_id", "number"])

    op.create_table(
        "sale_state_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        *_fks("sale_state_tally"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_state_tally")),
    )
    op.create_index(
        "ix_sale_state_tally_key", "sale_state_tally", ["tenant_id", "integration_id", "state"]
    )
    op.create_table(
        "sale_day_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("at", conexapi.db.UTCDateTime(), nullable=False),
        *_fks("sale_day_mark"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_day_mark")),
    )
    op.create_index("ix_sale_day_mark_tenant_at", "sale_day_mark", ["tenant_id", "at"])
    op.create_table(
        "sale_day_stat",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", conexapi.db.UTCDateTime(), nullable=False),
        *_fks("sale_day_stat"),
        sa.PrimaryKeyConstraint("integration_id", "day", name=op.f("pk_sale_day_stat")),
    )
    op.create_index("ix_sale_day_stat_tenant_day", "sale_day_stat", ["tenant_id", "day"])

    for ddl in _SQLITE_TRIGGERS if sqlite else _MARIADB_TRIGGERS:
        op.execute(ddl)
    # What exists already: one tally row per integration and state, every day marked.
    op.execute(
        "INSERT INTO sale_state_tally (tenant_id, integration_id, state, n) "
        "SELECT tenant_id, integration_id, state, COUNT(*) FROM sale "
        "GROUP BY tenant_id, integration_id, state"
    )
    op.execute(
        "INSERT INTO sale_day_mark (tenant_id, integration_id, at) "
        "SELECT DISTINCT tenant_id, integration_id, COALESCE(sale_date, created_at) FROM sale"
    )


def downgrade() -> None:
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_sale_day_stat_tenant_day", table_name="sale_day_stat")
    op.drop_table("sale_day_stat")
    op.drop_index("ix_sale_day_mark_tenant_at", table_name="sale_day_mark")
    op.drop_table("sale_day_mark")
    op.drop_index("ix_sale_state_tally_key", table_name="sale_state_tally")
    op.drop_table("sale_state_tally")
    op.drop_index("ix_document_tenant_number", table_name="document")
    op.drop_index("ix_sale_order_order_id", table_name="sale_order")
    op.drop_index("ft_sale_buyer", table_name="sale")
    op.drop_index("ix_sale_buyer_ident", table_name="sale")
    op.drop_index("ix_sale_external_id", table_name="sale")
    op.drop_index("ix_sale_integration_state_sort", table_name="sale")
    op.drop_index("ix_sale_integration_sort", table_name="sale")
    op.drop_index("ix_sale_tenant_state_sort", table_name="sale")
    op.create_index("ix_sale_tenant_state", "sale", ["tenant_id", "state"])
    op.drop_index("ix_sale_tenant_sort", table_name="sale")
    with op.batch_alter_table("sale") as batch:
        batch.drop_column("sort_at")
        batch.drop_column("buyer_ident")
