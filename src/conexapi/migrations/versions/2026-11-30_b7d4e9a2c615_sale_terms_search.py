"""sale terms: an indexed, per-tenant table of what the search finds a sale by

Revision ID: b7d4e9a2c615
Revises: f2c8d4a6b1e3
Create Date: 2026-11-30 22:30:00

- `sale_term (tenant_id, kind, term, sale_id)`: kind "w" is each word of the buyer's name and
  identification, kind "k" each key of the sale's facts (the buyer's nickname, each line's SKU,
  the facts' identification when it differs from `buyer_ident`), lower case
  (`conexapi.sales.terms`).
- Triggers write the terms on every insert of a sale and rewrite them when its buyer or facts
  change, whatever writes the row; the sale's delete takes them by cascade. On MariaDB the
  triggers cut the words in SQL (the separators below are a frozen copy of
  `sales.terms.SEPARATORS`); SQLite's call `conexapi_sale_terms`, the Python function every
  SQLite connection of ConexAPI registers (`conexapi.db`).
- Existing sales are backfilled here, in batches of ids.
- The FULLTEXT index `ft_sale_buyer` goes: it was one index for every tenant (a small seller's
  search read the big sellers' matches), and the name search now reads `sale_term`.
"""

import string
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d4e9a2c615"
down_revision: str | None = "f2c8d4a6b1e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_LEN = 100
BATCH = 20_000
# Where words split: ASCII punctuation, whitespace, and the marks Spanish text uses.
_SEPARATORS = string.punctuation + "\t\n\r\u00a0¿¡«»“”‘’–—·"


def _spaced(expr: str) -> str:
    for ch in _SEPARATORS:
        expr = f"REPLACE({expr}, _utf8mb4 X'{ch.encode().hex()}', ' ')"
    return expr


def _words_json(row: str) -> str:
    """The words of the row's buyer name and identification, lower case, as a JSON array of
    strings (empty strings where separators repeat: the insert skips them)."""
    spaced = _spaced(f"CONCAT({row}.buyer_name, ' ', {row}.buyer_ident)")
    return f"CONCAT('[', REPLACE(JSON_QUOTE(LOWER({spaced})), ' ', '\",\"'), ']')"


def _inserts(dialect: str, row: str, *, where: tuple[str, ...] = ()) -> list[str]:
    """The INSERT ... SELECTs of a row's terms: `row` is NEW in a trigger, or `s` (the sale
    table) in the backfill, with `where` to take a batch."""
    batch = " AND ".join(where)
    source = "sale AS s, " if row == "s" else ""
    if dialect == "sqlite":
        terms = f"conexapi_sale_terms({row}.buyer_name, {row}.buyer_ident, {row}.facts)"
        return [
            "INSERT OR IGNORE INTO sale_term (tenant_id, kind, term, sale_id) "
            f"SELECT {row}.tenant_id, json_extract(t.value, '$[0]'), "
            f"json_extract(t.value, '$[1]'), {row}.id FROM {source}json_each({terms}) AS t"
            + (f" WHERE {batch}" if batch else "")
        ]
    facts = f"IF(JSON_VALID({row}.facts), {row}.facts, '{{}}')"
    ident = f"JSON_VALUE({facts}, '$.buyer.identification')"
    keys = (
        f"JSON_MERGE_PRESERVE(JSON_ARRAY(JSON_VALUE({facts}, '$.buyer_nickname'), "
        f"IF({ident} = {row}.buyer_ident, NULL, {ident})), "
        f"COALESCE(JSON_EXTRACT({facts}, '$.lines[*].sku'), JSON_ARRAY()))"
    )
    columns = "COLUMNS (term VARCHAR(1000) PATH '$' NULL ON ERROR)"
    more = f" AND {batch}" if batch else ""
    return [
        "INSERT IGNORE INTO sale_term (tenant_id, kind, term, sale_id) "
        f"SELECT {row}.tenant_id, 'w', LEFT(w.term, {TERM_LEN}), {row}.id "
        f"FROM {source}JSON_TABLE({_words_json(row)}, '$[*]' {columns}) AS w "
        f"WHERE w.term <> ''{more}",
        "INSERT IGNORE INTO sale_term (tenant_id, kind, term, sale_id) "
        f"SELECT {row}.tenant_id, 'k', LEFT(LOWER(TRIM(k.term)), {TERM_LEN}), {row}.id "
        f"FROM {source}JSON_TABLE({keys}, '$[*]' {columns}) AS k "
        f"WHERE TRIM(k.term) <> ''{more}",
    ]


_WATCHED = ("buyer_name", "buyer_ident", "facts")


def _triggers(dialect: str) -> list[str]:
    ins = _inserts(dialect, "NEW")
    if dialect == "mariadb":
        changed = " OR ".join(f"NOT (OLD.{c} <=> NEW.{c})" for c in _WATCHED)
        body = ";\n  ".join(ins)
        return [
            f"CREATE TRIGGER trg_sale_terms_ai AFTER INSERT ON sale FOR EACH ROW BEGIN\n"
            f"  {body};\nEND",
            f"CREATE TRIGGER trg_sale_terms_au AFTER UPDATE ON sale FOR EACH ROW BEGIN\n"
            f"  IF {changed} THEN\n"
            f"  DELETE FROM sale_term WHERE sale_id = NEW.id;\n  {body};\n  END IF;\nEND",
        ]
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    body = ";\n  ".join(ins)
    return [
        f"CREATE TRIGGER trg_sale_terms_ai AFTER INSERT ON sale BEGIN\n  {body};\nEND",
        f"CREATE TRIGGER trg_sale_terms_au AFTER UPDATE OF {', '.join(_WATCHED)} ON sale "
        f"WHEN {changed} BEGIN\n"
        f"  DELETE FROM sale_term WHERE sale_id = NEW.id;\n  {body};\nEND",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = "sqlite" if bind.dialect.name == "sqlite" else "mariadb"
    op.create_table(
        "sale_term",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("term", sa.String(length=TERM_LEN), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sale.id"], name=op.f("fk_sale_term_sale_id_sale"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "term", "sale_id", name=op.f("pk_sale_term")),
    )
    op.create_index(op.f("ix_sale_term_sale_id"), "sale_term", ["sale_id"])
    for ddl in _triggers(dialect):
        op.execute(ddl)
    # What exists already, a batch of ids at a time.
    top = bind.execute(sa.text("SELECT MAX(id) FROM sale")).scalar() or 0
    for first in range(0, int(top) + 1, BATCH):
        batch = (f"s.id > {first}", f"s.id <= {first + BATCH}")
        for statement in _inserts(dialect, "s", where=batch):
            op.execute(statement)
    op.drop_index("ft_sale_buyer", table_name="sale")


def downgrade() -> None:
    op.create_index(
        "ft_sale_buyer",
        "sale",
        ["buyer_name", "buyer_ident"],
        mysql_prefix="FULLTEXT",
        mariadb_prefix="FULLTEXT",
    )
    for name in ("trg_sale_terms_ai", "trg_sale_terms_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_sale_term_sale_id"), table_name="sale_term")
    op.drop_table("sale_term")
