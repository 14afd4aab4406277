"""Worker memory over a long run: resident set size of one worker process vs. sales processed.

One worker (`CONEXAPI_WORKER_CONCURRENCY=8`) invoices N sales arriving in rounds; its RSS
(/proc/<pid>/status VmRSS) is sampled every 0.5 s together with the number of sales invoiced.
Reported: RSS after warm-up (10 % of the sales), last, max, and the least-squares slope of RSS
against sales over the part after warm-up, in MiB per 1,000 sales. The goal: no growth with the
number of sales (slope under 1 MiB per 1,000 sales).

    python -m bench.memory [--sales 3000]
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from bench.common import INVOICE_KINDS, BenchStack, StackConfig, settle, write_result


def slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.memory")
    parser.add_argument("--sales", type=int, default=2500)
    parser.add_argument("--rate", type=float, default=25)
    parser.add_argument("--database", default="conexapi_bench_memory")
    args = parser.parse_args(argv)
    started = time.monotonic()
    samples: list[dict[str, Any]] = []
    with BenchStack(StackConfig("memory", args.database)) as stack:
        assert stack.db is not None
        worker = stack.start_worker(CONEXAPI_WORKER_CONCURRENCY="8")
        stop = threading.Event()
        db = type(stack.db)(stack.db.name)  # own connection for the sampling thread

        def sample() -> None:
            t0 = time.monotonic()
            while not stop.wait(0.5):
                rss = worker.rss_kib()
                done = int(db.scalar("SELECT COUNT(*) FROM sale WHERE state='invoiced'"))
                if rss:
                    samples.append(
                        {"t": round(time.monotonic() - t0, 1), "sales": done, "rss_kib": rss}
                    )

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stack.generate_paced(args.sales, rate=args.rate, mix=INVOICE_KINDS)
        stack.advance()
        stack.wait_intake()
        settle(stack, 300)
        stop.set()
        sampler.join()
        db.close()
        invoiced = stack.db.states().get("invoiced", 0)
        stack.stop_workers()
    warm = [s for s in samples if s["sales"] >= args.sales * 0.1]
    points = [(s["sales"] / 1000, s["rss_kib"] / 1024) for s in warm]
    per_1000 = slope(points)
    first = warm[0]["rss_kib"] / 1024 if warm else float("nan")
    last = samples[-1]["rss_kib"] / 1024 if samples else float("nan")
    peak = max(s["rss_kib"] for s in samples) / 1024 if samples else float("nan")
    result = {
        "params": vars(args),
        "invoiced": invoiced,
        "rss_mib_after_warmup": round(first, 1),
        "rss_mib_last": round(last, 1),
        "rss_mib_max": round(peak, 1),
        "slope_mib_per_1000_sales": round(per_1000, 3),
        "samples": samples,
        "goals": {"rss_steady": per_1000 < 1.0 and invoiced >= 1000},
        "seconds": round(time.monotonic() - started, 1),
    }
    print(
        f"[memory] {invoiced} invoiced; RSS {first:.1f} -> {last:.1f} MiB (max {peak:.1f}); "
        f"slope {per_1000:.3f} MiB per 1000 sales"
    )
    write_result("memory", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
