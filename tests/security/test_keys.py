"""Keys are never constants: generated per data directory (mode 0600) when not configured, the
old constant JWT key is refused, secrets under the old constant encryption key are re-encrypted,
and production refuses short or malformed keys."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from conexapi.app import create_app
from conexapi.connections.models import Connection
from conexapi.runtime import Runtime
from conexapi.security.encryption import DecryptionError, SecretBox
from conexapi.security.keys import (
    KEY_FILE_NAME,
    legacy_encryption_key,
    legacy_jwt_secret,
    load_keys,
    write_new_key_file,
)
from conexapi.security.rotation import LEGACY_DONE_MARKER, reencrypt_legacy_secrets
from conexapi.settings import ConfigurationError, Settings
from tests.builders import create_tenant
from tests.conftest import SignedIn, make_settings


def _settings(data_dir: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[call-arg]


def test_keys_are_generated_once_per_data_directory_in_a_private_file(tmp_path: Path) -> None:
    with capture_logs() as captured:
        first = load_keys(_settings(tmp_path / "a"))
    logs = repr(captured)
    again = load_keys(_settings(tmp_path / "a"))
    other = load_keys(_settings(tmp_path / "b"))
    key_file = tmp_path / "a" / KEY_FILE_NAME
    assert first.generated
    assert not again.generated
    assert first.key_file == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (again.jwt_secret, again.fernet_keys) == (first.jwt_secret, first.fernet_keys)
    assert other.jwt_secret != first.jwt_secret
    assert other.fernet_keys != first.fernet_keys
    # Never the old constants.
    assert first.jwt_secret != legacy_jwt_secret()
    assert legacy_encryption_key() not in first.fernet_keys
    # The start says where the keys are, never what they are.
    assert "keys.generated" in logs
    assert str(key_file.resolve()) in logs
    assert first.jwt_secret not in logs
    assert first.fernet_keys[0].decode() not in logs


def test_a_second_process_never_overwrites_the_keys_of_the_first(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    assert write_new_key_file(path) is True
    before = path.read_bytes()
    assert write_new_key_file(path) is False  # lost the race: the first file stays
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]  # no temporary left


def test_configured_keys_win_and_no_file_is_written(tmp_path: Path) -> None:
    enc = SecretBox.generate_key()
    keys = load_keys(_settings(tmp_path, secret_key="k" * 40, encryption_key=enc))
    assert keys.jwt_secret == "k" * 40
    assert keys.fernet_keys == [enc.encode()]
    assert keys.key_file is None
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_a_loose_key_file_is_made_private_again(tmp_path: Path) -> None:
    load_keys(_settings(tmp_path))
    (tmp_path / KEY_FILE_NAME).chmod(0o644)
    load_keys(_settings(tmp_path))
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600


def test_a_damaged_key_file_stops_the_start_with_an_explanation(tmp_path: Path) -> None:
    tmp_path.joinpath(KEY_FILE_NAME).write_text("{not json")
    tmp_path.joinpath(KEY_FILE_NAME).chmod(0o600)
    with pytest.raises(ConfigurationError, match="damaged"):
        load_keys(_settings(tmp_path))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secret_key": "x" * 31}, "shorter than 32 bytes"),
        ({"secret_key": "x" * 64, "encryption_key": "too-short"}, "Fernet"),
        ({"secret_key": "x" * 64, "old_encryption_keys": "AAAA"}, "Fernet"),
    ],
)
def test_production_refuses_short_or_malformed_keys(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    full: dict[str, object] = {"env": "production", "encryption_key": SecretBox.generate_key()}
    full.update(values)
    with pytest.raises(ConfigurationError, match=message):
        _settings(tmp_path, **full)
    # 32 bytes and a real Fernet key pass.
    ok = _settings(
        tmp_path, env="production", secret_key="y" * 32, encryption_key=SecretBox.generate_key()
    )
    assert ok.is_production


def _claims(owner: SignedIn, **extra: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "sub": str(owner.user_id),
        "tid": owner.tenant_id,
        "role": "owner",
        "iss": "conexapi",
        "aud": "conexapi-api",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **extra,
    }


async def test_two_starts_in_two_data_directories_refuse_each_others_tokens(
    db_url: str, tmp_path: Path
) -> None:
    from tests.conftest import sign_up

    one = Runtime.build(make_settings(db_url, data_dir=str(tmp_path / "one")))
    two = Runtime.build(make_settings(db_url, data_dir=str(tmp_path / "two")))
    again = Runtime.build(make_settings(db_url, data_dir=str(tmp_path / "one")))
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime=one)), base_url="http://t"
            ) as c1,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime=two)), base_url="http://t"
            ) as c2,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime=again)), base_url="http://t"
            ) as c1_again,
        ):
            owner = await sign_up(one, c1, email="owner@tienda.co", tenant="Tienda A")
            assert (await c1.get("/api/v1/me", headers=owner.headers)).status_code == 200
            # The same data directory (a restart) keeps accepting it...
            assert (await c1_again.get("/api/v1/me", headers=owner.headers)).status_code == 200
            # ...another one's start does not.
            r = await c2.get("/api/v1/me", headers=owner.headers)
            assert r.status_code == 401
            assert r.json()["code"] == "invalid_token"
            # A token signed with the old public constant is refused everywhere.
            forged = jwt.encode(_claims(owner), legacy_jwt_secret(), "HS256")
            for c in (c1, c2):
                r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
                assert r.status_code == 401
            # Secrets too: what one start encrypts, the other cannot read.
            sealed = one.secrets.encrypt("APP_USR-secret")
            with pytest.raises(DecryptionError):
                two.secrets.decrypt(sealed)
    finally:
        for rt in (one, two, again):
            await rt.aclose()


async def test_secrets_under_the_old_constant_key_are_reencrypted_once(
    db_url: str, tmp_path: Path
) -> None:
    legacy = SecretBox([legacy_encryption_key()])
    settings = make_settings(db_url, data_dir=str(tmp_path / "data"))
    runtime = Runtime.build(settings)
    try:
        async with runtime.sessions() as session:
            tenant = await create_tenant(session)
            session.add(
                Connection(
                    tenant_id=tenant.id,
                    provider="siigo",
                    external_account_id="a@b.co",
                    credentials_enc=legacy.encrypt_json({"access_key": "k-1"}),
                    access_token_enc=runtime.secrets.encrypt("already-current"),
                    refresh_token_enc=legacy.encrypt("TG-refresh"),
                    meta={},
                )
            )
            await session.commit()
        spool = settings.spool_dir
        spool.mkdir(parents=True)
        (spool / "mercadolibre-1-p1.tok").write_text(legacy.encrypt_json({"a": 1}))
        # The first start (the app's lifespan) re-encrypts them.
        app = create_app(runtime=runtime)
        async with app.router.lifespan_context(app):
            pass
        async with runtime.sessions() as session:
            conn = (await session.execute(select(Connection))).scalar_one()
        assert runtime.secrets.decrypt_json(conn.credentials_enc or "") == {"access_key": "k-1"}
        assert runtime.secrets.decrypt(conn.refresh_token_enc or "") == "TG-refresh"
        assert runtime.secrets.decrypt(conn.access_token_enc or "") == "already-current"
        with pytest.raises(DecryptionError):
            legacy.decrypt(conn.refresh_token_enc or "")
        spooled = (spool / "mercadolibre-1-p1.tok").read_text()
        assert runtime.secrets.decrypt_json(spooled) == {"a": 1}
        assert (settings.local_data_dir / LEGACY_DONE_MARKER).exists()
        # Once: later starts find the marker and do nothing.
        assert (await reencrypt_legacy_secrets(runtime)).rotated == 0
    finally:
        await runtime.aclose()
