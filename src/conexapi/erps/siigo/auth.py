"""Siigo authentication: `POST /auth` (username + access key → 24 h bearer token, no refresh).

The token is cached encrypted on the connection row (`access_token_enc`, `token_expires_at`) and
so shared by every worker and API replica; it is renewed a few minutes before expiry through
`connections.renewal` (one `/auth` per company, not one per process; a token obtained while the
database is away is used meanwhile and stored when it answers). After a 401 it is renewed once
and the request replayed: a 401 means the request never reached business logic, so even a POST
is safe.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog

from conexapi.connections.health import mark_needs_reauth, record_access_token
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.connections.renewal import TokenKeeper, keeper_for
from conexapi.connections.token_spool import SpooledTokens
from conexapi.connections.token_state import Obtained, VendorHooks
from conexapi.core.errors import AuthError, IntegrationError
from conexapi.core.http import parse_siigo_error, send
from conexapi.runtime import Runtime
from conexapi.settings import SiigoSection

log = structlog.get_logger("conexapi.siigo.auth")

VENDOR = "siigo"
REAUTH_MESSAGE = (
    "Siigo rechazó el usuario API o la access key (¿se restablecieron las credenciales?): "
    "vuelva a conectar Siigo con las credenciales nuevas."
)
MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class SiigoToken:
    access_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"SiigoToken(expires_in={self.expires_in})"


async def authenticate(
    http: httpx.AsyncClient, settings: SiigoSection, username: str, access_key: str
) -> SiigoToken:
    """`POST /auth`. Bad credentials (401, or any 4xx / a body without a token) → `AuthError`."""
    try:
        response = await send(
            http,
            "POST",
            "/auth",
            vendor=VENDOR,
            parse_error=parse_siigo_error,
            json={"username": username, "access_key": access_key},
            headers={"Partner-Id": settings.partner_id},
        )
    except IntegrationError as exc:
        if exc.status_code is not None and 400 <= exc.status_code < 500 and exc.status_code != 429:
            raise AuthError(
                exc.message,
                vendor=VENDOR,
                status_code=exc.status_code,
                vendor_code=exc.vendor_code or "unauthorized",
            ) from exc
        raise
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("access_token"):
        raise AuthError(
            "Siigo /auth answered without an access token", vendor=VENDOR, vendor_code="bad_body"
        )
    return SiigoToken(str(data["access_token"]), int(data.get("expires_in") or 86400))


def siigo_hooks(runtime: Runtime) -> VendorHooks:
    async def obtain(credentials: str) -> Obtained:
        creds = runtime.secrets.decrypt_json(credentials)
        token = await authenticate(
            runtime.siigo_http,
            runtime.settings.siigo,
            str(creds["username"]),
            str(creds["access_key"]),
        )
        return Obtained(token.access_token, None, token.expires_in)

    def grant(connection: Connection) -> str | None:
        # Still encrypted: `obtain` decrypts it (the renewal code only passes it along).
        return connection.credentials_enc

    def apply(connection: Connection, entry: SpooledTokens) -> None:
        record_access_token(
            connection, runtime.secrets, entry.access_token, entry.expires_in, entry.obtained_at
        )
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            connection.status = ConnectionStatus.ACTIVE.value
            connection.last_error = None
        log.info("siigo.token.renewed", connection_id=connection.id)

    def revoke(connection: Connection, now: datetime, error: AuthError) -> None:
        mark_needs_reauth(connection, now, REAUTH_MESSAGE)
        connection.access_token_enc = None
        connection.token_expires_at = None

    return VendorHooks(
        vendor=VENDOR,
        margin=MARGIN,
        single_use=False,
        grant=grant,
        obtain=obtain,
        apply=apply,
        revoke=revoke,
    )


def siigo_keeper(runtime: Runtime) -> TokenKeeper:
    return keeper_for(runtime, VENDOR, siigo_hooks)


class SiigoTokenCache:
    """The company's bearer token, shared through the database by every process."""

    def __init__(self, runtime: Runtime) -> None:
        self.keeper = siigo_keeper(runtime)

    async def token(self, connection_id: int) -> str:
        return await self.keeper.token(connection_id)

    async def invalidate_and_renew(self, connection_id: int, rejected: str) -> str:
        """After a 401 with `rejected`: a new token, unless another process already renewed."""
        return await self.keeper.renew(connection_id, rejected=rejected)


class SiigoAuth(httpx.Auth):
    """`Authorization: Bearer` + `Partner-Id`; on a 401, one renewal and one replay."""

    def __init__(self, cache: SiigoTokenCache, connection_id: int, partner_id: str) -> None:
        self.cache = cache
        self.connection_id = connection_id
        self.partner_id = partner_id

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.cache.token(self.connection_id)
        request.headers["Authorization"] = f"Bearer {token}"
        request.headers["Partner-Id"] = self.partner_id
        response = yield request
        if response.status_code == 401:
            await response.aread()
            token = await self.cache.invalidate_and_renew(self.connection_id, token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
