"""Small async builders for test data (rows straight in the database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import Tenant
from conexapi.connections.models import Connection
from conexapi.integrations.models import Integration


async def create_tenant(session: AsyncSession, name: str = "Tienda") -> Tenant:
    tenant = Tenant(name=name)
    session.add(tenant)
    await session.flush()
    return tenant


async def create_integration(
    session: AsyncSession,
    tenant_id: int,
    *,
    seller_id: str = "779432305",
    siigo_account: str = "sandbox@conexapi.dev",
    settings: dict[str, Any] | None = None,
) -> Integration:
    ml = Connection(
        tenant_id=tenant_id,
        provider="mercadolibre",
        external_account_id=seller_id,
        account_name="TIENDA",
        meta={},
    )
    siigo = Connection(
        tenant_id=tenant_id,
        provider="siigo",
        external_account_id=f"{siigo_account}#{seller_id}",
        account_name=siigo_account,
        meta={},
    )
    session.add_all([ml, siigo])
    await session.flush()
    integration = Integration(
        tenant_id=tenant_id,
        ml_connection_id=ml.id,
        siigo_connection_id=siigo.id,
        settings=settings or {},
        proposals={},
    )
    session.add(integration)
    await session.flush()
    return integration
