"""`RequestBudget`: the one way both vendor clients pass a request through their budget. A token
first (the one the client holds, if any), `max_wait` only until the client is admitted, and a 429
empties the shared bucket for the vendor's `Retry-After`.

The bucket is a real `RateLimiter` on the test database (61 a minute, a burst of one: one token a
second), the vendor is respx, and time is a `ManualClock`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from conexapi.connections.rate_limit import RateLimiter, RequestBudget
from conexapi.core.clock import ManualClock
from conexapi.core.errors import BudgetWaitError, RateLimitedError, TransientError
from conexapi.core.http import parse_siigo_error, send
from conexapi.runtime import Runtime, build_http_client

VENDOR = "https://vendor.test"
KEY = "siigo:budget-test"
TOO_MANY = {"Status": 429, "Errors": [{"Code": "requests_limit", "Message": "limit"}]}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limiter(runtime: Runtime, clock: ManualClock) -> RateLimiter:
    """One token a second after a burst of one, in the database's bucket."""
    return RateLimiter(runtime.sessions, 61, capacity=1, clock=clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client(VENDOR)
    yield client
    await client.aclose()


def budget(
    limiter: RateLimiter | None, clock: ManualClock, *, max_wait: float | None = None
) -> RequestBudget:
    return RequestBudget(limiter, KEY, max_wait=max_wait, clock=clock)


async def get(http: httpx.AsyncClient, gate: RequestBudget) -> httpx.Response:
    async with gate.request():
        return await send(http, "GET", "/things", vendor="siigo", parse_error=parse_siigo_error)


@pytest.mark.parametrize(("retry_after", "backoff"), [("3", 3.0), (None, 1.0)])
@respx.mock
async def test_a_429_empties_the_bucket_for_the_vendors_retry_after(
    http: httpx.AsyncClient,
    limiter: RateLimiter,
    clock: ManualClock,
    retry_after: str | None,
    backoff: float,
) -> None:
    """`notice_429` gets the answer's `Retry-After` (without one, the limiter's own backoff: a
    second here), and the error reaches the caller unchanged."""
    headers = {"Retry-After": retry_after} if retry_after else {}
    things = respx.get(f"{VENDOR}/things").respond(429, json=TOO_MANY, headers=headers)
    with pytest.raises(RateLimitedError) as refused:
        await get(http, budget(limiter, clock))
    assert refused.value.retry_after == (float(retry_after) if retry_after else None)
    assert things.call_count == 1
    # The burst's token was taken (0 left), then the bucket owes `backoff` seconds of tokens:
    # the next one is free after the backoff plus its own second.
    assert await limiter.available_in(KEY) == pytest.approx(backoff + 1.0)


@respx.mock
async def test_other_errors_leave_the_bucket_alone(
    http: httpx.AsyncClient, limiter: RateLimiter, clock: ManualClock
) -> None:
    respx.get(f"{VENDOR}/things").respond(503, json={"Status": 503})
    with pytest.raises(TransientError):
        await get(http, budget(limiter, clock))
    assert await limiter.available_in(KEY) == pytest.approx(1.0)  # just the token it took


@respx.mock
async def test_max_wait_holds_only_until_a_request_got_its_token(
    http: httpx.AsyncClient, limiter: RateLimiter, clock: ManualClock
) -> None:
    """The first request of a client may be refused (nothing sent, nothing taken); once one got
    its token the client is admitted, even if that send failed, and its next requests wait."""
    things = respx.get(f"{VENDOR}/things")
    things.side_effect = [httpx.Response(500, json={}), httpx.Response(200, json={})]
    sale = budget(limiter, clock, max_wait=0.5)
    assert not sale.admitted
    with pytest.raises(TransientError):
        await get(http, sale)  # the burst's token; the vendor fails
    assert sale.admitted
    other = budget(limiter, clock, max_wait=0.5)  # the next sale finds the bucket empty
    with pytest.raises(BudgetWaitError) as refused:
        await get(http, other)
    assert refused.value.retry_after == pytest.approx(1.0)
    assert not other.admitted
    assert things.call_count == 1
    assert clock.slept == []
    await get(http, sale)  # admitted: waits its second instead of giving up
    assert clock.slept == [pytest.approx(1.0)]
    assert things.call_count == 2


@respx.mock
async def test_a_held_token_is_spent_by_the_next_request_instead_of_a_new_one(
    http: httpx.AsyncClient, limiter: RateLimiter, clock: ManualClock
) -> None:
    """`hold_first` admits the client on a token set aside; the next request sends on it (taking
    no second token), waiting its turn if an unbounded request went on it meanwhile but never
    refused for `max_wait`."""
    things = respx.get(f"{VENDOR}/things").respond(200, json={})
    sale = budget(limiter, clock, max_wait=0.5)
    await sale.hold_first()
    assert sale.admitted
    assert sale.held
    with pytest.raises(BudgetWaitError):
        await budget(limiter, clock, max_wait=0.5).hold_first()  # the token is the sale's
    assert await limiter.reserve(KEY) == 0.0  # a request that must go sends on it at once
    await get(http, sale)
    assert not sale.held
    assert clock.slept == [pytest.approx(1.0)]  # the held token's turn came a second later
    assert things.call_count == 1
    # It took the held token, not another one: the next is a second away, not two.
    assert await limiter.available_in(KEY) == pytest.approx(1.0)
    await sale.release_unused()  # it was used: nothing to give back
    assert await limiter.available_in(KEY) == pytest.approx(1.0)
    await sale.hold_first()  # admitted already: holds nothing more
    assert not sale.held


async def test_an_unused_hold_is_given_back_once(limiter: RateLimiter, clock: ManualClock) -> None:
    sale = budget(limiter, clock, max_wait=0.5)
    await sale.hold_first()
    assert await limiter.available_in(KEY) == pytest.approx(1.0)
    await sale.release_unused()
    assert not sale.held
    assert await limiter.available_in(KEY) == 0.0
    await sale.release_unused()  # once only
    assert await limiter.reserve(KEY) == 0.0
    assert await limiter.available_in(KEY) == pytest.approx(1.0)


async def test_without_max_wait_nothing_is_held(limiter: RateLimiter, clock: ManualClock) -> None:
    person = budget(limiter, clock)  # a person's page: waits as long as needed
    await person.hold_first()
    assert not person.held
    assert not person.admitted
    assert await limiter.available_in(KEY) == 0.0


@respx.mock
async def test_without_a_limiter_requests_just_go(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    things = respx.get(f"{VENDOR}/things")
    things.side_effect = [
        httpx.Response(200, json={}),
        httpx.Response(429, json=TOO_MANY, headers={"Retry-After": "3"}),
    ]
    gate = budget(None, clock, max_wait=0.5)
    await gate.hold_first()
    assert not gate.held
    assert (await get(http, gate)).status_code == 200
    with pytest.raises(RateLimitedError):
        await get(http, gate)
    assert clock.slept == []
