"""Re-encrypting every secret at rest with the newest key (`conexapi keys rotate`), and once, on
the first start after keys stopped being constants, the secrets stored under the old constant
development key (`reencrypt_legacy_secrets`)."""

from __future__ import annotations

import os
from typing import Any

import structlog
from sqlalchemy import select

from conexapi.connections.models import Connection, OAuthState
from conexapi.connections.token_spool import SUFFIX
from conexapi.runtime import Runtime
from conexapi.security.encryption import DecryptionError, RotationReport, SecretBox
from conexapi.security.keys import legacy_encryption_key

log = structlog.get_logger("conexapi.keys")

ENCRYPTED_COLUMNS: dict[type, tuple[str, ...]] = {
    Connection: ("credentials_enc", "access_token_enc", "refresh_token_enc"),
    OAuthState: ("code_verifier_enc",),
}
# Written in the data directory once the old constant key has no secret left to re-encrypt.
LEGACY_DONE_MARKER = "legacy-secrets-reencrypted"


async def rotate_secrets(runtime: Runtime) -> RotationReport:
    """Decrypts with any configured key and encrypts with the first, in one transaction.
    Secrets still under the old constant development key are re-encrypted too."""
    await reencrypt_legacy_secrets(runtime, force=True)
    report = RotationReport()
    async with runtime.sessions() as session:
        for model, columns in ENCRYPTED_COLUMNS.items():
            rows: list[Any] = list(
                (await session.execute(select(model).with_for_update())).scalars().all()
            )
            for row in rows:
                for column in columns:
                    value = getattr(row, column)
                    if value:
                        setattr(row, column, runtime.secrets.rotate(value))
                        report.add(f"{model.__tablename__}.{column}")  # type: ignore[attr-defined]
        await session.commit()
    return report


def _needs_legacy(current: SecretBox, legacy: SecretBox, value: str) -> str | None:
    """The value re-encrypted with the current key when only the old constant key reads it."""
    try:
        current.decrypt(value)
        return None
    except DecryptionError:
        pass
    try:
        plain = legacy.decrypt(value)
    except DecryptionError:
        return None  # neither key: left alone (a rotation key may still be missing)
    return current.encrypt(plain)


async def reencrypt_legacy_secrets(runtime: Runtime, *, force: bool = False) -> RotationReport:
    """Finds secrets (database columns and this machine's token spool) that only the old constant
    key decrypts and re-encrypts them with the current key. Runs once per data directory (a
    marker file remembers it), or always with `force`; safe to run again or concurrently."""
    report = RotationReport()
    marker = runtime.settings.local_data_dir / LEGACY_DONE_MARKER
    if not force and marker.exists():
        return report
    legacy = SecretBox([legacy_encryption_key()])
    current = runtime.secrets
    async with runtime.sessions() as session:
        for model, columns in ENCRYPTED_COLUMNS.items():
            rows: list[Any] = list((await session.execute(select(model))).scalars().all())
            stale = [
                row
                for row in rows
                if any(
                    getattr(row, c) and _needs_legacy(current, legacy, getattr(row, c))
                    for c in columns
                )
            ]
            for row in stale:
                # Locked and read again: another process may have just re-encrypted it.
                await session.refresh(row, with_for_update=True)
                for column in columns:
                    value = getattr(row, column)
                    fresh = _needs_legacy(current, legacy, value) if value else None
                    if fresh is not None:
                        setattr(row, column, fresh)
                        report.add(f"{model.__tablename__}.{column}")  # type: ignore[attr-defined]
        await session.commit()
    spool = runtime.settings.spool_dir
    if spool.is_dir():
        for path in sorted(spool.iterdir()):
            if not path.name.endswith(SUFFIX):
                continue
            fresh = _needs_legacy(current, legacy, path.read_text(encoding="utf-8"))
            if fresh is not None:
                tmp = path.with_name(f".{path.name}.rekey")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, fresh.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
                report.add("token_spool")
    if report.rotated:
        log.warning("keys.legacy_secrets_reencrypted", count=report.rotated, fields=report.fields)
    marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    marker.touch()
    return report


async def reencrypt_legacy_secrets_at_start(runtime: Runtime) -> None:
    """At a process's start: a failure (the database is away) is logged, and the next start
    tries again; it never stops the process."""
    try:
        await reencrypt_legacy_secrets(runtime)
    except Exception:
        log.exception("keys.legacy_reencryption_failed")
