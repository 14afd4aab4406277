from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from conexapi.connections.models import Connection
from conexapi.runtime import Runtime
from conexapi.security.encryption import DecryptionError, SecretBox
from conexapi.security.keys import load_keys
from conexapi.security.rotation import rotate_secrets
from conexapi.settings import ConfigurationError, Settings
from tests.builders import create_tenant
from tests.conftest import make_settings


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]
    assert "CONEXAPI_SECRET_KEY" in str(info.value)
    assert "CONEXAPI_ENCRYPTION_KEY" in str(info.value)
    ok = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env="production",
        secret_key="x" * 64,
        encryption_key=SecretBox.generate_key(),
    )
    assert ok.is_production


def test_dev_defaults_just_work(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    keys = load_keys(settings)
    box = SecretBox(keys.fernet_keys)
    assert box.decrypt(box.encrypt("APP_USR-123")) == "APP_USR-123"
    assert len(keys.jwt_secret) >= 32


def test_a_rotated_key_still_decrypts_old_secrets_and_a_wrong_key_never_does() -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    token = SecretBox([old.encode()]).encrypt("refresh-TG-1")
    rotating = SecretBox([new.encode(), old.encode()])
    assert rotating.decrypt(token) == "refresh-TG-1"
    rotated = rotating.rotate(token)
    assert SecretBox([new.encode()]).decrypt(rotated) == "refresh-TG-1"
    with pytest.raises(DecryptionError):
        SecretBox([SecretBox.generate_key().encode()]).decrypt(token)


async def test_keys_rotate_reencrypts_every_stored_secret(db_url: str) -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    before = Runtime.build(make_settings(db_url, encryption_key=old))
    async with before.sessions() as session:
        tenant = await create_tenant(session)
        session.add(
            Connection(
                tenant_id=tenant.id,
                provider="siigo",
                external_account_id="a@b.co",
                credentials_enc=before.secrets.encrypt_json({"access_key": "k"}),
                access_token_enc=before.secrets.encrypt("tok"),
                meta={},
            )
        )
        await session.commit()
    await before.aclose()
    during = Runtime.build(make_settings(db_url, encryption_key=new, old_encryption_keys=old))
    report = await rotate_secrets(during)
    await during.aclose()
    assert report.rotated == 2
    after = Runtime.build(make_settings(db_url, encryption_key=new))
    async with after.sessions() as session:
        conn = (await session.execute(select(Connection))).scalar_one()
        assert after.secrets.decrypt_json(conn.credentials_enc or "") == {"access_key": "k"}
        assert after.secrets.decrypt(conn.access_token_enc or "") == "tok"
        assert "tok" not in (conn.access_token_enc or "")
    await after.aclose()
