"""MercadoLibre access tokens per seller: proactive refresh, single flight across processes.

ML refresh tokens are single use and only the newest is valid: two concurrent refreshes leave the
loser with `invalid_grant` and, if the winner's result is lost, a disconnected seller. So a
refresh happens only while holding the connection row lock (`SELECT ... FOR UPDATE`; on SQLite
the database write lock), re-reads the row after acquiring it (someone may have refreshed in the
meantime), and commits the new pair before the new access token is handed to anyone. Inside one
process an asyncio lock per connection keeps the waiting tasks off the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from conexapi.connections.health import mark_active, mark_needs_reauth, record_access_token
from conexapi.connections.locking import ConnectionLocks, locked_connection
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.connections.repository import ConnectionStore
from conexapi.connections.token_memo import token_memo
from conexapi.core.errors import AuthError
from conexapi.db import naive_utc, utcnow
from conexapi.marketplaces.mercadolibre import oauth
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.meli.tokens")

VENDOR = "mercadolibre"
REAUTH_MESSAGE = "MercadoLibre revocó el acceso (invalid_grant): vuelve a conectar la cuenta."
NEEDS_REAUTH_MESSAGE = "La cuenta de MercadoLibre necesita volver a conectarse."
_LOCKS_KEY = "meli_token_locks"


@dataclass(frozen=True)
class _Snapshot:
    token: str | None
    expires_at: datetime | None
    status: str


class MeliTokenManager:
    """`access_token(connection_id)` for every ML call; one instance per call site is fine.

    The per-connection asyncio locks live on the runtime, so every manager of a process shares
    them; across processes the row lock does the work.
    """

    def __init__(self, runtime: Runtime, *, margin: timedelta = timedelta(minutes=10)) -> None:
        self.runtime = runtime
        self.margin = margin
        self._lock = ConnectionLocks(runtime, _LOCKS_KEY)

    def _snapshot(self, connection: Connection) -> _Snapshot:
        token = (
            self.runtime.secrets.decrypt(connection.access_token_enc)
            if connection.access_token_enc
            else None
        )
        return _Snapshot(token, naive_utc(connection.token_expires_at), connection.status)

    def _fresh(self, snap: _Snapshot, now: datetime) -> bool:
        return (
            snap.token is not None
            and snap.expires_at is not None
            and snap.expires_at - self.margin > now
        )

    @staticmethod
    def _needs_reauth(connection_id: int) -> AuthError:
        return AuthError(
            NEEDS_REAUTH_MESSAGE, vendor=VENDOR, vendor_code="needs_reauth", status_code=None
        )

    async def _read(self, connection_id: int) -> _Snapshot:
        async with self.runtime.sessions() as session:
            connection = await ConnectionStore(session).get(connection_id)
            if connection is None:
                raise AuthError(f"connection {connection_id} does not exist", vendor=VENDOR)
            return self._snapshot(connection)

    async def access_token(self, connection_id: int) -> str:
        """A token with more than `margin` left, refreshing it first when needed."""
        memo = token_memo(self.runtime)
        snap = memo.get(VENDOR, connection_id)
        if not isinstance(snap, _Snapshot) or not self._fresh(snap, utcnow()):
            snap = await self._read(connection_id)
            memo.put(VENDOR, connection_id, snap)
        if snap.status == ConnectionStatus.NEEDS_REAUTH:
            raise self._needs_reauth(connection_id)
        if self._fresh(snap, utcnow()) and snap.token is not None:
            return snap.token
        return await self._refresh(connection_id, rejected=None)

    async def refresh_after_401(self, connection_id: int, rejected_token: str) -> str:
        """After ML refused `rejected_token`: refresh unless someone already replaced it."""
        return await self._refresh(connection_id, rejected=rejected_token)

    async def _refresh(self, connection_id: int, *, rejected: str | None) -> str:
        token_memo(self.runtime).forget(VENDOR, connection_id)
        async with self._lock(connection_id):
            failure: AuthError | None = None
            async with locked_connection(self.runtime, connection_id, vendor=VENDOR) as connection:
                now = utcnow()
                snap = self._snapshot(connection)
                if connection.status == ConnectionStatus.NEEDS_REAUTH:
                    raise self._needs_reauth(connection_id)
                if rejected is None and self._fresh(snap, now) and snap.token is not None:
                    return snap.token  # another task or process refreshed while we waited
                if (
                    rejected is not None
                    and snap.token is not None
                    and snap.token != rejected
                    and snap.expires_at is not None
                    and snap.expires_at > now
                ):
                    return snap.token
                if not connection.refresh_token_enc:
                    failure = AuthError(
                        "no refresh token stored", vendor=VENDOR, vendor_code="no_refresh_token"
                    )
                    mark_needs_reauth(connection, now, NEEDS_REAUTH_MESSAGE)
                else:
                    refresh_token = self.runtime.secrets.decrypt(connection.refresh_token_enc)
                    try:
                        tokens = await oauth.refresh(
                            self.runtime.meli_http,
                            self.runtime.settings.mercadolibre,
                            refresh_token,
                        )
                    except AuthError as exc:
                        failure = exc
                        mark_needs_reauth(connection, now, REAUTH_MESSAGE)
                    else:
                        self._store(connection, tokens, now)
                        log.info(
                            "meli.token.refreshed",
                            connection_id=connection_id,
                            token_version=connection.token_version,
                        )
                        return tokens.access_token  # committed when the block exits
            # The needs_reauth mark is committed above; now tell the caller.
            log.warning("meli.token.revoked", connection_id=connection_id)
            raise failure

    def _store(self, connection: Connection, tokens: oauth.TokenSet, now: datetime) -> None:
        store_tokens(self.runtime, connection, tokens, now)


def store_tokens(
    runtime: Runtime, connection: Connection, tokens: oauth.TokenSet, now: datetime
) -> None:
    """Writes a fresh token pair (encrypted) and the health fields onto the connection row."""
    record_access_token(connection, runtime.secrets, tokens.access_token, tokens.expires_in, now)
    if tokens.refresh_token is not None:
        connection.refresh_token_enc = runtime.secrets.encrypt(tokens.refresh_token)
    mark_active(connection)
    meta = dict(connection.meta or {})
    meta["scope"] = tokens.scope
    connection.meta = meta
