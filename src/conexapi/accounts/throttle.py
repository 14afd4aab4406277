"""Sign-in throttling, atomic and shared by every API replica through the database.

Every attempt is counted *before* the password is checked, in a short transaction of its own
that locks its counter rows (an upsert, then the row under lock), so parallel guesses queue on
the row and no more than the limit are ever checked. Three counters, each keyed by a hash:

- the (e-mail, client address) pair: `max_failures` attempts, then a lock of 30 s that doubles
  with each further failure, up to `lockout_seconds`;
- the client address alone (guessing across many accounts): 4 x `max_failures`, same growth;
- the e-mail alone (guessing from many addresses): 4 x `max_failures`, locks of at most a
  minute, so that nobody can keep the owner out for long.

While any counter is locked the attempt is refused with 429 and a `Retry-After` (no server-side
sleep) and counts nowhere, so hammering from one address never extends the account's lock. A
successful sign-in forgets the pair and the account counters (not the address's). A counter
quiet for `lockout_seconds` starts again from zero.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conexapi.accounts.models import LoginThrottle
from conexapi.core.errors import TooManyRequests
from conexapi.db import is_lock_conflict, retry_on_lock_conflict, upsert_many

log = structlog.get_logger("conexapi.accounts")

ACCOUNT_LOCK_CAP_SECONDS = 60
FIRST_LOCK_SECONDS = 30  # at the limit; doubled by each further failure, up to the cap
SPREAD_FACTOR = 4  # the address and account counters allow this many times the pair's limit


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    lockout_seconds: int


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int
    cap_seconds: int


def throttle_key(kind: str, *parts: str) -> str:
    """What is counted, hashed: no e-mail or address in clear, always 64 characters."""
    return hashlib.sha256(f"{kind}:{'|'.join(parts)}".encode()).hexdigest()


def _counters(email: str, address: str, policy: ThrottlePolicy) -> list[_Counter]:
    spread = policy.max_failures * SPREAD_FACTOR
    return [  # always locked in this order: no deadlock between two attempts
        _Counter(throttle_key("pair", email, address), policy.max_failures, policy.lockout_seconds),
        _Counter(throttle_key("address", address), spread, policy.lockout_seconds),
        _Counter(
            throttle_key("account", email),
            spread,
            min(ACCOUNT_LOCK_CAP_SECONDS, policy.lockout_seconds),
        ),
    ]


def _refuse(seconds: float) -> TooManyRequests:
    retry = max(1, math.ceil(seconds))
    return TooManyRequests(
        f"Too many sign-in attempts. Try again in {retry} seconds.",
        code="login_throttled",
        details={"retry_after": retry},
    )


async def _locked_row(session: AsyncSession, key: str, now: datetime) -> LoginThrottle:
    await upsert_many(
        session,
        LoginThrottle,
        [{"key": key, "failures": 0, "window_started_at": now, "locked_until": None}],
        key=["key"],
        update=["key"],  # no change: only takes the row's lock when it exists
    )
    stmt = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
    return row


async def admit(
    sessions: async_sessionmaker[AsyncSession],
    *,
    email: str,
    address: str,
    policy: ThrottlePolicy,
    now: datetime | None = None,
) -> None:
    """Counts one attempt, or raises `TooManyRequests` (429, with `retry_after`) without
    counting it. Commits before returning, so the password check runs outside any lock."""
    now = now or datetime.now(UTC)
    counters = _counters(email, address, policy)
    for attempt in range(3):
        try:
            async with sessions() as session:
                rows = [await _locked_row(session, c.key, now) for c in counters]
                wait = max(
                    ((r.locked_until - now).total_seconds() for r in rows if r.locked_until),
                    default=0.0,
                )
                if wait > 0:
                    await session.commit()
                    raise _refuse(wait)
                for counter, row in zip(counters, rows, strict=True):
                    if (now - row.window_started_at).total_seconds() > policy.lockout_seconds:
                        row.failures = 0
                    row.failures += 1
                    row.window_started_at = now
                    row.locked_until = None
                    if row.failures >= counter.limit:
                        grow = min(row.failures - counter.limit, 30)
                        lock = min(FIRST_LOCK_SECONDS * 2.0**grow, float(counter.cap_seconds))
                        row.locked_until = now + timedelta(seconds=lock)
                if secrets.randbelow(64) == 0:
                    await _prune(session, now, policy)
                await session.commit()
                return
        except DBAPIError as exc:
            if not is_lock_conflict(exc):
                raise
            if attempt == 2:  # contention this heavy is an attack: refuse, never a 500
                raise _refuse(1) from exc
    raise AssertionError("unreachable")


async def forget(sessions: async_sessionmaker[AsyncSession], *, email: str, address: str) -> None:
    """After a successful sign-in: the pair and the account start again from zero."""
    keys = [throttle_key("pair", email, address), throttle_key("account", email)]

    async def work() -> None:
        async with sessions() as session:
            for key in keys:  # one by one, in `admit`'s order: no deadlock with an attempt
                await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
            await session.commit()

    try:
        await retry_on_lock_conflict(work)
    except DBAPIError as exc:
        if not is_lock_conflict(exc):
            raise
        # Best effort: the counters are then forgotten when they go quiet.
        log.warning("login.throttle_not_reset")


async def _prune(session: AsyncSession, now: datetime, policy: ThrottlePolicy) -> None:
    """Counters nobody used for a while (random e-mails and addresses of an attack)."""
    quiet = now - timedelta(seconds=policy.lockout_seconds * 2)
    await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_started_at < quiet,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
