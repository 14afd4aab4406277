"""Siigo's per-company request limit, held across every worker and process.

The bucket is `connections.rate_limit.RateLimiter` under the key `siigo:<company>`: 100 requests
per sliding minute per company (shared with any other application the merchant uses). The sync
engine asks with `max_wait` (`CONEXAPI_SIIGO_MAX_WAIT_SECONDS`): a company whose bucket cannot
give a token that soon defers the sale instead of holding a worker's slot.
"""

from __future__ import annotations

from conexapi.connections.rate_limit import RateLimiter
from conexapi.core.clock import Clock
from conexapi.db import is_sqlite
from conexapi.runtime import Runtime

__all__ = ["RateLimiter", "build_limiter", "siigo_bucket_key"]


def siigo_bucket_key(company: str) -> str:
    return f"siigo:{company.lower()}"[:191]


def build_limiter(
    runtime: Runtime,
    *,
    requests_per_minute: int | None = None,
    capacity: float | None = None,
    clock: Clock | None = None,
) -> RateLimiter:
    """The limiter for a runtime: database bucket on MariaDB, in-process bucket on SQLite.

    The burst is small (rpm/50, 2 requests at 100/min): the refill rate is `(rpm - burst)/60`,
    so a company's backlog drains within 2 % of the time its limit allows."""
    url = runtime.settings.database_url
    rpm = (
        runtime.settings.siigo.requests_per_minute
        if requests_per_minute is None
        else requests_per_minute
    )
    return RateLimiter(
        runtime.sessions,
        rpm,
        capacity=capacity if capacity is not None else max(1.0, rpm / 50),
        memory_scope=url if is_sqlite(url) else None,
        clock=clock or runtime.clock,
        vendor="siigo",
    )
