"""`conexapi worker`, as the benchmarks run it: `python -m bench.worker_proc`.

The same code as `conexapi worker` (settings from the environment, `Worker` with the sweep and
upkeep, SIGTERM stops it), with two differences:

1. it imports `conexapi.models` first. `conexapi worker` as shipped does not, so SQLAlchemy's
   metadata lacks the `tenant` table and every sale fails at its first flush with
   `NoReferencedTableError: ... could not find table 'tenant'` (reported; see
   docs/benchmarks.md). Remove this once the product imports its models in the worker.
2. when BENCH_RETRY_BASE_SECONDS is set (the chaos run), the retry policy's time scale, which the
   product does not expose as a setting: with the production backoff (30 s base, 1 h cap) the
   tail of a run with thousands of injected failures would take an hour. Environment:
   BENCH_RETRY_BASE_SECONDS, BENCH_RETRY_CAP_SECONDS (default 4),
   BENCH_RATE_LIMIT_DEFAULT_SECONDS (default 1: deferral after a 429 without Retry-After).
   The number of attempts stays the product's `CONEXAPI_WORKER_MAX_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio
import os
import signal

import conexapi.models  # noqa: F401  (workaround, see above)
from conexapi.core.logging import configure_logging
from conexapi.runtime import Runtime
from conexapi.settings import load_settings
from conexapi.sync.policy import RetryPolicy
from conexapi.sync.worker import Worker


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    policy = None  # the product's own (SaleProcessor builds it from the settings)
    if os.environ.get("BENCH_RETRY_BASE_SECONDS"):
        policy = RetryPolicy(
            base_seconds=float(os.environ["BENCH_RETRY_BASE_SECONDS"]),
            cap_seconds=float(os.environ.get("BENCH_RETRY_CAP_SECONDS", "4")),
            max_attempts=settings.worker.max_attempts,
            rate_limit_default_seconds=float(
                os.environ.get("BENCH_RATE_LIMIT_DEFAULT_SECONDS", "1")
            ),
        )

    async def run() -> None:
        runtime = Runtime.build(settings)
        worker = Worker(runtime, policy=policy)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        try:
            await worker.run()
        finally:
            await runtime.aclose()

    asyncio.run(run())


if __name__ == "__main__":
    main()
