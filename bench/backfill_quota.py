"""A backfill under MercadoLibre's per-application quota (issue 14): real processes.

The simulator answers 429 above `--quota` requests per second for the whole application (every
seller together), as MercadoLibre does; ConexAPI's application budget
(`CONEXAPI_MELI_REQUESTS_PER_SECOND`) is set to the same figure. Every notification is dropped,
`--sales` sales are generated, and a backfill of today finds them with `orders/search`. Goal:
every sale invoiced and 0 answers 429 from MercadoLibre.

    PYTHONPATH=. python -m bench.backfill_quota --sales 2000 --quota 50
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.common import BenchStack, StackConfig, settle, write_result
from bench.cost_cases import start_backfill


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.backfill_quota")
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--quota", type=int, default=50, help="requests/s, simulator and budget")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=9100)
    parser.add_argument("--database", default="conexapi_bench_backfill_quota")
    args = parser.parse_args(argv)
    started = time.monotonic()
    config = StackConfig(
        "backfill_quota",
        args.database,
        sandbox={"ml_app_requests_per_second": args.quota},
        env={"CONEXAPI_MELI_REQUESTS_PER_SECOND": str(args.quota)},
    )
    with BenchStack(config) as stack:
        assert stack.db is not None
        for _ in range(args.workers):
            stack.start_worker(CONEXAPI_SWEEP_INTERVAL_SECONDS="3600")
        time.sleep(10.0)  # the workers' first sweep (at start) finds nothing yet
        stack.set_faults({"notifications": {"drop_rate": 1.0}})
        generated = stack.generate(args.sales, kinds=["single"] * args.sales, seed=args.seed)
        refused_before = int(stack.ml_stats().get("app_rate_limited", 0))
        t0 = time.monotonic()
        start_backfill(stack)
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline and int(
            stack.db.scalar("SELECT COUNT(*) FROM job WHERE kind='backfill' AND state <> 'done'")
        ):
            time.sleep(1.0)
        settled = settle(stack, 1800)
        seconds = round(time.monotonic() - t0, 1)
        invoiced = int(stack.db.scalar("SELECT COUNT(*) FROM document WHERE kind='invoice'"))
        stats = stack.ml_stats()
        refused = int(stats.get("app_rate_limited", 0)) - refused_before
        calls = sum(int(v) for v in (stats.get("calls") or {}).values())
        stack.stop_workers()
    result: dict[str, Any] = {
        "params": vars(args),
        "sales": len(generated),
        "invoiced": invoiced,
        "settled": settled,
        "seconds": seconds,
        "ml_calls": calls,
        "ml_calls_per_second": round(calls / seconds, 1) if seconds else None,
        "answers_429": refused,
        "goals": {"every_sale_invoiced": invoiced == len(generated), "no_429": refused == 0},
        "total_seconds": round(time.monotonic() - started, 1),
    }
    write_result("backfill_quota", result)
    print(
        f"[backfill-quota] {len(generated)} sales, {invoiced} invoiced in {seconds} s, "
        f"{calls} MercadoLibre calls ({result['ml_calls_per_second']}/s against a quota of "
        f"{args.quota}/s), {refused} answers 429"
    )
    return 0 if all(result["goals"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
