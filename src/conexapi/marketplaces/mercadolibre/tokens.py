"""MercadoLibre access tokens per seller: proactive refresh, single flight across processes.

ML refresh tokens are single use and only the newest is valid (docs/vendors/mercadolibre.md §1.4):
two concurrent refreshes leave the loser with `invalid_grant`, and a pair lost between
MercadoLibre's answer and the database (a restart, a crash) disconnects the seller. The refresh
itself goes through `connections.renewal`: a marker committed before the call, the answer spooled
to disk at once and stored with retries, `invalid_grant` checked against what ConexAPI holds
before the seller is asked to reconnect. This module adds what is MercadoLibre's: the refresh
call, how a pair lands on the row, and `needs_reauth`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from conexapi.connections.health import mark_active, mark_needs_reauth, record_access_token
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.connections.renewal import TokenKeeper, keeper_for
from conexapi.connections.token_spool import SpooledTokens
from conexapi.connections.token_state import Obtained, VendorHooks
from conexapi.core.errors import AuthError
from conexapi.marketplaces.mercadolibre import oauth
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.meli.tokens")

VENDOR = "mercadolibre"
REAUTH_MESSAGE = "MercadoLibre revocó el acceso (invalid_grant): vuelva a conectar la cuenta."
NEEDS_REAUTH_MESSAGE = "La cuenta de MercadoLibre necesita volver a conectarse."
MARGIN = timedelta(minutes=10)


def _needs_reauth() -> AuthError:
    return AuthError(
        NEEDS_REAUTH_MESSAGE, vendor=VENDOR, vendor_code="needs_reauth", status_code=None
    )


def meli_hooks(runtime: Runtime) -> VendorHooks:
    async def obtain(refresh_token: str) -> Obtained:
        tokens = await oauth.refresh(
            runtime.meli_http, runtime.settings.mercadolibre, refresh_token
        )
        return Obtained(
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_in,
            {"scope": tokens.scope, "user_id": tokens.user_id},
        )

    def grant(connection: Connection) -> str | None:
        if not connection.refresh_token_enc:
            return None
        return runtime.secrets.decrypt(connection.refresh_token_enc)

    def apply(connection: Connection, entry: SpooledTokens) -> None:
        tokens = oauth.TokenSet(
            access_token=entry.access_token,
            refresh_token=entry.refresh_token,
            expires_in=entry.expires_in,
            user_id=int(entry.extra.get("user_id") or 0),
            scope=str(entry.extra.get("scope") or ""),
        )
        store_tokens(runtime, connection, tokens, entry.obtained_at)

    def revoke(connection: Connection, now: datetime, error: AuthError) -> None:
        reason = REAUTH_MESSAGE if error.vendor_code == "invalid_grant" else NEEDS_REAUTH_MESSAGE
        mark_needs_reauth(connection, now, reason)

    def check(connection: Connection) -> None:
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            raise _needs_reauth()

    return VendorHooks(
        vendor=VENDOR,
        margin=MARGIN,
        single_use=True,
        grant=grant,
        obtain=obtain,
        apply=apply,
        revoke=revoke,
        check=check,
    )


def meli_keeper(runtime: Runtime) -> TokenKeeper:
    return keeper_for(runtime, VENDOR, meli_hooks)


class MeliTokenManager:
    """`access_token(connection_id)` for every ML call; one instance per call site is fine (the
    state lives on the runtime's keeper)."""

    def __init__(self, runtime: Runtime) -> None:
        self.keeper = meli_keeper(runtime)

    async def access_token(self, connection_id: int) -> str:
        """A token with more than the margin left, refreshing it first when needed; a
        connection that needs the seller raises `AuthError` (`needs_reauth`) at once."""
        return await self.keeper.token(connection_id)

    async def refresh_after_401(self, connection_id: int, rejected_token: str) -> str:
        """After ML refused `rejected_token`: refresh unless someone already replaced it."""
        return await self.keeper.renew(connection_id, rejected=rejected_token)


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
