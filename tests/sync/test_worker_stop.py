"""A stopping worker (SIGTERM calls `Worker.stop`) claims nothing more, lets the sales in progress
finish within the shutdown timeout, and gives back the ones it could not finish: due again at once
for the next worker, each still invoiced exactly once in the end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from conexapi.core.metrics import REGISTRY
from conexapi.db import utcnow
from conexapi.sync.models import Sale
from conexapi.sync.worker import Worker
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def _siigo_latency(stack: Stack, ms: int) -> None:
    r = await stack.control.put("/_sandbox/faults", json={"siigo": {"latency_ms": ms}})
    assert r.status_code == 200, r.text


async def _leased_by(stack: Stack, worker_id: str) -> int:
    async with stack.runtime.sessions() as session:
        return int(
            (
                await session.execute(
                    select(func.count(Sale.id)).where(Sale.lease_owner == worker_id)
                )
            ).scalar_one()
        )


async def _until_leased(stack: Stack, worker: Worker, run: asyncio.Task[None]) -> int:
    for _ in range(200):
        leased = await _leased_by(stack, worker.worker_id)
        if leased:
            return leased
        assert not run.done(), run
        await asyncio.sleep(0.05)
    raise AssertionError("the worker never claimed a sale")


def _released() -> float:
    return REGISTRY.get_sample_value("conexapi_worker_leases_released_total") or 0.0


async def test_sales_still_in_progress_after_the_timeout_are_released_due_at_once(
    stack: Stack,
) -> None:
    await stack.generate(3, kinds=["single", "single", "single"])
    await _siigo_latency(stack, 60_000)  # Siigo hangs: nothing can finish
    released_before = _released()
    worker = stack.worker(shutdown_timeout=0.2)
    run = asyncio.create_task(worker.run())
    assert await _until_leased(stack, worker, run) >= 1
    worker.stop()
    await asyncio.wait_for(run, timeout=30)  # bounded: the hung calls are cancelled
    assert await _leased_by(stack, worker.worker_id) == 0
    async with stack.runtime.sessions() as session:
        sales = list((await session.execute(select(Sale))).scalars())
    now = utcnow()
    assert len(sales) == 3
    for sale in sales:
        assert sale.lease_owner is None
        assert sale.next_attempt_at is not None
        assert sale.next_attempt_at.replace(tzinfo=None) <= now.replace(tzinfo=None)
    assert _released() - released_before == 3
    # The next worker takes them at once (no lease to wait for) and invoices each once.
    await _siigo_latency(stack, 0)
    await stack.settle()
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    invoices = await stack.siigo("invoices")
    assert len(invoices) == 3


async def test_sales_in_progress_finish_within_the_timeout(stack: Stack) -> None:
    await stack.generate(2, kinds=["single", "single"])
    await _siigo_latency(stack, 150)  # slow, but well within the shutdown timeout
    worker = stack.worker(shutdown_timeout=60)
    run = asyncio.create_task(worker.run())
    await _until_leased(stack, worker, run)
    worker.stop()
    await asyncio.wait_for(run, timeout=60)
    # Both were claimed together and finished, not released.
    assert {s["state"] for s in await stack.sales()} == {"invoiced"}
    assert await _leased_by(stack, worker.worker_id) == 0


async def test_a_second_stop_stops_waiting(stack: Stack) -> None:
    await stack.generate(1, kinds=["single"])
    await _siigo_latency(stack, 60_000)
    worker = stack.worker(shutdown_timeout=600)
    run = asyncio.create_task(worker.run())
    await _until_leased(stack, worker, run)
    worker.stop()
    worker.stop()  # a second SIGTERM / Ctrl+C
    await asyncio.wait_for(run, timeout=30)
    assert await _leased_by(stack, worker.worker_id) == 0


async def test_an_idle_worker_stops_at_once_and_releases_nothing(stack: Stack) -> None:
    worker = stack.worker(shutdown_timeout=600)
    run = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)
    worker.stop()
    await asyncio.wait_for(run, timeout=30)
    assert await worker.release_leases() == 0
