"""Request budgets held across every worker and process: token buckets in the `rate_bucket` table.

One bucket per key: `siigo:<company>` (Siigo counts requests per company, 100 per minute) and
`mercadolibre:app:<client id>` (MercadoLibre counts requests per application, not per seller).
Each `reserve` is one short transaction on the locked row: refill by elapsed time, take one token,
commit. The bucket may go negative: a negative balance is a reservation, and the caller sleeps
(outside any transaction) for exactly the time the refill needs to cover it. So waiting callers
are served in order without polling the database.

**Never wait long on one budget.** A caller that passes `max_wait` gets `BudgetWaitError` (with
the seconds until a token is free) instead of a reservation longer than that: nothing is taken,
and the sync engine defers the sale to that moment and gives its slot to other work.

**Window.** The vendor counts requests in a sliding window (Siigo 60 s; our MercadoLibre budget
1 s). A bucket of capacity C refilled at R/s admits up to C + W·R requests in any window of W
seconds, so the refill rate is `(limit - C) / W`: the limit holds even at the start of a burst.

**AIMD** (`adaptive`, the MercadoLibre budget): a 429 halves the bucket's rate factor (never
below `min_factor`) and empties the bucket for the vendor's `Retry-After`; the factor then grows
back additively (`recovery_per_second`) to 1. The factor lives in the row, so every process slows
down together.

SQLite runs one process (the demo): there the bucket lives in process memory, shared by every
runtime of the process on the same database. A write per request would contend with the caller's
own transaction for SQLite's single write lock (a request that has flushed changes and then calls
the vendor would wait on itself).

Time comes from an injected `Clock` (tests use `ManualClock`: no wall-clock assertions).

`RequestBudget` is a vendor client's way through one budget: a token before each request (the one
the client holds, if any, else a new one), `max_wait` applied only until the client is admitted,
and the bucket emptied on a 429.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from cachetools import LRUCache
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.connections.models import RateBucket
from conexapi.core.clock import SYSTEM_CLOCK, Clock
from conexapi.core.errors import BudgetWaitError, RateLimitedError
from conexapi.db import insert_ignore, transaction

log = structlog.get_logger("conexapi.rate_limit")

# A hold (`RateLimiter.hold`) lasts through a sale's MercadoLibre reads, retries included; holds
# not used this long after the latest one are freed (a worker that crashed holding one).
HOLD_SECONDS = 120.0


@dataclass
class _State:
    tokens: float  # free for anyone: the held tokens are not counted
    at: float  # clock seconds of the last update
    factor: float
    held: int = 0  # tokens held for a first request to come (`hold`)
    held_until: float | None = None  # when the holds expire (a holder that crashed)


# A function from a refilled bucket state to (new state, result).
_Change = Callable[[_State], tuple[_State, float]]

# (scope, key) -> state; see the module docstring (SQLite: one process). Bounded: the demo's one
# process has far fewer companies than this; past it, the least recently used bucket is
# forgotten and starts full again (a burst of at most its capacity).
MEMORY_BUCKETS = 10_000
_MEMORY: LRUCache[tuple[str, str], _State] = LRUCache(maxsize=MEMORY_BUCKETS)


class RateLimiter:
    """`await limiter.acquire(key)` before each request; `notice_429` when the vendor refused."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        requests_per_minute: float,
        *,
        window_seconds: float = 60.0,
        capacity: float | None = None,
        memory_scope: str | None = None,
        clock: Clock | None = None,
        vendor: str = "siigo",
        adaptive: bool = False,
        min_factor: float = 0.1,
        recovery_per_second: float = 0.01,
    ) -> None:
        """`requests_per_minute` is the limit per `window_seconds` (named for Siigo's minute)."""
        self.sessions = sessions
        self.memory_scope = memory_scope
        self.clock = clock or SYSTEM_CLOCK
        self.vendor = vendor
        self.limit = requests_per_minute
        self.requests_per_minute = requests_per_minute
        self.window = window_seconds
        self.capacity = capacity if capacity is not None else max(1.0, self.limit / 10)
        per_window = self.limit - self.capacity
        if per_window <= 0:
            per_window = max(self.limit / 2, 1.0)
        self.rate = per_window / window_seconds  # tokens per second at factor 1
        self.adaptive = adaptive
        self.min_factor = min_factor
        self.recovery_per_second = recovery_per_second

    @property
    def unlimited(self) -> bool:
        return self.limit <= 0

    # -- the shared state ------------------------------------------------------------------------

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
                    {
                        "key": key,
                        "tokens": self.capacity,
                        "updated_at": self.clock.utcnow(),
                        "rate_factor": 1.0,
                    },
                )
            bucket = await self._locked_bucket(session, key)
            assert bucket is not None
        return bucket

    def _refilled(self, state: _State, now: float) -> _State:
        elapsed = max(0.0, now - state.at)
        factor = state.factor
        if self.adaptive:
            factor = min(1.0, factor + elapsed * self.recovery_per_second)
        tokens, held, held_until = state.tokens, state.held, state.held_until
        if held and held_until is not None and now > held_until:
            # Holds nobody used in time (their holder stopped): free again.
            tokens, held, held_until = tokens + held, 0, None
        # Held tokens stay in the bucket (they are taken when used), so they count toward its
        # capacity: the free ones refill up to `capacity - held`.
        tokens = min(self.capacity - held, tokens + elapsed * self.rate * state.factor)
        return _State(tokens, max(now, state.at), factor, held, held_until if held else None)

    def _take(self, state: _State, max_wait: float | None) -> tuple[_State, float]:
        """Takes one token from a refilled state: (new state, seconds to wait). Raises
        `BudgetWaitError` (taking nothing) when the wait would exceed `max_wait`."""
        rate = self.rate * state.factor
        after = state.tokens - 1.0
        wait = -after / rate if after < 0 else 0.0
        # Whether the caller may have a token that soon counts the held ones as taken (they are
        # not for it); when it may, it sends as soon as the bucket itself allows, held tokens
        # included: every request then goes at its token's time in the bucket, never later (a
        # request sent later than its token could meet, within the vendor's window, requests
        # whose tokens came after it). A holder whose token went meanwhile waits its turn.
        if max_wait is not None and wait > max_wait:
            # Free for us in `need` seconds: the deficit plus the token itself.
            need = (1.0 - state.tokens) / rate
            raise BudgetWaitError(
                f"{self.vendor} request budget: next token in {need:.1f} s",
                vendor=self.vendor,
                retry_after=need,
            )
        bucket_after = after + state.held
        return replace(state, tokens=after), (-bucket_after / rate if bucket_after < 0 else 0.0)

    async def _update(self, key: str, change: _Change) -> float:
        """Applies `change` to the bucket's state (memory or locked row); returns its result."""
        if self.memory_scope is not None:
            now = self.clock.time()
            mem_key = (self.memory_scope, key)
            state = self._refilled(_MEMORY.get(mem_key, _State(self.capacity, now, 1.0)), now)
            new, result = change(state)
            _MEMORY[mem_key] = new
            return result
        async with transaction(self.sessions) as session:
            bucket = await self._bucket_in(session, key)
            stored_at = _seconds(bucket.updated_at.replace(tzinfo=None))
            # Now, read once the row lock is held, and never before the bucket's last update: a
            # timestamp read before waiting for the lock would move `updated_at` back, and the
            # next refill would count the same seconds twice (a burst above the limit).
            now = max(self.clock.time(), stored_at)
            factor = bucket.rate_factor if bucket.rate_factor is not None else 1.0
            held_until = (
                _seconds(bucket.held_until.replace(tzinfo=None))
                if bucket.held_until is not None
                else None
            )
            stored = _State(bucket.tokens, stored_at, factor, bucket.held or 0, held_until)
            state = self._refilled(stored, now)
            new, result = change(state)
            bucket.tokens = new.tokens
            bucket.updated_at = _datetime(new.at)
            bucket.rate_factor = new.factor
            bucket.held = new.held
            bucket.held_until = _datetime(new.held_until) if new.held_until is not None else None
        return result

    # -- the API -------------------------------------------------------------------------------

    async def reserve(self, key: str, *, max_wait: float | None = None) -> float:
        """Takes one token; returns how long the caller must wait before sending (0: now).
        With `max_wait`: raises `BudgetWaitError` instead of a longer wait (nothing taken)."""
        if self.unlimited:
            return 0.0
        return await self._update(key, lambda state: self._take(state, max_wait))

    async def acquire(self, key: str, *, max_wait: float | None = None) -> None:
        """Returns when the caller may send one request under `key` (sleeping if needed)."""
        wait = await self.reserve(key, max_wait=max_wait)
        if wait > 0:
            log.debug("rate_limit.wait", key=key, seconds=round(wait, 3))
            await self.clock.sleep(wait)

    async def available_in(self, key: str) -> float:
        """Seconds until one token is free under `key` (0: now), taking nothing."""
        if self.unlimited:
            return 0.0

        def change(state: _State) -> tuple[_State, float]:
            if state.tokens >= 1.0:
                return state, 0.0
            return state, (1.0 - state.tokens) / (self.rate * state.factor)

        return await self._update(key, change)

    async def hold(self, key: str, *, max_wait: float | None = None) -> float:
        """Sets one token aside for a request to come (a sale's first Siigo request, made after
        its MercadoLibre reads): nobody else can take it, and it is taken when the request is
        sent (`use_hold`), so the vendor's window sees the request when it is sent. Returns how
        long until it is free (like `reserve`); with `max_wait`, raises `BudgetWaitError`
        (nothing set aside) instead of a longer wait. A hold not used within `HOLD_SECONDS` of
        the latest one expires (its holder stopped)."""
        if self.unlimited:
            return 0.0

        def change(state: _State) -> tuple[_State, float]:
            taken, wait = self._take(state, max_wait)
            until = state.at + HOLD_SECONDS
            if state.held_until is not None:
                until = max(until, state.held_until)
            return replace(taken, held=state.held + 1, held_until=until), wait

        return await self._update(key, change)

    async def use_hold(self, key: str) -> float:
        """Takes the token `hold` set aside; returns how long to wait before sending (0: now).
        A hold that expired meanwhile is replaced by a token taken now (waiting its turn)."""
        if self.unlimited:
            return 0.0

        def change(state: _State) -> tuple[_State, float]:
            if state.held <= 0:
                return self._take(state, None)
            # The token leaves the bucket now: free tokens are unchanged, one hold less.
            left = state.tokens + state.held - 1
            wait = -left / (self.rate * state.factor) if left < 0 else 0.0
            held = state.held - 1
            return replace(state, held=held, held_until=state.held_until if held else None), wait

        return await self._update(key, change)

    async def release_hold(self, key: str) -> None:
        """Frees a token `hold` set aside and no request used (the sale needed no request, or
        was deferred on another budget)."""
        if self.unlimited:
            return

        def change(state: _State) -> tuple[_State, float]:
            if state.held <= 0:
                return state, 0.0  # expired meanwhile: already free
            held = state.held - 1
            return (
                replace(
                    state,
                    tokens=state.tokens + 1,
                    held=held,
                    held_until=state.held_until if held else None,
                ),
                0.0,
            )

        await self._update(key, change)

    async def admissible(self, key: str, within: float) -> int:
        """How many tokens callers could take now with a wait of at most `within` seconds each
        (taking nothing): a worker claims no more sales than its first requests can be served."""
        if self.unlimited:
            return 1_000_000

        def change(state: _State) -> tuple[_State, float]:
            return state, max(0.0, state.tokens + within * self.rate * state.factor)

        return int(await self._update(key, change))

    async def rate_factor(self, key: str) -> float:
        """The bucket's current share of its nominal rate (AIMD; 1.0 when never refused)."""
        if self.unlimited:
            return 1.0
        return await self._update(key, lambda state: (state, state.factor))

    async def notice_429(self, key: str, retry_after: float | None) -> None:
        """The vendor said "too many": empty the bucket so every worker backs off together, and
        (adaptive) halve the rate for a while."""
        if self.unlimited:
            return
        backoff = retry_after if retry_after is not None else max(1.0, 1.0 / self.rate)

        def change(state: _State) -> tuple[_State, float]:
            factor = max(self.min_factor, state.factor / 2) if self.adaptive else state.factor
            tokens = min(state.tokens, 0.0) - backoff * self.rate * factor
            return replace(state, tokens=tokens, factor=factor), factor

        factor = await self._update(key, change)
        log.warning("rate_limit.vendor_429", key=key, backoff_seconds=backoff, factor=factor)


class RequestBudget:
    """One vendor client's requests under one budget key (no limiter: no budget at all).

    `max_wait` holds only until the client is admitted: a request got its token within it (set
    between taking the token and sending, so a send that fails still counts), or `hold_first` set
    one aside. The client's work (a sale) is then under way, and its next requests wait their
    turn instead of giving up (a deferral then would waste the tokens already spent, and at a low
    limit a sale might never get through).

    `hold_first` sets the first request's token aside ahead of time (a sale holds its first Siigo
    token before spending MercadoLibre calls); the next request sends on it instead of taking
    another, and `release_unused` gives it back when no request used it."""

    def __init__(
        self,
        limiter: RateLimiter | None,
        key: str,
        *,
        max_wait: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.limiter = limiter
        self.key = key
        self.max_wait = max_wait
        self.clock = clock or SYSTEM_CLOCK
        self.admitted = False
        self.held = False  # a token set aside by `hold_first`, for the next request

    async def hold_first(self) -> None:
        """Sets the first request's token aside now (`RateLimiter.hold`). Raises
        `BudgetWaitError` (nothing set aside, not admitted) when the bucket has none within
        `max_wait`. Does nothing without a limiter or `max_wait`, or once admitted."""
        if self.limiter is None or self.max_wait is None or self.admitted:
            return
        await self.limiter.hold(self.key, max_wait=self.max_wait)
        self.admitted = True
        self.held = True

    async def release_unused(self) -> None:
        """Frees the token `hold_first` set aside if no request used it (once)."""
        if self.held and self.limiter is not None:
            self.held = False
            await self.limiter.release_hold(self.key)

    async def _take_token(self) -> None:
        if self.held:
            # The token set aside for it (`hold_first`): no second one.
            self.held = False
            if self.limiter is not None:
                wait = await self.limiter.use_hold(self.key)
                if wait > 0:
                    await self.clock.sleep(wait)
        elif self.limiter is not None:
            await self.limiter.acquire(self.key, max_wait=None if self.admitted else self.max_wait)
            self.admitted = True

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """`async with budget.request(): <send one request>`. Takes the request's token first
        (sleeping as needed, or `BudgetWaitError` beyond `max_wait` while not admitted); a
        `RateLimitedError` from the body empties the bucket (`notice_429` with the vendor's
        `Retry-After`) and is re-raised."""
        await self._take_token()
        try:
            yield
        except RateLimitedError as exc:
            if self.limiter is not None:
                await self.limiter.notice_429(self.key, exc.retry_after)
            raise


_EPOCH = datetime(1970, 1, 1)


def _seconds(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _datetime(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)
