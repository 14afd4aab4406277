"""Getting a renewed token pair into the database, whatever the database is doing.

The pair goes first to this machine's spool (`connections.token_spool`) and this process's memory;
then onto the connection row, in the background and with retries while the database is away;
then the spool file goes. `recover` stores what other (or earlier) processes of this machine left
in the spool. A pair is stored only if the row still holds what it descends from; otherwise the
row has something newer (the seller reconnected, or another process stored it) and the file is
dropped. Also here: clearing a renewal marker once no renewal of ours is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog

from conexapi.connections.health import clear_renewal
from conexapi.connections.locking import ConnectionLocks, locked_connection
from conexapi.connections.models import Connection
from conexapi.connections.token_memo import token_memo
from conexapi.connections.token_spool import SpooledTokens, TokenSpool, grant_digest
from conexapi.connections.token_state import VendorHooks
from conexapi.core.errors import AuthError
from conexapi.db import is_database_unavailable
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.tokens.store")

RETRY_SECONDS = 0.2
RETRY_MAX_SECONDS = 2.0

Pending = tuple[Path | None, SpooledTokens]  # no path: the spool could not be written


class PairStore:
    """One per token keeper: its pairs not stored yet (`pending`) and their background work."""

    def __init__(
        self, runtime: Runtime, hooks: VendorHooks, owner: str, locks: ConnectionLocks
    ) -> None:
        self.runtime = runtime
        self.hooks = hooks
        self.owner = owner
        self.locks = locks
        file_owner = owner.replace("|", "-").replace("/", "_")  # a file name of `owner`
        self.spool = TokenSpool(runtime.settings.spool_dir, runtime.secrets, file_owner)
        self.pending: dict[int, Pending] = {}
        self._tasks: dict[tuple[str, int], asyncio.Task[None]] = {}

    def keep(self, entry: SpooledTokens) -> Pending:
        """On disk, then in memory: before anything can fail again."""
        pending = self.pending[entry.connection_id] = (self._spool(entry), entry)
        return pending

    def _spool(self, entry: SpooledTokens) -> Path | None:
        try:
            return self.spool.write(entry)
        except OSError:
            # The pair still lives in memory until the database takes it; a crash meanwhile
            # would lose it, so say so loudly.
            log.exception(
                "token.spool_unwritable",
                vendor=self.hooks.vendor,
                directory=str(self.spool.directory),
            )
            return None

    async def store(self, connection_id: int, pending: Pending) -> bool:
        """Writes a spooled pair onto the row if the row still holds what it descends from;
        deletes the file either way. True when stored. Database errors propagate."""
        path, entry = pending
        stored = False
        try:
            async with locked_connection(
                self.runtime, connection_id, vendor=self.hooks.vendor
            ) as connection:
                if self._descends(connection, entry):
                    self.hooks.apply(connection, entry)
                    clear_renewal(connection)
                    stored = True
                elif connection.refresh_owner == self.owner:
                    clear_renewal(connection)
        except AuthError:
            pass  # the connection was deleted: nothing to store it on
        if path is not None:
            self.spool.discard(path)
        if self.pending.get(connection_id) == pending:
            del self.pending[connection_id]
        token_memo(self.runtime).forget(self.hooks.vendor, connection_id)
        log.info(
            "token.stored" if stored else "token.spool_superseded",
            vendor=self.hooks.vendor,
            connection_id=connection_id,
        )
        return stored

    def _descends(self, connection: Connection, entry: SpooledTokens) -> bool:
        """The row still holds the grant the pair replaced: its version, or (a chain renewed in
        memory during a long outage, partly stored by another process) one of its refresh tokens."""
        if (connection.token_version or 0) == entry.base_version:
            return True
        if not entry.consumed:
            return False
        grant = self.hooks.grant(connection)
        return grant is not None and grant_digest(grant) in entry.consumed

    def store_later(self, connection_id: int) -> None:
        self._background("store", connection_id, self._store_until_stored)

    def _background(
        self, kind: str, connection_id: int, job: Callable[[int], Coroutine[Any, Any, None]]
    ) -> None:
        """Runs `job(connection_id)` in the background, once at a time per kind and connection."""
        key = (kind, connection_id)
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.get_running_loop().create_task(job(connection_id))

    async def _store_until_stored(self, connection_id: int) -> None:
        delay = RETRY_SECONDS
        while True:
            await asyncio.sleep(delay)
            async with self.locks(connection_id):
                pending = self.pending.get(connection_id)
                if pending is None:
                    return
                try:
                    await self.store(connection_id, pending)
                    return
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        log.exception("token.store_failed", vendor=self.hooks.vendor)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def recover(self, connection_id: int) -> bool:
        """Stores the pairs this machine's spool holds for the connection (another process's, or
        a previous run's). True when one was stored. Called with the connection's lock held."""
        mine = self.pending.get(connection_id)
        stored = False
        for path, entry in self.spool.entries(self.hooks.vendor, connection_id):
            if mine is not None and path == mine[0]:
                continue
            stored = await self.store(connection_id, (path, entry)) or stored
        if stored:
            log.warning(
                "token.recovered_from_spool", vendor=self.hooks.vendor, connection_id=connection_id
            )
        return stored

    async def recover_all(self) -> int:
        """Stores every spooled pair of this vendor (at start-up and in the upkeep)."""
        ids = sorted({entry.connection_id for _, entry in self.spool.entries(self.hooks.vendor)})
        count = 0
        for connection_id in ids:
            async with self.locks(connection_id):
                count += await self.recover(connection_id)
        return count

    async def release(self, connection_id: int) -> None:
        """No renewal of ours is in flight any more (the vendor call failed: timeout, 5xx): our
        marker goes, so nobody waits for it; later if the database is away. Called with the
        connection's lock held."""
        try:
            await self._clear_own_marker(connection_id)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            self.release_later(connection_id)

    async def _clear_own_marker(self, connection_id: int) -> None:
        try:
            async with locked_connection(
                self.runtime, connection_id, vendor=self.hooks.vendor
            ) as connection:
                if connection.refresh_owner == self.owner:
                    clear_renewal(connection)
        except AuthError:
            pass  # the connection was deleted

    def release_later(self, connection_id: int) -> None:
        self._background("release", connection_id, self._release_when_back)

    async def _release_when_back(self, connection_id: int) -> None:
        delay = RETRY_SECONDS
        while True:
            await asyncio.sleep(delay)
            async with self.locks(connection_id):
                if connection_id in self.pending:
                    return  # storing that pair clears the marker
                try:
                    await self._clear_own_marker(connection_id)
                    return
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        log.exception("token.release_failed", vendor=self.hooks.vendor)
                        return
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def aclose(self) -> None:
        """Stops the background work; pairs not stored yet stay in the spool."""
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
