"""Token renewal that survives a database restart, shared by MercadoLibre and Siigo.

MercadoLibre refresh tokens are single use (docs/vendors/mercadolibre.md §1.4, §1.7, §12.1): the
moment MercadoLibre answers a refresh, the old refresh token is dead and the answered pair is the
only way back in. Holding a row lock across the call is not enough: a database restart drops row
locks and loses an uncommitted write, and the seller is disconnected. So a renewal goes:

1. **Marker.** Under the row lock, in a short transaction committed *before* the vendor is called,
   the connection records who is renewing (`refresh_owner`, `refresh_started_at`). Other processes
   that need a token keep using the current one while it is valid, else wait on the marker; they
   never refresh themselves meanwhile.
2. **Spool.** The pair the vendor answers is written at once, encrypted, to this machine's spool
   (`connections.token_spool`) and kept in memory: this process uses it meanwhile.
3. **Store.** The pair is stored on the row (and the marker cleared) in one transaction, retried in
   the background until the database answers; then the spool file is deleted. A restarted process
   stores what it finds in the spool before it refreshes anything (`connections.pair_store`).
4. **A dead owner.** A marker whose process is gone (same machine, pid not running) or that is
   older than `MARKER_STALE_SECONDS` is resolved from the spool first; only then does another
   process renew. If the vendor refuses *that* refresh token and the dead owner ran on another
   machine, its answer may sit in that machine's spool: the connection waits `lost_grace`
   (marker owner `lost`) for it before anyone calls it revoked. (A process killed while
   MercadoLibre is answering its refresh, before a byte of the answer reached it, loses the pair
   for good: no client can recover from that; the seller is asked to reconnect.)
5. **A refusal** (`invalid_grant`) is checked against what ConexAPI knows — a spooled pair whose
   write failed, a newer pair another process stored — before the connection is marked
   `needs_reauth`. Only a real revocation asks the seller to connect again.

Siigo's `/auth` tokens are not single use, but they go the same way: one `/auth` per company
instead of one per process, and a token obtained during an outage is not thrown away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from conexapi.connections.health import clear_renewal
from conexapi.connections.locking import ConnectionLocks, locked_connection
from conexapi.connections.pair_store import PairStore, Pending
from conexapi.connections.repository import ConnectionStore
from conexapi.connections.token_memo import token_memo
from conexapi.connections.token_spool import SpooledTokens, grant_digest
from conexapi.connections.token_state import TokenState, VendorHooks, entry_token, row_token
from conexapi.core.caches import LockTable
from conexapi.core.errors import AuthError, RenewalPendingError
from conexapi.core.processes import gone_on_this_host, new_process_id
from conexapi.db import is_database_unavailable, naive_utc, utcnow
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.tokens.renewal")

# A renewal takes at most the token endpoint's timeout (30 s) plus a commit: a marker this old
# belongs to a process that stopped or lost the database.
MARKER_STALE_SECONDS = 90.0
# How long a caller waits on another process's marker before its work is deferred instead.
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2
# How long a connection waits for a renewed pair that may be in the spool of a stopped process
# on another machine (its supervisor restarts it; it stores the pair first thing) before a
# refusal of the old refresh token counts as a revocation.
LOST_GRACE_SECONDS = 900.0
LOST = "lost"
OWNER_SEPARATOR = "|"
# Claims and renewals in one call, waits on another process's marker included (a bound, not a
# budget: a renewal normally takes one round).
MAX_ROUNDS = int(WAIT_SECONDS / POLL_SECONDS) + 10


@dataclass(frozen=True)
class _Ready:
    token: str


@dataclass(frozen=True)
class _Busy:
    retry_after: float
    wait: bool


@dataclass(frozen=True)
class _Orphaned:
    pass


@dataclass(frozen=True)
class _Claimed:
    grant: str
    version: int
    suspect: bool  # taken over from a dead owner who may have renewed before dying


@dataclass(frozen=True)
class _Refused:
    error: AuthError


_Decision = _Ready | _Busy | _Orphaned | _Claimed | _Refused
_AGAIN = object()


def _owner_gone(owner: str, started: datetime | None, now: datetime) -> bool:
    """The marker's process stopped (this machine, pid not running) or the marker is too old."""
    if started is None or (now - started).total_seconds() > MARKER_STALE_SECONDS:
        return True
    return gone_on_this_host(owner, OWNER_SEPARATOR)


class TokenKeeper:
    """One per vendor and runtime (`keeper_for`): the renewals of this process, and (`pairs`) the
    renewed pairs it has not stored yet."""

    def __init__(
        self, runtime: Runtime, hooks: VendorHooks, *, lost_grace: float = LOST_GRACE_SECONDS
    ) -> None:
        self.runtime = runtime
        self.hooks = hooks
        self.lost_grace = lost_grace
        self.owner = new_process_id(OWNER_SEPARATOR)
        self._locks: ConnectionLocks = LockTable(max_idle=runtime.settings.cache_connections)
        self.pairs = PairStore(runtime, hooks, self.owner, self._locks)

    # -- reading --------------------------------------------------------------------------------

    async def token(self, connection_id: int) -> str:
        """A token fresh enough for a call: this process's pair the database has not taken yet,
        else the stored one (remembered a few seconds, `token_memo`), else a renewal."""
        now = utcnow()
        pending = self.pending_token(connection_id, now)
        if pending is not None:
            return pending
        memo = token_memo(self.runtime)
        remembered = memo.get(self.hooks.vendor, connection_id)
        state = remembered if isinstance(remembered, TokenState) else None
        if state is None or not state.fresh(now, self.hooks.margin):
            async with self.runtime.sessions() as session:
                connection = await ConnectionStore(session).get(connection_id)
                if connection is None:
                    raise AuthError(
                        f"connection {connection_id} does not exist", vendor=self.hooks.vendor
                    )
                self.hooks.check(connection)
                state = row_token(connection, self.runtime)
            if state is not None:
                memo.put(self.hooks.vendor, connection_id, state)
        if state is not None and state.fresh(now, self.hooks.margin):
            return state.token
        return await self.renew(connection_id)

    def pending_token(self, connection_id: int, now: datetime) -> str | None:
        """This process's renewed token the database does not have yet, while fresh."""
        pending = self.pairs.pending.get(connection_id)
        if pending is None:
            return None
        state = entry_token(pending[1])
        return state.token if state.fresh(now, self.hooks.margin) else None

    # -- renewing -------------------------------------------------------------------------------

    async def renew(self, connection_id: int, *, rejected: str | None = None) -> str:
        """A usable token: another process's fresh one, or a new one from the vendor. `rejected`
        is the token the vendor just refused (a 401), never handed out again."""
        memo = token_memo(self.runtime)
        memo.forget(self.hooks.vendor, connection_id)
        async with self._locks(connection_id):
            pending = self.pairs.pending.get(connection_id)
            if pending is not None:
                token = await self._renew_from_pending(connection_id, pending, rejected)
                if token is not None:
                    return token
            await self.pairs.recover(connection_id)
            deadline = time.monotonic() + WAIT_SECONDS
            take_over = False
            for _ in range(MAX_ROUNDS):
                try:
                    decision = await self._claim(connection_id, rejected, take_over=take_over)
                except Exception as exc:
                    if is_database_unavailable(exc):
                        # Our marker may have been committed without us hearing it: clear it
                        # when the database is back, so nobody waits for a renewal never made.
                        self.pairs.release_later(connection_id)
                    raise
                if isinstance(decision, _Ready):
                    return decision.token
                if isinstance(decision, _Refused):
                    raise decision.error
                if isinstance(decision, _Busy):
                    if not decision.wait or time.monotonic() > deadline:
                        raise self._pending_error(decision.retry_after)
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                if isinstance(decision, _Orphaned):
                    # Its pair may be in this machine's spool: store it before anyone renews.
                    take_over = not await self.pairs.recover(connection_id)
                    continue
                result = await self._rotate(connection_id, decision)
                if isinstance(result, str):
                    return result
                take_over = False  # the row changed meanwhile: look again
            raise self._pending_error(5.0)

    async def _renew_from_pending(
        self, connection_id: int, pending: Pending, rejected: str | None
    ) -> str | None:
        """Our own pair the database has not taken yet: store it now if it answers; if not, use
        it, or (it has expired during a long outage) renew from it, since nobody else can."""
        try:
            await self.pairs.store(connection_id, pending)
            return None  # stored: the normal path reads it from the row
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            outage = exc
        entry = pending[1]
        state = entry_token(entry)
        if state.token != rejected and state.fresh(utcnow(), self.hooks.margin):
            return state.token
        if not self.hooks.single_use or entry.refresh_token is None:
            raise outage
        obtained = await self.hooks.obtain(entry.refresh_token)
        chained = replace(
            entry,
            access_token=obtained.access_token,
            refresh_token=obtained.refresh_token,
            expires_in=obtained.expires_in,
            obtained_at=utcnow(),
            consumed=(*entry.consumed, grant_digest(entry.refresh_token)),
            extra={**entry.extra, **obtained.extra},
        )
        self.pairs.keep(chained)
        log.warning(
            "token.renewed_during_outage", vendor=self.hooks.vendor, chain=len(chained.consumed)
        )
        self.pairs.store_later(connection_id)
        return obtained.access_token

    async def _claim(
        self, connection_id: int, rejected: str | None, *, take_over: bool
    ) -> _Decision:
        """Under the row lock: a token to use, someone to wait for, or the marker is ours
        (committed when this returns, before the vendor is called)."""
        decision: _Decision
        async with locked_connection(
            self.runtime, connection_id, vendor=self.hooks.vendor
        ) as connection:
            now = utcnow()
            self.hooks.check(connection)
            current = row_token(connection, self.runtime)
            if (
                current is not None
                and current.token != rejected
                and current.fresh(now, self.hooks.margin)
            ):
                return _Ready(current.token)
            usable = current if current is not None and current.token != rejected else None
            owner, started = connection.refresh_owner, naive_utc(connection.refresh_started_at)
            suspect = False
            if owner is not None and owner != self.owner:
                if owner == LOST and started is not None:
                    left = self.lost_grace - (now - started).total_seconds()
                    if left > 0:
                        if usable is not None and usable.valid(now):
                            return _Ready(usable.token)
                        return _Busy(min(60.0, left), wait=False)
                elif not _owner_gone(owner, started, now):
                    if usable is not None and usable.valid(now):
                        return _Ready(usable.token)  # valid a while more: no need to wait
                    return _Busy(5.0, wait=True)
                else:
                    if not take_over:
                        return _Orphaned()
                    # Its pair, if MercadoLibre answered it, is in its machine's spool: ours was
                    # just read, so only another machine's process may still bring one back.
                    suspect = not gone_on_this_host(owner, OWNER_SEPARATOR)
                    log.warning(
                        "token.renewal_taken_over",
                        vendor=self.hooks.vendor,
                        connection_id=connection_id,
                    )
            grant = self.hooks.grant(connection)
            if grant is None:
                error = AuthError(
                    "nothing stored to renew the token with",
                    vendor=self.hooks.vendor,
                    vendor_code="no_grant",
                )
                self.hooks.revoke(connection, now, error)
                clear_renewal(connection)
                decision = _Refused(error)
            else:
                connection.refresh_owner = self.owner
                connection.refresh_started_at = now
                decision = _Claimed(grant, connection.token_version or 0, suspect)
        return decision

    async def _rotate(self, connection_id: int, claim: _Claimed) -> str | object:
        """Calls the vendor under our marker; spools and stores what it answers."""
        try:
            obtained = await self.hooks.obtain(claim.grant)
        except AuthError as exc:
            return await self._refused(connection_id, claim, exc)
        except Exception as exc:
            log.warning(
                "token.renewal_failed",
                vendor=self.hooks.vendor,
                connection_id=connection_id,
                error=type(exc).__name__,
            )
            await self.pairs.release(connection_id)
            raise
        entry = SpooledTokens(
            vendor=self.hooks.vendor,
            connection_id=connection_id,
            base_version=claim.version,
            access_token=obtained.access_token,
            refresh_token=obtained.refresh_token,
            expires_in=obtained.expires_in,
            obtained_at=utcnow(),
            consumed=(grant_digest(claim.grant),) if self.hooks.single_use else (),
            extra=obtained.extra,
        )
        # Before anything can fail again: on disk, then in memory, then the database.
        pending = self.pairs.keep(entry)
        try:
            await self.pairs.store(connection_id, pending)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning(
                "token.store_deferred", vendor=self.hooks.vendor, connection_id=connection_id
            )
            self.pairs.store_later(connection_id)
        return obtained.access_token

    async def _refused(self, connection_id: int, claim: _Claimed, exc: AuthError) -> object:
        """The vendor refused the grant: is it revoked, or does ConexAPI hold something newer?"""
        if self.hooks.single_use and await self.pairs.recover(connection_id):
            return _AGAIN  # a pair whose write had failed was in the spool
        waiting = False
        async with locked_connection(
            self.runtime, connection_id, vendor=self.hooks.vendor
        ) as connection:
            now = utcnow()
            if (connection.token_version or 0) != claim.version:
                if connection.refresh_owner == self.owner:
                    clear_renewal(connection)
                return _AGAIN  # another process stored a newer pair meanwhile
            if claim.suspect and self.hooks.single_use:
                connection.refresh_owner = LOST
                connection.refresh_started_at = now
                waiting = True
            else:
                self.hooks.revoke(connection, now, exc)
                clear_renewal(connection)
        if waiting:
            log.warning(
                "token.renewal_lost_waiting", vendor=self.hooks.vendor, connection_id=connection_id
            )
            raise self._pending_error(60.0) from exc
        log.warning("token.revoked", vendor=self.hooks.vendor, connection_id=connection_id)
        raise exc

    def _pending_error(self, retry_after: float) -> RenewalPendingError:
        return RenewalPendingError(
            "another process is renewing the token",
            vendor=self.hooks.vendor,
            vendor_code="renewal_pending",
            retry_after=retry_after,
        )

    # -- storing --------------------------------------------------------------------------------

    async def recover_all(self) -> int:
        """Stores every spooled pair of this vendor (at start-up and in the upkeep)."""
        return await self.pairs.recover_all()

    async def aclose(self) -> None:
        """Stops the background work; pairs not stored yet stay in the spool."""
        await self.pairs.aclose()


def keeper_for(
    runtime: Runtime, vendor: str, build: Callable[[Runtime], VendorHooks]
) -> TokenKeeper:
    """The runtime's keeper for `vendor` (built once with `build`; closed with the runtime)."""
    keeper = runtime.token_keepers.get(vendor)
    if keeper is None:
        keeper = runtime.token_keepers[vendor] = TokenKeeper(runtime, build(runtime))
    return keeper
