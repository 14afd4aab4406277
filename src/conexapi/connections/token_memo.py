"""A short in-process memory of each connection's current access token.

Without it every MercadoLibre or Siigo call reads (and decrypts) the connection row: several
queries per sale. The database stays the truth: entries live a few seconds, are dropped whenever
this process refreshes a token, and a token another process replaced meanwhile only costs one
401, after which the refresh path reads the row under its lock.
"""

from __future__ import annotations

import time
from typing import Any

from conexapi.runtime import Runtime

MEMO_SECONDS = 30.0


class TokenMemo:
    def __init__(self, ttl: float = MEMO_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, int], tuple[Any, float]] = {}

    def get(self, kind: str, connection_id: int) -> Any:
        hit = self._entries.get((kind, connection_id))
        if hit is None or time.monotonic() - hit[1] >= self.ttl:
            return None
        return hit[0]

    def put(self, kind: str, connection_id: int, value: Any) -> None:
        self._entries[(kind, connection_id)] = (value, time.monotonic())

    def forget(self, kind: str, connection_id: int) -> None:
        self._entries.pop((kind, connection_id), None)


def token_memo(runtime: Runtime) -> TokenMemo:
    memo = runtime.extras.get("token_memo")
    if not isinstance(memo, TokenMemo):
        memo = TokenMemo()
        runtime.extras["token_memo"] = memo
    return memo
