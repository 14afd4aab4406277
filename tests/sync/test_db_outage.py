"""Work resumes at once after a database outage (issue 19): sales whose processing the database
interrupted go back to the queue the moment it answers, not after their lease, with no attempt
counted, and are invoiced exactly once (packs merged as usual)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select

from conexapi.sync.models import Sale
from tests.outage import DatabaseOutage, point_at, trip_on
from tests.stack import Stack, running_stack, stack_settings, wired_runtime


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def _sales(stack: Stack) -> list[tuple[str | None, int, str]]:
    async with stack.runtime.sessions() as session:
        rows = await session.execute(select(Sale.lease_owner, Sale.attempts, Sale.external_id))
        return [(owner, attempts, ext) for owner, attempts, ext in rows.all()]


async def test_sales_interrupted_by_the_database_are_released_when_it_answers(
    stack: Stack,
) -> None:
    generated = await stack.generate(8, mix={"single": 3, "pack": 1})
    await stack.advance()  # every order of every pack is paid
    # The worker is another process with its own engine. Its database goes away the moment
    # Siigo receives an invoice: the document row and its idempotency key are committed, the
    # result cannot be.
    runtime = await wired_runtime(stack.runtime.settings, None)
    outage = DatabaseOutage(runtime.engine)
    sandbox = cast(httpx.ASGITransport, stack.transport).app
    await point_at(runtime, trip_on(sandbox, outage, "POST", "/siigo/v1/invoices"))
    try:
        worker = stack.worker(runtime)
        await worker.run_once()
        assert outage.down
        held = [s for s in await _sales(stack) if s[0] == worker.worker_id]
        assert held, "the outage interrupted sales in progress"  # still leased: 300 s leases

        outage.end()
        # The worker gives them back by itself as soon as its database answers.
        for _ in range(100):
            if all(owner is None for owner, _, _ in await _sales(stack)):
                break
            await asyncio.sleep(0.05)
        assert all(owner is None for owner, _, _ in await _sales(stack))
        await stack.settle()
    finally:
        await runtime.aclose()

    sales = await stack.sales()
    assert len(sales) == len(generated)  # pack orders merged into their pack's sale
    assert {s["state"] for s in sales} == {"invoiced"}
    assert all(attempts == 0 for _, attempts, _ in await _sales(stack))  # nothing counted
    invoices = await stack.siigo("invoices")
    assert len(invoices) == len(generated)
    assert set(Counter(str(i["idempotency_key"]) for i in invoices).values()) == {1}
