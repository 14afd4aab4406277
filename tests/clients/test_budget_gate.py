"""Both vendor clients pass every request through their budget the same way (`BudgetGate`): only a
client's first request may be refused for want of a token (`max_wait`), a request that got its
token admits the client even if its send then fails, and a 429 empties the shared bucket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from conexapi.core.clock import ManualClock
from conexapi.core.errors import BudgetWaitError, RateLimitedError, TransientError
from conexapi.erps.siigo.client import SiigoClient
from conexapi.erps.siigo.rate_limit import RateLimiter
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient
from conexapi.runtime import Runtime, build_http_client

SIIGO = "https://siigo.test"
MELI = "https://meli.test"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limiter(runtime: Runtime, clock: ManualClock) -> RateLimiter:
    """One token a second after a burst of one, in the database's bucket."""
    return RateLimiter(runtime.sessions, 61, capacity=1, clock=clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client(SIIGO)
    yield client
    await client.aclose()


def siigo(http: httpx.AsyncClient, limiter: RateLimiter, clock: ManualClock) -> SiigoClient:
    return SiigoClient(
        http, httpx.Auth(), limiter=limiter, company_key="acme", max_wait=0.5, clock=clock
    )


@respx.mock
async def test_only_the_first_request_of_a_client_may_be_refused(
    http: httpx.AsyncClient, limiter: RateLimiter, clock: ManualClock
) -> None:
    taxes = respx.get(f"{SIIGO}/v1/taxes").respond(200, json=[])
    sale = siigo(http, limiter, clock)
    await sale.check_budget()
    await sale.list_taxes()  # the burst's token
    assert sale.admitted
    await sale.list_taxes()  # admitted: waits its turn (a second) instead of giving up
    assert clock.slept == [pytest.approx(1.0)]
    assert taxes.call_count == 2
    other = siigo(http, limiter, clock)  # the next sale finds the bucket empty
    with pytest.raises(BudgetWaitError) as refused:
        await other.check_budget()
    assert refused.value.retry_after == pytest.approx(1.0)
    with pytest.raises(BudgetWaitError):
        await other.list_taxes()
    assert not other.admitted
    assert taxes.call_count == 2  # nothing was sent, nothing taken
    clock.advance(1.0)
    await other.list_taxes()
    assert taxes.call_count == 3


@respx.mock
async def test_a_token_admits_the_client_even_when_its_send_fails(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    me = respx.get(f"{MELI}/users/me")
    me.side_effect = [httpx.Response(500, json={"message": "boom"}), httpx.Response(200, json={})]
    http = build_http_client(MELI)
    client = MercadoLibreClient(
        http, httpx.Auth(), limiter=limiter, budget_key="ml:app", max_wait=0.5, clock=clock
    )
    try:
        with pytest.raises(TransientError):
            await client.get_me()
        assert client.admitted
        assert await client.get_me() == {}  # waited a second for its token, not refused
    finally:
        await http.aclose()
    assert clock.slept == [pytest.approx(1.0)]


@respx.mock
async def test_a_429_empties_the_bucket_for_every_client(
    http: httpx.AsyncClient, limiter: RateLimiter, clock: ManualClock
) -> None:
    respx.get(f"{SIIGO}/v1/taxes").respond(
        429,
        json={"Status": 429, "Errors": [{"Code": "requests_limit", "Message": "limit"}]},
        headers={"Retry-After": "3"},
    )
    with pytest.raises(RateLimitedError):
        await siigo(http, limiter, clock).list_taxes()
    assert await limiter.available_in("siigo:acme") >= 3.0
