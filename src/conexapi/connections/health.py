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


MISSING_PERMISSIONS = "missing_permissions"
PERMISSION_PROBE = "permission_probe"
PERMISSION_CHECKED_AT = "permission_checked_at"


def missing_permissions(connection: Connection) -> list[str]:
    value = (connection.meta or {}).get(MISSING_PERMISSIONS)
    return [str(p) for p in value] if isinstance(value, list) else []


def mark_active(connection: Connection) -> None:
    """Credentials work again, with the last error cleared. A missing functional permission
    stays: new tokens do not grant it, only the application's owner can."""
    if missing_permissions(connection):
        connection.status = ConnectionStatus.NEEDS_PERMISSION.value
        return
    connection.status = ConnectionStatus.ACTIVE.value
    connection.last_error = None
    connection.last_error_at = None


def mark_needs_permission(
    connection: Connection,
    now: datetime,
    *,
    permission: str,
    probe: dict[str, str],
    message: str,
) -> None:
    """The vendor refused a resource family to our application; `probe` is asked again later."""
    meta = dict(connection.meta or {})
    meta[MISSING_PERMISSIONS] = sorted({*missing_permissions(connection), permission})
    if probe:
        meta[PERMISSION_PROBE] = probe
    meta[PERMISSION_CHECKED_AT] = now.isoformat()
    connection.meta = meta
    if connection.status != ConnectionStatus.NEEDS_REAUTH.value:
        connection.status = ConnectionStatus.NEEDS_PERMISSION.value
    connection.last_error = message
    connection.last_error_at = now


def mark_permission_granted(connection: Connection) -> None:
    """The probe went through: the permission works now (granted in DevCenter)."""
    meta = dict(connection.meta or {})
    for key in (MISSING_PERMISSIONS, PERMISSION_PROBE, PERMISSION_CHECKED_AT):
        meta.pop(key, None)
    connection.meta = meta
    if connection.status == ConnectionStatus.NEEDS_PERMISSION.value:
        mark_active(connection)


def mark_needs_reauth(connection: Connection, now: datetime, message: str) -> None:
    """The vendor refused our credentials: the user has to connect again; `message` says why."""
    connection.status = ConnectionStatus.NEEDS_REAUTH.value
    connection.last_error = message
    connection.last_error_at = now


def clear_renewal(connection: Connection) -> None:
    """No token renewal in flight any more (see `connections.renewal`)."""
    connection.refresh_owner = None
    connection.refresh_started_at = None
