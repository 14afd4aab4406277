"""JWT access tokens (PyJWT, HS256) and signed single-purpose payloads such as OAuth `state`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from conexapi.core.errors import Unauthorized

ALGORITHM = "HS256"


ROLES = frozenset({"owner", "admin", "viewer"})  # accounts.models.Role's values


@dataclass(frozen=True)
class TokenClaims:
    """Who calls. From `verify` these are the token's words; the API and the dashboard replace
    them with the database's (`accounts.service.caller`) before anything trusts the role."""

    user_id: int
    tenant_id: int
    role: str
    version: int = 0


class TokenService:
    def __init__(self, secret: str, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, *, user_id: int, tenant_id: int, role: str, version: int) -> str:
        now = datetime.now(UTC)
        payload = {
            "sub": str(user_id),
            "tid": tenant_id,
            "role": role,
            "ver": version,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=self.ttl_seconds),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        """Checks signature (HS256 only: `alg: none` and others are refused), expiry, iss, aud."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            claims = TokenClaims(
                user_id=int(payload["sub"]),
                tenant_id=int(payload["tid"]),
                role=str(payload["role"]),
                version=int(payload["ver"]),
            )
            if claims.role not in ROLES or not (0 < claims.user_id < 2**63):
                raise ValueError("role or subject out of range")
            if not (0 < claims.tenant_id < 2**63) or not (0 <= claims.version < 2**31):
                raise ValueError("tenant or version out of range")
            return claims
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(
                "The access token has expired; sign in again.", code="token_expired"
            ) from exc
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("The access token is not valid.", code="invalid_token") from exc

    def sign(self, purpose: str, data: dict[str, Any], ttl_seconds: int) -> str:
        now = datetime.now(UTC)
        payload = {**data, "pur": purpose, "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def unsign(self, purpose: str, token: str) -> dict[str, Any]:
        """Raises `jwt.InvalidTokenError` (or `ExpiredSignatureError`) when not valid."""
        payload: dict[str, Any] = jwt.decode(
            token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "pur"]}
        )
        if payload.get("pur") != purpose:
            raise jwt.InvalidTokenError("wrong purpose")
        return payload
