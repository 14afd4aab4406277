"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from conexapi.migrations import alembic_config, upgrade
from conexapi.models import Base


def _sync_url(url: str) -> str:
    return url.replace("+aiomysql", "+pymysql").replace("+aiosqlite", "")


def _differences(url: str) -> list[Any]:
    engine = sa.create_engine(_sync_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_models_schema(db_url: str) -> None:
    """`db_url` is built by `alembic upgrade head` (conftest): nothing left to autogenerate."""
    assert _differences(db_url) == []


def test_one_head_and_every_revision_goes_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    config = alembic_config(url)
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    from alembic import command

    upgrade(url)
    command.downgrade(config, "base")
    upgrade(url)
    assert _differences(url) == []


def test_the_fiscal_migration_cleans_integration_settings(tmp_path: Path) -> None:
    """iva_rate goes (the rate comes from Siigo's catalog) and ConexAPI's old fallback address
    is removed; a seller's own address stays."""
    from alembic import command

    url = f"sqlite+aiosqlite:///{tmp_path / 'fiscal.db'}"
    config = alembic_config(url)
    command.upgrade(config, "5d2e8f1a7c40")  # the revision before the fiscal one
    engine = sa.create_engine(_sync_url(url))
    now = "2026-11-30 00:00:00"
    rows = [
        (
            1,
            '{"iva_tax_id": 13157, "iva_rate": "19", "fallback_email": "facturacion@conexapi.dev"}',
        ),
        (2, '{"iva_rate": 5, "fallback_email": "ventas@tienda.co"}'),
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tenant (id, name, created_at, updated_at) VALUES (1, 't', :now, :now)"
            ),
            {"now": now},
        )
        for cid, provider in ((1, "mercadolibre"), (2, "siigo"), (3, "mercadolibre")):
            conn.execute(
                sa.text(
                    "INSERT INTO connection (id, tenant_id, provider, status, "
                    "external_account_id, account_name, token_version, meta, created_at, "
                    "updated_at) VALUES (:id, 1, :p, 'active', :id, '', 0, '{}', :now, :now)"
                ),
                {"id": cid, "p": provider, "now": now},
            )
        for iid, settings in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO integration (id, tenant_id, ml_connection_id, "
                    "siigo_connection_id, settings, proposals, active, created_at, updated_at) "
                    "VALUES (:id, 1, :ml, 2, :s, '{}', 1, :now, :now)"
                ),
                {"id": iid, "ml": 1 if iid == 1 else 3, "s": settings, "now": now},
            )
    engine.dispose()
    upgrade(url)
    engine = sa.create_engine(_sync_url(url))
    with engine.connect() as conn:
        stored: dict[Any, Any] = dict(
            conn.execute(sa.text("SELECT id, settings FROM integration")).all()
        )
    engine.dispose()
    import json

    first, second = (json.loads(stored[i]) for i in (1, 2))
    assert first == {"iva_tax_id": 13157, "fallback_email": None}
    assert second == {"fallback_email": "ventas@tienda.co"}
