"""A notification stored by this process wakes its worker at once (`Runtime.work_signal`); the
poll stays for workers in other processes. A worker claims no more than the MercadoLibre budget
can start."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from conexapi.connections.rate_limit import RateLimiter
from conexapi.core.clock import ManualClock
from conexapi.core.signals import WorkSignal
from conexapi.db import is_sqlite
from conexapi.marketplaces.mercadolibre.client import meli_app_limiter, meli_budget_key
from conexapi.runtime import Runtime
from conexapi.sync import queue
from conexapi.sync.models import Sale
from conexapi.sync.worker import Worker
from tests.builders import create_integration, create_tenant
from tests.conftest import make_settings
from tests.sync.test_webhook import _connected, notification

# Far beyond the test's own time limits: only a wake-up can make the worker claim again.
NEVER = 3600.0


class ClaimLog(Worker):
    """The worker, reporting what each claim returned."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, concurrency=2, shutdown_timeout=1.0)
        self.poll_interval = NEVER
        self.claims: asyncio.Queue[list[int]] = asyncio.Queue()

    async def claim(self, limit: int) -> list[int]:
        ids = await super().claim(limit)
        self.claims.put_nowait(ids)
        return ids


async def test_a_webhook_wakes_the_worker_of_its_process_at_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _connected(runtime)
    worker = ClaimLog(runtime)
    run = asyncio.create_task(worker.run())
    try:
        assert await asyncio.wait_for(worker.claims.get(), 30) == []  # nothing to do: it waits
        response = await client.post("/webhooks/mercadolibre", json=notification())
        assert response.status_code == 200
        # Woken by the stored notification, not by its poll (an hour away): the claim applies
        # the inbox; the sale is due when the notification debounce ends (1 s by default), and
        # the worker wakes again then to take it.
        claimed: list[int] = []
        while not claimed:
            claimed = await asyncio.wait_for(worker.claims.get(), 30)
        async with runtime.sessions() as session:
            sale = await session.get(Sale, claimed[0])
            assert sale is not None
            assert sale.external_id == "2000010733434062"
    finally:
        worker.stop()
        worker.stop()  # do not wait for the sale in progress
        await asyncio.wait_for(run, 30)


def test_a_signal_calls_its_listeners_until_they_unsubscribe() -> None:
    signal = WorkSignal()
    calls: list[str] = []
    first = signal.subscribe(lambda: calls.append("a"))
    signal.subscribe(lambda: calls.append("b"))
    signal.notify()
    first()
    first()  # twice is harmless
    signal.notify()
    assert calls == ["a", "b", "b"]


async def test_a_worker_claims_no_more_sales_than_the_budget_can_start(runtime: Runtime) -> None:
    """Every attempt begins with a MercadoLibre read: with the application's budget more than
    the max wait behind, claiming would only defer the sales; the worker claims as many as the
    budget can start."""
    clock = ManualClock()
    url = runtime.settings.database_url
    # The product's budget (`meli_app_limiter`) at 5 requests/s, on an injected clock.
    runtime.meli_limiter = RateLimiter(
        runtime.sessions,
        5,
        window_seconds=1.0,
        capacity=1,
        memory_scope=url if is_sqlite(url) else None,
        clock=clock,
        vendor="mercadolibre",
        adaptive=True,
    )
    async with runtime.sessions() as session:
        for seller in ("1", "2"):
            tenant = await create_tenant(session, f"Tienda {seller}")
            integration = await create_integration(
                session, tenant.id, seller_id=seller, siigo_account=f"{seller}@siigo.test"
            )
            due = {(integration.id, f"3{seller}000{n}"): tenant.id for n in range(4)}
            await queue.make_orders_due(session, due, source="notification")
        await session.commit()
    budget, key = meli_app_limiter(runtime), meli_budget_key(runtime)
    for _ in range(8):  # other sales took the next two seconds of the budget
        await budget.reserve(key)
    worker = Worker(runtime, concurrency=8)
    assert await worker.claim(16) == []
    async with runtime.sessions() as session:
        leased = await session.execute(select(Sale.id).where(Sale.lease_owner.is_not(None)))
        assert leased.first() is None
    clock.advance(10)
    # 5 requests/s: a burst of 1 plus 4 within the second a sale may wait for its first read.
    assert len(await worker.claim(16)) == 5


async def test_the_application_budget_keeps_a_margin_under_the_quota(db_url: str) -> None:
    """MercadoLibre counts token renewals too (they take nothing from the budget) and counts
    requests as they arrive: no one-second window of the budget may reach the whole quota."""
    rt = Runtime.build(make_settings(db_url, meli_requests_per_second=50))
    try:
        budget = meli_app_limiter(rt)
        most_in_a_second = budget.capacity + budget.rate * budget.window
        assert most_in_a_second == pytest.approx(45.0)
        assert most_in_a_second < rt.settings.mercadolibre.requests_per_second
    finally:
        await rt.aclose()
