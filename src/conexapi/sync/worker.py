"""The sync worker: claims due sales and processes them, and runs the periodic upkeep jobs it is
given (`sync.upkeep`; a `conexapi worker` process gets them from `conexapi.worker_process`).

Any number of workers, on any number of machines, share the database; there is no coordinator.
When the database goes away (a restart, a failover), the sales in progress are set aside and given
back to the queue the moment it answers again (`queue.release_leases`), with no attempt counted
against them; the worker waits for it instead of logging a failure per poll.

Stopping (SIGTERM, or `stop()`): the worker claims nothing more, lets the sales in progress
finish for up to `CONEXAPI_SHUTDOWN_TIMEOUT_SECONDS` (a second signal stops waiting), cancels
what is left (as safe as a crash: every step is idempotent), and releases the leases it still
holds so that those sales are due again at once for the other workers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import timedelta
from typing import Any

import structlog

from conexapi.core.metrics import LEASES_RELEASED, SALES_IN_PROGRESS
from conexapi.core.processes import new_process_id
from conexapi.db import is_database_unavailable
from conexapi.inbox.apply import APPLY_BATCH, apply_pending
from conexapi.marketplaces.mercadolibre.client import meli_app_limiter, meli_budget_key
from conexapi.runtime import Runtime
from conexapi.sync import queue
from conexapi.sync.pipeline import SaleProcessor
from conexapi.sync.policy import RetryPolicy
from conexapi.sync.upkeep import UpkeepJob, run_upkeep

log = structlog.get_logger("conexapi.worker")

APPLY_ROUNDS = 4
# A worker that applied notifications wakes this long after their debounce ends (their sales
# are due then, written by the database a moment after the wake was scheduled).
DEBOUNCE_SLACK_SECONDS = 0.05
# After the grace period, cancelled sales get this long to unwind, and the lease release this
# long to reach the database, so that a stop is bounded even when the database does not answer.
CANCEL_WAIT_SECONDS = 5.0
RELEASE_WAIT_SECONDS = 10.0
# While the database is away: how often to try again (doubling up to the maximum).
OUTAGE_RETRY_SECONDS = 0.2
OUTAGE_RETRY_MAX_SECONDS = 2.0


def new_worker_id() -> str:
    return new_process_id()


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        policy: RetryPolicy | None = None,
        upkeep: Sequence[UpkeepJob] = (),
        shutdown_timeout: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or new_worker_id()
        settings = runtime.settings.worker
        self.concurrency = concurrency or settings.concurrency
        self.poll_interval = settings.poll_interval_seconds
        self.lease_seconds = settings.lease_seconds
        self.max_in_flight = settings.max_in_flight_per_integration
        self.processor = SaleProcessor(runtime, worker_id=self.worker_id, policy=policy)
        self.upkeep = tuple(upkeep)
        self.shutdown_timeout = (
            settings.shutdown_timeout_seconds if shutdown_timeout is None else shutdown_timeout
        )
        self._stop = asyncio.Event()
        self._hurry = asyncio.Event()
        self._wake = asyncio.Event()
        self._deadline = float("inf")
        # Sales whose processing the database interrupted, to give back when it answers.
        self._interrupted: set[int] = set()
        self._releaser: asyncio.Task[int] | None = None
        self._outage_since: float | None = None

    def stop(self) -> None:
        """Stops claiming; what is in progress gets the shutdown timeout to finish. A second
        call (a second SIGTERM, Ctrl+C twice) stops waiting for it."""
        if self._stop.is_set():
            self._hurry.set()
            return
        self._deadline = time.monotonic() + self.shutdown_timeout
        log.info("worker.stopping", worker_id=self.worker_id, timeout=self.shutdown_timeout)
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Claims at once instead of at the next poll (new work: `Runtime.work_signal`)."""
        self._wake.set()

    async def claim(self, limit: int) -> list[int]:
        """Applies the pending notifications, then claims up to `limit` due sales, no more than
        the MercadoLibre application budget can start now (`admissible_sales`)."""
        settings = self.runtime.settings
        window = timedelta(seconds=settings.notification_refetch_seconds)
        debounce = timedelta(seconds=settings.notification_debounce_seconds)
        for _ in range(APPLY_ROUNDS):  # bounded: a flood of notifications never starves sales
            applied = await apply_pending(
                self.runtime.sessions, refetch_window=window, debounce=debounce
            )
            if applied and debounce:
                # Their sales are due when the debounce ends: claim then, not at the next poll.
                asyncio.get_running_loop().call_later(
                    debounce.total_seconds() + DEBOUNCE_SLACK_SECONDS, self.wake
                )
            if applied < APPLY_BATCH:
                break
        limit = min(limit, await admissible_sales(self.runtime))
        if limit <= 0:
            return []
        async with self.runtime.sessions() as session:
            ids = await queue.claim_due(
                session,
                worker_id=self.worker_id,
                limit=limit,
                lease_seconds=self.lease_seconds,
                max_in_flight=self.max_in_flight,
            )
            await session.commit()
        return ids

    async def process_one(self, sale_id: int) -> None:
        SALES_IN_PROGRESS.inc()
        try:
            await self.processor.process(sale_id)
        except Exception as exc:  # never let one sale stop the worker
            if is_database_unavailable(exc):
                self._interrupt(sale_id)
            else:
                log.exception("worker.sale_crashed", sale_id=sale_id)  # the lease expires
        finally:
            SALES_IN_PROGRESS.dec()

    def _interrupt(self, sale_id: int) -> None:
        """The database went away mid-sale: give the sale back as soon as it answers."""
        self._interrupted.add(sale_id)
        self._outage_started()
        if self._releaser is None or self._releaser.done():
            self._releaser = asyncio.get_running_loop().create_task(self.release_interrupted())

    async def release_interrupted(self) -> int:
        """Gives the interrupted sales back to the queue, retrying until the database answers.
        They are due at once: this worker or another claims them again right away."""
        delay = OUTAGE_RETRY_SECONDS
        released = 0
        while self._interrupted:
            ids = set(self._interrupted)
            try:
                async with self.runtime.sessions() as session:
                    released += await queue.release_leases(
                        session, worker_id=self.worker_id, sale_ids=ids
                    )
                    await session.commit()
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.exception("worker.release_failed", sales=len(ids))
                    return released  # their leases expire
                await asyncio.sleep(delay)
                delay = min(delay * 2, OUTAGE_RETRY_MAX_SECONDS)
                continue
            self._interrupted -= ids
            log.info("worker.sales_released", sales=len(ids), released=released)
            self._outage_over()
            self.wake()
        return released

    def _outage_started(self) -> None:
        if self._outage_since is None:
            self._outage_since = asyncio.get_running_loop().time()
            log.warning("worker.database_unavailable", worker_id=self.worker_id)

    def _outage_over(self) -> None:
        if self._outage_since is not None:
            seconds = asyncio.get_running_loop().time() - self._outage_since
            self._outage_since = None
            log.warning("worker.database_back", seconds=round(seconds, 1))

    async def run_once(self) -> int:
        """Claims one batch of due sales and processes it; returns how many were processed."""
        ids = await self.claim(self.concurrency * 2)
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(sale_id: int) -> None:
            async with semaphore:
                await self.process_one(sale_id)

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
        _check_token_spool(self.runtime)
        background: list[asyncio.Task[None]] = []
        if self.upkeep:
            background.append(
                asyncio.create_task(run_upkeep(self.runtime, self._stop, self.upkeep))
            )
        # A notification stored by this process wakes this worker at once (other processes'
        # workers find it at their poll).
        unsubscribe = self.runtime.work_signal.subscribe(self.wake)
        try:
            await self._pipeline()
        finally:
            unsubscribe()
            if not self._stop.is_set():  # the pipeline failed: stop the rest the same way
                self.stop()
            # The upkeep (sweep, tokens, alerts) also stops at its next step; past the deadline
            # it is cancelled (a sweep resumes at its saved page).
            await self._wind_down(set(background))
            await self.release_leases()
            log.info("worker.stopped", worker_id=self.worker_id)

    async def release_leases(self) -> int:
        """Gives back every sale this worker still holds, due again at once."""
        try:
            async with asyncio.timeout(RELEASE_WAIT_SECONDS):
                async with self.runtime.sessions() as session:
                    released = await queue.release_leases(session, worker_id=self.worker_id)
                    await session.commit()
        except Exception:  # the leases then expire, as after a crash
            log.exception("worker.release_failed", worker_id=self.worker_id)
            return 0
        if released:
            LEASES_RELEASED.inc(released)
            log.info("worker.leases_released", worker_id=self.worker_id, sales=released)
        return released

    async def _wind_down(self, tasks: set[asyncio.Task[None]]) -> None:
        """Waits for `tasks` until the shutdown deadline (or a second stop), then cancels the
        rest and gives them a short, bounded time to unwind."""
        hurry = asyncio.ensure_future(self._hurry.wait())
        try:
            while tasks and not self._hurry.is_set():
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, _ = await asyncio.wait(
                    tasks | {hurry}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                tasks -= done
        finally:
            hurry.cancel()
        if not tasks:
            return
        log.warning("worker.cancelling", worker_id=self.worker_id, tasks=len(tasks))
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=CANCEL_WAIT_SECONDS)

    async def _pipeline(self) -> None:
        """Keeps `concurrency` sales in progress: claims more as soon as half the slots are free,
        instead of waiting for a whole batch to finish (one slow sale never idles the rest)."""
        semaphore = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()

        async def one(sale_id: int) -> None:
            async with semaphore:
                if not self._stop.is_set():  # claimed but not started: released at the end
                    await self.process_one(sale_id)

        outage_delay = OUTAGE_RETRY_SECONDS
        while not self._stop.is_set():
            claimed = 0
            if len(running) <= self.concurrency // 2:
                # Wakes from now on (a notification stored meanwhile) are seen by the wait below.
                self._wake.clear()
                try:
                    ids = await self.claim(self.concurrency * 2 - len(running))
                except Exception as exc:
                    ids = []
                    if not is_database_unavailable(exc):
                        log.exception("worker.claim_failed")
                    else:
                        # Look again soon (not a traceback per poll): claiming resumes the
                        # moment the database answers.
                        self._outage_started()
                        await self._sleep(outage_delay)
                        outage_delay = min(outage_delay * 2, OUTAGE_RETRY_MAX_SECONDS)
                        continue
                if not self._interrupted:
                    self._outage_over()
                outage_delay = OUTAGE_RETRY_SECONDS
                claimed = len(ids)
                running.update(asyncio.create_task(one(i)) for i in ids)
            if running:
                waiting: set[asyncio.Future[Any]] = set(running)
                woken = None
                if len(running) <= self.concurrency // 2:
                    # Free slots: a wake (new work) claims at once, like a finished sale.
                    woken = asyncio.ensure_future(self._wake.wait())
                    waiting.add(woken)
                done, _ = await asyncio.wait(
                    waiting, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                if woken is not None:
                    woken.cancel()
                running.difference_update(done)
            elif claimed == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        # Stopping: the sales in progress finish within the shutdown timeout (their leases are
        # ours); the ones still running then are cancelled and released by `run`.
        await self._wind_down(running)
        if self._interrupted:  # one try: the database may still be away (the leases expire)
            with suppress(Exception):
                await asyncio.wait_for(self.release_interrupted(), OUTAGE_RETRY_MAX_SECONDS * 2)

    async def _sleep(self, seconds: float) -> None:
        """Waits `seconds`, or less if the worker is stopped or woken."""
        self._wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


async def admissible_sales(runtime: Runtime) -> int:
    """How many sales may start now: every attempt begins with a MercadoLibre read, and a sale
    whose first read gets no token of the application's budget within
    `CONEXAPI_RATE_MAX_WAIT_SECONDS` is deferred. Claiming it would only cost a claim and a
    deferral; when every seller has a backlog and the budget is the limit, claims beyond it
    would churn the whole queue (issue 14: 200 sellers × 25 sales). Sales then wait in the queue
    (fairly: claims stay round-robin) until the budget can start them."""
    budget = meli_app_limiter(runtime)
    return await budget.admissible(
        meli_budget_key(runtime), runtime.settings.mercadolibre.max_wait_seconds
    )


def _check_token_spool(runtime: Runtime) -> None:
    """A renewed MercadoLibre token lives in the spool until the database takes it: say at once
    if this machine cannot keep it there."""
    spool = runtime.settings.spool_dir
    try:
        spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        usable = os.access(spool, os.W_OK)
    except OSError:
        usable = False
    if not usable:
        log.error("worker.token_spool_unwritable", directory=str(spool))
