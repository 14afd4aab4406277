"""One seller never slows another: a small two-tenant run of the real claims and budgets.

The claims (`sync.queue.claim_due`), the deferrals and the request budgets are the product's;
the vendor calls are simulated on an injected clock (`bench/fairsim.py`), so the run takes a few
seconds of machine time and its result does not depend on how busy the machine is. The large
runs (500-sale backlog, 200 tenants) are in `make bench` (docs/benchmarks.md).
"""

from __future__ import annotations

from bench.fairsim import SimConfig, TenantLoad, simulate

from conexapi.runtime import Runtime


async def test_live_sales_of_one_seller_are_invoiced_while_another_drains_a_backlog(
    runtime: Runtime,
) -> None:
    backlog = TenantLoad("A", sales=60, source="notification", siigo_rpm=100)
    live = TenantLoad("B", sales=5, arrive_at=10.0, spread=20.0, siigo_rpm=100)
    cfg = SimConfig(slots=8, max_in_flight=4, ml_latency=0.15, siigo_latency=0.8)
    result = await simulate(runtime.sessions, [backlog, live], cfg)
    a, b = result.tenants
    assert a.invoiced == 60
    assert b.invoiced == 5
    # B's sales were invoiced long before A's backlog drained, each within seconds of arriving
    # (A's Siigo company allows 100 requests a minute: A needs at least 72 s).
    assert b.last_invoiced < a.last_invoiced / 2
    assert max(b.latencies) < 5
    floor = 60 * cfg.siigo_calls / (100 / 60)
    assert floor <= a.drain_seconds <= 1.10 * floor
    # No company ever saw more than its limit; A's waits were deferrals, not held slots.
    assert result.siigo_over_limit == 0
    assert result.deferrals > 0


async def test_a_backfill_yields_to_live_sales_of_the_same_seller(runtime: Runtime) -> None:
    backfill = TenantLoad("A-backfill", sales=30, source="backfill", siigo_rpm=0)
    cfg = SimConfig(slots=2, max_in_flight=2, siigo_latency=0.8)
    result = await simulate(
        runtime.sessions,
        [backfill, TenantLoad("B", sales=3, arrive_at=5.0, siigo_rpm=0)],
        cfg,
    )
    backlog, live = result.tenants
    assert live.invoiced == 3
    assert max(live.latencies) < 3 * (4 * 0.15 + 2 * 0.8)
    assert backlog.invoiced == 30
