"""`conexapi worker`: claims due sales and processes them; also runs the sweep and token upkeep.

Any number of workers, on any number of machines, share the database; there is no coordinator.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from contextlib import suppress

import structlog

from conexapi.inbox.apply import APPLY_BATCH, apply_pending
from conexapi.runtime import Runtime
from conexapi.sync import queue
from conexapi.sync.pipeline import SaleProcessor
from conexapi.sync.policy import RetryPolicy

log = structlog.get_logger("conexapi.worker")

APPLY_ROUNDS = 4


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        policy: RetryPolicy | None = None,
        run_sweep: bool = True,
    ) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or new_worker_id()
        settings = runtime.settings.worker
        self.concurrency = concurrency or settings.concurrency
        self.poll_interval = settings.poll_interval_seconds
        self.lease_seconds = settings.lease_seconds
        self.processor = SaleProcessor(runtime, worker_id=self.worker_id, policy=policy)
        self.run_sweep = run_sweep
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Applies the pending notifications, then claims one batch of due sales and processes
        it; returns how many sales were processed."""
        for _ in range(APPLY_ROUNDS):  # bounded: a flood of notifications never starves sales
            if await apply_pending(self.runtime.sessions) < APPLY_BATCH:
                break
        async with self.runtime.sessions() as session:
            ids = await queue.claim_due(
                session,
                worker_id=self.worker_id,
                limit=self.concurrency * 2,
                lease_seconds=self.lease_seconds,
            )
            await session.commit()
        if not ids:
            return 0
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(sale_id: int) -> None:
            async with semaphore:
                try:
                    await self.processor.process(sale_id)
                except Exception:  # never let one sale stop the worker; the lease expires
                    log.exception("worker.sale_crashed", sale_id=sale_id)

        await asyncio.gather(*(one(i) for i in ids))
        return len(ids)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Processes until nothing is due (tests, backfills, benchmarks)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            if done == 0:
                break
            total += done
        return total

    async def run(self) -> None:
        log.info("worker.started", worker_id=self.worker_id, concurrency=self.concurrency)
        background: list[asyncio.Task[None]] = []
        if self.run_sweep:
            from conexapi.sync.sweep import run_periodic_upkeep

            background.append(asyncio.create_task(run_periodic_upkeep(self.runtime, self._stop)))
        try:
            while not self._stop.is_set():
                try:
                    done = await self.run_once()
                except Exception:
                    log.exception("worker.claim_failed")
                    done = 0
                if done == 0:
                    self._wake.clear()
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with suppress(asyncio.CancelledError):
                    await task
            log.info("worker.stopped", worker_id=self.worker_id)
