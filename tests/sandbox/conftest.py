"""Fixtures for the sandbox contract tests: an in-process app behind httpx.ASGITransport."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi import FastAPI

from conexapi.sandbox import (
    ML_CLIENT_ID,
    ML_CLIENT_SECRET,
    SIIGO_ACCESS_KEY,
    SIIGO_USERNAME,
    SandboxConfig,
    SandboxState,
    create_sandbox_app,
)

REDIRECT_URI = "http://localhost:8000/api/v1/connections/mercadolibre/callback"


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(seed=7, initial_sales=20, notification_retry_interval_seconds=0.01)


@pytest.fixture
async def app(config: SandboxConfig) -> AsyncIterator[FastAPI]:
    application = create_sandbox_app(config)
    # ASGITransport does not run the lifespan; run it explicitly so background tasks stop.
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def state(app: FastAPI) -> SandboxState:
    sandbox: SandboxState = app.state.sandbox
    return sandbox


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        yield c


def pkce_pair() -> tuple[str, str]:
    verifier = "v" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


async def consent(client: httpx.AsyncClient, *, challenge: str | None = None, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": ML_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "xyz",
        **extra,
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    resp = await client.get("/mercadolibre-auth/authorization", params=params)
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlparse(resp.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def exchange(client: httpx.AsyncClient, code: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/mercadolibre/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": ML_CLIENT_ID,
            "client_secret": ML_CLIENT_SECRET,
            "code": code,
            "redirect_uri": REDIRECT_URI,
            **extra,
        },
    )


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/mercadolibre/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": ML_CLIENT_ID,
            "client_secret": ML_CLIENT_SECRET,
            "refresh_token": refresh_token,
        },
    )


@pytest.fixture
def ml_login(client: httpx.AsyncClient) -> Callable[..., Any]:
    async def login(**extra: str) -> dict[str, Any]:
        code = await consent(client, **extra)
        resp = await exchange(client, code)
        assert resp.status_code == 200, resp.text
        tokens: dict[str, Any] = resp.json()
        tokens["headers"] = {"Authorization": f"Bearer {tokens['access_token']}"}
        return tokens

    return login


@pytest.fixture
async def ml_headers(ml_login: Callable[..., Any]) -> dict[str, str]:
    tokens = await ml_login()
    headers: dict[str, str] = tokens["headers"]
    return headers


@pytest.fixture
async def siigo_headers(client: httpx.AsyncClient) -> dict[str, str]:
    resp = await client.post(
        "/siigo/auth", json={"username": SIIGO_USERNAME, "access_key": SIIGO_ACCESS_KEY}
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}", "Partner-Id": "ConexAPI"}
