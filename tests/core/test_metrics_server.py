"""The worker's metrics endpoint: Prometheus text on GET /metrics (behind the bearer token when
one is set, as on the API), /healthz, and nothing else; bad clients are cut off, not served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from conexapi.core.metrics import SALE_TRANSITIONS, render
from conexapi.core.metrics_server import MetricsServer


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[MetricsServer]:
    token = getattr(request, "param", None)
    s = MetricsServer(
        host="127.0.0.1", port=0, render=render, token=SecretStr(token) if token else None
    )
    await s.start()
    yield s
    await s.aclose()


async def test_metrics_and_health(server: MetricsServer) -> None:
    SALE_TRANSITIONS.labels("invoiced").inc()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        metrics = await client.get("/metrics")
        health = await client.get("/healthz")
        missing = await client.get("/nothing")
        post = await client.post("/metrics")
        head = await client.head("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=")
    assert 'conexapi_sale_transitions_total{state="invoiced"}' in metrics.text
    assert health.json() == {"status": "ok"}
    assert missing.status_code == 404
    assert post.status_code == 405
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize("server", ["scrape-token"], indirect=True)
async def test_the_token_is_required_when_set(server: MetricsServer) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer other"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
        health = await client.get("/healthz")
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert health.status_code == 200  # liveness needs no token


async def test_garbage_and_silent_clients_do_not_stop_it(server: MetricsServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\x16\x03\x01 not http at all\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # cut off
    writer.close()
    # A client that connects and says nothing does not block the next one.
    _silent = await asyncio.open_connection("127.0.0.1", server.port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        assert (await client.get("/healthz")).status_code == 200
    _silent[1].close()


async def test_a_taken_port_is_an_error() -> None:
    first = MetricsServer(host="127.0.0.1", port=0, render=render, token=None)
    await first.start()
    try:
        second = MetricsServer(host="127.0.0.1", port=first.port, render=render, token=None)
        with pytest.raises(OSError, match="in use"):
            await second.start()
    finally:
        await first.aclose()
