"""Time, injectable: what reads "now" or sleeps for a rate limit or a schedule takes a `Clock`.

`SystemClock` is the real one. `ManualClock` is for tests and simulations: time moves only when
the test says (`advance`) or when something sleeps on it (the sleeper's wake-up moves the clock
forward), so a test of a rate limit or of the scheduling never depends on how busy the machine
is.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class Clock:
    """Wall time in seconds since the epoch (`time()`), naive UTC (`utcnow()`), a clock for
    measuring intervals that never jumps (`monotonic()`), and `sleep`."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC).replace(tzinfo=None)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SystemClock(Clock):
    """The machine's clock."""


SYSTEM_CLOCK = SystemClock()


class ManualClock(Clock):
    """A clock that moves only when told to; `sleep` jumps it forward to the wake-up time (never
    back), then yields to the event loop once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)
