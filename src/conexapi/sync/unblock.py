"""Sales waiting for a fix: SKUs (what each waits for, retried once they are mapped) and
integration settings (retried once a setting changes).

When a sale blocks on products Siigo has no (active) product for, it waits in `needs_attention`
and `integrations.unmapped_sku` lists the SKUs it waits for (`record_waiting`, written with the
sale's finish). Once every one of them has a mapping saved since — one by one, many at once, by
CSV, or by creating the product — the sale is due again (`resume_mapped_sales`): right after the
mapping is saved (the API and the dashboard call it) and, as a safety net for mappings saved any
other way, from the worker's upkeep.

When a seller changes an integration's settings (the API and the dashboard call
`resume_after_settings`), the integration's `needs_attention` sales a setting can fix are due
again: those missing a setting, those Siigo refused (a document type, seller, payment or tax
setting is the usual cause), and, when the consumidor-final fallback changed, those waiting for
the buyer's data. Sales waiting for SKUs or anything else a setting cannot fix keep waiting.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, and_, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import utcnow
from conexapi.integrations.models import ProductMapping, UnmappedSku
from conexapi.integrations.unmapped import record_unmapped
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sales.states import SaleState
from conexapi.sales.step import EventKind
from conexapi.sync.manual import BUYER_FIXABLE
from conexapi.sync.models import Sale, SaleEvent
from conexapi.sync.policy import actionable
from conexapi.sync.queue import Priority

log = structlog.get_logger("conexapi.unblock")

UNMAPPED = "unmapped_products"
MISSING_SETTINGS = "missing_settings"
# The setting whose change may fix a sale waiting for its buyer's data.
FALLBACK_SETTING = "consumer_fallback"
MAX_RESUMED = 10_000


async def record_waiting(
    session: AsyncSession,
    *,
    tenant_id: int,
    integration_id: int,
    sale_id: int,
    previous_code: str | None,
    code: str | None,
    data: Mapping[str, Any] | None,
    since: datetime,
) -> bool:
    """With a sale's finish: the SKUs it waits for now (from its step's data), as known when
    its attempt began (`since`), or none when it no longer waits for products. Costs nothing for
    sales that never waited for one.

    Returns True when one of those SKUs was mapped after `since`: the attempt could not see it,
    so the sale must go again now (a mapping saved while a worker held the sale would otherwise
    be lost: its finish overwrites the due time the mapping set)."""
    if code == UNMAPPED:
        titles = (data or {}).get("titles") or {}
        skus = [str(sku) for sku in (data or {}).get("skus") or list(titles)]
        await record_unmapped(
            session,
            tenant_id=tenant_id,
            integration_id=integration_id,
            sale_id=sale_id,
            titles={sku: str(titles.get(sku) or "") for sku in skus},
            since=since,
        )
        remapped = await session.execute(
            select(ProductMapping.id)
            .where(
                ProductMapping.integration_id == integration_id,
                ProductMapping.sku.in_(skus),
                ProductMapping.updated_at >= since,
            )
            .limit(1)
        )
        return remapped.first() is not None
    if previous_code == UNMAPPED:
        await record_unmapped(
            session, tenant_id=tenant_id, integration_id=integration_id, sale_id=sale_id, titles={}
        )
    return False


async def resume_mapped_sales(
    session: AsyncSession, *, tenant_id: int | None = None, integration_id: int | None = None
) -> int:
    """Makes due every sale waiting for SKUs that all have a mapping saved since it blocked
    (all of them: a sale waiting for two SKUs waits until both are mapped), with a timeline
    entry; their rows go. In the caller's transaction; returns how many sales."""
    mapped_since = exists().where(
        ProductMapping.integration_id == UnmappedSku.integration_id,
        ProductMapping.sku == UnmappedSku.sku,
        ProductMapping.updated_at >= UnmappedSku.created_at,
    )
    scope = []
    if tenant_id is not None:
        scope.append(UnmappedSku.tenant_id == tenant_id)
    if integration_id is not None:
        scope.append(UnmappedSku.integration_id == integration_id)
    still_waiting = select(UnmappedSku.sale_id).where(*scope, ~mapped_since)
    ready = list(
        (
            await session.execute(
                select(UnmappedSku.sale_id)
                .where(*scope, UnmappedSku.sale_id.notin_(still_waiting))
                .distinct()
            )
        ).scalars()
    )
    if not ready:
        return 0
    waiting = and_(
        Sale.id.in_(ready),
        Sale.state == SaleState.NEEDS_ATTENTION.value,
        Sale.error_code == UNMAPPED,
    )
    sales = [
        (int(sid), int(tid))
        for sid, tid in (await session.execute(select(Sale.id, Sale.tenant_id).where(waiting)))
    ]
    await _retry_now(session, sales, waiting, text("sync.retry_after_mapping"), {})
    # Rows of sales that moved on meanwhile are stale either way.
    await session.execute(delete(UnmappedSku).where(UnmappedSku.sale_id.in_(ready)))
    log.info("sales.unblocked_by_mapping", sales=len(sales), integration_id=integration_id)
    return len(sales)


async def resume_all_mapped(runtime: Runtime) -> int:
    """The upkeep's safety net: every integration, in its own transaction."""
    async with runtime.sessions() as session:
        count = await resume_mapped_sales(session)
        await session.commit()
    return count


async def resume_after_settings(
    session: AsyncSession, *, tenant_id: int, integration_id: int, changed: Collection[str]
) -> int:
    """Makes due (a person's fix: first in the queue, attempts from zero) the integration's
    `needs_attention` sales the settings just `changed` may fix, with a timeline entry. In the
    caller's transaction; returns how many sales (at most `MAX_RESUMED` at a time)."""
    if not changed:
        return 0
    fixable = or_(
        Sale.error_code == MISSING_SETTINGS,
        Sale.error_code.like("siigo\\_%", escape="\\"),
    )
    if FALLBACK_SETTING in changed:
        fixable = or_(fixable, Sale.error_code.in_(BUYER_FIXABLE))
    rows = (
        await session.execute(
            select(Sale.id, Sale.tenant_id, Sale.error_code)
            .where(
                Sale.tenant_id == tenant_id,
                Sale.integration_id == integration_id,
                Sale.state == SaleState.NEEDS_ATTENTION.value,
                fixable,
            )
            .limit(MAX_RESUMED)
        )
    ).all()
    # A wait on the connection (a pause, a re-authorization) is not the sale's to fix.
    sales = [(sid, tid) for sid, tid, code in rows if actionable(code)]
    if not sales:
        return 0
    still = and_(
        Sale.id.in_([sid for sid, _ in sales]), Sale.state == SaleState.NEEDS_ATTENTION.value
    )
    await _retry_now(
        session, sales, still, text("sync.retry_after_setting"), {"settings": sorted(changed)}
    )
    log.info("sales.unblocked_by_settings", sales=len(sales), integration_id=integration_id)
    return len(sales)


async def _retry_now(
    session: AsyncSession,
    sales: list[tuple[int, int]],
    where: ColumnElement[bool],
    message: str,
    data: dict[str, Any],
) -> None:
    """Makes `sales` ((sale id, tenant id) pairs, filtered again by `where`) due as a person's
    retry (first in the queue, attempts from zero), each with a timeline entry saying why."""
    if not sales:
        return
    now = utcnow()
    await session.execute(
        update(Sale)
        .where(where)
        .values(next_attempt_at=now, attempts=0, priority=int(Priority.RETRIED))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        insert(SaleEvent),
        [
            {
                "tenant_id": tid,
                "sale_id": sid,
                "kind": EventKind.RETRY_REQUESTED.value,
                "message": message,
                "data": data,
                "created_at": now,
            }
            for sid, tid in sales
        ],
    )
