"""Sales waiting for SKUs: every SKU must be mapped after the sale blocked, and a mapping saved
while a worker held the sale is not lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from conexapi.db import transaction, utcnow
from conexapi.integrations.models import UnmappedSku
from conexapi.integrations.repository import TenantIntegrations
from conexapi.runtime import Runtime
from conexapi.sync.models import Sale
from conexapi.sync.queue import provisional_sale
from conexapi.sync.unblock import UNMAPPED, record_waiting, resume_mapped_sales
from tests.builders import create_integration, create_tenant


async def _waiting_sale(runtime: Runtime) -> tuple[int, int, int]:
    async with transaction(runtime.sessions) as session:
        tenant = await create_tenant(session)
        integration = await create_integration(session, tenant.id)
        row = provisional_sale(tenant.id, integration.id, "2000001", utcnow())
        row.update(state="needs_attention", error_code=UNMAPPED, next_attempt_at=None)
        sale = Sale(**row)
        session.add(sale)
        await session.flush()
        await record_waiting(
            session,
            tenant_id=tenant.id,
            integration_id=integration.id,
            sale_id=sale.id,
            previous_code=None,
            code=UNMAPPED,
            data={"skus": ["A B", "C 'D'"], "titles": {"A B": "Producto A", "C 'D'": "Producto C"}},
            since=utcnow() - timedelta(seconds=5),
        )
        return tenant.id, integration.id, sale.id


async def _due(runtime: Runtime, sale_id: int) -> bool:
    async with runtime.sessions() as session:
        sale = await session.get(Sale, sale_id)
        assert sale is not None
        return sale.next_attempt_at is not None


async def test_a_sale_waiting_for_two_skus_goes_once_both_are_mapped(runtime: Runtime) -> None:
    tenant_id, integration_id, sale_id = await _waiting_sale(runtime)
    async with transaction(runtime.sessions) as session:
        await TenantIntegrations(session, tenant_id).upsert_mapping(integration_id, "A B", "AB")
        await session.flush()
        assert await resume_mapped_sales(session, integration_id=integration_id) == 0
    assert not await _due(runtime, sale_id)
    async with transaction(runtime.sessions) as session:
        await TenantIntegrations(session, tenant_id).upsert_mapping(integration_id, "C 'D'", "CD")
        await session.flush()
        assert await resume_mapped_sales(session, tenant_id=tenant_id) == 1
    assert await _due(runtime, sale_id)
    async with runtime.sessions() as session:
        assert (await session.execute(select(UnmappedSku))).first() is None


async def test_a_mapping_saved_during_an_attempt_sends_the_sale_again(runtime: Runtime) -> None:
    tenant_id, integration_id, sale_id = await _waiting_sale(runtime)
    began = utcnow()
    async with transaction(runtime.sessions) as session:
        repo = TenantIntegrations(session, tenant_id)
        await repo.upsert_mapping(integration_id, "A B", "AB")
        await repo.upsert_mapping(integration_id, "C 'D'", "CD")
    async with transaction(runtime.sessions) as session:
        # The attempt that began before the mapping ends still missing "A B": it must go again.
        again = await record_waiting(
            session,
            tenant_id=tenant_id,
            integration_id=integration_id,
            sale_id=sale_id,
            previous_code=UNMAPPED,
            code=UNMAPPED,
            data={"skus": ["A B"], "titles": {"A B": "Producto A"}},
            since=began,
        )
        assert again
        # An attempt that began after it, and still misses it, waits (the code itself fails).
        later = await record_waiting(
            session,
            tenant_id=tenant_id,
            integration_id=integration_id,
            sale_id=sale_id,
            previous_code=UNMAPPED,
            code=UNMAPPED,
            data={"skus": ["A B"], "titles": {"A B": "Producto A"}},
            since=utcnow(),
        )
        assert not later
        # Moving on (invoiced) clears what the sale waited for.
        await record_waiting(
            session,
            tenant_id=tenant_id,
            integration_id=integration_id,
            sale_id=sale_id,
            previous_code=UNMAPPED,
            code=None,
            data=None,
            since=utcnow(),
        )
    async with runtime.sessions() as session:
        assert (await session.execute(select(UnmappedSku))).first() is None
