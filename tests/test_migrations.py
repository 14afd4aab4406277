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
