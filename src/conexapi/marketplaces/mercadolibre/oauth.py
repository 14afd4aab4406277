"""MercadoLibre OAuth 2.0 (authorization code, optional PKCE S256) and token refresh.

Endpoints: consent page `GET {auth_url}/authorization`; token `POST {api_url}/oauth/token`
(form-urlencoded; both grants answer the same shape). Refresh tokens are single use and only the
latest one is valid: callers must serialize refreshes per seller (see `tokens.MeliTokenManager`).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from conexapi.core.errors import AuthError, IntegrationError, PermanentError
from conexapi.core.http import parse_meli_error, send
from conexapi.settings import MercadoLibreSection

VENDOR = "mercadolibre"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_in: int
    user_id: int
    scope: str

    def __repr__(self) -> str:  # never print tokens
        return (
            f"TokenSet(user_id={self.user_id}, expires_in={self.expires_in}, scope={self.scope!r})"
        )


def new_code_verifier() -> str:
    """A PKCE code verifier: 64 URL-safe characters (RFC 7636 allows 43..128)."""
    return secrets.token_urlsafe(48)


def code_challenge_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    settings: MercadoLibreSection, state: str, code_challenge: str | None = None
) -> str:
    """The consent page URL the seller's browser is sent to."""
    if not settings.client_id:
        raise PermanentError(
            "CONEXAPI_MELI_CLIENT_ID is not configured", vendor=VENDOR, vendor_code="config"
        )
    params = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": settings.redirect_uri,
        "state": state,
    }
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    return f"{settings.auth_url}/authorization?{urlencode(params)}"


def _client_credentials(settings: MercadoLibreSection) -> dict[str, str]:
    if not settings.client_id or settings.client_secret is None:
        raise PermanentError(
            "the MercadoLibre application is not configured "
            "(CONEXAPI_MELI_CLIENT_ID / CONEXAPI_MELI_CLIENT_SECRET)",
            vendor=VENDOR,
            vendor_code="config",
        )
    return {
        "client_id": settings.client_id,
        "client_secret": settings.client_secret.get_secret_value(),
    }


def _token_set(data: Any) -> TokenSet:
    if not isinstance(data, dict) or not data.get("access_token") or "user_id" not in data:
        raise PermanentError(
            "the token endpoint answered without an access token",
            vendor=VENDOR,
            vendor_code="invalid_token_response",
        )
    return TokenSet(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
        expires_in=int(data.get("expires_in") or 21600),
        user_id=int(data["user_id"]),
        scope=str(data.get("scope") or ""),
    )


# A refresh whose answer never arrives may still have rotated the single-use refresh token at
# MercadoLibre (the pair is then lost and the seller must reconnect), so the token call waits
# much longer than other calls before giving up: a slow answer is still an answer. Connect and
# write fail fast (nothing reached MercadoLibre); the sum stays under the renewal marker's
# staleness (`connections.renewal.MARKER_STALE_SECONDS`, 90 s), so no other process takes over
# a renewal still waiting for its answer.
TOKEN_TIMEOUT = httpx.Timeout(60.0, connect=5.0, write=10.0, pool=10.0)


async def _token_request(http: httpx.AsyncClient, form: dict[str, str]) -> TokenSet:
    try:
        response = await send(
            http,
            "POST",
            "/oauth/token",
            vendor=VENDOR,
            parse_error=parse_meli_error,
            data=form,
            headers={"Accept": "application/json"},
            timeout=TOKEN_TIMEOUT,
        )
    except IntegrationError as exc:
        # invalid_grant: the code/refresh token is used, expired or revoked. The seller must
        # authorize again; no retry can fix it. invalid_client is a configuration problem.
        if exc.vendor_code in ("invalid_grant", "unauthorized_client", "invalid_operator_user_id"):
            raise AuthError(
                exc.message,
                vendor=VENDOR,
                status_code=exc.status_code,
                vendor_code=exc.vendor_code,
            ) from exc
        raise
    return _token_set(response.json())


async def exchange_code(
    http: httpx.AsyncClient,
    settings: MercadoLibreSection,
    code: str,
    code_verifier: str | None = None,
) -> TokenSet:
    """`POST /oauth/token` grant_type=authorization_code."""
    form = {
        "grant_type": "authorization_code",
        **_client_credentials(settings),
        "code": code,
        "redirect_uri": settings.redirect_uri,
    }
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    return await _token_request(http, form)


async def refresh(
    http: httpx.AsyncClient, settings: MercadoLibreSection, refresh_token: str
) -> TokenSet:
    """`POST /oauth/token` grant_type=refresh_token; `invalid_grant` → `AuthError`."""
    form = {
        "grant_type": "refresh_token",
        **_client_credentials(settings),
        "refresh_token": refresh_token,
    }
    return await _token_request(http, form)
