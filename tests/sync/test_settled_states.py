"""Backoff honoured, settled states kept (issue 14, build 5): the sweep makes a sale due only when
its order changed; a transient failure while re-checking never changes a `needs_attention` sale
nor burns its attempts; `dead` comes from a time budget of transient failures, not a count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from conexapi.core.errors import IntegrationError
from conexapi.db import utcnow
from conexapi.sync import queue
from conexapi.sync.models import Sale, SaleEvent
from conexapi.sync.sweep import sweep_integration
from conexapi.sync.sweep_window import PageRetry
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def _outage(stack: Stack, rate: float) -> None:
    faults = {"mercadolibre": {"error_rate": rate}} if rate else {"mercadolibre": {}}
    r = await stack.control.put("/_sandbox/faults", json=faults)
    assert r.status_code == 200, r.text


async def _row(stack: Stack, sale_id: int) -> Sale:
    async with stack.runtime.sessions() as session:
        sale = await session.get(Sale, sale_id)
        assert sale is not None
        return sale


async def test_a_needs_attention_sale_survives_a_mercadolibre_outage_of_many_sweeps(
    stack: Stack,
) -> None:
    await stack.generate(1, mix={"unknown_sku": 1})
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "needs_attention"
    reason = sale["error"]
    assert reason["code"] == "unmapped_products"
    reads = stack.sandbox.ml.calls["GET /orders/{order_id}"]

    # Its order did not change: sweeps leave it alone (no re-read, no attempt).
    for _ in range(3):
        await sweep_integration(stack.runtime, stack.integration_id)
    assert (await _row(stack, sale["id"])).next_attempt_at is None
    await stack.settle()
    assert stack.sandbox.ml.calls["GET /orders/{order_id}"] == reads

    # MercadoLibre is down for many sweeps, and the sale is re-read each time (its order
    # changed, as a notification would say): every re-read fails.
    await _outage(stack, 1.0)
    no_wait = PageRetry(retries=0, base_seconds=0, max_wait_seconds=0)
    for n in range(12):
        with pytest.raises(IntegrationError):
            await sweep_integration(stack.runtime, stack.integration_id, retry=no_wait)
        async with stack.runtime.sessions() as session:
            await queue.make_sale_due(session, sale["id"])
            await session.commit()
        assert await stack.worker().run_once() == 1, n
        row = await _row(stack, sale["id"])
        assert row.state == "needs_attention", n
        assert (row.error_code, row.error_message) == (reason["code"], reason["message"]), n
        assert row.attempts == 0, n
        assert row.next_attempt_at is not None  # looked at again later, on a growing wait
    # Even a failure older than the dead time budget does not make it dead.
    async with stack.runtime.sessions() as session:
        await session.execute(
            update(Sale)
            .where(Sale.id == sale["id"])
            .values(failing_since=utcnow() - timedelta(days=5), next_attempt_at=utcnow())
        )
        await session.commit()
    assert await stack.worker().run_once() == 1
    row = await _row(stack, sale["id"])
    assert (row.state, row.error_code, row.attempts) == ("needs_attention", reason["code"], 0)

    # The outage ends: the re-check reads the order and the reason is still the one to act on.
    await _outage(stack, 0)
    async with stack.runtime.sessions() as session:
        await queue.make_sale_due(session, sale["id"])
        await session.commit()
    await stack.settle()
    [after] = await stack.sales()
    assert after["state"] == "needs_attention"
    assert after["error"] == reason
    assert after["attempts"] == 0
    assert (await _row(stack, sale["id"])).failing_since is None
    async with stack.runtime.sessions() as session:
        kinds = (
            (await session.execute(select(SaleEvent.kind).where(SaleEvent.sale_id == sale["id"])))
            .scalars()
            .all()
        )
    assert "dead" not in kinds
    assert "retrying" not in kinds
    assert "recheck_deferred" in kinds


async def test_dead_comes_from_a_time_budget_of_transient_failures_not_a_count(
    stack: Stack,
) -> None:
    await stack.generate(1, mix={"single": 1})
    await _outage(stack, 1.0)
    worker = stack.worker()
    for _ in range(15):  # far more than the old count of 8
        async with stack.runtime.sessions() as session:
            await session.execute(update(Sale).values(next_attempt_at=utcnow()))
            await session.commit()
        assert await worker.run_once() == 1
    [sale] = await stack.sales()
    assert sale["state"] == "retrying"
    assert sale["attempts"] == 15
    row = await _row(stack, sale["id"])
    assert row.failing_since is not None

    budget = stack.runtime.settings.worker.dead_after_hours
    async with stack.runtime.sessions() as session:
        await session.execute(
            update(Sale).values(
                failing_since=utcnow() - timedelta(hours=budget) - timedelta(minutes=1),
                next_attempt_at=utcnow(),
            )
        )
        await session.commit()
    assert await worker.run_once() == 1
    [sale] = await stack.sales()
    assert sale["state"] == "dead"
    assert sale["next_attempt_at"] is None

    # A person retries once MercadoLibre answers: the sale is invoiced, the clock cleared.
    await _outage(stack, 0)
    r = await stack.api.post(f"/api/v1/sales/{sale['id']}/retry", headers=stack.headers)
    assert r.status_code == 200, r.text
    await stack.settle()
    [sale] = await stack.sales()
    assert sale["state"] == "invoiced"
    assert (await _row(stack, sale["id"])).failing_since is None


async def test_a_success_between_failures_restarts_the_time_budget(stack: Stack) -> None:
    await stack.generate(1, mix={"single": 1})
    await _outage(stack, 1.0)
    assert await stack.worker().run_once() == 1
    [sale] = await stack.sales()
    assert sale["state"] == "retrying"
    since = (await _row(stack, sale["id"])).failing_since
    assert since is not None
    # Another failure keeps the first moment it started failing.
    async with stack.runtime.sessions() as session:
        await session.execute(update(Sale).values(next_attempt_at=utcnow()))
        await session.commit()
    assert await stack.worker().run_once() == 1
    assert (await _row(stack, sale["id"])).failing_since == since
