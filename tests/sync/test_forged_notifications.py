"""Anyone can post to the webhook (the application id is public): forged notifications must not
become work. An order MercadoLibre says the seller does not have leaves no sale and no alert; a
flood of notifications of one order reads it once per window; a seller nobody connected leaves
nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from conexapi.alerts.service import list_alerts, scan_tenant_alerts
from conexapi.connections.models import Connection
from conexapi.core.metrics import NOTIFICATIONS
from conexapi.db import transaction, utcnow
from conexapi.inbox.models import Notification
from conexapi.sandbox.constants import DEFAULT_SELLER_ID, SANDBOX_APPLICATION_ID
from conexapi.sync.models import Sale, SaleEvent
from tests.stack import Stack, running_stack, stack_settings

ORDER_CALLS = "GET /orders/{order_id}"


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url, notification_refetch_seconds=30)) as s:
        await s.connect()
        yield s


def _forged(order_id: int | str, event: str, user_id: int = DEFAULT_SELLER_ID) -> dict[str, object]:
    return {
        "_id": event,
        "resource": f"/orders/{order_id}",
        "user_id": user_id,
        "topic": "orders_v2",
        "application_id": SANDBOX_APPLICATION_ID,
        "attempts": 1,
        "sent": "2026-11-30T15:19:20.129Z",
    }


async def _count(stack: Stack, model: type) -> int:
    async with stack.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def _discarded() -> float:
    return float(NOTIFICATIONS.labels("discarded_order_not_found")._value.get())


async def test_a_notification_for_an_order_the_seller_does_not_have_leaves_no_sale(
    stack: Stack,
) -> None:
    # Another seller's real order (MercadoLibre answers 403 "has not access to the order") and
    # an order that does not exist at all (404), both posted as if they were our seller's.
    r = await stack.control.post(
        "/_sandbox/mercadolibre/sellers", json={"id": 555000111, "nickname": "OTRA_TIENDA"}
    )
    assert r.status_code == 201, r.text
    [theirs] = await stack.generate(1, seller_id=555000111, kinds=["single"])
    their_order = theirs["orders"][0]["id"] if "orders" in theirs else theirs["order_ids"][0]
    before = _discarded()
    for i, order in enumerate([their_order, 2999999999999999]):
        r = await stack.api.post("/webhooks/mercadolibre", json=_forged(order, f"forged-{i}"))
        assert r.status_code == 200
        assert r.json() == {"status": "accepted"}
    await stack.settle()
    assert await stack.sales() == []
    assert await _count(stack, Sale) == 0
    assert await _count(stack, SaleEvent) == 0
    async with transaction(stack.runtime.sessions) as session:
        await scan_tenant_alerts(session, tenant_id=stack.owner.tenant_id)
        assert await list_alerts(session, tenant_id=stack.owner.tenant_id) == []
    assert _discarded() == before + 2
    metrics = (await stack.api.get("/metrics")).text
    assert 'conexapi_notifications_total{outcome="discarded_order_not_found"}' in metrics
    # The connection is fine: nothing about it changed.
    async with stack.runtime.sessions() as session:
        conn = (
            await session.execute(select(Connection).where(Connection.provider == "mercadolibre"))
        ).scalar_one()
        assert conn.status == "active"

    # A real sale of our seller still goes through.
    await stack.generate(1, seller_id=DEFAULT_SELLER_ID, kinds=["single"])
    await stack.settle()
    assert [s["state"] for s in await stack.sales()] == ["invoiced"]


async def test_a_policy_agent_refusal_is_a_missing_permission_not_a_forged_order(
    stack: Stack,
) -> None:
    r = await stack.control.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json={"orders": False}
    )
    assert r.status_code == 200, r.text
    before = _discarded()
    await stack.api.post("/webhooks/mercadolibre", json=_forged(2000000000000001, "pa-1"))
    await stack.settle()
    # The sale is kept, waiting for the permission; the connection says what is missing.
    [sale] = await stack.sales()
    assert sale["error"]["code"] == "mercadolibre_needs_permission"
    assert _discarded() == before
    async with stack.runtime.sessions() as session:
        conn = (
            await session.execute(select(Connection).where(Connection.provider == "mercadolibre"))
        ).scalar_one()
        assert conn.status == "needs_permission"


async def test_many_notifications_of_one_order_read_it_once_per_window(stack: Stack) -> None:
    await stack.generate(1, kinds=["single"])
    await stack.settle()
    [row] = await stack.sales()
    assert row["state"] == "invoiced"
    order_id = row["external_id"]
    worker = stack.worker()
    before = stack.sandbox.ml.calls[ORDER_CALLS]
    # Re-sent with a new event id each time (so none is a duplicate), a worker round after each.
    for i in range(8):
        r = await stack.api.post("/webhooks/mercadolibre", json=_forged(order_id, f"again-{i}"))
        assert r.json() == {"status": "accepted"}
        await worker.run_once()
    assert stack.sandbox.ml.calls[ORDER_CALLS] == before  # all within the window of the last read
    async with stack.runtime.sessions() as session:
        due = (await session.execute(select(Sale.next_attempt_at, Sale.fetched_at))).one()
    assert due[1] is not None
    assert due[0] is not None
    assert due[0] >= due[1] + timedelta(seconds=30)
    # The window ends (moved back instead of waiting it out): exactly one read for all of them.
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(update(Sale).values(next_attempt_at=utcnow()))
    await stack.settle()
    assert stack.sandbox.ml.calls[ORDER_CALLS] == before + 1
    assert [s["state"] for s in await stack.sales()] == ["invoiced"]


async def test_notifications_of_a_seller_nobody_connected_are_not_stored(stack: Stack) -> None:
    junk = {**_forged(1, "junk"), "user_id": 424242, "extra": "x" * 15_000}
    r = await stack.api.post("/webhooks/mercadolibre", json=junk)
    assert r.json() == {"status": "ignored", "reason": "unknown_account"}
    assert await _count(stack, Notification) == 0


async def test_only_the_fields_conexapi_reads_are_stored(stack: Stack) -> None:
    body = {**_forged(2000000000000002, "padded"), "padding": "x" * 15_000, "nested": {"a": [1]}}
    r = await stack.api.post("/webhooks/mercadolibre", json=body)
    assert r.json() == {"status": "accepted"}
    async with stack.runtime.sessions() as session:
        stored = (await session.execute(select(Notification))).scalar_one()
    assert set(stored.body) == {
        "_id",
        "resource",
        "user_id",
        "topic",
        "application_id",
        "attempts",
        "sent",
    }
    assert stored.body["resource"] == "/orders/2000000000000002"
