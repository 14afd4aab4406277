"""A short in-process memory of each connection's current access token.

Without it every MercadoLibre or Siigo call reads (and decrypts) the connection row: several
queries per sale. The database stays the truth: entries live a few seconds
(`CONEXAPI_TOKEN_MEMO_SECONDS`), are dropped whenever this process refreshes a token, and a token
another process replaced meanwhile only costs one 401, after which the refresh path reads the row
under its lock. At most `CONEXAPI_CACHE_CONNECTIONS` entries are kept (least recently used
dropped first): a forgotten token is only read from the row again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

from conexapi.runtime import Runtime

MEMO_SECONDS = 30.0
MAX_ENTRIES = 10_000


class TokenMemo:
    def __init__(
        self,
        ttl: float = MEMO_SECONDS,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._entries: TTLCache[tuple[str, int], Any] = TTLCache(
            maxsize=max_entries, ttl=ttl, timer=clock
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, kind: str, connection_id: int) -> Any:
        return self._entries.get((kind, connection_id))

    def put(self, kind: str, connection_id: int, value: Any) -> None:
        self._entries[(kind, connection_id)] = value

    def forget(self, kind: str, connection_id: int) -> None:
        self._entries.pop((kind, connection_id), None)


def token_memo(runtime: Runtime) -> TokenMemo:
    """The runtime's memo (built on first use, sized by the settings)."""
    if runtime.token_memo is None:
        settings = runtime.settings
        runtime.token_memo = TokenMemo(
            settings.token_memo_seconds, max_entries=settings.cache_connections
        )
    return runtime.token_memo
