"""The token spool on disk: where it lives, what a file holds, what is never thrown away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from conexapi.connections.token_spool import SpooledTokens, TokenSpool
from conexapi.db import utcnow
from conexapi.security.encryption import SecretBox
from conexapi.settings import Settings


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_spool_lives_beside_the_data_unless_told_otherwise(tmp_path: Path) -> None:
    sqlite = _settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/shop.db")
    assert sqlite.spool_dir == tmp_path / "conexapi-data" / "token-spool"
    mariadb = _settings(database_url="mysql+aiomysql://u:p@db:3306/conexapi")
    assert mariadb.spool_dir == Path("conexapi-data") / "token-spool"
    data = _settings(database_url="mysql+aiomysql://u:p@db/x", data_dir=tmp_path / "d")
    assert data.spool_dir == tmp_path / "d" / "token-spool"
    own = _settings(data_dir=tmp_path / "d", token_spool_dir=tmp_path / "s")
    assert own.spool_dir == tmp_path / "s"


def _entry(vendor: str = "mercadolibre", connection_id: int = 7) -> SpooledTokens:
    return SpooledTokens(
        vendor=vendor,
        connection_id=connection_id,
        base_version=3,
        access_token="APP_USR-secret-access",
        refresh_token="TG-secret-refresh",
        expires_in=21600,
        obtained_at=utcnow(),
        consumed=("ab" * 32,),
        extra={"scope": "offline_access read write", "user_id": 123},
    )


def test_a_spooled_pair_is_encrypted_private_and_read_back_whole(tmp_path: Path) -> None:
    box = SecretBox([Fernet.generate_key()])
    spool = TokenSpool(tmp_path / "spool", box, "host-1-abc")
    entry = _entry()
    path = spool.write(entry)
    spool.write(_entry("siigo", 7))
    raw = path.read_bytes()
    assert b"secret" not in raw
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    [(found_path, found)] = TokenSpool(tmp_path / "spool", box, "other").entries("mercadolibre", 7)
    assert found_path == path
    assert found == entry  # every field, the tokens included
    assert TokenSpool(tmp_path / "spool", box, "x").entries("mercadolibre", 8) == []
    spool.discard(path)
    spool.discard(path)  # already gone: nothing to do
    assert spool.entries("mercadolibre") == []


def test_a_file_no_key_can_read_is_kept_not_deleted(tmp_path: Path) -> None:
    old = SecretBox([Fernet.generate_key()])
    path = TokenSpool(tmp_path, old, "host-1-abc").write(_entry())
    new = TokenSpool(tmp_path, SecretBox([Fernet.generate_key()]), "host-2-def")
    assert new.entries("mercadolibre") == []
    assert path.exists()  # it may be the only copy of a seller's refresh token
