"""What a token is to the renewal code, and what differs between vendors (`VendorHooks`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conexapi.connections.models import Connection
from conexapi.connections.token_spool import SpooledTokens
from conexapi.core.errors import AuthError
from conexapi.db import naive_utc
from conexapi.runtime import Runtime


@dataclass(frozen=True)
class Obtained:
    """What the vendor answered to one renewal."""

    access_token: str
    refresh_token: str | None
    expires_in: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenState:
    """An access token and when it expires; `lifetime` is what the vendor granted it."""

    token: str
    expires_at: datetime  # naive UTC
    lifetime: timedelta | None

    def fresh(self, now: datetime, margin: timedelta) -> bool:
        """Valid for more than the margin: a third of its lifetime at most, so that a vendor
        granting short-lived tokens is not asked for a new one at every call."""
        if self.lifetime is not None and self.lifetime > timedelta(0):
            margin = min(margin, self.lifetime / 3)
        return self.expires_at - margin > now

    def valid(self, now: datetime) -> bool:
        return self.expires_at > now


def row_token(connection: Connection, runtime: Runtime) -> TokenState | None:
    """The connection's stored access token, decrypted, or None."""
    expires = naive_utc(connection.token_expires_at)
    if not connection.access_token_enc or expires is None:
        return None
    started = naive_utc(connection.last_refresh_at)
    lifetime = expires - started if started is not None else None
    return TokenState(runtime.secrets.decrypt(connection.access_token_enc), expires, lifetime)


def entry_token(entry: SpooledTokens) -> TokenState:
    lifetime = timedelta(seconds=entry.expires_in)
    return TokenState(entry.access_token, entry.obtained_at + lifetime, lifetime)


@dataclass
class VendorHooks:
    """What differs between vendors.

    `grant`: the decrypted refresh token (ML) or credentials (Siigo) of a row, None if absent;
    `obtain`: calls the vendor with it (`AuthError` when refused); `apply`: writes a renewed pair
    onto the row; `revoke`: marks the row as needing the user; `check`: raises when the row
    cannot be renewed at all (ML `needs_reauth`). `single_use`: the grant dies when used (ML).
    """

    vendor: str
    margin: timedelta
    single_use: bool
    grant: Callable[[Connection], str | None]
    obtain: Callable[[str], Awaitable[Obtained]]
    apply: Callable[[Connection, SpooledTokens], None]
    revoke: Callable[[Connection, datetime, AuthError], None]
    check: Callable[[Connection], None] = lambda _connection: None
