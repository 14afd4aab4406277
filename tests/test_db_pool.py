"""A pooled connection the server closed (a restart, a failover, a kill) is replaced at checkout
without a round trip, so the first request after a restart succeeds (MariaDB only: SQLite has
no server)."""

from __future__ import annotations

import asyncio

import pymysql
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conexapi.db import create_engine


@pytest.mark.mariadb
async def test_a_connection_the_server_closed_is_replaced_before_use(
    mariadb_migrated: str,
) -> None:
    engine = create_engine(mariadb_migrated)
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        # Back in the pool. The server closes it, as a restart closes every connection.
        url = make_url(mariadb_migrated)
        admin = pymysql.connect(
            host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
        )
        try:
            with admin.cursor() as cur:
                cur.execute(f"KILL CONNECTION {int(first)}")
        finally:
            admin.close()
        await asyncio.sleep(0.2)  # the end of stream reaches our event loop
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
