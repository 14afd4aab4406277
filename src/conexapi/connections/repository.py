"""SQL for connections, OAuth states and cached catalogs.

`TenantConnections` is what the API uses: every query is filtered by the tenant. `ConnectionStore`
serves the token managers and the sync worker, which act on a connection by id on behalf of
whichever tenant owns it (they never take an id from a request); its names say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import Connection, ErpCatalog, OAuthState
from conexapi.db import insert_ignore


def _is_sqlite(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "sqlite"


class TenantConnections:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def get(self, connection_id: int) -> Connection | None:
        result = await self.session.execute(
            select(Connection).where(
                Connection.id == connection_id, Connection.tenant_id == self.tenant_id
            )
        )
        return result.scalar_one_or_none()

    async def list(self) -> Sequence[Connection]:
        result = await self.session.execute(
            select(Connection).where(Connection.tenant_id == self.tenant_id).order_by(Connection.id)
        )
        return result.scalars().all()

    async def add_state(self, state: OAuthState) -> None:
        state.tenant_id = self.tenant_id
        self.session.add(state)
        await self.session.flush()


class ConnectionStore:
    """Access by connection id (workers, token managers) and by external account (OAuth)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, connection_id: int) -> Connection | None:
        result = await self.session.execute(
            select(Connection)
            .where(Connection.id == connection_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def lock(self, connection_id: int) -> Connection | None:
        """The row under an exclusive lock until the transaction ends, on both databases.

        MariaDB: `SELECT ... FOR UPDATE`. SQLite has no row locks: a no-op UPDATE first takes the
        database write lock (other writers, in any process, wait on busy_timeout) so the read
        that follows is the latest committed state and nobody can change it before we commit.
        """
        if _is_sqlite(self.session):
            await self.session.execute(
                update(Connection)
                .where(Connection.id == connection_id)
                .values(token_version=Connection.token_version)
                .execution_options(synchronize_session=False)
            )
        result = await self.session.execute(
            select(Connection)
            .where(Connection.id == connection_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def by_external(self, provider: str, external_account_id: str) -> Connection | None:
        result = await self.session.execute(
            select(Connection).where(
                Connection.provider == provider,
                Connection.external_account_id == external_account_id,
            )
        )
        return result.scalar_one_or_none()

    async def state(self, state_id: str, *, for_update: bool = False) -> OAuthState | None:
        stmt = select(OAuthState).where(OAuthState.id == state_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_state_used(self, state_id: str, now: datetime) -> bool:
        """Marks an unused state as used; False when someone else used it first (single use)."""
        result = await self.session.execute(
            update(OAuthState)
            .where(OAuthState.id == state_id, OAuthState.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class CatalogStore:
    """Cached Siigo catalogs of one connection (`erp_catalog` rows, one per kind)."""

    def __init__(self, session: AsyncSession, connection_id: int) -> None:
        self.session = session
        self.connection_id = connection_id

    async def all(self) -> dict[str, ErpCatalog]:
        result = await self.session.execute(
            select(ErpCatalog)
            .where(ErpCatalog.connection_id == self.connection_id)
            .execution_options(populate_existing=True)
        )
        return {row.kind: row for row in result.scalars()}

    async def get(self, kind: str) -> ErpCatalog | None:
        result = await self.session.execute(
            select(ErpCatalog)
            .where(ErpCatalog.connection_id == self.connection_id, ErpCatalog.kind == kind)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def save(self, kind: str, data: list[Any], now: datetime) -> None:
        """Upsert without races: insert-or-ignore, then update (two loaders may run at once)."""
        inserted = await insert_ignore(
            self.session,
            ErpCatalog,
            {"connection_id": self.connection_id, "kind": kind, "data": data, "fetched_at": now},
        )
        if not inserted:
            await self.session.execute(
                update(ErpCatalog)
                .where(ErpCatalog.connection_id == self.connection_id, ErpCatalog.kind == kind)
                .values(data=data, fetched_at=now)
                .execution_options(synchronize_session=False)
            )
