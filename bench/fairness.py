"""Fairness benchmarks on the scheduling simulator (`bench/fairsim.py`): real claims, real
budgets and deferrals on a database, vendor calls simulated on an injected clock (time-scaled:
a 10-minute backlog runs in well under a minute of machine time).

Scenarios (figures in docs/benchmarks.md, "Fair scheduling"):

- `noisy`: seller A with 500 sales at once on a Siigo company limited to 100 requests/min (a
  10-minute floor), seller B with 20 live sales over two minutes. Targets: B's paid-to-invoiced
  p95 ≤ 5 s; A's drain ≤ 1.10 × its floor.
- `many`: 200 sellers × 25 sales arriving together, MercadoLibre application budget 50
  requests/s in both the setting and the simulated vendor. Target: every seller's p95 within 2×
  of the others' and within 2× of one seller alone with its fair share of the budget (50/s
  over 200 sellers); a seller alone with the whole budget is reported too.
- `latency`: 10 sellers, live sales at 1/s for two minutes, MercadoLibre 150 ms and Siigo 800 ms
  per call. Target: paid-to-invoiced p95 ≤ 5 s.
- `aimd`: the budget set above the vendor's quota (80/s against 50/s): 429s lower it (AIMD).

    python -m bench.fairness [--only noisy,many,latency,aimd] [--database sqlite|URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_result
from bench.fairsim import SimConfig, SimResult, TenantLoad, simulate
from conexapi.db import Base, create_engine, create_sessionmaker

SCENARIOS = ("noisy", "many", "latency", "aimd")


async def _run(url: str, loads: list[TenantLoad], cfg: SimConfig) -> tuple[SimResult, float]:
    import conexapi.models  # noqa: F401  (every table)

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    started = time.monotonic()
    try:
        result = await simulate(create_sessionmaker(engine), loads, cfg)
    finally:
        await engine.dispose()
    return result, time.monotonic() - started


def _p(values: list[float], q: float) -> float:
    from bench.fairsim import percentile

    return round(percentile(values, q), 2)


async def noisy(url: str) -> dict[str, Any]:
    cfg = SimConfig(slots=16, max_in_flight=4)
    loads = [
        TenantLoad("A", sales=500, siigo_rpm=100),
        TenantLoad("B", sales=20, arrive_at=10.0, spread=120.0, siigo_rpm=100),
    ]
    result, wall = await _run(url, loads, cfg)
    a, b = result.tenants
    floor = a.sales * cfg.siigo_calls / (100 / 60)
    return {
        "config": {"slots": cfg.slots, "max_in_flight": cfg.max_in_flight, "siigo_rpm": 100},
        "a_sales": a.sales,
        "a_invoiced": a.invoiced,
        "a_drain_s": round(a.drain_seconds, 1),
        "a_floor_s": round(floor, 1),
        "a_drain_over_floor": round(a.drain_seconds / floor, 3),
        "b_sales": b.sales,
        "b_invoiced": b.invoiced,
        "b_p50_s": _p(b.latencies, 50),
        "b_p95_s": _p(b.latencies, 95),
        "b_max_s": round(max(b.latencies), 2),
        **result.summary(),
        "machine_seconds": round(wall, 1),
        "pass": b.invoiced == b.sales
        and _p(b.latencies, 95) <= 5
        and a.drain_seconds <= 1.10 * floor,
    }


async def many(url: str, tenants: int = 200, sales: int = 25) -> dict[str, Any]:
    cfg = SimConfig(slots=64, max_in_flight=4, ml_budget_rps=50, ml_quota_rps=50)
    alone, wall_alone = await _run(url, [TenantLoad("solo", sales=sales)], cfg)
    # One seller alone with its fair share of the application budget: the budget's sustained
    # rate (limit 50/s, burst 10: 40/s) split over every seller, burst 1.
    share = (cfg.ml_budget_rps - cfg.ml_budget_rps / 5) / tenants
    # A budget of `share` per second: over a 5 s window, a burst of 1 plus 5 × share refilled
    # (the limiter refills (limit - burst) per window).
    window = 5.0
    share_cfg = SimConfig(
        slots=64,
        max_in_flight=4,
        ml_budget_rps=(share * window + 1) / window,
        ml_budget_window=window,
        ml_budget_capacity=1.0,
    )
    at_share, wall_share = await _run(url, [TenantLoad("share", sales=sales)], share_cfg)
    loads = [TenantLoad(f"T{n:03d}", sales=sales) for n in range(tenants)]
    result, wall = await _run(url, loads, cfg)
    p95s = [t.percentile(95) for t in result.tenants]
    solo_p95 = alone.tenants[0].percentile(95)
    share_p95 = at_share.tenants[0].percentile(95)
    median = statistics.median(p95s)
    total_ml = tenants * sales * cfg.ml_calls
    # The least time the application budget allows for every call: limit 50/s (burst 10).
    budget_floor = (total_ml - 10) / 40
    return {
        "config": {
            "tenants": tenants,
            "sales_each": sales,
            "slots": cfg.slots,
            "max_in_flight": cfg.max_in_flight,
            "ml_budget_rps": cfg.ml_budget_rps,
            "ml_quota_rps": cfg.ml_quota_rps,
            "fair_share_rps": round(share, 3),
        },
        "invoiced": sum(t.invoiced for t in result.tenants),
        "tenant_p95_min_s": round(min(p95s), 1),
        "tenant_p95_median_s": round(median, 1),
        "tenant_p95_max_s": round(max(p95s), 1),
        "tenant_p95_max_over_min": round(max(p95s) / min(p95s), 3),
        "tenant_p95_max_over_median": round(max(p95s) / median, 3),
        "solo_p95_s": round(solo_p95, 2),
        "tenant_p95_max_over_solo": round(max(p95s) / solo_p95, 1),
        "share_p95_s": round(share_p95, 1),
        "tenant_p95_max_over_share": round(max(p95s) / share_p95, 3),
        "all_done_s": round(result.sim_seconds, 1),
        "budget_floor_s": round(budget_floor, 1),
        "all_done_over_budget_floor": round(result.sim_seconds / budget_floor, 3),
        **result.summary(),
        "machine_seconds": round(wall + wall_alone + wall_share, 1),
        "pass": max(p95s) <= 2 * min(p95s) and max(p95s) <= 2 * share_p95 and result.ml_429 == 0,
    }


async def latency(url: str) -> dict[str, Any]:
    cfg = SimConfig(slots=16, max_in_flight=4, ml_latency=0.15, siigo_latency=0.8, ml_budget_rps=50)
    loads = [
        TenantLoad(f"L{n}", sales=12, arrive_at=n * 0.1, spread=120.0, siigo_rpm=100)
        for n in range(10)
    ]
    result, wall = await _run(url, loads, cfg)
    values = [v for t in result.tenants for v in t.latencies]
    return {
        "config": {"ml_latency_s": 0.15, "siigo_latency_s": 0.8, "sales": len(values)},
        "p50_s": _p(values, 50),
        "p95_s": _p(values, 95),
        "max_s": round(max(values), 2),
        **result.summary(),
        "machine_seconds": round(wall, 1),
        "pass": _p(values, 95) <= 5,
    }


async def aimd(url: str) -> dict[str, Any]:
    cfg = SimConfig(slots=64, max_in_flight=4, ml_budget_rps=80, ml_quota_rps=50)
    loads = [TenantLoad(f"T{n:03d}", sales=25) for n in range(50)]
    result, wall = await _run(url, loads, cfg)
    p95s = [t.percentile(95) for t in result.tenants]
    return {
        "config": {"ml_budget_rps": 80, "ml_quota_rps": 50, "tenants": 50, "sales_each": 25},
        "invoiced": sum(t.invoiced for t in result.tenants),
        "tenant_p95_max_over_min": round(max(p95s) / min(p95s), 3),
        **result.summary(),
        "machine_seconds": round(wall, 1),
        "pass": all(t.invoiced == t.sales for t in result.tenants),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.fairness")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--tenants", type=int, default=200, help="many: how many sellers")
    args = parser.parse_args(argv)
    url = args.database
    if url == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='fairsim-')) / 'sim.db'}"
    runs = {"noisy": noisy, "many": many, "latency": latency, "aimd": aimd}
    results: dict[str, Any] = {"database": url.split(":")[0]}
    for name in args.only.split(","):
        print(f"[fairness] {name}...", flush=True)
        if name == "many":
            results[name] = asyncio.run(many(url, tenants=args.tenants))
        else:
            results[name] = asyncio.run(runs[name](url))
        print(f"[fairness] {name}: {results[name]}", flush=True)
    write_result("fairness", results)
    return 0 if all(r.get("pass", True) for r in results.values() if isinstance(r, dict)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
