"""Quick retries of one vendor call, before the sale's attempt counts as failed.

A sale attempt makes several vendor calls; with a few percent of 5xx per call, failing the whole
attempt on any one of them fails a large share of attempts (and costs every call made before it
again). Calls that are safe to repeat (MercadoLibre GETs, Siigo reads, Siigo document POSTs that
carry their `Idempotency-Key`) get `retries` more tries on a `TransientError` (5xx, 408, timeout,
network), waiting a jittered `base · 2^n` between them. A 429 or our own budget saying "later"
(`RateLimitedError`) is never retried here: the sale is deferred instead. A vendor `Retry-After`
longer than the quick wait ends the retries too.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from conexapi.core.clock import Clock
from conexapi.core.errors import RateLimitedError, TransientError
from conexapi.core.metrics import EXTERNAL_RETRIES

log = structlog.get_logger("conexapi.http")

T = TypeVar("T")

# A vendor asking for longer than this is not a "quick" retry: the attempt fails (and the
# policy's backoff takes over).
QUICK_RETRY_MAX_SECONDS = 5.0


def quick_delay(attempt: int, base_seconds: float, rng: random.Random | None = None) -> float:
    """The wait before retry `attempt` (1, 2...): uniform in [c/2, c], c = base·2^(attempt-1)."""
    ceiling = base_seconds * (2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    retries: int,
    base_seconds: float,
    clock: Clock,
    vendor: str,
    rng: random.Random | None = None,
) -> T:
    """Runs `call`, trying again up to `retries` times after a transient failure."""
    attempt = 0
    while True:
        try:
            return await call()
        except RateLimitedError:
            raise
        except TransientError as exc:
            attempt += 1
            if attempt > retries:
                raise
            delay = quick_delay(attempt, base_seconds, rng)
            if exc.retry_after is not None:
                if exc.retry_after > QUICK_RETRY_MAX_SECONDS:
                    raise
                delay = max(delay, exc.retry_after)
            EXTERNAL_RETRIES.labels(vendor=vendor).inc()
            log.info(
                "external.retry",
                vendor=vendor,
                retry=attempt,
                status=exc.status_code,
                wait_ms=round(delay * 1000),
            )
            await clock.sleep(delay)
