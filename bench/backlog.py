"""Backlog under the real Siigo limit: 100 requests/min per company, shared by every worker.

1. Warm-up without a limit: N single-order sales with buyers generated from fixed seeds are
   invoiced, so Siigo (and ConexAPI) know those buyers.
2. The simulator's limit is set to 100 requests/min; the same seeds generate N new sales of the
   same (now known) buyers; the API takes every notification in with no worker running.
3. A few fresh workers start with `CONEXAPI_SIIGO_REQUESTS_PER_MINUTE=100` and drain the backlog.

The floor is the time the limit itself imposes: calls needed / 100 per minute, where the calls
needed are one invoice per sale (known buyers, catalogs read at configuration). The figure is
drain time / floor. Every 429 the simulator answered is counted, and the sales' timelines are read
for deferrals and burnt attempts.

    python -m bench.backlog [--sales 150] [--workers 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.common import BenchStack, StackConfig, settle, write_result
from bench.cost import delta

LIMIT = 100


def generate(stack: BenchStack, count: int, seed: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j in range(0, count, 10):
        out += stack.generate(min(10, count - j), seed=seed + j, mix={"single": 1})
        time.sleep(0.5)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.backlog")
    parser.add_argument("--sales", type=int, default=150)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9000)
    parser.add_argument("--database", default="conexapi_bench_backlog")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with BenchStack(StackConfig("backlog", args.database)) as stack:
        assert stack.db is not None
        warm = stack.start_worker(CONEXAPI_SIIGO_REQUESTS_PER_MINUTE="0")
        generate(stack, args.sales, args.seed)
        stack.wait_intake()
        settle(stack, 300)
        warm.stop()
        stack.workers.remove(warm)
        stack.set_siigo_rpm(LIMIT)
        cutoff = int(stack.db.scalar("SELECT COALESCE(MAX(id), 0) FROM sale"))
        generate(stack, args.sales, args.seed)
        stack.wait_intake()
        siigo0 = stack.siigo_stats()
        t0 = time.monotonic()
        for _ in range(args.workers):
            stack.start_worker(CONEXAPI_SIIGO_REQUESTS_PER_MINUTE=str(LIMIT))
        deadline = t0 + 600
        invoiced = 0
        while time.monotonic() < deadline:
            invoiced = int(
                stack.db.scalar(
                    "SELECT COUNT(*) FROM sale WHERE id > %s AND state='invoiced'", cutoff
                )
            )
            if invoiced >= args.sales:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
        siigo1 = stack.siigo_stats()
        events = dict(
            stack.db.rows(
                "SELECT e.kind, COUNT(*) FROM sale_event e JOIN sale s ON s.id = e.sale_id "
                "WHERE s.id > %s GROUP BY e.kind",
                cutoff,
            )
        )
        rate_limited_events = int(
            stack.db.scalar(
                "SELECT COUNT(*) FROM sale WHERE id > %s AND error_code='rate_limited'", cutoff
            )
            or 0
        )
        stack.stop_workers()
    calls = delta(siigo1["calls"], siigo0["calls"])
    total_calls = sum(calls.values())
    floor_s = args.sales / LIMIT * 60
    result = {
        "params": vars(args),
        "limit_per_minute": LIMIT,
        "sales": args.sales,
        "invoiced": invoiced,
        "drain_s_including_worker_startup": round(elapsed, 1),
        "calls_needed": args.sales,
        "siigo_calls": calls,
        "siigo_calls_total": total_calls,
        "floor_s": round(floor_s, 1),
        "floor_s_for_calls_made": round(total_calls / LIMIT * 60, 1),
        "ratio": round(elapsed / floor_s, 3),
        "simulator_429": int(siigo1["rate_limited"]) - int(siigo0["rate_limited"]),
        "sales_left_deferred_by_429": rate_limited_events,
        "timeline_events": {str(k): int(v) for k, v in events.items()},
    }
    result["goals"] = {
        "within_10_percent_of_floor": result["ratio"] <= 1.10 and invoiced >= args.sales,
        "no_429_reaches_the_error_budget": result["simulator_429"] == 0
        and int(events.get("retrying", 0)) == 0
        and int(events.get("dead", 0)) == 0,
    }
    result["seconds"] = round(time.monotonic() - started, 1)
    print(
        f"[backlog] {invoiced}/{args.sales} invoiced in {elapsed:.1f} s; floor {floor_s:.0f} s "
        f"(x{result['ratio']}); {total_calls} Siigo calls; {result['simulator_429']} x 429"
    )
    write_result("backlog", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
