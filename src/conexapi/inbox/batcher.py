"""Group commit for the webhook: many concurrent notifications, one transaction.

MercadoLibre wants a 200 within 500 ms and the notification must be durable before it (so the
answer waits for a commit). Committing each request alone costs several round trips per request;
here concurrent requests join a batch that a single writer task stores with a handful of
multi-row statements and one commit, then every request gets its own answer. A request is never
answered before its batch is committed; if the batch fails, every request in it fails (500) and
MercadoLibre retries it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.core.metrics import NOTIFICATIONS
from conexapi.db import insert_many_ignore, utcnow
from conexapi.inbox.models import Notification
from conexapi.inbox.service import (
    ORDER_RESOURCE,
    IntakeResult,
    MeliNotification,
    dedupe_key,
    find_targets,
)
from conexapi.sync.models import Sale, SaleEvent, SaleOrder
from conexapi.sync.queue import NOT_REOPENED, provisional_sale

log = structlog.get_logger("conexapi.intake")

MAX_BATCH = 200
WRITERS = 3
# How long a positive "this seller is connected" answer is reused. Only positives are cached: a
# seller connected a second ago must never be ignored.
TARGET_TTL_SECONDS = 30.0


@dataclass
class _Item:
    payload: MeliNotification
    raw: dict[str, Any]
    future: asyncio.Future[IntakeResult] = field(repr=False)


class IntakeBatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        # One queue per writer; a notification always goes to the same writer (by its dedupe
        # key), so two copies of it are never stored by two concurrent batches.
        self._queues: list[asyncio.Queue[_Item]] = [asyncio.Queue() for _ in range(WRITERS)]
        self._tasks: list[asyncio.Task[None]] = []
        self._targets: dict[str, tuple[int, int, float]] = {}

    async def submit(self, payload: MeliNotification, raw: dict[str, Any]) -> IntakeResult:
        self._tasks = [t for t in self._tasks if not t.done()]
        if not self._tasks:
            loop = asyncio.get_running_loop()
            # A few writers, so one batch's round trips overlap the next batch's.
            self._tasks = [loop.create_task(self._run(q)) for q in self._queues]
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        queue = self._queues[zlib.crc32(dedupe_key(payload).encode()) % WRITERS]
        await queue.put(_Item(payload, raw, future))
        return await future

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _run(self, queue: asyncio.Queue[_Item]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                results = await self._store_retrying(batch)
            except Exception as exc:
                log.exception("intake.batch_failed", size=len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)

    async def _store_retrying(self, batch: list[_Item]) -> list[IntakeResult]:
        for attempt in range(3):
            try:
                return await self._store(batch)
            except DBAPIError as exc:
                # Concurrent writers can deadlock on the same unique keys: run it again.
                code = getattr(exc.orig, "args", [None])[0]
                if attempt == 2 or code not in (1205, 1213):
                    raise
        raise AssertionError("unreachable")

    async def _store(self, batch: list[_Item]) -> list[IntakeResult]:
        now = utcnow()
        async with self.sessions() as session:
            targets = await self._resolve(session, {str(i.payload.user_id) for i in batch})
            keys = [dedupe_key(i.payload) for i in batch]
            existing = set(
                (
                    await session.execute(
                        select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))
                    )
                ).scalars()
            )
            rows: list[dict[str, Any]] = []
            results: list[IntakeResult] = []
            due: dict[tuple[int, str], int] = {}  # (integration, order) -> tenant
            seen: set[str] = set()
            for item, key in zip(batch, keys, strict=True):
                payload = item.payload
                target = targets.get(str(payload.user_id))
                if key in existing or key in seen:
                    NOTIFICATIONS.labels("duplicate").inc()
                    results.append(IntakeResult("duplicate"))
                    continue
                seen.add(key)
                rows.append(
                    {
                        "source": "mercadolibre",
                        "dedupe_key": key,
                        "topic": payload.topic,
                        "resource": payload.resource,
                        "account_id": str(payload.user_id),
                        "tenant_id": target[0] if target else None,
                        "integration_id": target[1] if target else None,
                        "status": "accepted" if target else "ignored",
                        "reason": None if target else "unknown_account",
                        "body": item.raw,
                        "received_at": now,
                    }
                )
                if target is None:
                    NOTIFICATIONS.labels("ignored_unknown_account").inc()
                    results.append(IntakeResult("ignored", "unknown_account"))
                    continue
                match = ORDER_RESOURCE.match(payload.resource)
                if payload.topic in ("orders_v2", "orders") and match:
                    due[(target[1], match.group(1))] = target[0]
                    NOTIFICATIONS.labels("accepted").inc()
                    results.append(IntakeResult("accepted"))
                else:
                    NOTIFICATIONS.labels("stored_other_topic").inc()
                    results.append(IntakeResult("accepted", "topic_not_acted_on"))
            await insert_many_ignore(session, Notification, rows)
            if due:
                await _make_orders_due(session, due, now)
            await session.commit()
            return results

    async def _resolve(
        self, session: AsyncSession, user_ids: set[str]
    ) -> dict[str, tuple[int, int]]:
        clock = time.monotonic()
        found: dict[str, tuple[int, int]] = {}
        missing: list[str] = []
        for uid in user_ids:
            cached = self._targets.get(uid)
            if cached and clock - cached[2] < TARGET_TTL_SECONDS:
                found[uid] = (cached[0], cached[1])
            else:
                missing.append(uid)
        if missing:
            for uid, target in (await find_targets(session, missing)).items():
                found[uid] = target
                self._targets[uid] = (target[0], target[1], clock)
        return found


async def _make_orders_due(
    session: AsyncSession, due: dict[tuple[int, str], int], now: Any
) -> None:
    """Known orders: their sale becomes due. New orders: a provisional sale each (re-keyed to
    its pack by the worker), as `sync.queue.make_order_due` does one at a time."""
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
    session.add_all(
        SaleEvent(
            tenant_id=tenant_id,
            sale_id=sale_id,
            kind="received",
            message=f"Orden {order_id} recibida (notificación de MercadoLibre).",
            data={"order_id": order_id, "source": "notification"},
            created_at=now,
        )
        for sale_id, _, order_id, tenant_id in links
    )
