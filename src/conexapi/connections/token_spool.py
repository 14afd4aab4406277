"""The token spool: a renewed token pair, encrypted, on this machine's disk from the moment the
vendor answers until the database holds it.

MercadoLibre refresh tokens are single use and only the newest one is accepted
(docs/vendors/mercadolibre.md §1.4): once MercadoLibre has answered a refresh, the pair it answered
is the only way back into the seller's account. If the database cannot take it (restarting,
failing over) or the process dies before it can, that pair must not live only in memory. So it is
written here first: one file per connection and renewing process, written atomically (temporary
file, fsync, rename), readable by its owner only, its content encrypted with the same Fernet keys
as the database columns. Any process of this machine that finds a file stores it in the database
(`connections.renewal`), then deletes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from conexapi.security.encryption import DecryptionError, SecretBox

log = structlog.get_logger("conexapi.tokens.spool")

SUFFIX = ".tok"


def grant_digest(grant: str) -> str:
    """A refresh token's fingerprint: lets a spooled pair name the tokens it replaced without
    keeping them."""
    return hashlib.sha256(grant.encode()).hexdigest()


@dataclass(frozen=True)
class SpooledTokens:
    """What a vendor answered to one renewal (or a chain of them), and what it descends from.

    `base_version`: the connection's `token_version` when the renewal started; `consumed`: the
    fingerprints of the single-use refresh tokens spent on the way, oldest first (several when the
    database stayed away longer than an access token lives and the chain went on in memory).
    """

    vendor: str
    connection_id: int
    base_version: int
    access_token: str
    refresh_token: str | None
    expires_in: int
    obtained_at: datetime  # naive UTC
    consumed: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print tokens
        return (
            f"SpooledTokens({self.vendor}, connection={self.connection_id}, "
            f"base_version={self.base_version}, chain={len(self.consumed)})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "connection_id": self.connection_id,
            "base_version": self.base_version,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "obtained_at": self.obtained_at.isoformat(),
            "consumed": list(self.consumed),
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpooledTokens:
        return cls(
            vendor=str(data["vendor"]),
            connection_id=int(data["connection_id"]),
            base_version=int(data["base_version"]),
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
            expires_in=int(data["expires_in"]),
            obtained_at=datetime.fromisoformat(str(data["obtained_at"])),
            consumed=tuple(str(d) for d in data.get("consumed") or ()),
            extra=dict(data.get("extra") or {}),
        )


class TokenSpool:
    """The spool directory of this machine, as one process sees it (`owner` names its files)."""

    def __init__(self, directory: Path, secrets: SecretBox, owner: str) -> None:
        self.directory = directory
        self.secrets = secrets
        self.owner = owner

    def path_for(self, vendor: str, connection_id: int) -> Path:
        return self.directory / f"{vendor}-{connection_id}-{self.owner}{SUFFIX}"

    def write(self, entry: SpooledTokens) -> Path:
        """Durably replaces this process's file for the connection; returns its path."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path_for(entry.vendor, entry.connection_id)
        tmp = path.with_name(f".{path.name}.tmp")
        data = self.secrets.encrypt_json(entry.to_json()).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_directory(self.directory)
        return path

    def entries(
        self, vendor: str, connection_id: int | None = None
    ) -> list[tuple[Path, SpooledTokens]]:
        """Every readable spooled pair of `vendor` (of one connection when given), any process's.

        A file that cannot be decrypted (a key removed too early) is reported and left in place:
        it may be the only copy of a seller's refresh token.
        """
        prefix = f"{vendor}-" if connection_id is None else f"{vendor}-{connection_id}-"
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return []
        except OSError:
            log.error("token.spool_unreadable_directory", directory=str(self.directory))
            return []
        found: list[tuple[Path, SpooledTokens]] = []
        for name in names:
            if not name.startswith(prefix):
                continue
            path = self.directory / name
            try:
                entry = SpooledTokens.from_json(self.secrets.decrypt_json(path.read_text()))
            except FileNotFoundError:
                continue  # stored and removed by another process meanwhile
            except (DecryptionError, ValueError, KeyError, TypeError, OSError):
                log.error("token.spool_unreadable", file=name)
                continue
            if entry.vendor == vendor:
                found.append((path, entry))
        return found

    def discard(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_directory(directory: Path) -> None:
    """The rename itself must survive a power cut, not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
