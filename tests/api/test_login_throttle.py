"""Sign-in throttling: atomic under parallel guesses on both databases, per (e-mail, address),
per address and per e-mail, 429 with a growing Retry-After, and never a 500."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.requests import Request

from conexapi.accounts.throttle import ACCOUNT_LOCK_CAP_SECONDS, ThrottlePolicy, admit
from conexapi.api.deps import client_address
from conexapi.core.errors import TooManyRequests
from conexapi.runtime import Runtime
from tests.conftest import SignedIn

LIMIT = 3  # login_max_failures in the test settings


async def _guess(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> int:
    r = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}, headers=headers
    )
    if r.status_code == 429:
        assert int(r.headers["Retry-After"]) >= 1
        assert r.json()["code"] == "login_throttled"
    return r.status_code


async def test_twenty_parallel_wrong_guesses_check_at_most_the_limit_and_never_500(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    codes = await asyncio.gather(*(_guess(client, owner.email, f"wrong-{i}") for i in range(20)))
    assert all(c in (401, 429) for c in codes), codes
    assert codes.count(401) <= LIMIT  # a 401 is a password that was checked
    assert codes.count(429) >= 20 - LIMIT
    # Concurrent *first* failures of an unknown e-mail: no unique violation, no 500.
    codes = await asyncio.gather(*(_guess(client, "nadie@x.co", "x") for _ in range(20)))
    assert all(c in (401, 429) for c in codes), codes
    assert codes.count(401) <= LIMIT


async def test_the_lock_is_per_address_so_an_attacker_cannot_lock_the_owner_out(
    client: httpx.AsyncClient, owner: SignedIn
) -> None:
    attacker = {"X-Forwarded-For": "203.0.113.9"}  # the test client is a trusted proxy
    for _ in range(LIMIT):
        assert await _guess(client, owner.email, "wrong", **attacker) == 401
    assert await _guess(client, owner.email, "s3cret-pass", **attacker) == 429
    assert (
        await _guess(client, owner.email, "s3cret-pass", **{"X-Forwarded-For": "198.51.100.7"})
        == 200
    )


async def test_a_forwarded_address_counts_only_from_a_trusted_proxy(
    client: httpx.AsyncClient, owner: SignedIn, runtime: Runtime
) -> None:
    runtime.settings.forwarded_allow_ips = "10.9.9.9"  # the test client (127.0.0.1) is not it
    for i in range(LIMIT):
        # A client cannot pick a fresh address per guess by sending the header itself.
        assert (
            await _guess(client, owner.email, "wrong", **{"X-Forwarded-For": f"1.2.3.{i}"}) == 401
        )
    assert await _guess(client, owner.email, "wrong", **{"X-Forwarded-For": "1.2.3.99"}) == 429


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


def test_client_address_trusts_only_configured_proxies() -> None:
    assert client_address(_request("203.0.113.1", "9.9.9.9"), "127.0.0.1") == "203.0.113.1"
    assert client_address(_request("127.0.0.1", "9.9.9.9"), "127.0.0.1") == "9.9.9.9"
    # The rightmost address no trusted proxy added: a forged left part changes nothing.
    assert (
        client_address(_request("10.0.0.2", "6.6.6.6, 9.9.9.9, 10.0.0.3"), "10.0.0.0/8")
        == "9.9.9.9"
    )
    assert client_address(_request("10.0.0.2"), "10.0.0.0/8") == "10.0.0.2"
    assert client_address(_request("10.0.0.2", "not-an-ip"), "*") == "not-an-ip"


async def test_retry_after_grows_and_the_account_lock_stays_short(runtime: Runtime) -> None:
    policy = ThrottlePolicy(max_failures=LIMIT, lockout_seconds=300)
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    sessions = runtime.sessions
    for _ in range(LIMIT):
        await admit(sessions, email="a@x.co", address="1.1.1.1", policy=policy, now=now)
    waits = []
    for _ in range(4):
        with pytest.raises(TooManyRequests) as refused:
            await admit(sessions, email="a@x.co", address="1.1.1.1", policy=policy, now=now)
        wait = int(refused.value.details["retry_after"])
        waits.append(wait)
        now += timedelta(seconds=wait)  # no server-side sleep: the client waits and tries again
        await admit(sessions, email="a@x.co", address="1.1.1.1", policy=policy, now=now)
    assert waits == [30, 60, 120, 240]
    # Many addresses guessing one e-mail: the account is locked, but for at most a minute.
    later = now + timedelta(hours=1)
    for i in range(LIMIT * 4):
        await admit(sessions, email="b@x.co", address=f"2.2.2.{i}", policy=policy, now=later)
    with pytest.raises(TooManyRequests) as refused:
        await admit(sessions, email="b@x.co", address="3.3.3.3", policy=policy, now=later)
    assert int(refused.value.details["retry_after"]) <= ACCOUNT_LOCK_CAP_SECONDS


async def test_a_username_longer_than_the_column_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/token", data={"username": "a" * 290 + "@x.co", "password": "x"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
