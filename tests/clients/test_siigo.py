"""Siigo client against the simulator: shared token cache, 401 renewal, rate limit, catalogs."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx
from fastapi import FastAPI

from conexapi.connections.catalogs import load_catalogs
from conexapi.core.errors import AuthError, RateLimitedError
from conexapi.db import transaction
from conexapi.erps.siigo.auth import SiigoAuth, SiigoTokenCache, authenticate
from conexapi.erps.siigo.client import SiigoClient, siigo_client
from conexapi.erps.siigo.rate_limit import RateLimiter, build_limiter
from conexapi.runtime import Runtime, build_http_client
from conexapi.sandbox import SIIGO_ACCESS_KEY, SIIGO_USERNAME
from conexapi.sandbox.constants import TAX_IVA19_ID
from conexapi.settings import Settings
from tests.clients.support import (
    connect_siigo,
    load_connection,
    second_runtime,
    siigo_calls,
    state_of,
)
from tests.conftest import SignedIn


async def _connected(client: httpx.AsyncClient, owner: SignedIn) -> int:
    response = await connect_siigo(client, owner)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _auth_calls(sandbox: FastAPI) -> int:
    return state_of(sandbox).siigo.default.auth_calls


async def test_authenticate_validates_credentials(runtime: Runtime) -> None:
    token = await authenticate(
        runtime.siigo_http, runtime.settings.siigo, SIIGO_USERNAME, SIIGO_ACCESS_KEY
    )
    assert token.expires_in == 86400
    assert token.access_token not in repr(token)
    with pytest.raises(AuthError):
        await authenticate(runtime.siigo_http, runtime.settings.siigo, SIIGO_USERNAME, "wrong")


async def test_token_is_cached_and_shared_by_clients_and_runtimes(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    cid = await _connected(client, owner)
    assert _auth_calls(sandbox) == 1  # the validation call; its token is kept
    async for other in second_runtime(settings, sandbox):
        for rt in (runtime, other, runtime):
            taxes = await siigo_client(rt, cid).list_taxes()
            assert any(t["id"] == TAX_IVA19_ID for t in taxes)
    assert _auth_calls(sandbox) == 1
    connection = await load_connection(runtime, cid)
    assert connection.access_token_enc is not None
    assert connection.credentials_enc is not None
    assert SIIGO_ACCESS_KEY not in connection.credentials_enc


async def test_expired_token_is_renewed_once_after_401(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    cid = await _connected(client, owner)
    state_of(sandbox).siigo.expire_tokens()  # Siigo dropped it; our row still looks fresh
    async for other in second_runtime(settings, sandbox):
        clients = [siigo_client(rt, cid) for rt in (runtime, other) for _ in range(4)]
        results = await asyncio.gather(*(c.list_taxes() for c in clients))
    assert all(results)
    assert _auth_calls(sandbox) == 2  # validation + exactly one renewal


async def test_revoked_access_key_marks_connection(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await _connected(client, owner)
    state_of(sandbox).siigo.default.access_key = "rotated"
    state_of(sandbox).siigo.expire_tokens()
    with pytest.raises(AuthError):
        await siigo_client(runtime, cid).list_taxes()
    connection = await load_connection(runtime, cid)
    assert connection.status == "needs_reauth"
    assert connection.last_error is not None
    assert "Siigo" in connection.last_error


async def test_catalogs_are_read_once(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await _connected(client, owner)
    async with transaction(runtime.sessions) as session:
        first = await load_catalogs(session, siigo_client(runtime, cid), cid)
    calls = siigo_calls(sandbox)
    assert calls >= 8
    async with transaction(runtime.sessions) as session:
        second = await load_catalogs(session, siigo_client(runtime, cid), cid)
    assert siigo_calls(sandbox) == calls  # from the database, no Siigo request
    assert second.tax(TAX_IVA19_ID) is not None
    assert [d.id for d in second.document_types_fv] == [d.id for d in first.document_types_fv]
    assert second.users
    async with transaction(runtime.sessions) as session:
        await load_catalogs(session, siigo_client(runtime, cid), cid, refresh=True)
    assert siigo_calls(sandbox) == calls * 2


async def test_rate_limit_holds_across_two_runtimes(
    runtime: Runtime, settings: Settings, sandbox: FastAPI
) -> None:
    rpm, capacity, n = 600, 2.0, 22
    stamps: list[float] = []

    async def take(limiter: RateLimiter) -> None:
        await limiter.acquire("siigo:test-company")
        stamps.append(time.monotonic())

    async for other in second_runtime(settings, sandbox):
        limiters = [
            build_limiter(rt, requests_per_minute=rpm, capacity=capacity) for rt in (runtime, other)
        ]
        await asyncio.gather(*(take(limiters[i % 2]) for i in range(n)))
    rate = (rpm - capacity) / 60
    assert len(stamps) == n
    stamps.sort()
    # No one-second window ever holds more than the burst plus one second of refill.
    for i, t in enumerate(stamps):
        in_window = sum(1 for s in stamps[i:] if s - t < 1.0)
        assert in_window <= capacity + rate + 1


@pytest.mark.parametrize("in_memory", [False, True])
async def test_429_empties_the_shared_bucket(runtime: Runtime, in_memory: bool) -> None:
    limiter = RateLimiter(
        runtime.sessions,
        6000,
        capacity=5,
        memory_scope=f"test-{id(runtime)}" if in_memory else None,
    )
    await limiter.acquire("siigo:x")
    await limiter.notice_429("siigo:x", 0.3)
    started = time.monotonic()
    await limiter.acquire("siigo:x")
    assert time.monotonic() - started >= 0.25


async def test_unlimited_limiter_never_touches_the_database(runtime: Runtime) -> None:
    limiter = RateLimiter(runtime.sessions, 0)
    await asyncio.wait_for(limiter.acquire("siigo:any"), 0.5)


@respx.mock
async def test_client_429_notifies_limiter(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    cid = await _connected(client, owner)
    limiter = build_limiter(runtime, requests_per_minute=6000, capacity=5)
    respx.get("https://siigo.test/v1/taxes").respond(
        429,
        json={"Status": 429, "Errors": [{"Code": "requests_limit", "Message": "limit"}]},
        headers={"Retry-After": "0.3"},
    )
    http = build_http_client("https://siigo.test")
    auth = SiigoAuth(SiigoTokenCache(runtime), cid, "ConexAPI")
    siigo = SiigoClient(http, auth, limiter=limiter, company_key="acme")
    with pytest.raises(RateLimitedError):
        await siigo.list_taxes()
    started = time.monotonic()
    await limiter.acquire(siigo.bucket)
    assert time.monotonic() - started >= 0.25
    await http.aclose()


async def test_products_customers_and_documents(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    cid = await _connected(client, owner)
    siigo = siigo_client(runtime, cid)
    assert await siigo.get_product_by_code("NO-SUCH-CODE") is None
    product = await siigo.get_product_by_code("TERMO-INOX-750")
    assert product is not None
    assert product["code"] == "TERMO-INOX-750"
    products = await siigo.find_products()
    assert len(products) > 1
    assert await siigo.find_customer("999999999") is None
    users = await siigo.list_users()
    assert users
    page = await siigo.list_invoices(page=1, page_size=10)
    assert "results" in page
    assert [x async for x in siigo.iter_invoices()] == page["results"]
