"""Bounded in-process memories: what a process keeps per connection, seller or product code.

A long-lived worker or API process meets more and more tenants, sales and product codes; a plain
dict keyed by them only grows. Every in-process cache is therefore a `cachetools` TTL/LRU cache
with its size from the settings (`CONEXAPI_CACHE_*`), and every table of per-key locks is a
`LockTable`, which forgets idle locks but never one in use.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class LockTable(Generic[K]):
    """One `asyncio.Lock` per key, for single-flight work inside a process.

    At most `max_idle` locks that nobody holds or waits for are kept (the least recently used is
    dropped first). A lock that is held or awaited is never dropped, so every task that asks for a
    key while another holds it shares that one lock: dropping only ever forgets a lock that
    nobody would have waited on. `async with table(key): ...`.
    """

    def __init__(self, max_idle: int) -> None:
        if max_idle < 0:
            raise ValueError("max_idle must be >= 0")
        self.max_idle = max_idle
        self._locks: OrderedDict[K, asyncio.Lock] = OrderedDict()
        self._users: dict[K, int] = {}  # tasks holding or waiting for each key's lock

    def __len__(self) -> int:
        return len(self._locks)

    def __contains__(self, key: object) -> bool:
        return key in self._locks

    @asynccontextmanager
    async def __call__(self, key: K) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._locks.move_to_end(key)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            left = self._users[key] - 1
            if left:
                self._users[key] = left
            else:
                del self._users[key]
            self._drop_idle()

    def _drop_idle(self) -> None:
        idle = len(self._locks) - len(self._users)
        if idle <= self.max_idle:
            return
        for key in list(self._locks):  # least recently used first
            if key not in self._users:
                del self._locks[key]
                idle -= 1
                if idle <= self.max_idle:
                    return
