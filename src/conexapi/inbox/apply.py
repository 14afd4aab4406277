"""The inbox's consumer: stored order notifications become due sales.

The webhook only stores (`inbox.batcher`): a notification about an order is committed as
`pending` and answered. Workers then apply what is pending, many at a time, before they claim
sales: each order's sale is made due, or a provisional sale is created for an order never seen
(the worker re-keys it to its pack). A crash anywhere leaves the notifications `pending` and the
next worker applies them; applying one twice only makes a sale due twice, which is harmless.
Several workers split the pending rows with `SKIP LOCKED`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.core.metrics import NOTIFICATIONS_APPLIED
from conexapi.db import retry_on_lock_conflict
from conexapi.inbox.models import Notification, NotificationStatus
from conexapi.inbox.service import ORDER_RESOURCE
from conexapi.sync import queue

APPLY_BATCH = 500


async def apply_pending(
    sessions: async_sessionmaker[AsyncSession],
    *,
    limit: int = APPLY_BATCH,
    refetch_window: timedelta | None = None,
    debounce: timedelta | None = None,
) -> int:
    """Applies up to `limit` pending notifications in one transaction; returns how many.
    `refetch_window`: a sale read from MercadoLibre less than this long ago is made due when
    the window ends; `debounce`: sales are due this long after now, so a burst of
    notifications of one change is read once (`queue.make_orders_due`)."""

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
                await queue.make_orders_due(
                    session,
                    due,
                    source="notification",
                    refetch_window=refetch_window,
                    debounce=debounce,
                )
            await session.execute(
                update(Notification)
                .where(Notification.id.in_([row[0] for row in rows]))
                .values(status=NotificationStatus.ACCEPTED.value)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            return len(rows)

    applied = await retry_on_lock_conflict(once)
    if applied:
        NOTIFICATIONS_APPLIED.inc(applied)
    return applied
