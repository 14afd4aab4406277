"""The inbox's consumer: stored order notifications become due sales.

The webhook only stores (`inbox.batcher`): a notification about an order is committed as
`pending` and answered. Workers then apply what is pending, many at a time, before they claim
sales: each order's sale is made due, or a provisional sale is created for an order never seen
(the worker re-keys it to its pack). A crash anywhere leaves the notifications `pending` and the
next worker applies them; applying one twice only makes a sale due twice, which is harmless.
Several workers split the pending rows with `SKIP LOCKED`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.db import insert_many_ignore, retry_on_lock_conflict, utcnow
from conexapi.inbox.models import Notification, NotificationStatus
from conexapi.inbox.service import ORDER_RESOURCE
from conexapi.sync.models import Sale, SaleEvent, SaleOrder
from conexapi.sync.queue import NOT_REOPENED, provisional_sale

APPLY_BATCH = 500


async def apply_pending(
    sessions: async_sessionmaker[AsyncSession], *, limit: int = APPLY_BATCH
) -> int:
    """Applies up to `limit` pending notifications in one transaction; returns how many."""

    async def once() -> int:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Notification.id,
                        Notification.tenant_id,
                        Notification.integration_id,
                        Notification.resource,
                    )
                    .where(Notification.status == NotificationStatus.PENDING.value)
                    .order_by(Notification.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            due: dict[tuple[int, str], int] = {}  # (integration, order) -> tenant
            for _, tenant_id, integration_id, resource in rows:
                match = ORDER_RESOURCE.match(resource)
                if match and tenant_id is not None and integration_id is not None:
                    due[(integration_id, match.group(1))] = tenant_id
            if due:
                await make_orders_due(session, due)
            await session.execute(
                update(Notification)
                .where(Notification.id.in_([row[0] for row in rows]))
                .values(status=NotificationStatus.ACCEPTED.value)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            return len(rows)

    return await retry_on_lock_conflict(once)


async def make_orders_due(session: AsyncSession, due: dict[tuple[int, str], int]) -> None:
    """Known orders: their sale becomes due. New orders: a provisional sale each (re-keyed to
    its pack by the worker), as `sync.queue.make_order_due` does one at a time."""
    now = utcnow()
    order_ids = sorted({order for _, order in due})
    known = {
        (integration_id, order_id): sale_id
        for integration_id, order_id, sale_id in (
            await session.execute(
                select(SaleOrder.integration_id, SaleOrder.order_id, SaleOrder.sale_id).where(
                    SaleOrder.order_id.in_(order_ids)
                )
            )
        ).all()
    }
    known_sales = [sale_id for ref, sale_id in known.items() if ref in due]
    if known_sales:
        await session.execute(
            update(Sale)
            .where(
                Sale.id.in_(known_sales),
                Sale.state.notin_(NOT_REOPENED),
                or_(Sale.next_attempt_at.is_(None), Sale.next_attempt_at > now),
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    new = [(ref, tenant) for ref, tenant in due.items() if ref not in known]
    if not new:
        return
    await insert_many_ignore(
        session,
        Sale,
        [
            provisional_sale(tenant, integration_id, order_id, now)
            for (integration_id, order_id), tenant in new
        ],
    )
    created = (
        await session.execute(
            select(Sale.id, Sale.integration_id, Sale.external_id, Sale.tenant_id).where(
                Sale.external_id.in_([order for (_, order), _ in new])
            )
        )
    ).all()
    wanted = {ref for ref, _ in new}
    links = [
        (sale_id, integration_id, external_id, tenant_id)
        for sale_id, integration_id, external_id, tenant_id in created
        if (integration_id, external_id) in wanted
    ]
    await insert_many_ignore(
        session,
        SaleOrder,
        [{"integration_id": i, "order_id": o, "sale_id": s} for s, i, o, _ in links],
    )
    if not links:
        return
    events: list[dict[str, Any]] = [
        {
            "tenant_id": tenant_id,
            "sale_id": sale_id,
            "kind": "received",
            "message": f"Orden {order_id} recibida (notificación de MercadoLibre).",
            "data": {"order_id": order_id, "source": "notification"},
            "created_at": now,
        }
        for sale_id, _, order_id, tenant_id in links
    ]
    await session.execute(SaleEvent.__table__.insert(), events)  # type: ignore[attr-defined]
