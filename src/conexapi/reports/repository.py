"""Tenant-scoped reads for the reports (built on the sales repository, never another tenant's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import Connection
from conexapi.integrations.models import Integration
from conexapi.operations.repository import SaleRepository
from conexapi.operations.schemas import SaleFilter
from conexapi.sync.models import Document, Sale

MARKETPLACE_NAMES = {"mercadolibre": "MercadoLibre"}
MAX_REPORT_SALES = 20_000


@dataclass(frozen=True)
class SaleWithDocs:
    sale: Sale
    documents: list[Document]
    marketplace: str


async def sales_in_range(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date | None,
    date_to: date | None,
    integration_id: int | None = None,
) -> list[SaleWithDocs]:
    """Every sale of the range (Colombia dates), oldest first, with its documents (the first
    MAX_REPORT_SALES of them: the from-scratch computation, for the fiscal review and the
    tests; the profit and reconciliation reports read days, `reports.days`)."""
    rows: list[SaleWithDocs] = []
    async for batch in iterate_range(
        session,
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        integration_id=integration_id,
    ):
        rows.extend(batch)
        if len(rows) >= MAX_REPORT_SALES:
            return rows[:MAX_REPORT_SALES]
    return rows


async def iterate_range(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date | None,
    date_to: date | None,
    integration_id: int | None = None,
    batch: int = 2_000,
) -> AsyncIterator[list[SaleWithDocs]]:
    """Every sale of the range, oldest first, with its documents, `batch` at a time (keyset):
    what the exports stream."""
    repo = SaleRepository(session, tenant_id)
    filters = SaleFilter(date_from=date_from, date_to=date_to, integration_id=integration_id)
    markets = await marketplaces(session, tenant_id)
    async for sales in repo.iterate(filters, batch=batch):
        docs = await repo.documents([s.id for s in sales])
        yield [
            SaleWithDocs(s, docs.get(s.id, []), markets.get(s.integration_id, "MercadoLibre"))
            for s in sales
        ]


async def marketplaces(session: AsyncSession, tenant_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Integration.id, Connection.provider)
        .join(Connection, Connection.id == Integration.ml_connection_id)
        .where(Integration.tenant_id == tenant_id)
    )
    return {iid: MARKETPLACE_NAMES.get(provider, provider.title()) for iid, provider in rows.all()}
