"""sale_term and sale_pair carry the sale's sort key (`sort_at`)

Revision ID: b4e8d2f6a0c3
Revises: a9d2c6e4f1b8
Create Date: 2026-12-01 01:30:00

A search of a few hundred matches (a buyer's name, a SKU) read its page by looking each match
up in `sale` (through `ix_sale_tenant_id_sort`): 630 lookups scattered over a seller's whole
history, 9 ms on average and 20-45 ms when those index pages were not in MariaDB's memory, at
1,000,000 sales. With the sort key in the term and pair rows, the matches' range gives the
order itself, and only the sales needing attention (a small, busy part of
`ix_sale_tenant_state_sort`) are looked up (docs/big-sellers.md, "Search").

- Every term or pair row takes its sale's `sort_at` when inserted, whoever inserts it: on
  MariaDB a BEFORE INSERT trigger on each table sets it from the sale; SQLite (which cannot set
  NEW) updates the row just inserted, in an AFTER INSERT trigger.
- When a sale's `sort_at` changes (its date), an AFTER UPDATE trigger on `sale` copies it to its
  terms and pairs.
- Existing rows are filled here, in batches of sale ids.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "b4e8d2f6a0c3"
down_revision: str | None = "a9d2c6e4f1b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20_000
TABLES = {
    "sale_term": ("tenant_id", "kind", "term", "sale_id"),
    "sale_pair": ("tenant_id", "pair", "sale_id"),
}


def _triggers(dialect: str) -> list[str]:
    ddl = []
    for table, key in TABLES.items():
        if dialect == "mariadb":
            ddl.append(
                f"CREATE TRIGGER trg_{table}_sort_bi BEFORE INSERT ON {table} FOR EACH ROW "
                "SET NEW.sort_at = (SELECT s.sort_at FROM sale AS s WHERE s.id = NEW.sale_id)"
            )
        else:
            same = " AND ".join(f"{c} = NEW.{c}" for c in key)
            ddl.append(
                f"CREATE TRIGGER trg_{table}_sort_ai AFTER INSERT ON {table} BEGIN\n"
                f"  UPDATE {table} SET sort_at = "
                f"(SELECT s.sort_at FROM sale AS s WHERE s.id = NEW.sale_id) WHERE {same};\nEND"
            )
    copy = ";\n  ".join(
        f"UPDATE {table} SET sort_at = NEW.sort_at WHERE sale_id = NEW.id" for table in TABLES
    )
    if dialect == "mariadb":
        ddl.append(
            "CREATE TRIGGER trg_sale_sort_keys_au AFTER UPDATE ON sale FOR EACH ROW "
            f"BEGIN\n  IF NOT (OLD.sort_at <=> NEW.sort_at) THEN\n  {copy};\n  END IF;\nEND"
        )
    else:
        ddl.append(
            "CREATE TRIGGER trg_sale_sort_keys_au AFTER UPDATE OF sale_date, created_at ON sale "
            f"WHEN OLD.sort_at IS NOT NEW.sort_at BEGIN\n  {copy};\nEND"
        )
    return ddl


def _names(dialect: str) -> list[str]:
    kind = "bi" if dialect == "mariadb" else "ai"
    return [f"trg_{table}_sort_{kind}" for table in TABLES] + ["trg_sale_sort_keys_au"]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = "sqlite" if bind.dialect.name == "sqlite" else "mariadb"
    column_type = mysql.DATETIME(fsp=6) if dialect == "mariadb" else sa.DateTime()
    for table in TABLES:
        op.add_column(table, sa.Column("sort_at", column_type, nullable=True))
    for ddl in _triggers(dialect):
        op.execute(ddl)
    top = int(bind.execute(sa.text("SELECT MAX(id) FROM sale")).scalar() or 0)
    for first in range(0, top + 1, BATCH):
        ids = f"sale_id > {first} AND sale_id <= {first + BATCH}"
        for table in TABLES:
            if dialect == "mariadb":
                op.execute(
                    f"UPDATE {table} AS t JOIN sale AS s ON s.id = t.sale_id "
                    f"SET t.sort_at = s.sort_at WHERE t.{ids}"
                )
            else:
                op.execute(
                    f"UPDATE {table} SET sort_at = "
                    f"(SELECT s.sort_at FROM sale AS s WHERE s.id = {table}.sale_id) WHERE {ids}"
                )


def downgrade() -> None:
    dialect = "sqlite" if op.get_bind().dialect.name == "sqlite" else "mariadb"
    for name in _names(dialect):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in TABLES:
        # Not a batch table copy on SQLite: the triggers on `sale` name these tables.
        op.execute(f"ALTER TABLE {table} DROP COLUMN sort_at")
