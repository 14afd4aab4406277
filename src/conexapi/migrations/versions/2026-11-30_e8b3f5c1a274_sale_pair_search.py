"""sale pairs: an indexed, per-tenant table of the word pairs of each buyer's name

Revision ID: e8b3f5c1a274
Revises: d4e7b2a9c613
Create Date: 2026-11-30 23:45:00

A search of two common words ("camila ospina") read both words' ranges of `sale_term`
(25,000-30,000 sales each at 1,000,000 sales) to find a few hundred sales with both.
`sale_pair (tenant_id, pair, sale_id)` holds every ordered pair "a b" of two different words
(kind "w" of `sale_term`) that do not begin with a digit, so that the search reads only the
pairs that match (`conexapi.sales.terms.sale_pairs`). A sale with more than 8 such words, or
one longer than 49 characters, has the single entry "*" instead (checked word by word).

- Triggers write the pairs on every insert of a sale and rewrite them when its buyer's name or
  identification change; the sale's delete takes them by cascade. On MariaDB they follow the
  `sale_term` triggers and pair the words those just stored; SQLite's call
  `conexapi_sale_pairs`, registered on every SQLite connection of ConexAPI (`conexapi.db`).
- Existing sales are backfilled here, in batches of ids.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b3f5c1a274"
down_revision: str | None = "d4e7b2a9c613"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAIR_LEN = 100
PAIR_WORDS = 8
PAIR_WORD_LEN = 49
BATCH = 20_000


def _letter(alias: str) -> str:
    return f"{alias}.kind = 'w' AND LEFT({alias}.term, 1) NOT BETWEEN '0' AND '9'"


def _mariadb_inserts(ids: str) -> list[str]:
    """The pairs (and overflow marks) of the sales whose ids satisfy `ids` (a condition on
    `{alias}.sale_id`), from their words already in `sale_term`."""
    over = (
        f"SELECT c.sale_id FROM sale_term AS c WHERE {_letter('c')} AND {ids.format(alias='c')} "
        f"GROUP BY c.sale_id HAVING COUNT(*) > {PAIR_WORDS} "
        f"OR MAX(CHAR_LENGTH(c.term)) > {PAIR_WORD_LEN}"
    )
    return [
        "INSERT IGNORE INTO sale_pair (tenant_id, pair, sale_id) "
        "SELECT a.tenant_id, CONCAT(a.term, ' ', b.term), a.sale_id "
        "FROM sale_term AS a JOIN sale_term AS b ON b.sale_id = a.sale_id "
        f"AND {_letter('b')} AND b.term <> a.term "
        f"WHERE {_letter('a')} AND {ids.format(alias='a')} AND a.sale_id NOT IN ({over})",
        "INSERT IGNORE INTO sale_pair (tenant_id, pair, sale_id) "
        "SELECT MIN(c.tenant_id), '*', c.sale_id FROM sale_term AS c "
        f"WHERE {_letter('c')} AND {ids.format(alias='c')} GROUP BY c.sale_id "
        f"HAVING COUNT(*) > {PAIR_WORDS} OR MAX(CHAR_LENGTH(c.term)) > {PAIR_WORD_LEN}",
    ]


def _sqlite_insert(row: str, where: str = "") -> str:
    source = "sale AS s, " if row == "s" else ""
    pairs = f"conexapi_sale_pairs({row}.buyer_name, {row}.buyer_ident)"
    return (
        "INSERT OR IGNORE INTO sale_pair (tenant_id, pair, sale_id) "
        f"SELECT {row}.tenant_id, t.value, {row}.id FROM {source}json_each({pairs}) AS t"
        + (f" WHERE {where}" if where else "")
    )


_WATCHED = ("buyer_name", "buyer_ident")


def _triggers(dialect: str) -> list[str]:
    if dialect == "mariadb":
        body = ";\n  ".join(_mariadb_inserts("{alias}.sale_id = NEW.id"))
        changed = " OR ".join(f"NOT (OLD.{c} <=> NEW.{c})" for c in _WATCHED)
        return [
            "CREATE TRIGGER trg_sale_pairs_ai AFTER INSERT ON sale FOR EACH ROW "
            f"FOLLOWS trg_sale_terms_ai BEGIN\n  {body};\nEND",
            "CREATE TRIGGER trg_sale_pairs_au AFTER UPDATE ON sale FOR EACH ROW "
            f"FOLLOWS trg_sale_terms_au BEGIN\n  IF {changed} THEN\n"
            f"  DELETE FROM sale_pair WHERE sale_id = NEW.id;\n  {body};\n  END IF;\nEND",
        ]
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    ins = _sqlite_insert("NEW")
    return [
        f"CREATE TRIGGER trg_sale_pairs_ai AFTER INSERT ON sale BEGIN\n  {ins};\nEND",
        f"CREATE TRIGGER trg_sale_pairs_au AFTER UPDATE OF {', '.join(_WATCHED)} ON sale "
        f"WHEN {changed} BEGIN\n"
        f"  DELETE FROM sale_pair WHERE sale_id = NEW.id;\n  {ins};\nEND",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = "sqlite" if bind.dialect.name == "sqlite" else "mariadb"
    op.create_table(
        "sale_pair",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pair", sa.String(length=PAIR_LEN), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sale.id"], name=op.f("fk_sale_pair_sale_id_sale"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "pair", "sale_id", name=op.f("pk_sale_pair")),
    )
    op.create_index(op.f("ix_sale_pair_sale_id"), "sale_pair", ["sale_id"])
    for ddl in _triggers(dialect):
        op.execute(ddl)
    top = bind.execute(sa.text("SELECT MAX(id) FROM sale")).scalar() or 0
    for first in range(0, int(top) + 1, BATCH):
        last = first + BATCH
        if dialect == "sqlite":
            op.execute(_sqlite_insert("s", f"s.id > {first} AND s.id <= {last}"))
        else:
            ids = f"{{alias}}.sale_id > {first} AND {{alias}}.sale_id <= {last}"
            for statement in _mariadb_inserts(ids):
                op.execute(statement)


def downgrade() -> None:
    for name in ("trg_sale_pairs_ai", "trg_sale_pairs_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_sale_pair_sale_id"), table_name="sale_pair")
    op.drop_table("sale_pair")
