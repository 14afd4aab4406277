"""The process's in-process memories are bounded, and stay correct once they have evicted.

Clocks are injected (no sleeping, no wall-clock assertions); locks are observed through events.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from conexapi.connections.known_products import CHECK_SECONDS, ProductChecks, product_checks
from conexapi.connections.token_memo import TokenMemo, token_memo
from conexapi.core.caches import LockTable
from conexapi.erps.siigo.client import siigo_limiter
from conexapi.erps.siigo.documents.taxes import ProductTaxes
from conexapi.marketplaces.mercadolibre.webhooks import intake_batcher
from conexapi.runtime import Runtime
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- LockTable --------------------------------------------------------------------------------


async def test_lock_table_forgets_idle_locks_beyond_its_size() -> None:
    locks: LockTable[int] = LockTable(max_idle=3)
    for key in range(10):
        async with locks(key):
            pass
    assert len(locks) == 3
    assert [k in locks for k in range(10)] == [False] * 7 + [True] * 3  # the most recent kept


class Exclusive:
    """Tasks that record entering and leaving one key's lock, and how many were in at once."""

    def __init__(self, locks: LockTable[str], key: str) -> None:
        self.locks, self.key = locks, key
        self.order: list[str] = []
        self.inside = self.most = 0

    async def run(self, name: str, release: asyncio.Event | None = None) -> None:
        async with self.locks(self.key):
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.order.append(f"{name} in")
            if release is not None:
                await release.wait()
            await asyncio.sleep(0)
            self.order.append(f"{name} out")
            self.inside -= 1

    async def holding(self, name: str) -> tuple[asyncio.Task[None], asyncio.Event]:
        """A task holding the lock until the returned event is set."""
        release = asyncio.Event()
        task = asyncio.create_task(self.run(name, release))
        while f"{name} in" not in self.order:
            await asyncio.sleep(0)
        return task, release


async def churn(locks: LockTable[str], count: int = 50) -> None:
    """Other keys come and go (with no idle room, each is dropped as soon as it is released)."""
    for key in range(count):
        async with locks(f"other-{key}"):
            pass


async def test_lock_table_never_forgets_a_held_lock_and_still_serialises() -> None:
    locks: LockTable[str] = LockTable(max_idle=0)
    one = Exclusive(locks, "connection-1")
    first, release = await one.holding("first")
    await churn(locks)
    assert "connection-1" in locks
    assert len(locks) == 1
    second = asyncio.create_task(one.run("second"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert one.order == ["first in"]  # the second task waits on the same lock
    release.set()
    await asyncio.gather(first, second)
    assert one.order == ["first in", "first out", "second in", "second out"]
    assert one.most == 1
    assert len(locks) == 0  # idle again, and no idle room: forgotten


async def test_lock_table_keeps_a_lock_someone_waits_for() -> None:
    locks: LockTable[str] = LockTable(max_idle=0)
    one = Exclusive(locks, "connection-1")
    holder, release = await one.holding("holder")
    waiters = [asyncio.create_task(one.run(f"waiter-{n}")) for n in range(3)]
    await asyncio.sleep(0)
    release.set()
    await holder
    # The holder released while others wait: the lock stays, so a newcomer queues behind them
    # instead of getting a fresh lock of its own.
    await churn(locks)
    newcomer = asyncio.create_task(one.run("newcomer"))
    await asyncio.gather(*waiters, newcomer)
    assert one.most == 1
    assert one.order[-2:] == ["newcomer in", "newcomer out"]
    assert len(locks) == 0


def test_lock_table_refuses_a_negative_size() -> None:
    with pytest.raises(ValueError, match="max_idle"):
        LockTable(max_idle=-1)


# -- TokenMemo ----------------------------------------------------------------------------------


def test_token_memo_expires_and_is_bounded() -> None:
    clock = Clock()
    memo = TokenMemo(30.0, max_entries=2, clock=clock)
    memo.put("siigo", 1, "token-1")
    memo.put("siigo", 2, "token-2")
    assert memo.get("siigo", 1) == "token-1"  # 1 is now the most recently used
    memo.put("mercadolibre", 3, "token-3")  # evicts 2, the least recently used
    assert len(memo) == 2
    assert memo.get("siigo", 2) is None
    assert memo.get("siigo", 1) == "token-1"
    assert memo.get("mercadolibre", 3) == "token-3"
    clock.now += 30.0
    assert memo.get("siigo", 1) is None
    memo.put("siigo", 1, "token-1b")  # after eviction it just works again
    assert memo.get("siigo", 1) == "token-1b"
    memo.forget("siigo", 1)
    assert memo.get("siigo", 1) is None


# -- ProductChecks -------------------------------------------------------------------------------


def test_product_checks_are_bounded_and_expire() -> None:
    clock = Clock()
    checks = ProductChecks(max_codes=2, clock=clock)
    taxes = ProductTaxes("A", "Taxed", (13156,))
    checks.remember(7, "A", taxes=taxes)
    checks.remember(7, "B")
    checks.remember(8, "A")  # a third code: the least recently used (7, A) goes
    assert len(checks) == 2
    assert not checks.known(7, "A")
    assert checks.taxes(7, "A") is None
    assert checks.known(7, "B")
    assert not checks.known(7, "B", with_taxes=True)
    checks.remember(7, "A", taxes=taxes)  # remembered again after eviction
    assert checks.known(7, "A", with_taxes=True)
    assert checks.taxes(7, "A") == taxes
    # An entry checked `age` seconds ago lives only for what is left of the check.
    checks.remember(9, "C", age=CHECK_SECONDS - 5)
    clock.now += 4
    assert checks.known(9, "C")
    clock.now += 1
    assert not checks.known(9, "C")
    assert checks.known(7, "A")
    clock.now += CHECK_SECONDS
    assert not checks.known(7, "A")
    assert len(checks) == 0
    # A check older than CHECK_SECONDS replaces a fresh one: the code is asked again.
    checks.remember(7, "A", taxes=taxes)
    checks.remember(7, "A", age=CHECK_SECONDS + 1)
    assert not checks.known(7, "A")


async def test_product_check_locks_serialise_after_other_codes_were_evicted() -> None:
    checks = ProductChecks(max_codes=1)
    inside = 0
    most = 0

    async def check_a() -> None:
        nonlocal inside, most
        async with checks.lock(7, "A"):
            inside += 1
            most = max(most, inside)
            # Other codes come and go (and are evicted) while "A" is held.
            for n in range(3):
                async with checks.lock(7, f"other-{n}"):
                    await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(check_a() for _ in range(5)))
    assert most == 1


# -- the runtime's memories take their sizes from the settings ----------------------------------


async def test_runtime_memories_are_sized_by_the_settings(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'caches.db'}",
        cache_connections=3,
        cache_product_codes=4,
        token_memo_seconds=5,
        intake_target_seconds=6,
    )
    runtime = Runtime.build(settings)
    try:
        assert runtime.token_memo is None
        assert runtime.intake is None
        memo = token_memo(runtime)
        assert memo is token_memo(runtime) is runtime.token_memo
        assert memo.ttl == 5
        for connection_id in range(10):
            memo.put("siigo", connection_id, f"token-{connection_id}")
        assert len(memo) == 3

        checks = product_checks(runtime)
        assert checks is runtime.product_checks
        for n in range(10):
            checks.remember(1, f"code-{n}")
        assert len(checks) == 4

        batcher = intake_batcher(runtime)
        assert batcher is runtime.intake
        assert (batcher.targets.maxsize, batcher.targets.ttl) == (3, 6)

        assert siigo_limiter(runtime) is siigo_limiter(runtime) is runtime.siigo_limiter
        assert runtime.meli_application_id == "5503910054141466"
    finally:
        await runtime.aclose()
