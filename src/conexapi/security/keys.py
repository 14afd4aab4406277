"""Where the JWT signing key and the encryption key come from.

Configured keys (`CONEXAPI_SECRET_KEY`, `CONEXAPI_ENCRYPTION_KEY`) always win; production refuses
to start without them (settings). Otherwise the first start of this data directory generates
random keys and keeps them in `<data dir>/secret-keys.json`, mode 0600: every later start (and
every process sharing the directory) uses the same ones. Nothing is ever derived from a constant.

Before this file existed, development derived both keys from a public string. Secrets stored under
that old encryption key are re-encrypted with the current key once (`reencrypt_legacy_secrets`);
the old JWT key is never accepted for anything.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.fernet import Fernet

from conexapi.settings import ConfigurationError, Settings

KEY_FILE_NAME = "secret-keys.json"
# The string the keys of development used to be derived from (public, in every copy of the
# code). Only `legacy_encryption_key()` still uses it: to find and re-encrypt old secrets.
_LEGACY_SEED = "conexapi-development-only"


def legacy_encryption_key() -> bytes:
    """The old constant Fernet key: decrypts secrets stored before keys were generated."""
    digest = hashlib.sha256(f"{_LEGACY_SEED}:fernet".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def legacy_jwt_secret() -> str:
    """The old constant JWT key. Never given to `TokenService`; kept so tests can prove it."""
    return hashlib.sha256(f"{_LEGACY_SEED}:jwt".encode()).hexdigest()


@dataclass(frozen=True)
class KeyMaterial:
    jwt_secret: str
    fernet_keys: list[bytes]  # newest first: the first encrypts, all decrypt
    key_file: Path | None  # the generated keys' file, when some key came from it
    generated: bool  # this start created the file


def write_new_key_file(path: Path) -> bool:
    """Creates `path` with fresh keys, mode 0600, atomically: True if this call created it,
    False if another process won the race (its file is then the one every process uses)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = json.dumps(
        {
            "secret_key": secrets.token_urlsafe(48),
            "encryption_key": Fernet.generate_key().decode(),
        }
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if it exists: never overwrites keys already in use
            return True
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _read_key_file(path: Path) -> dict[str, str]:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
        structlog.get_logger("conexapi.keys").warning(
            "keys.file_permissions_tightened", path=str(path), was=oct(mode)
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = {
            "secret_key": str(data["secret_key"]),
            "encryption_key": str(data["encryption_key"]),
        }
        Fernet(keys["encryption_key"].encode())
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"The key file {path} is damaged. Restore it from a backup or set "
            "CONEXAPI_SECRET_KEY and CONEXAPI_ENCRYPTION_KEY (secrets stored with the lost key "
            "cannot be read again)."
        ) from exc
    return keys


def load_keys(settings: Settings) -> KeyMaterial:
    """The keys of this process: configured ones, else the data directory's generated ones."""
    configured_jwt = settings.secret_key.get_secret_value() if settings.secret_key else None
    configured_enc = (
        settings.encryption_key.get_secret_value().encode() if settings.encryption_key else None
    )
    key_file: Path | None = None
    generated = False
    if configured_jwt is None or configured_enc is None:
        if settings.is_production:  # settings already refuse this; never generate there
            raise ConfigurationError("Production needs configured keys.")
        key_file = settings.local_data_dir / KEY_FILE_NAME
        if not key_file.exists():
            generated = write_new_key_file(key_file)
        stored = _read_key_file(key_file)
        log = structlog.get_logger("conexapi.keys")  # at call time: the current configuration
        if generated:
            log.warning(
                "keys.generated",
                path=str(key_file.resolve()),
                note="keep this file private and backed up; set CONEXAPI_SECRET_KEY and "
                "CONEXAPI_ENCRYPTION_KEY to use your own keys",
            )
        else:
            log.info("keys.loaded", path=str(key_file.resolve()))
        configured_jwt = configured_jwt or stored["secret_key"]
        configured_enc = configured_enc or stored["encryption_key"].encode()
    return KeyMaterial(
        jwt_secret=configured_jwt,
        fernet_keys=[configured_enc, *settings.old_fernet_keys],
        key_file=key_file,
        generated=generated,
    )
