"""Encryption of secrets at rest (tokens, ERP access keys) with Fernet, rotatable (MultiFernet).

The first key encrypts; every key decrypts. To rotate: set the new key first, keep the old ones in
`CONEXAPI_OLD_ENCRYPTION_KEYS`, run `conexapi keys rotate` to re-encrypt, then drop the old keys.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError(
                "A stored secret cannot be decrypted: check CONEXAPI_ENCRYPTION_KEY "
                "(and CONEXAPI_OLD_ENCRYPTION_KEYS after a rotation)."
            ) from exc

    def encrypt_json(self, data: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(data, separators=(",", ":")))

    def decrypt_json(self, token: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.decrypt(token))
        return value

    def rotate(self, token: str) -> str:
        """Re-encrypts with the newest key."""
        return self._fernet.rotate(token.encode()).decode()


class RotationReport:
    def __init__(self) -> None:
        self.rotated = 0
        self.fields: dict[str, int] = {}

    def add(self, field: str) -> None:
        self.rotated += 1
        self.fields[field] = self.fields.get(field, 0) + 1
