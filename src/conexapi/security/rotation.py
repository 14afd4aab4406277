"""Re-encrypting every secret at rest with the newest key (`conexapi keys rotate`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from conexapi.connections.models import Connection, OAuthState
from conexapi.runtime import Runtime
from conexapi.security.encryption import RotationReport

ENCRYPTED_COLUMNS: dict[type, tuple[str, ...]] = {
    Connection: ("credentials_enc", "access_token_enc", "refresh_token_enc"),
    OAuthState: ("code_verifier_enc",),
}


async def rotate_secrets(runtime: Runtime) -> RotationReport:
    """Decrypts with any configured key and encrypts with the first, in one transaction."""
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
