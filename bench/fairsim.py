"""A time-scaled scheduling simulator: the real claims and budgets, simulated vendor calls.

What is real: the sales are rows of the `sale` table, claimed by `sync.queue.claim_due` (fair,
prioritized, at most K in flight per integration), deferred and paused exactly as the pipeline
does (`sale.deferred_until`, `queue.pause_claims`), and every vendor call first takes a token from
the product's `RateLimiter` (a Siigo bucket per company, the adaptive MercadoLibre application
budget) with the pipeline's `max_wait`. What is simulated: each vendor call is a fixed latency on a
`ManualClock` (no HTTP), each sale makes `ml_calls` MercadoLibre then `siigo_calls` Siigo calls,
the vendors' own limits are sliding windows (Siigo: per company per minute; MercadoLibre: per
application per second, answering 429 above it), and one claimer stands for every worker (`slots`
sales in progress, claiming when a slot frees or every `poll` seconds when idle, like
`Worker._pipeline`).

So a 10-minute backlog runs in a few seconds of machine time, and the result depends only on the
scheduling policy, not on how busy the machine is. Used by `bench/fairness.py` (the large runs)
and by `tests/sync/test_fairness.py` (a small two-tenant run).
"""

from __future__ import annotations

import bisect
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.accounts.models import Tenant
from conexapi.connections.models import Connection
from conexapi.connections.rate_limit import RateLimiter
from conexapi.core.clock import ManualClock
from conexapi.core.errors import BudgetWaitError
from conexapi.integrations.models import Integration
from conexapi.sales.states import SaleState
from conexapi.sync import queue
from conexapi.sync.models import Sale

WORKER = "sim-worker"


@dataclass
class TenantLoad:
    name: str
    sales: int
    arrive_at: float = 0.0  # seconds after the start
    spread: float = 0.0  # the sales arrive evenly over this many seconds
    source: str = "notification"  # or "backfill", "sweep"
    siigo_rpm: int = 100


@dataclass
class SimConfig:
    slots: int = 16  # sales in progress at once, over every worker
    max_in_flight: int = 4  # CONEXAPI_WORKER_MAX_IN_FLIGHT_PER_INTEGRATION
    ml_calls: int = 4
    siigo_calls: int = 2
    ml_latency: float = 0.15
    siigo_latency: float = 0.8
    ml_budget_rps: float = 0.0  # CONEXAPI_MELI_REQUESTS_PER_SECOND (0 = none)
    # The budget's window and burst (the product's: one second, burst rate/5); a longer window
    # expresses a budget below one request per second (a seller's share of the application's).
    ml_budget_window: float = 1.0
    ml_budget_capacity: float | None = None
    ml_quota_rps: int = 0  # MercadoLibre's per-application quota (0 = none)
    max_wait: float = 1.0  # CONEXAPI_RATE_MAX_WAIT_SECONDS
    poll: float = 1.0  # CONEXAPI_WORKER_POLL_INTERVAL_SECONDS
    max_seconds: float = 7200.0  # simulated time limit
    seed: int = 7


@dataclass
class _Job:
    sale_id: int
    tenant: int
    integration_id: int
    step: int = 0
    ready_at: float = 0.0
    held: bool = False  # its first Siigo token, set aside before its MercadoLibre calls


@dataclass
class TenantResult:
    name: str
    sales: int
    invoiced: int = 0
    latencies: list[float] = field(default_factory=list)
    first_arrival: float = 0.0
    last_invoiced: float = 0.0

    @property
    def drain_seconds(self) -> float:
        return self.last_invoiced - self.first_arrival

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


@dataclass
class SimResult:
    tenants: list[TenantResult]
    sim_seconds: float
    claims: int = 0
    deferrals: int = 0
    ml_calls: int = 0
    ml_429: int = 0
    siigo_calls: int = 0
    siigo_over_limit: int = 0
    ml_factor_min: float = 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "sim_seconds": round(self.sim_seconds, 1),
            "claims": self.claims,
            "deferrals": self.deferrals,
            "ml_calls": self.ml_calls,
            "ml_429": self.ml_429,
            "siigo_calls": self.siigo_calls,
            "siigo_over_limit": self.siigo_over_limit,
            "ml_budget_factor_min": round(self.ml_factor_min, 3),
        }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class _SlidingWindow:
    """The vendor's limit: at most `limit` requests in any window of `seconds`. Exact even when
    requests are reported out of order (a request is reported when its sale is advanced, and
    sent after the wait its token asked for)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.times: list[float] = []

    def allow(self, at: float) -> bool:
        if self.limit <= 0:
            return True
        # Requests are reported at most a few seconds out of order: older ones cannot matter.
        horizon = bisect.bisect_left(self.times, at - self.seconds - 60.0)
        if horizon > 1000:
            del self.times[:horizon]
        bisect.insort(self.times, at)
        # Every window holding `at` starts at one of the requests in (at - seconds, at].
        first = bisect.bisect_right(self.times, at - self.seconds)
        last = bisect.bisect_right(self.times, at)
        for start in range(first, last):
            inside = bisect.bisect_left(self.times, self.times[start] + self.seconds) - start
            if inside > self.limit:
                self.times.remove(at)
                return False
        return True


async def simulate(
    sessions: async_sessionmaker[AsyncSession], loads: list[TenantLoad], cfg: SimConfig
) -> SimResult:
    """Runs the loads to completion (or `max_seconds` of simulated time)."""
    clock = ManualClock()
    rng = random.Random(cfg.seed)
    start = clock.time()
    scope = f"fairsim-{id(clock)}"
    integrations: list[int] = []
    tenants: list[int] = []
    async with sessions() as session:
        for load in loads:
            integration_id, tenant_id = await _integration(session, load.name)
            integrations.append(integration_id)
            tenants.append(tenant_id)
        await session.commit()
    siigo = {
        i: RateLimiter(
            sessions,
            load.siigo_rpm,
            capacity=max(1.0, load.siigo_rpm / 50),
            memory_scope=scope,
            clock=clock,
        )
        for i, load in zip(integrations, loads, strict=True)
    }
    siigo_vendor = {
        i: _SlidingWindow(load.siigo_rpm, 60.0) for i, load in zip(integrations, loads, strict=True)
    }
    ml_budget = RateLimiter(
        sessions,
        cfg.ml_budget_rps * cfg.ml_budget_window,
        window_seconds=cfg.ml_budget_window,
        capacity=cfg.ml_budget_capacity or max(1.0, cfg.ml_budget_rps / 5),
        memory_scope=scope,
        clock=clock,
        vendor="mercadolibre",
        adaptive=True,
    )
    ml_vendor = _SlidingWindow(cfg.ml_quota_rps, 1.0)
    arrivals: list[tuple[float, int, int]] = []  # (time, load index, n)
    for index, load in enumerate(loads):
        for n in range(load.sales):
            when = load.arrive_at + (load.spread * n / max(1, load.sales - 1) if load.spread else 0)
            arrivals.append((when, index, n))
    arrivals.sort()
    arrived_at: dict[int, float] = {}
    sale_tenant: dict[int, int] = {}
    results = [TenantResult(load.name, load.sales) for load in loads]
    for result, load in zip(results, loads, strict=True):
        result.first_arrival = load.arrive_at
    out = SimResult(results, 0.0)
    jobs: dict[int, _Job] = {}
    next_claim = 0.0
    sim_now = 0.0
    pending_arrivals = deque(arrivals)
    remaining = sum(load.sales for load in loads)

    def at(seconds: float) -> datetime:
        return _datetime(start + seconds)

    while remaining > 0:
        now = sim_now
        clock.now = start + now
        if now > cfg.max_seconds:
            break
        # Arrivals: the sales become due (notification, sweep or backfill).
        batch: list[tuple[int, int]] = []
        while pending_arrivals and pending_arrivals[0][0] <= now + 1e-9:
            _, index, n = pending_arrivals.popleft()
            batch.append((index, n))
        if batch:
            async with sessions() as session:
                for index, n in batch:
                    load = loads[index]
                    row = queue.provisional_sale(
                        tenants[index],
                        integrations[index],
                        f"{index:04d}{n:07d}",
                        at(now),
                        priority=queue.source_priority(load.source),
                    )
                    inserted = await session.execute(insert(Sale).values(**row))
                    sale_id = inserted.inserted_primary_key  # type: ignore[attr-defined]
                    assert sale_id is not None
                    arrived_at[int(sale_id[0])] = now
                    sale_tenant[int(sale_id[0])] = index
                await session.commit()
            next_claim = now
        # Claims: a free slot takes the next sale, fairly.
        free = cfg.slots - len(jobs)
        if free > 0 and now >= next_claim - 1e-9 and cfg.ml_calls:
            # `Worker.claim`: no more sales than the application budget can start now.
            free = min(free, await ml_budget.admissible(_ML_KEY, cfg.max_wait))
            if free <= 0:
                next_claim = now + min(cfg.poll, await ml_budget.available_in(_ML_KEY))
        if free > 0 and now >= next_claim - 1e-9:
            async with sessions() as session:
                ids = await queue.claim_due(
                    session,
                    worker_id=WORKER,
                    limit=free,
                    lease_seconds=600,
                    max_in_flight=cfg.max_in_flight,
                    now=at(now),
                )
                await session.commit()
            out.claims += 1
            for sale_id in ids:
                index = sale_tenant[sale_id]
                jobs[sale_id] = _Job(sale_id, index, integrations[index], ready_at=now)
            next_claim = now + cfg.poll
        # Progress: every sale whose current call is over makes its next one.
        for job in sorted(
            (j for j in jobs.values() if j.ready_at <= now + 1e-9), key=lambda j: j.ready_at
        ):
            outcome = await _advance(
                job, now, cfg, siigo, siigo_vendor, ml_budget, ml_vendor, out, rng, start
            )
            if outcome is None:
                continue
            del jobs[job.sale_id]
            next_claim = now  # a slot is free: claim at once
            async with sessions() as session:
                if outcome == "invoiced":
                    await session.execute(
                        update(Sale)
                        .where(Sale.id == job.sale_id)
                        .values(
                            state=SaleState.INVOICED.value,
                            next_attempt_at=None,
                            lease_owner=None,
                            lease_until=None,
                            deferred_until=None,
                            deferred_reason=None,
                        )
                    )
                    result = results[job.tenant]
                    result.invoiced += 1
                    result.latencies.append(now - arrived_at[job.sale_id])
                    result.last_invoiced = now
                    remaining -= 1
                else:
                    reason, wait = outcome.split(":")
                    until = at(now + float(wait))
                    out.deferrals += 1
                    await session.execute(
                        update(Sale)
                        .where(Sale.id == job.sale_id)
                        .values(
                            next_attempt_at=until,
                            lease_owner=None,
                            lease_until=None,
                            deferred_until=until,
                            deferred_reason=reason,
                        )
                    )
                    if reason == "siigo_budget_wait":
                        await queue.pause_claims(
                            session, job.integration_id, until=until, reason=reason
                        )
                await session.commit()
        # The next event: a call ending, an arrival, or the next claim.
        candidates = [j.ready_at for j in jobs.values()]
        if pending_arrivals:
            candidates.append(pending_arrivals[0][0])
        if len(jobs) < cfg.slots:
            candidates.append(max(next_claim, now))
        upcoming = min(candidates) if candidates else now + cfg.poll
        if upcoming <= now + 1e-9 and not any(j.ready_at <= now + 1e-9 for j in jobs.values()):
            upcoming = now + 1e-3  # nothing can happen now (every slot waits on a claim)
        sim_now = max(now, upcoming)
    out.sim_seconds = sim_now
    out.ml_factor_min = min(out.ml_factor_min, await ml_budget.rate_factor(_ML_KEY))
    return out


_ML_KEY = "mercadolibre:app:sim"


async def _advance(
    job: _Job,
    now: float,
    cfg: SimConfig,
    siigo: dict[int, RateLimiter],
    siigo_vendor: dict[int, _SlidingWindow],
    ml_budget: RateLimiter,
    ml_vendor: _SlidingWindow,
    out: SimResult,
    rng: random.Random,
    start: float,
) -> str | None:
    """Makes the job's next call; returns None (still going), "invoiced", or
    "<deferral reason>:<seconds>"."""
    if job.step >= cfg.ml_calls + cfg.siigo_calls:
        return "invoiced"
    limiter = siigo[job.integration_id]
    key = f"siigo:sim-{job.integration_id}"
    if job.step == 0 and cfg.siigo_calls and not job.held:
        # The pipeline's `SiigoClient.reserve_first_request`: no vendor call for a sale its
        # company cannot serve now; one it can serve holds its first Siigo token from now on.
        try:
            await limiter.hold(key, max_wait=cfg.max_wait)
        except BudgetWaitError as exc:
            return f"siigo_budget_wait:{exc.retry_after or 0.1}"
        job.held = True
    if job.step < cfg.ml_calls:
        try:
            gate = cfg.max_wait if job.step == 0 else None  # the client's `admitted`
            wait = await ml_budget.reserve(_ML_KEY, max_wait=gate)
        except BudgetWaitError as exc:
            if job.held:
                await limiter.release_hold(key)  # the pipeline's `release_unused`
                job.held = False
            return f"mercadolibre_budget_wait:{exc.retry_after or 0.1}"
        out.ml_calls += 1
        if not ml_vendor.allow(now + wait):
            out.ml_429 += 1
            await ml_budget.notice_429(_ML_KEY, 1.0)
            out.ml_factor_min = min(out.ml_factor_min, await ml_budget.rate_factor(_ML_KEY))
            if job.held:
                await limiter.release_hold(key)
                job.held = False
            return "rate_limited:1.0"
        job.ready_at = now + wait + cfg.ml_latency * rng.uniform(0.8, 1.2)
    else:
        if job.held:
            # The token set aside before the MercadoLibre calls (`use_hold`).
            wait, job.held = await limiter.use_hold(key), False
        else:
            try:
                gate = cfg.max_wait if job.step == cfg.ml_calls else None
                wait = await limiter.reserve(key, max_wait=gate)
            except BudgetWaitError as exc:
                return f"siigo_budget_wait:{exc.retry_after or 0.1}"
        out.siigo_calls += 1
        if not siigo_vendor[job.integration_id].allow(now + wait):
            out.siigo_over_limit += 1
        job.ready_at = now + wait + cfg.siigo_latency * rng.uniform(0.8, 1.2)
    job.step += 1
    return None


async def _integration(session: AsyncSession, name: str) -> tuple[int, int]:
    tenant = Tenant(name=name)
    session.add(tenant)
    await session.flush()
    ml = Connection(
        tenant_id=tenant.id,
        provider="mercadolibre",
        external_account_id=f"sim-{tenant.id}",
        account_name=name,
        meta={},
    )
    erp = Connection(
        tenant_id=tenant.id,
        provider="siigo",
        external_account_id=f"sim-{tenant.id}@siigo",
        account_name=name,
        meta={},
    )
    session.add_all([ml, erp])
    await session.flush()
    integration = Integration(
        tenant_id=tenant.id,
        ml_connection_id=ml.id,
        siigo_connection_id=erp.id,
        settings={},
        proposals={},
    )
    session.add(integration)
    await session.flush()
    return int(integration.id), int(tenant.id)


_EPOCH = datetime(1970, 1, 1)


def _datetime(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)
