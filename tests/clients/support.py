"""Shared helpers for the connection/integration/client tests: runtimes wired to the simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from conexapi.connections.models import Connection
from conexapi.db import transaction, utcnow
from conexapi.runtime import Runtime, build_http_client
from conexapi.sandbox import SIIGO_ACCESS_KEY, SIIGO_USERNAME, SandboxConfig, create_sandbox_app
from conexapi.sandbox.state import SandboxState
from conexapi.settings import Settings
from tests.conftest import SignedIn, make_settings

SANDBOX = "http://sandbox"
# Our budget in these tests: a burst of 1,200 (rpm/50), more than any test sends. The simulator
# keeps Siigo's own limit (100 a minute per company), which no test here reaches.
TEST_SIIGO_REQUESTS_PER_MINUTE = 60_000


def sandbox_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        # The ML simulator accepts loopback redirect URIs only, like a dev app would.
        "public_url": "http://localhost:8000",
        "meli_api_url": f"{SANDBOX}/mercadolibre",
        "meli_auth_url": f"{SANDBOX}/mercadolibre-auth",
        "siigo_api_url": f"{SANDBOX}/siigo",
        # Siigo's real budget (100 a minute, burst 2) made every test that loads a company's
        # catalogs wait ~0.6 s a call. The limiter still runs (its bucket, on both databases)
        # but never waits here; the tests of the budget itself set the real limit
        # (tests/clients/test_siigo.py, tests/sync/test_budget_deferral.py).
        "siigo_requests_per_minute": TEST_SIIGO_REQUESTS_PER_MINUTE,
    }
    values.update(overrides)
    return make_settings(db_url, **values)


def make_sandbox(**config: Any) -> FastAPI:
    return create_sandbox_app(SandboxConfig(initial_sales=config.pop("initial_sales", 2), **config))


def state_of(app: FastAPI) -> SandboxState:
    state: SandboxState = app.state.sandbox
    return state


async def wire(runtime: Runtime, app: FastAPI) -> Runtime:
    """Points the runtime's shared vendor clients at the in-process simulators."""
    await runtime.meli_http.aclose()
    await runtime.siigo_http.aclose()
    transport = httpx.ASGITransport(app=app)
    runtime.meli_http = build_http_client(f"{SANDBOX}/mercadolibre", transport=transport)
    runtime.siigo_http = build_http_client(f"{SANDBOX}/siigo", timeout=120.0, transport=transport)
    return runtime


async def second_runtime(settings: Settings, app: FastAPI) -> AsyncIterator[Runtime]:
    """Another engine + sessionmaker on the same database: a stand-in for another process."""
    rt = Runtime.build(settings)
    await wire(rt, app)
    try:
        yield rt
    finally:
        await rt.aclose()


async def connect_siigo(
    client: httpx.AsyncClient,
    who: SignedIn,
    username: str = SIIGO_USERNAME,
    access_key: str = SIIGO_ACCESS_KEY,
) -> httpx.Response:
    return await client.post(
        "/api/v1/connections/siigo",
        json={"username": username, "access_key": access_key},
        headers=who.headers,
    )


async def consent(app: FastAPI, authorization_url: str, **extra: str) -> dict[str, str]:
    """Plays the seller's browser on the ML consent page; returns the callback's query."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as browser:
        url = authorization_url
        if extra:
            url += "&" + "&".join(f"{k}={v}" for k, v in extra.items())
        response = await browser.get(url)
    assert response.status_code == 302, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


async def connect_meli(
    client: httpx.AsyncClient, who: SignedIn, app: FastAPI, **extra: str
) -> httpx.Response:
    authorize = await client.get("/api/v1/connections/mercadolibre/authorize", headers=who.headers)
    assert authorize.status_code == 200, authorize.text
    query = await consent(app, authorize.json()["authorization_url"], **extra)
    return await client.get("/api/v1/connections/mercadolibre/callback", params=query)


async def connected_meli(client: httpx.AsyncClient, who: SignedIn, app: FastAPI) -> int:
    """Connects the simulator's default seller; returns the connection id."""
    response = await connect_meli(client, who, app)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def expire_soon(runtime: Runtime, connection_id: int, seconds: int = 60) -> None:
    """Makes our stored token look about to expire (inside the refresh margin): a 6 h token
    granted almost 6 h ago."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(
                token_expires_at=now + timedelta(seconds=seconds),
                last_refresh_at=now + timedelta(seconds=seconds) - timedelta(hours=6),
            )
        )


async def load_connection(runtime: Runtime, connection_id: int) -> Connection:
    async with runtime.sessions() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        return connection


def siigo_calls(app: FastAPI) -> int:
    return sum(state_of(app).siigo.default.calls.values())
