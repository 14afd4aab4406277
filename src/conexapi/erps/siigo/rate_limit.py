"""Siigo's per-company request limit, held across every worker and process.

A token bucket in the `rate_bucket` table (key `siigo:<company>`). Each `acquire` is one short
transaction on the locked row: refill by elapsed time, take one token, commit. The bucket may go
negative: a negative balance is a reservation, and the caller sleeps (outside any transaction)
for exactly the time the refill needs to cover it. So waiting callers are served in order without
polling the database.

Siigo counts requests in a sliding 60 s window. A bucket of capacity C refilled at R/s admits up
to C + 60·R requests in any 60 s, so the refill rate is `(rpm - C) / 60`: the limit holds even in
the first minute of a burst. The capacity is small (rpm/10) so bursts stay short.

SQLite runs one process (the demo): there the bucket lives in process memory, shared by every
runtime of the process on the same database. A write per request would contend with the caller's
own transaction for SQLite's single write lock (a request that has flushed changes and then calls
Siigo would wait on itself).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import structlog
from cachetools import LRUCache
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.connections.models import RateBucket
from conexapi.db import insert_ignore, is_sqlite, transaction, utcnow
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.siigo.rate_limit")


# (scope, key) -> (tokens, monotonic time of the last update); see the module docstring. Bounded:
# the demo's one process has far fewer companies than this; past it, the least recently used
# bucket is forgotten and starts full again.
MEMORY_BUCKETS = 10_000
_MEMORY: LRUCache[tuple[str, str], tuple[float, float]] = LRUCache(maxsize=MEMORY_BUCKETS)


def siigo_bucket_key(company: str) -> str:
    return f"siigo:{company.lower()}"[:191]


class RateLimiter:
    """`await limiter.acquire(key)` before each request; `notice_429` when the vendor refused."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        requests_per_minute: int,
        *,
        capacity: float | None = None,
        memory_scope: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.memory_scope = memory_scope
        self.requests_per_minute = requests_per_minute
        self.capacity = capacity if capacity is not None else max(1.0, requests_per_minute / 10)
        per_minute = requests_per_minute - self.capacity
        if per_minute <= 0:
            per_minute = max(requests_per_minute / 2, 1.0)
        self.rate = per_minute / 60.0  # tokens per second

    @property
    def unlimited(self) -> bool:
        return self.requests_per_minute <= 0

    async def _locked_bucket(self, session: AsyncSession, key: str) -> RateBucket | None:
        is_sqlite_db = session.bind is not None and session.bind.dialect.name == "sqlite"
        if is_sqlite_db:
            # Take SQLite's write lock first so the read below cannot go stale (see repository).
            await session.execute(
                update(RateBucket)
                .where(RateBucket.key == key)
                .values(tokens=RateBucket.tokens)
                .execution_options(synchronize_session=False)
            )
        stmt = (
            select(RateBucket)
            .where(RateBucket.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await session.execute(stmt)).scalar_one_or_none()

    async def _bucket_in(self, session: AsyncSession, key: str) -> RateBucket:
        bucket = await self._locked_bucket(session, key)
        if bucket is None:
            # Created in its own transaction: an INSERT IGNORE followed by FOR UPDATE in one
            # transaction deadlocks on MariaDB when many workers create the same row at once;
            # our own (empty) transaction ends first so it holds no lock meanwhile.
            await session.rollback()
            async with transaction(self.sessions) as creator:
                await insert_ignore(
                    creator,
                    RateBucket,
                    {"key": key, "tokens": self.capacity, "updated_at": utcnow()},
                )
            bucket = await self._locked_bucket(session, key)
            assert bucket is not None
        return bucket

    def _refill(self, bucket: RateBucket, now: datetime) -> float:
        elapsed = max(0.0, (now - bucket.updated_at.replace(tzinfo=None)).total_seconds())
        return min(self.capacity, bucket.tokens + elapsed * self.rate)

    async def acquire(self, key: str) -> None:
        """Returns when the caller may send one request under `key` (sleeping if needed)."""
        if self.unlimited:
            return
        if self.memory_scope is not None:
            tokens = self._memory_take(key, 1.0)
        else:
            async with transaction(self.sessions) as session:
                bucket = await self._bucket_in(session, key)
                now = _clock_after(bucket)
                tokens = self._refill(bucket, now) - 1.0
                bucket.tokens = tokens
                bucket.updated_at = now
        if tokens < 0:
            wait = -tokens / self.rate
            log.debug("rate_limit.wait", key=key, seconds=round(wait, 3))
            await asyncio.sleep(wait)

    async def notice_429(self, key: str, retry_after: float | None) -> None:
        """The vendor said "too many": empty the bucket so every worker backs off together."""
        if self.unlimited:
            return
        backoff = retry_after if retry_after is not None else 60.0 / max(self.rate * 60, 1.0)
        if self.memory_scope is not None:
            current = self._memory_take(key, 0.0)
            self._memory_set(key, min(current, 0.0) - backoff * self.rate)
            log.warning("rate_limit.vendor_429", key=key, backoff_seconds=backoff)
            return
        async with transaction(self.sessions) as session:
            bucket = await self._bucket_in(session, key)
            now = _clock_after(bucket)
            bucket.tokens = min(self._refill(bucket, now), 0.0) - backoff * self.rate
            bucket.updated_at = now
        log.warning("rate_limit.vendor_429", key=key, backoff_seconds=backoff)

    def _memory_take(self, key: str, amount: float) -> float:
        assert self.memory_scope is not None
        now = time.monotonic()
        tokens, at = _MEMORY.get((self.memory_scope, key), (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate) - amount
        _MEMORY[(self.memory_scope, key)] = (tokens, now)
        return tokens

    def _memory_set(self, key: str, tokens: float) -> None:
        assert self.memory_scope is not None
        _MEMORY[(self.memory_scope, key)] = (tokens, time.monotonic())


def build_limiter(
    runtime: Runtime, *, requests_per_minute: int | None = None, capacity: float | None = None
) -> RateLimiter:
    """The limiter for a runtime: database bucket on MariaDB, in-process bucket on SQLite."""
    url = runtime.settings.database_url
    return RateLimiter(
        runtime.sessions,
        runtime.settings.siigo.requests_per_minute
        if requests_per_minute is None
        else requests_per_minute,
        capacity=capacity,
        memory_scope=url if is_sqlite(url) else None,
    )


def _clock_after(bucket: RateBucket) -> datetime:
    """Now, read once the row lock is held, and never before the bucket's last update: a
    timestamp read before waiting for the lock would move `updated_at` back, and the next refill
    would count the same seconds twice (a burst above the limit)."""
    return max(utcnow(), bucket.updated_at.replace(tzinfo=None))
