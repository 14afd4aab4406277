"""MercadoLibre OAuth as docs/vendors/mercadolibre.md §1 describes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from conexapi.sandbox import (
    DEFAULT_SELLER_ID,
    SANDBOX_APPLICATION_ID,
    SandboxConfig,
    SandboxState,
    create_sandbox_app,
)

from .conftest import REDIRECT_URI, consent, exchange, pkce_pair, refresh


async def test_consent_redirects_with_code_and_state(client: httpx.AsyncClient) -> None:
    code = await consent(client)
    assert code.startswith("TG-")


async def test_consent_rejects_unknown_client_and_non_loopback_redirect(
    client: httpx.AsyncClient,
) -> None:
    base = {"response_type": "code", "client_id": "sandbox-app", "redirect_uri": REDIRECT_URI}
    bad_client = await client.get(
        "/mercadolibre-auth/authorization", params={**base, "client_id": "other"}
    )
    assert bad_client.status_code == 400
    assert "text/html" in bad_client.headers["content-type"]
    bad_uri = await client.get(
        "/mercadolibre-auth/authorization",
        params={**base, "redirect_uri": "https://evil.example.com/cb"},
    )
    assert bad_uri.status_code == 400


async def test_code_exchange_shape_and_single_use(client: httpx.AsyncClient) -> None:
    code = await consent(client)
    resp = await exchange(client, code)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 21600
    assert body["scope"] == "offline_access read write"
    assert body["user_id"] == DEFAULT_SELLER_ID
    assert body["access_token"].startswith("APP_USR-")
    again = await exchange(client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_match_consent(client: httpx.AsyncClient) -> None:
    code = await consent(client)
    resp = await exchange(client, code, redirect_uri="http://localhost:9999/other")
    assert resp.json()["error"] == "invalid_grant"


async def test_token_endpoint_is_form_only(client: httpx.AsyncClient) -> None:
    code = await consent(client)
    resp = await client.post(
        "/mercadolibre/oauth/token", json={"grant_type": "authorization_code", "code": code}
    )
    assert resp.status_code == 400
    get = await client.get("/mercadolibre/oauth/token")
    assert get.status_code == 404


async def test_pkce_required_when_challenge_given(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    code = await consent(client, challenge=challenge)
    missing = await exchange(client, code)
    assert missing.status_code == 400
    assert missing.json() == {
        "error_description": "code_verifier is a required parameter",
        "error": "invalid_request",
        "status": 400,
        "cause": [],
    }
    ok = await exchange(client, code, code_verifier=verifier)
    assert ok.status_code == 200


async def test_refresh_rotation_old_token_is_invalid_grant(
    client: httpx.AsyncClient, ml_login: Callable[..., Any], state: SandboxState
) -> None:
    first = await ml_login()
    rotated = await refresh(client, first["refresh_token"])
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    reused = await refresh(client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {
        "error_description": "Error validating grant. Your authorization code or refresh token "
        "may be expired or it was already used",
        "error": "invalid_grant",
        "status": 400,
        "cause": [],
    }
    stats = (await client.get("/_sandbox/mercadolibre/stats")).json()
    assert stats["token_calls"] == {
        "authorization_code": 1,
        "refresh_token": 2,
        "refresh_token_refused": 1,
    }


async def test_short_token_lifetime_for_tests_keeps_single_use_refresh() -> None:
    """`ml_access_token_ttl_seconds` makes tokens expire in seconds (tests of refresh under
    load); rotation stays single use."""
    app = create_sandbox_app(SandboxConfig(initial_sales=0, ml_access_token_ttl_seconds=1))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        first = (await exchange(client, await consent(client))).json()
        assert first["expires_in"] == 1
        headers = {"Authorization": f"Bearer {first['access_token']}"}
        assert (await client.get("/mercadolibre/users/me", headers=headers)).status_code == 200
        await asyncio.sleep(1.1)  # past its lifetime (no timing is measured)
        assert (await client.get("/mercadolibre/users/me", headers=headers)).status_code == 401
        second = await refresh(client, first["refresh_token"])
        assert second.status_code == 200
        assert second.json()["expires_in"] == 1
        assert (await refresh(client, first["refresh_token"])).json()["error"] == "invalid_grant"


async def test_expired_access_token_is_401(
    client: httpx.AsyncClient, ml_login: Callable[..., Any]
) -> None:
    tokens = await ml_login()
    assert (
        await client.get("/mercadolibre/users/me", headers=tokens["headers"])
    ).status_code == 200
    await client.post(f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/expire-tokens")
    resp = await client.get("/mercadolibre/users/me", headers=tokens["headers"])
    assert resp.status_code == 401
    assert resp.json() == {
        "message": "invalid access token",
        "error": "unauthorized",
        "status": 401,
        "cause": [],
    }
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_revoked_grant(client: httpx.AsyncClient, ml_login: Callable[..., Any]) -> None:
    tokens = await ml_login()
    await client.post(f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/revoke")
    assert (
        await client.get("/mercadolibre/users/me", headers=tokens["headers"])
    ).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).json()["error"] == "invalid_grant"


async def test_missing_bearer_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.get("/mercadolibre/users/me")
    assert resp.status_code == 401


async def test_users_me_and_application(
    client: httpx.AsyncClient, ml_headers: dict[str, str]
) -> None:
    me = (await client.get("/mercadolibre/users/me", headers=ml_headers)).json()
    assert me["id"] == DEFAULT_SELLER_ID
    assert me["nickname"] == "TIENDA_SANDBOX"
    assert me["site_id"] == "MCO"
    app = (await client.get("/mercadolibre/applications/sandbox-app", headers=ml_headers)).json()
    assert app["id"] == SANDBOX_APPLICATION_ID


async def test_consent_as_other_seller(
    client: httpx.AsyncClient, ml_login: Callable[..., Any]
) -> None:
    resp = await client.post(
        "/_sandbox/mercadolibre/sellers", json={"id": 123456, "nickname": "OTRA_TIENDA"}
    )
    assert resp.status_code == 201
    tokens = await ml_login(seller_id="123456")
    assert tokens["user_id"] == 123456
