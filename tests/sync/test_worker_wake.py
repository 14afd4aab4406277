"""A notification stored by this process wakes its worker at once (`Runtime.work_signal`); the
poll stays for workers in other processes."""

from __future__ import annotations

import asyncio

import httpx

from conexapi.core.signals import WorkSignal
from conexapi.runtime import Runtime
from conexapi.sync.models import Sale
from conexapi.sync.worker import Worker
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
        # the inbox and takes the new sale.
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
