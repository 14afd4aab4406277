"""The health and token fields of a connection row, as the token code and the connect flows
write them."""

from __future__ import annotations

from datetime import datetime, timedelta

from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.security.encryption import SecretBox


def record_access_token(
    connection: Connection, secrets: SecretBox, access_token: str, expires_in: int, now: datetime
) -> None:
    """A new access token (encrypted) valid `expires_in` seconds from `now`: a new token version,
    and `now` as the last refresh and the last success."""
    connection.access_token_enc = secrets.encrypt(access_token)
    connection.token_expires_at = now + timedelta(seconds=expires_in)
    connection.token_version = (connection.token_version or 0) + 1
    connection.last_refresh_at = now
    connection.last_success_at = now


def mark_active(connection: Connection) -> None:
    """Active again, with the last error cleared."""
    connection.status = ConnectionStatus.ACTIVE.value
    connection.last_error = None
    connection.last_error_at = None


def mark_needs_reauth(connection: Connection, now: datetime, message: str) -> None:
    """The vendor refused our credentials: the user has to connect again; `message` says why."""
    connection.status = ConnectionStatus.NEEDS_REAUTH.value
    connection.last_error = message
    connection.last_error_at = now


def clear_renewal(connection: Connection) -> None:
    """No token renewal in flight any more (see `connections.renewal`)."""
    connection.refresh_owner = None
    connection.refresh_started_at = None
