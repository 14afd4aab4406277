"""Fewer MercadoLibre calls and no gap in what the sweep sees (issue 14, build 6): the orders a
search returned are not fetched again; cancelled orders a seller's search hides are searched by
status; backfill day windows neither lose a day's last hour nor overlap when MercadoLibre cuts
date filters to the hour."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from conexapi.inbox.models import Notification
from conexapi.sales.clock import COLOMBIA
from conexapi.sync.backfill import created_in
from conexapi.sync.models import Sale
from conexapi.sync.queue import Priority
from conexapi.sync.sweep import sweep_integration
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def _put(stack: Stack, path: str, body: dict[str, Any]) -> None:
    r = await stack.control.put(path, json=body)
    assert r.status_code == 200, r.text


async def test_orders_the_sweep_found_are_not_fetched_again(stack: Stack) -> None:
    await _put(stack, "/_sandbox/faults", {"notifications": {"drop_rate": 1.0}})
    await stack.generate(12, mix={"single": 1})
    before = stack.sandbox.ml.calls["GET /orders/{order_id}"]
    await asyncio.sleep(0.01)  # a window ends when its sweep starts (to the millisecond)
    assert await sweep_integration(stack.runtime, stack.integration_id) >= 12
    await stack.settle()
    sales = await stack.sales()
    assert len(sales) == 12
    assert {s["state"] for s in sales} == {"invoiced"}
    assert stack.sandbox.ml.calls["GET /orders/{order_id}"] == before
    assert (
        Counter(i["idempotency_key"] for i in await stack.siigo("invoices")).most_common(1)[0][1]
        == 1
    )


async def test_a_notification_after_the_search_makes_the_worker_read_the_order_again(
    stack: Stack,
) -> None:
    await _put(stack, "/_sandbox/faults", {"notifications": {"drop_rate": 1.0}})
    [g] = await stack.generate(1, mix={"single": 1})
    await asyncio.sleep(0.01)
    await sweep_integration(stack.runtime, stack.integration_id)
    await _put(stack, "/_sandbox/faults", {"notifications": {}})
    # Cancelled after the search, before the worker ran: its notification clears the search's
    # copy, so the worker reads the cancellation and invoices nothing.
    order_id = g["order_ids"][0]
    r = await stack.control.post(f"/_sandbox/mercadolibre/orders/{order_id}/cancel")
    assert r.status_code == 200, r.text
    for _ in range(100):  # the simulator delivers its notification on its own
        async with stack.runtime.sessions() as session:
            if (await session.execute(select(func.count(Notification.id)))).scalar_one():
                break
        await asyncio.sleep(0.05)
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "skipped", sale
    assert await stack.siigo("invoices") == []


async def test_the_sweep_finds_cancellations_a_sellers_search_hides(stack: Stack) -> None:
    await _put(stack, "/_sandbox/quirks", {"mercadolibre": {"seller_search_hides_cancelled": True}})
    generated = await stack.generate(3, mix={"single": 1})
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    await _put(stack, "/_sandbox/faults", {"notifications": {"drop_rate": 1.0}})
    order_id = generated[0]["order_ids"][0]
    r = await stack.control.post(f"/_sandbox/mercadolibre/orders/{order_id}/cancel")
    assert r.status_code == 200, r.text
    await asyncio.sleep(0.01)  # a window ends when its sweep starts (to the millisecond)
    await sweep_integration(stack.runtime, stack.integration_id)
    await stack.settle()
    states = Counter(s["state"] for s in await stack.sales())
    assert states == {"credited": 1, "invoiced": 2}
    assert len(await stack.siigo("credit-notes")) == 1


def test_a_backfill_window_keeps_only_the_orders_created_in_it() -> None:
    day = datetime(2026, 11, 29, tzinfo=COLOMBIA)
    end = day + timedelta(days=1)

    def order(moment: datetime) -> dict[str, Any]:
        return {"id": "1", "date_created": moment.isoformat()}

    assert created_in(order(day), day, end)
    assert created_in(order(day.replace(hour=23, minute=59, second=59)), day, end)
    # With an hour-precision `to` MercadoLibre may return the next day's first hour: that order
    # belongs to the next window, and is left to it.
    assert not created_in(order(end), day, end)
    assert not created_in(order(end + timedelta(minutes=30)), day, end)
    assert created_in({"id": "2"}, day, end)  # unreadable: kept rather than lost


async def test_a_live_pack_notified_at_once_reads_each_order_once(stack: Stack) -> None:
    # Every order of every pack is notified at once: each gets a provisional sale, and workers
    # take several at a time. The provisional sales of one pack find each other (a sibling's
    # order is delivered on merging, or a sibling not claimed yet is merged before it reads).
    before = Counter(stack.sandbox.ml.calls)
    generated = await stack.generate(6, mix={"pack": 1})
    orders = [o for g in generated for o in g["order_ids"]]
    assert len(orders) > len(generated)  # packs of two or three orders
    await stack.settle(workers=2)
    calls = Counter(stack.sandbox.ml.calls)
    calls.subtract(before)
    assert calls["GET /orders/{order_id}"] <= len(orders), calls
    assert calls["GET /packs/{pack_id}"] == len(generated), calls
    sales = await stack.sales()
    assert sorted(s["external_id"] for s in sales) == sorted(str(g["pack_id"]) for g in generated)
    # Later payments of the packs' last orders: still one invoice per pack, never two.
    await stack.advance()
    await stack.settle(workers=2)
    sales = await stack.sales()
    assert len(sales) == len(generated)
    assert {s["state"] for s in sales} == {"invoiced"}
    keys = Counter(i["idempotency_key"] for i in await stack.siigo("invoices"))
    assert len(keys) == len(generated)
    assert set(keys.values()) == {1}


async def test_an_invoice_with_buyer_shipping_on_the_payment_skips_the_costs_call(
    stack: Stack,
) -> None:
    # The payment says what the buyer paid for shipping: the invoice needs no shipment costs.
    # The seller's shipping cost (for profit) is read after the invoice, at the lowest priority.
    [g] = await stack.generate(1, mix={"shipping_buyer": 1})
    [shipment] = [s for s in stack.sandbox.ml.shipments.values() if s.order_ids == g["order_ids"]]
    shipment.sender_cost = Decimal("7450")  # MercadoLibre charges the seller part of it
    costs = "GET /shipments/{shipment_id}/costs"
    before = stack.sandbox.ml.calls[costs]
    assert await stack.worker().run_once() == 1  # the invoicing attempt only
    assert len(await stack.siigo("invoices")) == 1
    assert stack.sandbox.ml.calls[costs] == before
    async with stack.runtime.sessions() as session:
        sale = (await session.execute(select(Sale))).scalar_one()
        pending, priority = dict(sale.profit), sale.priority
    assert sale.state == "invoiced"
    assert pending["envio_pendiente"] == "1"
    assert pending["envio_vendedor"] == "0"
    assert priority == int(Priority.FOLLOW_UP)
    await stack.settle()
    assert stack.sandbox.ml.calls[costs] == before + 1
    async with stack.runtime.sessions() as session:
        sale = (await session.execute(select(Sale))).scalar_one()
        profit, facts = dict(sale.profit), dict(sale.facts)
    assert "envio_pendiente" not in profit
    assert Decimal(profit["envio_vendedor"]) == shipment.sender_cost
    assert Decimal(profit["neto"]) == Decimal(pending["neto"]) - shipment.sender_cost
    assert facts["shipping_seller_known"] is True
    assert Decimal(facts["shipping_paid_by_seller"]) == shipment.sender_cost
    assert sale.state == "invoiced"
    assert sale.priority == int(Priority.LIVE)
    assert sale.next_attempt_at is None
    assert len(await stack.siigo("invoices")) == 1
