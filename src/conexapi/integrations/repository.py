"""SQL for integrations and product mappings (tenant-scoped, plus a by-id view for the worker)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import utcnow
from conexapi.integrations.models import Integration, ProductMapping


class TenantIntegrations:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def get(self, integration_id: int) -> Integration | None:
        result = await self.session.execute(
            select(Integration).where(
                Integration.id == integration_id, Integration.tenant_id == self.tenant_id
            )
        )
        return result.scalar_one_or_none()

    async def list_all(self) -> Sequence[Integration]:
        result = await self.session.execute(
            select(Integration)
            .where(Integration.tenant_id == self.tenant_id)
            .order_by(Integration.id)
        )
        return result.scalars().all()

    async def by_ml_connection(self, ml_connection_id: int) -> Integration | None:
        # Not tenant-filtered on purpose: the unique key is global (one per ML account).
        result = await self.session.execute(
            select(Integration).where(Integration.ml_connection_id == ml_connection_id)
        )
        return result.scalar_one_or_none()

    async def mappings_page(
        self, integration_id: int, *, q: str | None, offset: int, limit: int
    ) -> tuple[Sequence[ProductMapping], int]:
        where = [
            ProductMapping.tenant_id == self.tenant_id,
            ProductMapping.integration_id == integration_id,
        ]
        if q:
            pattern = f"%{q.lower()}%"
            where.append(
                or_(
                    func.lower(ProductMapping.sku).like(pattern),
                    func.lower(ProductMapping.erp_code).like(pattern),
                )
            )
        total = (
            await self.session.execute(
                select(func.count()).select_from(ProductMapping).where(*where)
            )
        ).scalar_one()
        rows = (
            await self.session.execute(
                select(ProductMapping)
                .where(*where)
                .order_by(ProductMapping.sku)
                .offset(offset)
                .limit(limit)
            )
        ).scalars()
        return rows.all(), int(total)

    async def all_mappings(self, integration_id: int) -> Sequence[ProductMapping]:
        result = await self.session.execute(
            select(ProductMapping)
            .where(
                ProductMapping.tenant_id == self.tenant_id,
                ProductMapping.integration_id == integration_id,
            )
            .order_by(ProductMapping.sku)
        )
        return result.scalars().all()

    async def mappings_for(self, integration_id: int, skus: list[str]) -> dict[str, ProductMapping]:
        if not skus:
            return {}
        result = await self.session.execute(
            select(ProductMapping).where(
                ProductMapping.tenant_id == self.tenant_id,
                ProductMapping.integration_id == integration_id,
                ProductMapping.sku.in_(skus),
            )
        )
        return {m.sku: m for m in result.scalars()}

    async def upsert_mapping(self, integration_id: int, sku: str, erp_code: str) -> ProductMapping:
        existing = (await self.mappings_for(integration_id, [sku])).get(sku)
        if existing is not None:
            existing.erp_code = erp_code
            # Saved again (maybe the same code, its product re-activated): a change all the
            # same for the sales waiting for this SKU (`sync.unblock`).
            existing.updated_at = utcnow()
            return existing
        mapping = ProductMapping(
            tenant_id=self.tenant_id, integration_id=integration_id, sku=sku, erp_code=erp_code
        )
        self.session.add(mapping)
        return mapping

    async def delete_mapping(self, integration_id: int, sku: str) -> bool:
        result = await self.session.execute(
            delete(ProductMapping).where(
                ProductMapping.tenant_id == self.tenant_id,
                ProductMapping.integration_id == integration_id,
                ProductMapping.sku == sku,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def mapped_codes(
    session: AsyncSession, integration_id: int, skus: list[str]
) -> dict[str, str]:
    """Explicit SKU → code mappings of one integration (the worker acts by integration id)."""
    if not skus:
        return {}
    result = await session.execute(
        select(ProductMapping.sku, ProductMapping.erp_code).where(
            ProductMapping.integration_id == integration_id, ProductMapping.sku.in_(skus)
        )
    )
    return {str(sku): str(code) for sku, code in result.all()}
