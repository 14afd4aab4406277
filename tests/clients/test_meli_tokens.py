"""ML token upkeep against the simulator: single-flight refresh, 401 replay, revocation."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from conexapi.core.errors import AuthError
from conexapi.marketplaces.mercadolibre.client import meli_client
from conexapi.marketplaces.mercadolibre.tokens import MeliTokenManager
from conexapi.runtime import Runtime
from conexapi.sandbox import DEFAULT_SELLER_ID
from conexapi.settings import Settings
from tests.clients.support import (
    connect_meli,
    connected_meli,
    expire_soon,
    load_connection,
    second_runtime,
    state_of,
)
from tests.conftest import SignedIn


def _refresh_calls(sandbox: FastAPI) -> int:
    return int(state_of(sandbox).ml.token_calls["refresh_token"])


async def test_stored_token_is_reused_without_refresh(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    me = await meli_client(runtime, cid).get_me()
    assert me["id"] == DEFAULT_SELLER_ID
    assert _refresh_calls(sandbox) == 0


async def test_many_concurrent_requests_across_two_runtimes_refresh_once(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    before = await load_connection(runtime, cid)
    await expire_soon(runtime, cid)
    async for other in second_runtime(settings, sandbox):
        clients = [meli_client(rt, cid) for rt in (runtime, other) for _ in range(12)]
        results = await asyncio.gather(*(c.get_me() for c in clients))
    assert all(r["id"] == DEFAULT_SELLER_ID for r in results)
    assert _refresh_calls(sandbox) == 1
    after = await load_connection(runtime, cid)
    assert after.token_version == before.token_version + 1
    assert after.refresh_token_enc != before.refresh_token_enc
    assert after.last_refresh_at is not None
    assert after.status == "active"


async def test_401_refreshes_once_and_replays(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    # ML expired the token early (password change, ...): our row still thinks it is fresh.
    state_of(sandbox).ml.expire_tokens(DEFAULT_SELLER_ID)
    async for other in second_runtime(settings, sandbox):
        clients = [meli_client(rt, cid) for rt in (runtime, other) for _ in range(8)]
        results = await asyncio.gather(*(c.get_me() for c in clients))
    assert {r["id"] for r in results} == {DEFAULT_SELLER_ID}
    assert _refresh_calls(sandbox) == 1


async def test_invalid_grant_marks_needs_reauth_and_reconnect_reactivates(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    state_of(sandbox).ml.revoke(DEFAULT_SELLER_ID)
    await expire_soon(runtime, cid)
    with pytest.raises(AuthError):
        await meli_client(runtime, cid).get_me()
    connection = await load_connection(runtime, cid)
    assert connection.status == "needs_reauth"
    assert connection.last_error is not None
    assert "invalid_grant" in connection.last_error
    assert connection.last_error_at is not None
    # Later calls fail fast, without burning more refresh attempts.
    calls = _refresh_calls(sandbox)
    with pytest.raises(AuthError):
        await MeliTokenManager(runtime).access_token(cid)
    assert _refresh_calls(sandbox) == calls
    listed = await client.get(f"/api/v1/connections/{cid}", headers=owner.headers)
    assert listed.json()["status"] == "needs_reauth"
    # The seller authorizes again: same connection, active, and calls work.
    again = await connect_meli(client, owner, sandbox)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == cid
    assert again.json()["status"] == "active"
    assert again.json()["last_error"] is None
    me = await meli_client(runtime, cid).get_me()
    assert me["id"] == DEFAULT_SELLER_ID


async def test_client_reads_orders_billing_and_shipping(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    ml = meli_client(runtime, cid)
    page = await ml.search_orders(DEFAULT_SELLER_ID, limit=50)
    assert page["paging"]["total"] >= 1
    order = page["results"][0]
    fetched = await ml.get_order(order["id"])
    assert fetched["id"] == order["id"]
    billing = await ml.get_billing_info(fetched)
    if fetched["buyer"].get("billing_info", {}).get("id"):
        assert billing is not None
        assert "buyer" in billing
    shipping = fetched.get("shipping") or {}
    if shipping.get("id"):
        assert (await ml.get_shipment(shipping["id"]))["id"] == shipping["id"]
        assert await ml.get_shipment_costs(shipping["id"]) is not None
    assert await ml.get_shipment_costs(999) is None
    feeds = await ml.get_missed_feeds(5503910054141466, topic="orders_v2")
    assert "messages" in feeds
