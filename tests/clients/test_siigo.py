"""Siigo client against the simulator: shared token cache, 401 renewal, rate limit, catalogs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx
from fastapi import FastAPI

from conexapi.connections.catalogs import load_catalogs
from conexapi.connections.rate_limit import HOLD_SECONDS
from conexapi.core.clock import ManualClock
from conexapi.core.errors import AuthError, BudgetWaitError, RateLimitedError, TransientError
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
    """Two processes' limiters share one bucket: the moments they are allowed to send (the
    injected clock's now plus the wait each is given) never put more than the limit in a window,
    whatever the machine's load."""
    rpm, capacity, n = 600, 2.0, 22
    clock = ManualClock()
    granted: list[float] = []

    async def take(limiter: RateLimiter) -> None:
        wait = await limiter.reserve("siigo:test-company")
        granted.append(clock.time() + wait)

    async for other in second_runtime(settings, sandbox):
        limiters = [
            build_limiter(rt, requests_per_minute=rpm, capacity=capacity, clock=clock)
            for rt in (runtime, other)
        ]
        await asyncio.gather(*(take(limiters[i % 2]) for i in range(n // 2)))
        clock.advance(0.35)  # later callers find the partly refilled bucket
        await asyncio.gather(*(take(limiters[i % 2]) for i in range(n - n // 2)))
    rate = (rpm - capacity) / 60
    assert len(granted) == n
    granted.sort()
    # The first `capacity` go at once; then one every 1/rate seconds, in order.
    assert granted[int(capacity) - 1] == granted[0]
    assert granted[-1] - granted[0] == pytest.approx((n - capacity) / rate, abs=1e-6)
    # No one-second window ever holds more than the burst plus one second of refill.
    for i, t in enumerate(granted):
        in_window = sum(1 for s in granted[i:] if s - t < 1.0 - 1e-9)
        assert in_window <= capacity + rate


@pytest.mark.parametrize("in_memory", [False, True])
async def test_429_empties_the_shared_bucket(runtime: Runtime, in_memory: bool) -> None:
    clock = ManualClock()
    limiter = RateLimiter(
        runtime.sessions,
        6000,
        capacity=5,
        memory_scope=f"test-{id(runtime)}" if in_memory else None,
        clock=clock,
    )
    await limiter.acquire("siigo:x")
    await limiter.notice_429("siigo:x", 0.3)
    await limiter.acquire("siigo:x")
    assert clock.slept
    assert clock.slept[-1] >= 0.3


@pytest.mark.parametrize("in_memory", [False, True])
async def test_a_busy_bucket_defers_instead_of_waiting(runtime: Runtime, in_memory: bool) -> None:
    """Beyond `max_wait` the caller is told when to come back and nothing is taken."""
    clock = ManualClock()
    limiter = RateLimiter(
        runtime.sessions,
        60,
        capacity=1,
        memory_scope=f"busy-{id(runtime)}" if in_memory else None,
        clock=clock,
    )
    assert await limiter.reserve("siigo:busy", max_wait=1.0) == 0.0
    rate = 59 / 60
    with pytest.raises(BudgetWaitError) as refused:
        await limiter.reserve("siigo:busy", max_wait=0.5)
    assert refused.value.retry_after == pytest.approx(1 / rate)
    assert await limiter.available_in("siigo:busy") == pytest.approx(1 / rate)
    # Within the wait allowed, it reserves (and the refused call took nothing).
    clock.advance(0.6)
    assert await limiter.reserve("siigo:busy", max_wait=0.5) == pytest.approx(1 / rate - 0.6)
    clock.advance(1 / rate - 0.6)
    assert await limiter.available_in("siigo:busy") == pytest.approx(1 / rate)


@pytest.mark.parametrize("in_memory", [False, True])
async def test_a_held_token_is_taken_when_used_and_freed_when_not(
    runtime: Runtime, in_memory: bool
) -> None:
    """`hold` sets a token aside (nobody else gets it), `use_hold` takes it when the request is
    sent, `release_hold` frees it; while held it counts toward the bucket's capacity (no burst
    above the limit once it is used), and a hold nobody uses expires."""
    clock = ManualClock()
    limiter = RateLimiter(
        runtime.sessions,
        62,
        capacity=2,
        memory_scope=f"hold-{id(runtime)}" if in_memory else None,
        clock=clock,
    )
    key = "siigo:held"
    rate = 1.0  # (62 - 2) / 60
    assert await limiter.hold(key, max_wait=1.0) == 0.0
    assert await limiter.reserve(key) == 0.0  # the second token
    with pytest.raises(BudgetWaitError):
        await limiter.reserve(key, max_wait=0.5)  # the held one is not for others
    # A long pause: the free tokens refill up to the capacity minus the held one.
    clock.advance(30)
    assert await limiter.reserve(key) == 0.0
    with pytest.raises(BudgetWaitError):
        await limiter.reserve(key, max_wait=0.5)
    # A request that must go (no `max_wait`: a sale already under way) sends at once on the
    # held token: the bucket has it. The holder then waits for the next one (never refused).
    assert await limiter.reserve(key) == 0.0
    assert await limiter.use_hold(key) == pytest.approx(1 / rate)
    clock.advance(10)
    await limiter.hold(key)
    await limiter.release_hold(key)  # not needed after all: free again at once
    assert await limiter.available_in(key) == 0.0
    await limiter.hold(key)
    clock.advance(HOLD_SECONDS + 1)  # its holder stopped: the hold expires
    assert await limiter.available_in(key) == 0.0
    assert await limiter.reserve(key) == 0.0
    assert await limiter.reserve(key) == 0.0
    assert await limiter.use_hold(key) == pytest.approx(1 / rate)  # expired: a fresh token


@pytest.mark.parametrize("in_memory", [False, True])
async def test_adaptive_budget_halves_on_429_and_recovers(
    runtime: Runtime, in_memory: bool
) -> None:
    clock = ManualClock()
    limiter = RateLimiter(
        runtime.sessions,
        10,
        window_seconds=1.0,
        capacity=2,
        memory_scope=f"aimd-{id(runtime)}" if in_memory else None,
        clock=clock,
        vendor="mercadolibre",
        adaptive=True,
        recovery_per_second=0.01,
    )
    key = "mercadolibre:app:test"
    assert await limiter.rate_factor(key) == 1.0
    await limiter.notice_429(key, 1.0)
    assert await limiter.rate_factor(key) == pytest.approx(0.5)
    # While lowered, tokens come at the lowered rate: the vendor's Retry-After, then one token.
    assert await limiter.available_in(key) == pytest.approx(1.0 + 1 / (8 * 0.5))
    await limiter.notice_429(key, 1.0)
    assert await limiter.rate_factor(key) == pytest.approx(0.25)
    clock.advance(25)  # additive increase: +0.01 per second
    assert await limiter.rate_factor(key) == pytest.approx(0.5)
    clock.advance(100)
    assert await limiter.rate_factor(key) == 1.0


async def test_unlimited_limiter_never_touches_the_database(runtime: Runtime) -> None:
    limiter = RateLimiter(runtime.sessions, 0)
    await asyncio.wait_for(limiter.acquire("siigo:any"), 0.5)


@respx.mock
async def test_client_429_notifies_limiter(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    cid = await _connected(client, owner)
    clock = ManualClock()
    limiter = build_limiter(runtime, requests_per_minute=6000, capacity=5, clock=clock)
    respx.get("https://siigo.test/v1/taxes").respond(
        429,
        json={"Status": 429, "Errors": [{"Code": "requests_limit", "Message": "limit"}]},
        headers={"Retry-After": "0.3"},
    )
    http = build_http_client("https://siigo.test")
    auth = SiigoAuth(SiigoTokenCache(runtime), cid, "ConexAPI")
    siigo = SiigoClient(http, auth, limiter=limiter, company_key="acme", retries=2, clock=clock)
    with pytest.raises(RateLimitedError):
        await siigo.list_taxes()
    assert respx.calls.call_count == 1  # a 429 is never retried at once
    assert await limiter.reserve(siigo.bucket) >= 0.3
    await http.aclose()


@respx.mock
async def test_a_sale_holds_its_first_token_from_before_its_other_calls(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    """The token a sale reserves before reading MercadoLibre is its first request's: another
    sale cannot take it meanwhile, the request takes no second one, and an unused one is given
    back."""
    cid = await _connected(client, owner)
    clock = ManualClock()
    limiter = build_limiter(runtime, requests_per_minute=60, capacity=1, clock=clock)
    taxes = respx.get("https://siigo.test/v1/taxes").respond(200, json=[])
    http = build_http_client("https://siigo.test")
    auth = SiigoAuth(SiigoTokenCache(runtime), cid, "ConexAPI")

    def sale_client() -> SiigoClient:
        return SiigoClient(
            http, auth, limiter=limiter, company_key="acme", max_wait=0.5, clock=clock
        )

    first, second = sale_client(), sale_client()
    await first.reserve_first_request()
    with pytest.raises(BudgetWaitError):
        await second.reserve_first_request()  # the token is the first sale's
    next_token = await limiter.available_in(first.bucket)
    await first.list_taxes()  # uses the token it holds
    assert taxes.call_count == 1
    assert await limiter.available_in(first.bucket) == pytest.approx(next_token)
    clock.advance(next_token)
    third = sale_client()
    await third.reserve_first_request()
    assert await limiter.available_in(third.bucket) > 0
    await third.release_unused()  # needed no Siigo call
    assert await limiter.available_in(third.bucket) == 0.0
    await third.release_unused()  # once only
    assert await limiter.available_in(third.bucket) == 0.0
    await http.aclose()


@respx.mock
async def test_keyed_posts_and_reads_retry_5xx_quickly(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    """A keyed document POST and a read get quick jittered retries on a 5xx or a timeout; an
    unkeyed POST does not (it could create twice)."""
    cid = await _connected(client, owner)
    clock = ManualClock()
    invoice = respx.post("https://siigo.test/v1/invoices").mock(
        side_effect=[
            httpx.Response(502, json={"Status": 502}),
            httpx.ReadTimeout("slow"),
            httpx.Response(201, json={"id": "inv-1", "name": "FV-1"}),
        ]
    )
    customers = respx.post("https://siigo.test/v1/customers").respond(500, json={"Status": 500})
    http = build_http_client("https://siigo.test")
    auth = SiigoAuth(SiigoTokenCache(runtime), cid, "ConexAPI")
    siigo = SiigoClient(http, auth, company_key="acme", retries=2, clock=clock)
    created = await siigo.create_invoice({"document": {"id": 1}}, "KEY1")
    assert created["id"] == "inv-1"
    assert invoice.call_count == 3
    assert {c.request.headers["Idempotency-Key"] for c in invoice.calls} == {"KEY1"}
    assert len(clock.slept) == 2
    assert all(0 < s <= 0.5 for s in clock.slept)
    with pytest.raises(TransientError):
        await siigo.create_customer({"identification": "1"})
    assert customers.call_count == 1
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
