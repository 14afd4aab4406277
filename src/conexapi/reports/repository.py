"""Tenant-scoped reads for the reports (built on the sales repository, never another tenant's)."""

from __future__ import annotations

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
    """Every sale of the range (Colombia dates), oldest first, with its documents."""
    repo = SaleRepository(session, tenant_id)
    filters = SaleFilter(date_from=date_from, date_to=date_to, integration_id=integration_id)
    sales, _ = await repo.page(filters, page=1, page_size=MAX_REPORT_SALES)
    docs = await repo.documents([s.id for s in sales])
    markets = await _marketplaces(session, tenant_id)
    rows = [
        SaleWithDocs(s, docs.get(s.id, []), markets.get(s.integration_id, "MercadoLibre"))
        for s in sales
    ]
    rows.sort(key=lambda r: (r.sale.sale_date or r.sale.created_at, r.sale.id))
    return rows


async def _marketplaces(session: AsyncSession, tenant_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Integration.id, Connection.provider)
        .join(Connection, Connection.id == Integration.ml_connection_id)
        .where(Integration.tenant_id == tenant_id)
    )
    return {iid: MARKETPLACE_NAMES.get(provider, provider.title()) for iid, provider in rows.all()}
