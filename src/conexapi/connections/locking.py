"""Single-flight work on one connection row, shared by the Siigo and MercadoLibre token code.

Inside one process an asyncio lock per connection keeps the waiting tasks off the database (the
locks live on the vendor's token keeper, one per runtime, so every token manager of a process
shares them; idle ones beyond `CONEXAPI_CACHE_CONNECTIONS` are forgotten, `core.caches.LockTable`);
across processes the row lock (`SELECT ... FOR UPDATE`; on SQLite the database write lock) does
the work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from conexapi.connections.models import Connection
from conexapi.connections.repository import ConnectionStore
from conexapi.core.caches import LockTable
from conexapi.core.errors import AuthError
from conexapi.db import transaction
from conexapi.runtime import Runtime

# The process's asyncio lock per connection id: `async with locks(connection_id): ...`.
ConnectionLocks = LockTable[int]


@asynccontextmanager
async def locked_connection(
    runtime: Runtime, connection_id: int, *, vendor: str
) -> AsyncIterator[Connection]:
    """The connection row, locked, in its own transaction: committed when the block exits
    normally, rolled back if it raises. A missing row is an `AuthError` for `vendor`."""
    async with transaction(runtime.sessions) as session:
        connection = await ConnectionStore(session).lock(connection_id)
        if connection is None:
            raise AuthError(f"connection {connection_id} does not exist", vendor=vendor)
        yield connection
